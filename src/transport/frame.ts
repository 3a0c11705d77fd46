/**
 * The peer wire format: length-prefixed, checksummed frames. Pure: bytes in, frames out.
 *
 *   offset  size  field
 *   0       4     payload length in bytes (u32 little-endian), at most PEER_FRAME_BYTES_MAX
 *   4       4     CRC-32C of the type byte and the payload
 *   8       1     frame type (FrameType)
 *   9       n     payload
 *
 * TCP already checksums segments, but its 16-bit sum misses real corruption on long-lived links
 * (and a proxy or NIC can corrupt after it); a frame with a bad CRC closes the connection.
 */
import { crc32c } from '../core/crc32c.js';
import { PEER_FRAME_BYTES_MAX } from '../core/limits.js';
import { TransportError } from './errors.js';

export const FRAME_HEADER_BYTES = 9;

export const FrameType = {
  hello: 1,
  welcome: 2,
  reject: 3,
  message: 4,
  rpcRequest: 5,
  rpcResponse: 6,
  ping: 7,
  pong: 8,
  /** Sent instead of a hello by a member about to join: "describe this cluster". */
  clusterQuery: 9,
  clusterInfo: 10,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const KNOWN_TYPES = new Set<number>(Object.values(FrameType));

export interface Frame {
  readonly type: FrameType;
  readonly payload: Uint8Array;
}

function frameCrc(type: number, payload: Uint8Array): number {
  return crc32c(payload, crc32c(Uint8Array.of(type)));
}

/** Encodes one frame into a new buffer. */
export function encodeFrame(type: FrameType, payload: Uint8Array): Uint8Array {
  if (payload.length > PEER_FRAME_BYTES_MAX) {
    throw new TransportError('frame-too-large', `frame payload of ${payload.length} bytes exceeds ${PEER_FRAME_BYTES_MAX}`);
  }
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, frameCrc(type, payload), true);
  out[8] = type;
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental decoder: feed it whatever the socket delivers (any split, one byte at a time), get
 * whole frames back. A malformed stream (oversized length, unknown type, bad CRC) throws a
 * TransportError; the connection must then be closed, since the stream is no longer trustworthy.
 */
export class FrameDecoder {
  private buf: Uint8Array = new Uint8Array(0);
  private start = 0;
  private end = 0;
  private failed = false;

  constructor(private readonly frameBytesMax = PEER_FRAME_BYTES_MAX) {}

  /** Bytes received but not yet part of a whole frame. */
  get bufferedBytes(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): Frame[] {
    if (this.failed) throw new TransportError('decoder-failed', 'frame decoder used after a framing error');
    this.append(chunk);
    const frames: Frame[] = [];
    while (this.end - this.start >= FRAME_HEADER_BYTES) {
      const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.start, FRAME_HEADER_BYTES);
      const length = view.getUint32(0, true);
      const crc = view.getUint32(4, true);
      const type = view.getUint8(8);
      if (length > this.frameBytesMax) this.fail('frame-too-large', `peer frame of ${length} bytes exceeds ${this.frameBytesMax}`);
      if (!KNOWN_TYPES.has(type)) this.fail('bad-frame', `unknown peer frame type ${type}`);
      if (this.end - this.start < FRAME_HEADER_BYTES + length) break;
      const from = this.start + FRAME_HEADER_BYTES;
      // Copy the payload out: the buffer is reused, and frames outlive this call.
      const payload = this.buf.slice(from, from + length);
      if (frameCrc(type, payload) !== crc) this.fail('bad-checksum', `peer frame checksum mismatch (type ${type}, ${length} bytes)`);
      frames.push({ type: type as FrameType, payload });
      this.start = from + length;
    }
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
    }
    return frames;
  }

  private fail(code: 'frame-too-large' | 'bad-frame' | 'bad-checksum', message: string): never {
    this.failed = true;
    throw new TransportError(code, message);
  }

  private append(chunk: Uint8Array): void {
    const need = this.end - this.start + chunk.length;
    if (this.end + chunk.length <= this.buf.length) {
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
      return;
    }
    // Compact, and grow if the pending bytes plus the chunk do not fit.
    const cap = need <= this.buf.length ? this.buf.length : Math.max(need, this.buf.length * 2, 64 * 1024);
    const next = cap === this.buf.length ? this.buf : new Uint8Array(cap);
    next.set(this.buf.subarray(this.start, this.end), 0);
    next.set(chunk, this.end - this.start);
    this.buf = next;
    this.end = need;
    this.start = 0;
  }
}
