/**
 * A segment file: a 64-byte header, then frames. The file is named after its id and the index it
 * starts at, so a directory listing alone orders segments and an operator can read it:
 *
 *   <segment id, 16 hex digits>-<first index, 20 decimal digits>.wal
 *
 *   header offset  size  field
 *   0              8     magic "BWALSEG\0"
 *   8              4     format version (1)
 *   12             4     reserved, zero
 *   16             8     segment id (1, 2, 3, …; a successor always has the next id)
 *   24             8     first index: the log's last index + 1 when the segment was created
 *   32             24    reserved, zero
 *   56             4     CRC-32C of bytes [0, 56)
 *   60             4     reserved, zero
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';

export const SEGMENT_HEADER_BYTES = 64;
export const WAL_FORMAT_VERSION = 1;
const MAGIC = [0x42, 0x57, 0x41, 0x4c, 0x53, 0x45, 0x47, 0x00]; // "BWALSEG\0"

export interface SegmentHeader {
  readonly segmentId: number;
  readonly firstIndex: number;
}

export function encodeSegmentHeader(h: SegmentHeader): Uint8Array {
  const w = new ByteWriter(SEGMENT_HEADER_BYTES);
  for (const b of MAGIC) w.u8(b);
  w.u32(WAL_FORMAT_VERSION).u32(0).u53(h.segmentId).u53(h.firstIndex);
  w.raw(new Uint8Array(24));
  w.u32(crc32c(w.finish(), 0, 0, 56)).u32(0);
  return w.finish().slice();
}

export type HeaderRead =
  | { readonly type: 'valid'; readonly header: SegmentHeader }
  | { readonly type: 'invalid'; readonly reason: string };

export function decodeSegmentHeader(buf: Uint8Array): HeaderRead {
  if (buf.length < SEGMENT_HEADER_BYTES) return { type: 'invalid', reason: 'segment shorter than its header' };
  for (let i = 0; i < MAGIC.length; i++) {
    if (buf[i] !== MAGIC[i]) return { type: 'invalid', reason: 'bad segment magic' };
  }
  const r = new ByteReader(buf, 8, SEGMENT_HEADER_BYTES);
  const version = r.u32();
  r.skip(4);
  const storedCrc = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(56, true);
  if (crc32c(buf, 0, 0, 56) !== storedCrc) return { type: 'invalid', reason: 'segment header checksum mismatch' };
  if (buf[60] !== 0 || buf[61] !== 0 || buf[62] !== 0 || buf[63] !== 0) return { type: 'invalid', reason: 'reserved header bytes are not zero' };
  if (version !== WAL_FORMAT_VERSION) return { type: 'invalid', reason: `segment format version ${version}, expected ${WAL_FORMAT_VERSION}` };
  try {
    const segmentId = r.u53();
    const firstIndex = r.u53();
    if (segmentId === 0 || firstIndex === 0) return { type: 'invalid', reason: 'segment id or first index is 0' };
    return { type: 'valid', header: { segmentId, firstIndex } };
  } catch {
    return { type: 'invalid', reason: 'segment header fields out of range' };
  }
}

export function segmentFileName(h: SegmentHeader): string {
  return `${h.segmentId.toString(16).padStart(16, '0')}-${String(h.firstIndex).padStart(20, '0')}.wal`;
}

const NAME = /^([0-9a-f]{16})-([0-9]{20})\.wal$/;

export function parseSegmentFileName(name: string): SegmentHeader | null {
  const m = NAME.exec(name);
  if (m === null) return null;
  const segmentId = Number.parseInt(m[1]!, 16);
  const firstIndex = Number(m[2]!);
  if (!Number.isSafeInteger(segmentId) || !Number.isSafeInteger(firstIndex) || segmentId === 0 || firstIndex === 0) return null;
  return { segmentId, firstIndex };
}
