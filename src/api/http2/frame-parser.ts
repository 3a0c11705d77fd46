/**
 * The HTTP/2 frame parser: a byte-level state machine that accepts input in chunks of any size
 * (one byte at a time works) and emits whole frames. A frame that arrives in one chunk is emitted
 * as a view into that chunk; a frame split across chunks is assembled into a buffer of its own.
 * Neither is ever reused, so views into payloads stay valid after the callback returns.
 *
 * Only the frame header is checked here (the preface, the size limit); payloads are checked in
 * frame.ts. Memory is bounded by the largest frame we accept.
 */
import { CONNECTION_PREFACE, ErrorCode, FRAME_HEADER_BYTES } from './constants.js';
import { Http2ConnectionError } from './errors.js';

export type FrameCallback = (type: number, flags: number, streamId: number, payload: Uint8Array) => void;

const enum State {
  Preface,
  Header,
  Payload,
  Failed,
}

export interface FrameParserOptions {
  /** The SETTINGS_MAX_FRAME_SIZE we advertised. */
  readonly frameBytesMax: number;
  /** A server expects the client preface before the first frame. */
  readonly expectPreface: boolean;
}

export class FrameParser {
  private state: State;
  private prefaceMatched = 0;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private payload: Uint8Array = new Uint8Array(0);
  private payloadFilled = 0;
  private type = 0;
  private flags = 0;
  private streamId = 0;
  frameBytesMax: number;

  constructor(options: FrameParserOptions) {
    this.frameBytesMax = options.frameBytesMax;
    this.state = options.expectPreface ? State.Preface : State.Header;
  }

  /** Feeds bytes; calls `onFrame` for every complete frame. Throws Http2ConnectionError. */
  push(chunk: Uint8Array, onFrame: FrameCallback): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      switch (this.state) {
        case State.Preface: {
          while (i < n && this.prefaceMatched < CONNECTION_PREFACE.length) {
            if (chunk[i] !== CONNECTION_PREFACE[this.prefaceMatched]) {
              this.state = State.Failed;
              throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid connection preface');
            }
            i++;
            this.prefaceMatched++;
          }
          if (this.prefaceMatched === CONNECTION_PREFACE.length) this.state = State.Header;
          break;
        }
        case State.Header: {
          if (this.headerFilled === 0 && n - i >= FRAME_HEADER_BYTES) {
            // Fast path: the whole header, and often the whole payload, is in this chunk.
            const length = (chunk[i]! << 16) | (chunk[i + 1]! << 8) | chunk[i + 2]!;
            this.type = chunk[i + 3]!;
            this.flags = chunk[i + 4]!;
            this.streamId = ((chunk[i + 5]! & 0x7f) << 24) | (chunk[i + 6]! << 16) | (chunk[i + 7]! << 8) | chunk[i + 8]!;
            i += FRAME_HEADER_BYTES;
            this.checkLength(length);
            if (n - i >= length) {
              const payload = chunk.subarray(i, i + length);
              i += length;
              onFrame(this.type, this.flags, this.streamId, payload);
              break;
            }
            this.startPayload(length);
            break;
          }
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, n - i);
          this.header.set(chunk.subarray(i, i + take), this.headerFilled);
          this.headerFilled += take;
          i += take;
          if (this.headerFilled < FRAME_HEADER_BYTES) break;
          const h = this.header;
          const length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
          this.type = h[3]!;
          this.flags = h[4]!;
          this.streamId = ((h[5]! & 0x7f) << 24) | (h[6]! << 16) | (h[7]! << 8) | h[8]!;
          this.headerFilled = 0;
          this.checkLength(length);
          if (length === 0) {
            onFrame(this.type, this.flags, this.streamId, this.payload.subarray(0, 0));
            break;
          }
          this.startPayload(length);
          break;
        }
        case State.Payload: {
          const want = this.payload.length - this.payloadFilled;
          const take = Math.min(want, n - i);
          this.payload.set(chunk.subarray(i, i + take), this.payloadFilled);
          this.payloadFilled += take;
          i += take;
          if (this.payloadFilled === this.payload.length) {
            this.state = State.Header;
            const payload = this.payload;
            this.payload = new Uint8Array(0);
            onFrame(this.type, this.flags, this.streamId, payload);
          }
          break;
        }
        case State.Failed:
          return;
      }
    }
  }

  private checkLength(length: number): void {
    if (length > this.frameBytesMax) {
      this.state = State.Failed;
      throw new Http2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes exceeds ${this.frameBytesMax}`);
    }
  }

  private startPayload(length: number): void {
    this.payload = new Uint8Array(length);
    this.payloadFilled = 0;
    this.state = State.Payload;
  }
}
