/**
 * gRPC length-prefixed messages (grpc/doc/PROTOCOL-HTTP2.md): a compressed-flag byte, a 4-byte
 * big-endian length, the message. The reader accepts DATA payloads split anywhere. A message
 * wholly inside one payload is returned as a view (no copy); one split across payloads is
 * assembled into a fresh buffer. Neither is reused, so messages stay valid.
 */
import { GrpcError } from './errors.js';
import { Status } from './status.js';

export const MESSAGE_PREFIX_BYTES = 5;

/** A complete message (a view or a fresh buffer). */
export type MessageCallback = (message: Uint8Array) => void;

export class MessageReader {
  private readonly prefix = new Uint8Array(MESSAGE_PREFIX_BYTES);
  private prefixFilled = 0;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;

  constructor(private readonly messageBytesMax: number) {}

  /** Mid-message: the stream must not end here. */
  get partial(): boolean {
    return this.prefixFilled > 0 || this.body !== null;
  }

  /** Throws GrpcError (RESOURCE_EXHAUSTED for an oversized message, UNIMPLEMENTED for compression). */
  push(data: Uint8Array, onMessage: MessageCallback): void {
    let i = 0;
    const n = data.length;
    while (i < n) {
      if (this.body === null) {
        if (this.prefixFilled === 0 && n - i >= MESSAGE_PREFIX_BYTES) {
          const length = this.header(data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!, data[i + 4]!);
          i += MESSAGE_PREFIX_BYTES;
          if (n - i >= length) {
            onMessage(data.subarray(i, i + length));
            i += length;
            continue;
          }
          this.body = new Uint8Array(length);
          this.bodyFilled = 0;
          continue;
        }
        const take = Math.min(MESSAGE_PREFIX_BYTES - this.prefixFilled, n - i);
        this.prefix.set(data.subarray(i, i + take), this.prefixFilled);
        this.prefixFilled += take;
        i += take;
        if (this.prefixFilled < MESSAGE_PREFIX_BYTES) break;
        this.prefixFilled = 0;
        const p = this.prefix;
        const length = this.header(p[0]!, p[1]!, p[2]!, p[3]!, p[4]!);
        this.body = new Uint8Array(length);
        this.bodyFilled = 0;
        if (length === 0) {
          this.body = null;
          onMessage(new Uint8Array(0));
        }
        continue;
      }
      const body = this.body;
      const take = Math.min(body.length - this.bodyFilled, n - i);
      body.set(data.subarray(i, i + take), this.bodyFilled);
      this.bodyFilled += take;
      i += take;
      if (this.bodyFilled === body.length) {
        this.body = null;
        onMessage(body);
      }
    }
  }

  private header(flag: number, b1: number, b2: number, b3: number, b4: number): number {
    if (flag === 1) throw new GrpcError(Status.UNIMPLEMENTED, 'compressed messages are not supported (grpc-encoding identity only)');
    if (flag !== 0) throw new GrpcError(Status.INTERNAL, `invalid message flag ${flag}`);
    const length = ((b1 << 24) | (b2 << 16) | (b3 << 8) | b4) >>> 0;
    if (length > this.messageBytesMax) {
      throw new GrpcError(Status.RESOURCE_EXHAUSTED, `grpc: received message larger than max (${length} vs. ${this.messageBytesMax})`);
    }
    return length;
  }
}

/** A message with its 5-byte prefix, in one buffer ready to be a DATA payload. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MESSAGE_PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, MESSAGE_PREFIX_BYTES);
  return out;
}
