/**
 * Writes a read-only bbolt database in one pass over sorted data: etcd's snapshot format is a bbolt
 * file, so this is what Maintenance.Snapshot streams and what `etcdctl snapshot status|restore`
 * read. Format: bbolt-format.ts.
 *
 * Layout, decided before any byte is produced (so the meta pages, which come first, can name the
 * root): pages 0 and 1 meta, 2 an empty freelist, then the root bucket's leaf (one element per
 * top-level bucket, in name order), then each bucket's pages: its leaves in key order, then its
 * branch levels bottom-up. A bucket whose one leaf is small is stored inline in its parent, as
 * bbolt does. Every page is reachable exactly once and none is free, which is what bbolt's
 * consistency check (run by `snapshot status`) demands.
 *
 * Leaves are filled up to the page size; an element larger than a page gets a leaf of its own with
 * overflow pages. Pages are produced one at a time, so memory stays at one page plus the layout
 * (a few numbers per page).
 */
import { assert } from '../core/assert.js';
import { BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, ELEMENT_BYTES, PAGE_HEADER_BYTES, PageFlag, writeMetaPage, writePageHeader } from './bbolt-format.js';

/** One bucket's contents, keys strictly ascending (byte order), random access by index. */
export interface BoltBucketSource {
  readonly name: Uint8Array;
  readonly length: number;
  key(i: number): Uint8Array;
  valueBytes(i: number): number;
  value(i: number): Uint8Array;
}

interface Node {
  /** Elements [start, end) of the bucket (a leaf), or child nodes (a branch). */
  readonly start: number;
  readonly end: number;
  readonly children: readonly Node[] | null;
  readonly firstKey: Uint8Array;
  readonly pages: number;
  id: number;
}

interface BucketPlan {
  readonly source: BoltBucketSource;
  /** Null: stored inline in the root bucket's leaf. */
  readonly levels: Node[][] | null;
  readonly inlineBytes: number;
}

export interface BoltImage {
  readonly pageSize: number;
  readonly pageCount: number;
  readonly sizeBytes: number;
  /** The file, page by page (each chunk one page or one page with its overflow). */
  pages(): Generator<Uint8Array>;
}

export function boltImage(buckets: readonly BoltBucketSource[], o: { pageSize: number; txid?: number }): BoltImage {
  const pageSize = o.pageSize;
  const sorted = [...buckets].sort((a, b) => compareBytes(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) assert(compareBytes(sorted[i - 1]!.name, sorted[i]!.name) < 0, 'bucket names are distinct');
  const plans = sorted.map((b) => planBucket(b, pageSize));

  const rootLeafBytes = PAGE_HEADER_BYTES + plans.reduce((n, p) => n + ELEMENT_BYTES + p.source.name.length + BUCKET_HEADER_BYTES + p.inlineBytes, 0);
  const rootPages = Math.ceil(rootLeafBytes / pageSize);
  let next = 3 + rootPages;
  for (const p of plans) {
    if (p.levels === null) continue;
    for (const level of p.levels) {
      for (const n of level) {
        n.id = next;
        next += n.pages;
      }
    }
  }
  const pageCount = next;
  const txid = o.txid ?? 1;

  function* pages(): Generator<Uint8Array> {
    for (let i = 0; i < 2; i++) {
      const meta = new Uint8Array(pageSize);
      writeMetaPage(meta, i, { pageSize, root: 3, freelist: 2, pageCount, txid: txid + i });
      yield meta;
    }
    const freelist = new Uint8Array(pageSize);
    writePageHeader(view(freelist), 0, { id: 2, flags: PageFlag.Freelist, count: 0, overflow: 0 });
    yield freelist;
    yield rootLeaf(plans, pageSize, rootPages);
    let expected = 3 + rootPages;
    for (const p of plans) {
      if (p.levels === null) continue;
      for (const level of p.levels) {
        for (const n of level) {
          assert(n.id === expected, 'pages are produced in id order');
          yield n.children === null ? leafPage(p.source, n, pageSize) : branchPage(n, pageSize);
          expected += n.pages;
        }
      }
    }
    assert(expected === pageCount, 'every planned page was produced');
  }

  return { pageSize, pageCount, sizeBytes: pageCount * pageSize, pages };
}

function planBucket(source: BoltBucketSource, pageSize: number): BucketPlan {
  const leaves: Node[] = [];
  let start = 0;
  let bytes = PAGE_HEADER_BYTES;
  const flush = (end: number): void => {
    leaves.push({ start, end, children: null, firstKey: source.key(start), pages: Math.max(1, Math.ceil(bytes / pageSize)), id: 0 });
    start = end;
    bytes = PAGE_HEADER_BYTES;
  };
  let prev: Uint8Array | null = null;
  for (let i = 0; i < source.length; i++) {
    const key = source.key(i);
    if (prev !== null) assert(compareBytes(prev, key) < 0, 'bucket keys are strictly ascending');
    prev = key;
    const elem = ELEMENT_BYTES + key.length + source.valueBytes(i);
    if (i > start && bytes + elem > pageSize) flush(i);
    bytes += elem;
  }
  if (source.length > 0) flush(source.length);
  const single = leaves.length <= 1;
  const leafBytes = single ? (source.length === 0 ? PAGE_HEADER_BYTES : leafContentBytes(source, 0, source.length)) : 0;
  if (single && leafBytes <= pageSize / 4) return { source, levels: null, inlineBytes: leafBytes };
  if (leaves.length === 0) leaves.push({ start: 0, end: 0, children: null, firstKey: new Uint8Array(0), pages: 1, id: 0 });
  const levels: Node[][] = [leaves];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const level: Node[] = [];
    let group: Node[] = [];
    let gBytes = PAGE_HEADER_BYTES;
    for (const child of below) {
      const elem = ELEMENT_BYTES + child.firstKey.length;
      if (group.length > 0 && gBytes + elem > pageSize) {
        level.push(branchNode(group, pageSize, gBytes));
        group = [];
        gBytes = PAGE_HEADER_BYTES;
      }
      group.push(child);
      gBytes += elem;
    }
    level.push(branchNode(group, pageSize, gBytes));
    levels.push(level);
  }
  return { source, levels, inlineBytes: 0 };
}

