/**
 * A growable output buffer. Frames for one socket are appended here during a tick and written
 * with one socket write (see node-socket.ts); `take()` hands the bytes over and starts afresh, so
 * a buffer given to the socket is never written again.
 */
import { assert } from '../../core/assert.js';

export class ByteSink {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get lengthBytes(): number {
    return this.pos;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(data: Uint8Array, start = 0, end = data.length): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(n === data.length ? data : data.subarray(start, end), this.pos);
    this.pos += n;
  }

  /** The bytes written so far, as a buffer the caller now owns; the sink starts empty. */
  take(nextInitialBytes = 16 * 1024): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(nextInitialBytes, 64));
    this.pos = 0;
    return out;
  }

  /** Forgets the content but keeps the memory (for scratch use, never for bytes handed out). */
  reset(): void {
    assert(this.pos >= 0);
    this.pos = 0;
  }
}
