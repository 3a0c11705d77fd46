/**
 * The bbolt file format (the B+tree database etcd keeps its backend in), from its public
 * description: a file of fixed-size pages, little-endian.
 *
 *   page header (16 B)   u64 id · u16 flags · u16 count · u32 overflow (extra pages that follow)
 *   meta (pages 0, 1)    u32 magic 0xED0CDAED · u32 version 2 · u32 pageSize · u32 flags ·
 *                        bucket root {u64 root page, u64 sequence} · u64 freelist page ·
 *                        u64 page count (high water mark) · u64 txid · u64 FNV-1a-64 of the 56 bytes before
 *   freelist             count page ids (u64 each); count 0xFFFF: the first u64 holds the count
 *   branch element (16 B) u32 pos · u32 ksize · u64 child page      (pos: from the element to its key)
 *   leaf element (16 B)   u32 flags (1: the value is a bucket) · u32 pos · u32 ksize · u32 vsize
 *   bucket value          {u64 root page, u64 sequence}; root 0 = inline: a leaf page follows in the value
 *
 * The meta with the higher txid whose checksum holds is the current one.
 */

export const BOLT_MAGIC = 0xed0cdaed;
export const BOLT_VERSION = 2;
export const PAGE_HEADER_BYTES = 16;
export const ELEMENT_BYTES = 16;
export const BUCKET_HEADER_BYTES = 16;
export const META_BYTES = 64;
export const META_CHECKSUM_OFFSET = 56;

export const enum PageFlag {
  Branch = 0x01,
  Leaf = 0x02,
  Meta = 0x04,
  Freelist = 0x10,
}

export const BUCKET_LEAF_FLAG = 0x01;

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const U64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bit (bbolt's meta checksum). */
export function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h ^= BigInt(bytes[i]!);
    h = (h * FNV_PRIME) & U64;
  }
  return h;
}

export interface BoltMeta {
  readonly pageSize: number;
  readonly root: number;
  readonly freelist: number;
  readonly pageCount: number;
  readonly txid: number;
}

export function writeMetaPage(buf: Uint8Array, id: number, m: BoltMeta): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  writePageHeader(v, 0, { id, flags: PageFlag.Meta, count: 0, overflow: 0 });
  const o = PAGE_HEADER_BYTES;
  v.setUint32(o, BOLT_MAGIC, true);
  v.setUint32(o + 4, BOLT_VERSION, true);
  v.setUint32(o + 8, m.pageSize, true);
  v.setUint32(o + 12, 0, true);
  v.setBigUint64(o + 16, BigInt(m.root), true);
  v.setBigUint64(o + 24, 0n, true);
  v.setBigUint64(o + 32, BigInt(m.freelist), true);
  v.setBigUint64(o + 40, BigInt(m.pageCount), true);
  v.setBigUint64(o + 48, BigInt(m.txid), true);
  v.setBigUint64(o + META_CHECKSUM_OFFSET, fnv1a64(buf.subarray(o, o + META_CHECKSUM_OFFSET)), true);
}

export interface PageHeader {
  readonly id: number;
  readonly flags: number;
  readonly count: number;
  readonly overflow: number;
}

export function writePageHeader(v: DataView, at: number, h: PageHeader): void {
  v.setBigUint64(at, BigInt(h.id), true);
  v.setUint16(at + 8, h.flags, true);
  v.setUint16(at + 10, h.count, true);
  v.setUint32(at + 12, h.overflow, true);
}

export function readPageHeader(v: DataView, at: number): PageHeader {
  return { id: Number(v.getBigUint64(at, true)), flags: v.getUint16(at + 8, true), count: v.getUint16(at + 10, true), overflow: v.getUint32(at + 12, true) };
}