function branchNode(children: Node[], pageSize: number, bytes: number): Node {
  return { start: 0, end: 0, children, firstKey: children[0]!.firstKey, pages: Math.max(1, Math.ceil(bytes / pageSize)), id: 0 };
}

function leafContentBytes(s: BoltBucketSource, start: number, end: number): number {
  let n = PAGE_HEADER_BYTES;
  for (let i = start; i < end; i++) n += ELEMENT_BYTES + s.key(i).length + s.valueBytes(i);
  return n;
}

function leafPage(s: BoltBucketSource, n: Node, pageSize: number): Uint8Array {
  const buf = new Uint8Array(n.pages * pageSize);
  writeLeaf(buf, n.id, s, n.start, n.end, n.pages - 1);
  return buf;
}

/** A leaf (a page or an inline bucket's page) of elements [start, end) of `s`. */
function writeLeaf(buf: Uint8Array, id: number, s: BoltBucketSource, start: number, end: number, overflow: number): number {
  const v = view(buf);
  const count = end - start;
  assert(count <= 0xffff, 'a leaf holds at most 65535 elements');
  writePageHeader(v, 0, { id, flags: PageFlag.Leaf, count, overflow });
  let data = PAGE_HEADER_BYTES + count * ELEMENT_BYTES;
  for (let i = 0; i < count; i++) {
    const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
    const key = s.key(start + i);
    const value = s.value(start + i);
    assert(value.length === s.valueBytes(start + i), 'a value has the size the layout planned');
    v.setUint32(at, 0, true);
    v.setUint32(at + 4, data - at, true);
    v.setUint32(at + 8, key.length, true);
    v.setUint32(at + 12, value.length, true);
    buf.set(key, data);
    buf.set(value, data + key.length);
    data += key.length + value.length;
  }
  return data;
}

function branchPage(n: Node, pageSize: number): Uint8Array {
  const buf = new Uint8Array(n.pages * pageSize);
  const v = view(buf);
  const children = n.children!;
  writePageHeader(v, 0, { id: n.id, flags: PageFlag.Branch, count: children.length, overflow: n.pages - 1 });
  let data = PAGE_HEADER_BYTES + children.length * ELEMENT_BYTES;
  children.forEach((c, i) => {
    const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
    v.setUint32(at, data - at, true);
    v.setUint32(at + 4, c.firstKey.length, true);
    v.setBigUint64(at + 8, BigInt(c.id), true);
    buf.set(c.firstKey, data);
    data += c.firstKey.length;
  });
  return buf;
}

/** The root bucket's leaf: one bucket element per top-level bucket. */
function rootLeaf(plans: readonly BucketPlan[], pageSize: number, pages: number): Uint8Array {
  const buf = new Uint8Array(pages * pageSize);
  const v = view(buf);
  writePageHeader(v, 0, { id: 3, flags: PageFlag.Leaf, count: plans.length, overflow: pages - 1 });
  let data = PAGE_HEADER_BYTES + plans.length * ELEMENT_BYTES;
  plans.forEach((p, i) => {
    const at = PAGE_HEADER_BYTES + i * ELEMENT_BYTES;
    const name = p.source.name;
    const valueBytes = BUCKET_HEADER_BYTES + p.inlineBytes;
    v.setUint32(at, BUCKET_LEAF_FLAG, true);
    v.setUint32(at + 4, data - at, true);
    v.setUint32(at + 8, name.length, true);
    v.setUint32(at + 12, valueBytes, true);
    buf.set(name, data);
    const value = data + name.length;
    const root = p.levels === null ? 0 : p.levels[p.levels.length - 1]![0]!.id;
    v.setBigUint64(value, BigInt(root), true);
    v.setBigUint64(value + 8, 0n, true);
    if (p.levels === null) {
      const written = writeLeaf(buf.subarray(value + BUCKET_HEADER_BYTES, value + valueBytes), 0, p.source, 0, p.source.length, 0);
      assert(written === p.inlineBytes, 'an inline bucket has the size the layout planned');
    }
    data = value + valueBytes;
  });
  return buf;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
