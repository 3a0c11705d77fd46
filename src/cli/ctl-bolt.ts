/**
 * Reads an etcd snapshot file (a bbolt database, as etcd's Maintenance.Snapshot streams it, with
 * the sha256 of the database appended) far enough for `snapshot status`: etcdctl's hash (CRC-32C
 * over every bucket name and key-value pair, in order), the revision (the last key of the `key`
 * bucket), the number of keys and the database size.
 *
 * The bbolt layout (its public file format): pages of `pageSize` bytes; pages 0 and 1 are meta
 * pages (the valid one with the larger txid wins); every page starts with a 16-byte header (id,
 * flags, element count, overflow pages); branch elements point to child pages, leaf elements hold
 * a key and a value, and a bucket is a leaf value holding its root page id (0: the bucket's page
 * follows inline). Every offset and count is checked: a damaged file is an error, never a crash.
 */
import { crc32c } from '../core/crc32c.js';

const MAGIC = 0xed0cdaed;
const VERSION = 2;
const PAGE_HEADER_BYTES = 16;
const ELEMENT_BYTES = 16;
const BRANCH_PAGE = 0x01;
const LEAF_PAGE = 0x02;
const META_PAGE = 0x04;
const BUCKET_LEAF = 0x01;
const BUCKET_HEADER_BYTES = 16;
/** Nesting of pages a sane database never exceeds (a cycle in a damaged file stops here). */
const DEPTH_MAX = 64;

export class BoltError extends Error {
  override readonly name = 'BoltError';
}

export interface BoltStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

interface Page {
  readonly buf: Uint8Array;
  readonly view: DataView;
  /** Offset of the page header in `buf`. */
  readonly at: number;
  /** End of the bytes the page may use. */
  readonly end: number;
}

function fnv64a(b: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const x of b) h = BigInt.asUintN(64, (h ^ BigInt(x)) * 0x100000001b3n);
  return h;
}

class Bolt {
  readonly view: DataView;
  readonly pageSize: number;
  readonly rootPgid: bigint;
  readonly highWaterPgid: bigint;

  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.length < 2 * 1024) throw new BoltError('file too small');
    const first = this.meta(0, null);
    const pageSize = first?.pageSize ?? 4096;
    const second = this.meta(pageSize, pageSize);
    const m = first !== null && (second === null || first.txid >= second.txid) ? first : second;
    if (m === null) throw new BoltError('no valid meta page');
    this.pageSize = m.pageSize;
    this.rootPgid = m.root;
    this.highWaterPgid = m.pgid;
  }

  private meta(at: number, expectedPageSize: number | null): { pageSize: number; root: bigint; pgid: bigint; txid: bigint } | null {
    if (at + PAGE_HEADER_BYTES + 64 > this.buf.length) return null;
    const flags = this.view.getUint16(at + 8, true);
    const m = at + PAGE_HEADER_BYTES;
    if ((flags & META_PAGE) === 0 || this.view.getUint32(m, true) !== MAGIC || this.view.getUint32(m + 4, true) !== VERSION) return null;
    const pageSize = this.view.getUint32(m + 8, true);
    if (pageSize < 512 || pageSize > 1 << 20 || (expectedPageSize !== null && pageSize !== expectedPageSize)) return null;
    if (fnv64a(this.buf.subarray(m, m + 56)) !== this.view.getBigUint64(m + 56, true)) return null;
    return { pageSize, root: this.view.getBigUint64(m + 16, true), pgid: this.view.getBigUint64(m + 40, true), txid: this.view.getBigUint64(m + 48, true) };
  }

  page(pgid: bigint): Page {
    const at = Number(pgid) * this.pageSize;
    if (pgid < 2n || pgid >= this.highWaterPgid || at + PAGE_HEADER_BYTES > this.buf.length) throw new BoltError(`page ${pgid} out of range`);
    const overflow = this.view.getUint32(at + 12, true);
    const end = Math.min(this.buf.length, at + (overflow + 1) * this.pageSize);
    return { buf: this.buf, view: this.view, at, end };
  }

  /** Calls `visit` for every key-value pair under the page, in key order. */
  walk(p: Page, visit: (key: Uint8Array, value: Uint8Array, flags: number) => void, depth = 0): void {
    if (depth > DEPTH_MAX) throw new BoltError('tree too deep');
    const flags = p.view.getUint16(p.at + 8, true);
    const count = p.view.getUint16(p.at + 10, true);
    const elements = p.at + PAGE_HEADER_BYTES;
    if (elements + count * ELEMENT_BYTES > p.end) throw new BoltError('element table overruns the page');
    for (let i = 0; i < count; i++) {
      const e = elements + i * ELEMENT_BYTES;
      if ((flags & BRANCH_PAGE) !== 0) {
        this.walk(this.page(p.view.getBigUint64(e + 8, true)), visit, depth + 1);
      } else if ((flags & LEAF_PAGE) !== 0) {
        const eflags = p.view.getUint32(e, true);
        const pos = p.view.getUint32(e + 4, true);
        const ksize = p.view.getUint32(e + 8, true);
        const vsize = p.view.getUint32(e + 12, true);
        const k = e + pos;
        if (k + ksize + vsize > p.end) throw new BoltError('element overruns the page');
        visit(p.buf.subarray(k, k + ksize), p.buf.subarray(k + ksize, k + ksize + vsize), eflags);
      } else {
        throw new BoltError(`unexpected page flags ${flags}`);
      }
    }
  }

  /** The root page of a bucket whose leaf value is `value`. */
  bucketPage(value: Uint8Array): Page {
    if (value.length < BUCKET_HEADER_BYTES) throw new BoltError('bucket value too short');
    const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const root = v.getBigUint64(0, true);
    if (root !== 0n) return this.page(root);
    // An inline bucket: its page follows the header inside the value.
    if (value.length < BUCKET_HEADER_BYTES + PAGE_HEADER_BYTES) throw new BoltError('inline bucket too short');
    return { buf: value, view: v, at: BUCKET_HEADER_BYTES, end: value.length };
  }
}

/** etcdctl's `snapshot status` of a bbolt database. Throws BoltError when the file is not one. */
export function boltStatus(buf: Uint8Array): BoltStatus {
  const db = new Bolt(buf);
  let hash = 0;
  let totalKey = 0;
  let revision = 0;
  db.walk(db.page(db.rootPgid), (name, value, flags) => {
    if ((flags & BUCKET_LEAF) === 0) throw new BoltError('a key outside any bucket');
    hash = crc32c(name, hash);
    const isKeyBucket = Buffer.from(name).toString('latin1') === 'key';
    db.walk(db.bucketPage(value), (k, v) => {
      hash = crc32c(k, hash);
      hash = crc32c(v, hash);
      if (isKeyBucket && k.length >= 8) revision = Number(new DataView(k.buffer, k.byteOffset, 8).getBigInt64(0, false));
      totalKey++;
    });
  });
  return { hash, revision, totalKey, totalSize: Number(db.highWaterPgid) * db.pageSize };
}
