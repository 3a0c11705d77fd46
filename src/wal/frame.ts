/**
 * The frame: the unit of a log segment. Every frame starts on an 8-byte boundary, so its type and
 * length share one aligned word and are never torn apart.
 *
 *   offset  size  field
 *   0       1     type (FrameType; 0 is invalid, so zeroed space reads as "unwritten")
 *   1       1     flags (bit 0: the second copy of a commit frame)
 *   2       2     reserved, zero
 *   4       4     payload length in bytes, little-endian, excluding padding
 *   8       4     CRC-32C of bytes [0, 8) followed by the payload
 *   12      n     payload
 *   12+n    0..7  zero padding to a multiple of 8
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import type { ByteWriter } from '../core/bytes.js';

export const FRAME_HEADER_BYTES = 12;
export const FRAME_ALIGN_BYTES = 8;

export const FrameType = {
  invalid: 0,
  entry: 1,
  truncate: 2,
  reset: 3,
  seal: 4,
  pad: 5,
  commit: 6,
  begin: 7,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const FRAME_TYPE_MAX = FrameType.begin;

export const FRAME_FLAG_COMMIT_COPY = 1;

export function alignUp(n: number, alignBytes: number): number {
  return Math.ceil(n / alignBytes) * alignBytes;
}

/** Bytes a frame with `payloadBytes` of payload occupies, padding included. */
export function frameSizeBytes(payloadBytes: number): number {
  return alignUp(FRAME_HEADER_BYTES + payloadBytes, FRAME_ALIGN_BYTES);
}

/**
 * Appends one frame to `w`, whose length must be 8-aligned. `writePayload` writes the payload; the
 * header's length and checksum are filled in afterwards. Returns the frame's offset in `w`.
 */
export function writeFrame(w: ByteWriter, type: FrameType, flags: number, writePayload: (w: ByteWriter) => void): number {
  const start = w.lengthBytes;
  assert(start % FRAME_ALIGN_BYTES === 0, 'frames start 8-aligned');
  assert(type !== FrameType.invalid, 'frame type 0 is reserved for unwritten space');
  w.u8(type).u8(flags).u8(0).u8(0).u32(0).u32(0);
  writePayload(w);
  const payloadBytes = w.lengthBytes - start - FRAME_HEADER_BYTES;
  w.patchU32(start + 4, payloadBytes);
  const buf = w.finish();
  const crc = crc32c(buf, crc32c(buf, 0, start, start + 8), start + FRAME_HEADER_BYTES, start + FRAME_HEADER_BYTES + payloadBytes);
  w.patchU32(start + 8, crc);
  w.align(FRAME_ALIGN_BYTES);
  return start;
}

export interface Frame {
  readonly type: FrameType;
  readonly flags: number;
  /** A view into the scanned bytes. */
  readonly payload: Uint8Array;
  readonly offset: number;
  /** Bytes the frame occupies, padding included: the next frame starts at offset + sizeBytes. */
  readonly sizeBytes: number;
}

export type FrameRead =
  | { readonly type: 'frame'; readonly frame: Frame }
  /** No frame here: the rest of the input from this offset is zero (unwritten) or absent. */
  | { readonly type: 'end' }
  | { readonly type: 'bad'; readonly reason: string };

/**
 * Decodes the frame at `offset` (8-aligned) of `buf[0, end)`. Never throws on bad bytes: a frame
 * is either whole and checksummed, or the caller learns why not.
 */
export function readFrame(buf: Uint8Array, offset: number, end: number, payloadBytesMax: number): FrameRead {
  assert(offset % FRAME_ALIGN_BYTES === 0, 'frames start 8-aligned');
  if (offset >= end) return { type: 'end' };
  if (end - offset < FRAME_HEADER_BYTES) {
    return isZero(buf, offset, end) ? { type: 'end' } : { type: 'bad', reason: 'truncated frame header' };
  }
  const type = buf[offset]!;
  if (type === FrameType.invalid) {
    return isZero(buf, offset, end) ? { type: 'end' } : { type: 'bad', reason: 'frame type 0 before the end of the data' };
  }
  if (type > FRAME_TYPE_MAX) return { type: 'bad', reason: `unknown frame type ${type}` };
  if (buf[offset + 2] !== 0 || buf[offset + 3] !== 0) return { type: 'bad', reason: 'reserved frame bytes are not zero' };
  const payloadBytes = u32At(buf, offset + 4);
  if (payloadBytes > payloadBytesMax) return { type: 'bad', reason: `frame length ${payloadBytes} exceeds ${payloadBytesMax}` };
  const sizeBytes = frameSizeBytes(payloadBytes);
  if (offset + FRAME_HEADER_BYTES + payloadBytes > end) return { type: 'bad', reason: 'frame runs past the end of the data' };
  const stored = u32At(buf, offset + 8);
  const payloadStart = offset + FRAME_HEADER_BYTES;
  const crc = crc32c(buf, crc32c(buf, 0, offset, offset + 8), payloadStart, payloadStart + payloadBytes);
  if (crc !== stored) return { type: 'bad', reason: 'frame checksum mismatch' };
  return {
    type: 'frame',
    frame: {
      type: type as FrameType,
      flags: buf[offset + 1]!,
      payload: buf.subarray(payloadStart, payloadStart + payloadBytes),
      offset,
      sizeBytes,
    },
  };
}

function u32At(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

export function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}
