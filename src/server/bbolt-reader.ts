/**
 * Reads a bbolt database held in memory (an etcd snapshot or member/snap/db file): the current
 * meta, then any bucket's key/value pairs in key order, through branch, leaf, overflow and inline
 * pages. Read-only and defensive: every offset is checked against the file, page types against
 * what the tree expects, and depth and visit counts are bounded, so a damaged or hostile file gives
 * a BoltError, never a crash or a hang. Format: bbolt-format.ts.
 */
import { BoltError } from './errors.js';
import { BOLT_MAGIC, BOLT_VERSION, BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, ELEMENT_BYTES, META_CHECKSUM_OFFSET, PAGE_HEADER_BYTES, PageFlag, fnv1a64, readPageHeader, type BoltMeta } from './bbolt-format.js';

const TREE_DEPTH_MAX = 64;

export interface BoltEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** The value is a nested bucket. */
  readonly isBucket: boolean;
}

export class BoltReader {
  readonly meta: BoltMeta;
  private readonly view: DataView;

  constructor(private readonly file: Uint8Array) {
    this.view = new DataView(file.buffer, file.byteOffset, file.byteLength);
    if (file.length < PAGE_HEADER_BYTES + 64) throw new BoltError(`file of ${file.length} bytes is too small`);
    const first = this.readMeta(0, null);
    const pageSize = first.meta?.pageSize ?? 4096;
    const second = this.readMeta(pageSize, pageSize);
    const metas = [first.meta, second.meta].filter((m): m is BoltMeta => m !== null).sort((a, b) => b.txid - a.txid);
    if (metas.length === 0) throw new BoltError(first.error ?? second.error ?? 'no valid meta page');
    this.meta = metas[0]!;
    if (this.meta.pageCount * this.meta.pageSize > file.length) {
      throw new BoltError(`meta says ${this.meta.pageCount} pages of ${this.meta.pageSize} bytes, the file holds ${file.length} bytes`);
    }
  }

  /** Size of the database proper (bbolt's tx.Size()): what etcd reports as TOTAL SIZE. */
  get sizeBytes(): number {
    return this.meta.pageCount * this.meta.pageSize;
  }

  /** Entries of the bucket at `path` ([] = the root bucket, whose entries are the top-level buckets). */
  entries(path: readonly Uint8Array[]): BoltEntry[] {
    const out: BoltEntry[] = [];
    this.forEach(path, (e) => {
      out.push(e);
    });
    return out;
  }

  /** Calls `fn` for every entry of the bucket at `path`, in key order. Values are views into the file. */
  forEach(path: readonly Uint8Array[], fn: (e: BoltEntry) => void): void {
    let root: Bucket = { root: this.meta.root, inline: null };
    for (const name of path) {
      let found: Bucket | null = null;
      this.walk(root, (e) => {
        if (found === null && e.isBucket && equal(e.key, name)) found = this.bucketOf(e.value);
      });
      if (found === null) throw new BoltError(`no bucket ${new TextDecoder().decode(name)}`);
      root = found;
    }
    this.walk(root, fn);
  }

  /** Whether a top-level bucket exists. */
  hasBucket(name: Uint8Array): boolean {
    return this.entries([]).some((e) => e.isBucket && equal(e.key, name));
  }

  private bucketOf(value: Uint8Array): Bucket {
    if (value.length < BUCKET_HEADER_BYTES) throw new BoltError('bucket value shorter than its header');
    const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const root = Number(v.getBigUint64(0, true));
    if (root !== 0) return { root, inline: null };
    return { root: 0, inline: value.subarray(BUCKET_HEADER_BYTES) };
  }

  private walk(b: Bucket, fn: (e: BoltEntry) => void): void {
    if (b.inline !== null) {
      if (b.inline.length < PAGE_HEADER_BYTES) throw new BoltError('inline bucket shorter than a page header');
      this.walkPage(b.inline, 0, b.inline.length, fn, 0, new Set());
      return;
    }
    this.walkPageId(b.root, fn, 0, new Set());
  }

