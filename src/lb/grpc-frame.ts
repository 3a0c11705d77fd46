/**
 * gRPC length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian length, the message.
 * The decoder is a byte-level state machine fed arbitrary chunks (one byte at a time works), with
 * the message size bounded.
 */
import { DecodeError } from '../core/errors.js';

export const GRPC_HEADER_BYTES = 5;

export function encodeGrpcFrame(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(GRPC_HEADER_BYTES + message.length);
  new DataView(out.buffer).setUint32(1, message.length, false);
  out.set(message, GRPC_HEADER_BYTES);
  return out;
}

/** Reads the length of the first frame in `buf` if its header is complete. */
export function grpcFrameLength(buf: Uint8Array): number | null {
  if (buf.length < GRPC_HEADER_BYTES) return null;
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(1, false);
}

export class GrpcFrameDecoder {
  private buf = new Uint8Array(0);

  constructor(private readonly messageBytesMax: number) {}

  /** Feeds bytes; returns the messages completed by them. Compressed messages are refused. */
  push(chunk: Uint8Array): Uint8Array[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let pos = 0;
    for (;;) {
      const rest = joined.subarray(pos);
      const len = grpcFrameLength(rest);
      if (len === null) break;
      if (rest[0] !== 0) throw new DecodeError(`gRPC: compressed or invalid frame flag ${rest[0]}`);
      if (len > this.messageBytesMax) throw new DecodeError(`gRPC: message of ${len} bytes exceeds ${this.messageBytesMax}`);
      if (rest.length < GRPC_HEADER_BYTES + len) break;
      out.push(rest.slice(GRPC_HEADER_BYTES, GRPC_HEADER_BYTES + len));
      pos += GRPC_HEADER_BYTES + len;
    }
    this.buf = joined.slice(pos);
    return out;
  }

  get bufferedBytes(): number {
    return this.buf.length;
  }
}