  private walkPageId(id: number, fn: (e: BoltEntry) => void, depth: number, seen: Set<number>): void {
    if (depth > TREE_DEPTH_MAX) throw new BoltError('tree deeper than any real database');
    if (id < 2 || id >= this.meta.pageCount) throw new BoltError(`page ${id} is outside the database (${this.meta.pageCount} pages)`);
    if (seen.has(id)) throw new BoltError(`page ${id} is reachable twice`);
    seen.add(id);
    const at = id * this.meta.pageSize;
    const h = readPageHeader(this.view, at);
    if (h.id !== id) throw new BoltError(`page ${id} says it is page ${h.id}`);
    const end = at + (h.overflow + 1) * this.meta.pageSize;
    if (h.overflow > this.meta.pageCount || end > this.file.length) throw new BoltError(`page ${id} overflows the file`);
    this.walkPage(this.file, at, end, fn, depth, seen);
  }

  private walkPage(buf: Uint8Array, at: number, end: number, fn: (e: BoltEntry) => void, depth: number, seen: Set<number>): void {
    const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const h = readPageHeader(v, at);
    const elems = at + PAGE_HEADER_BYTES;
    if (elems + h.count * ELEMENT_BYTES > end) throw new BoltError(`page ${h.id}: ${h.count} elements do not fit`);
    const slice = (from: number, len: number): Uint8Array => {
      if (from < at || len < 0 || from + len > end) throw new BoltError(`page ${h.id}: element data outside the page`);
      return buf.subarray(from, from + len);
    };
    if (h.flags & PageFlag.Leaf) {
      for (let i = 0; i < h.count; i++) {
        const e = elems + i * ELEMENT_BYTES;
        const flags = v.getUint32(e, true);
        const pos = e + v.getUint32(e + 4, true);
        const ksize = v.getUint32(e + 8, true);
        const vsize = v.getUint32(e + 12, true);
        fn({ key: slice(pos, ksize), value: slice(pos + ksize, vsize), isBucket: (flags & BUCKET_LEAF_FLAG) !== 0 });
      }
    } else if (h.flags & PageFlag.Branch) {
      for (let i = 0; i < h.count; i++) {
        const e = elems + i * ELEMENT_BYTES;
        this.walkPageId(Number(v.getBigUint64(e + 8, true)), fn, depth + 1, seen);
      }
    } else {
      throw new BoltError(`page ${h.id} has type ${h.flags}, expected a branch or a leaf`);
    }
  }

  private readMeta(at: number, pageSize: number | null): { meta: BoltMeta | null; error: string | null } {
    if (at + PAGE_HEADER_BYTES + 64 > this.file.length) return { meta: null, error: 'file too small for two meta pages' };
    const o = at + PAGE_HEADER_BYTES;
    const v = this.view;
    if (v.getUint32(o, true) !== BOLT_MAGIC) return { meta: null, error: 'not a bbolt file (bad magic)' };
    if (v.getUint32(o + 4, true) !== BOLT_VERSION) return { meta: null, error: `unsupported bbolt version ${v.getUint32(o + 4, true)}` };
    const sum = v.getBigUint64(o + META_CHECKSUM_OFFSET, true);
    if (fnv1a64(this.file.subarray(o, o + META_CHECKSUM_OFFSET)) !== sum) return { meta: null, error: 'meta checksum mismatch' };
    const size = v.getUint32(o + 8, true);
    if (size < 512 || size > 65536 || (size & (size - 1)) !== 0 || (pageSize !== null && size !== pageSize)) return { meta: null, error: `bad page size ${size}` };
    const meta: BoltMeta = {
      pageSize: size,
      root: Number(v.getBigUint64(o + 16, true)),
      freelist: Number(v.getBigUint64(o + 32, true)),
      pageCount: Number(v.getBigUint64(o + 40, true)),
      txid: Number(v.getBigUint64(o + 48, true)),
    };
    return { meta, error: null };
  }
}

interface Bucket {
  readonly root: number;
  readonly inline: Uint8Array | null;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

