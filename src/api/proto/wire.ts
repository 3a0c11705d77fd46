/**
 * The protobuf wire format (proto3 subset) for the generated codecs in ./generated: varints,
 * zigzag-free signed integers as etcd uses them (int64 as two's complement), length-delimited
 * fields. The writer nests messages in one pass: it reserves one byte for a length and moves the
 * body when the length needs more. The reader validates everything: a bad wire type, a length
 * beyond the input, an over-long varint, a 64-bit value that does not fit a JS number, invalid
 * UTF-8 — each is a DecodeError, and nothing is allocated beyond what the input holds.
 */
import { DecodeError } from '../../core/errors.js';

export const WireType = { VARINT: 0, I64: 1, LEN: 2, SGROUP: 3, EGROUP: 4, I32: 5 } as const;

/** Nested messages deeper than this are refused (a hostile input cannot exhaust the stack). */
export const MESSAGE_DEPTH_MAX = 64;

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

const TWO_32 = 2 ** 32;

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private grow(n: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A tag is field << 3 | wire type; fields here are < 2^29, so it is a uint32 varint. */
  tag(field: number, wireType: number): void {
    this.uint32(field * 8 + wireType);
  }

  uint32(v: number): void {
    if (this.pos + 5 > this.buf.length) this.grow(5);
    const b = this.buf;
    v >>>= 0;
    while (v > 0x7f) {
      b[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    b[this.pos++] = v;
  }

  /** int32 / enum: negative values take ten bytes, as protobuf sign-extends them to 64 bits. */
  int32(v: number): void {
    if (v >= 0) this.uint32(v);
    else this.split64(v >>> 0, 0xffffffff);
  }

  /** int64 or uint64 from a JS number (a safe integer). */
  int64Number(v: number): void {
    if (v >= 0) {
      if (v < TWO_32) return this.uint32(v);
      this.split64(v % TWO_32, Math.floor(v / TWO_32));
      return;
    }
    // Two's complement of a negative safe integer, split in two 32-bit halves.
    const abs = -v;
    let lo = abs % TWO_32;
    let hi = Math.floor(abs / TWO_32);
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    this.split64(lo, hi);
  }

  int64Bigint(v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.split64(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  private split64(lo: number, hi: number): void {
    if (this.pos + 10 > this.buf.length) this.grow(10);
    const b = this.buf;
    while (hi > 0 || lo > 0x7f) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[this.pos++] = lo;
  }

  bool(v: boolean): void {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  bytes(v: Uint8Array): void {
    this.uint32(v.length);
    if (this.pos + v.length > this.buf.length) this.grow(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  string(s: string): void {
    // ASCII is the common case (names, URLs); it needs no measuring pass.
    const n = s.length;
    if (n < 128) {
      let ascii = true;
      for (let i = 0; i < n; i++) {
        if (s.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        if (this.pos + n + 1 > this.buf.length) this.grow(n + 1);
        const b = this.buf;
        b[this.pos++] = n;
        for (let i = 0; i < n; i++) b[this.pos++] = s.charCodeAt(i);
        return;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.uint32(len);
    if (this.pos + len > this.buf.length) this.grow(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
  }

  /** Starts a length-delimited body; returns the mark to pass to `endLength`. */
  beginLength(): number {
    if (this.pos + 1 > this.buf.length) this.grow(1);
    return this.pos++;
  }

  endLength(mark: number): void {
    const len = this.pos - mark - 1;
    if (len < 0x80) {
      this.buf[mark] = len;
      return;
    }
    const extra = (len < 1 << 14 ? 2 : len < 1 << 21 ? 3 : len < 1 << 28 ? 4 : 5) - 1;
    if (this.pos + extra > this.buf.length) this.grow(extra);
    this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
    this.pos += extra;
    let v = len;
    let p = mark;
    while (v > 0x7f) {
      this.buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[p] = v;
  }
}

/** The shared writer of the generated `encodeX` functions (encoding is synchronous, never nested). */
export const sharedWriter = new ProtoWriter(64 * 1024);

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class ProtoReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** A tag: returns field << 3 | wire type, validated. */
  tag(): number {
    const t = this.uint32();
    if (t >>> 3 === 0) throw new DecodeError('field number 0');
    return t;
  }

  uint32(): number {
    const b = this.buf;
    let p = this.pos;
    if (p < this.end && b[p]! < 0x80) {
      this.pos = p + 1;
      return b[p]!;
    }
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (p >= this.end) throw new DecodeError('truncated varint');
      const x = b[p++]!;
      v += (x & 0x7f) * 2 ** shift;
      if (x < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    // Longer varints are 64-bit values (e.g. a negative int32): keep the low 32 bits.
    for (let i = 0; i < 5; i++) {
      if (p >= this.end) throw new DecodeError('truncated varint');
      if (b[p++]! < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads a 64-bit varint as two 32-bit halves into lo/hi. */
  private lo = 0;
  private hi = 0;
  private read64(): void {
    const b = this.buf;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 4; i++) {
      if (p >= this.end) throw new DecodeError('truncated varint');
      const x = b[p++]!;
      lo |= (x & 0x7f) << (i * 7);
      if (x < 0x80) {
        this.pos = p;
        this.lo = lo >>> 0;
        this.hi = 0;
        return;
      }
    }
    if (p >= this.end) throw new DecodeError('truncated varint');
    let x = b[p++]!;
    lo |= (x & 0x7f) << 28;
    hi = (x & 0x7f) >> 4;
    if (x >= 0x80) {
      for (i = 0; i < 5; i++) {
        if (p >= this.end) throw new DecodeError('truncated varint');
        x = b[p++]!;
        hi |= (x & 0x7f) << (i * 7 + 3);
        if (x < 0x80) break;
      }
      if (x >= 0x80) throw new DecodeError('varint longer than 10 bytes');
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** int64 as a number: an error when outside the safe-integer range. */
  int64Number(): number {
    this.read64();
    const { lo, hi } = this;
    if (hi & 0x80000000) {
      const v = -((~hi >>> 0) * TWO_32 + (~lo >>> 0) + 1);
      if (!Number.isSafeInteger(v)) throw new DecodeError('int64 value below -(2^53 - 1)');
      return v;
    }
    const v = hi * TWO_32 + lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError('int64 value above 2^53 - 1');
    return v;
  }

  uint64Number(): number {
    this.read64();
    const v = this.hi * TWO_32 + this.lo;
    if (!Number.isSafeInteger(v)) throw new DecodeError('uint64 value above 2^53 - 1');
    return v;
  }

  int64Bigint(): bigint {
    this.read64();
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  uint64Bigint(): bigint {
    this.read64();
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  bool(): boolean {
    this.read64();
    return this.lo !== 0 || this.hi !== 0;
  }

  /** The end of a length-delimited field that starts here. */
  lengthEnd(): number {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.end) throw new DecodeError(`length ${n} overruns the message`);
    return end;
  }

  /** Bytes as a view into the input (no copy). */
  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const v = this.buf.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  /** A proto3 string: must be valid UTF-8. */
  string(): string {
    const end = this.lengthEnd();
    const b = this.buf;
    let s = '';
    let ascii = end - this.pos < 64;
    if (ascii) {
      for (let i = this.pos; i < end; i++) {
        const c = b[i]!;
        if (c > 0x7f) {
          ascii = false;
          break;
        }
        s += String.fromCharCode(c);
      }
    }
    if (!ascii) {
      try {
        s = utf8Decoder.decode(b.subarray(this.pos, end));
      } catch {
        throw new DecodeError('string field is not valid UTF-8');
      }
    }
    this.pos = end;
    return s;
  }

  /** Skips a field of an unknown number (forward compatibility). */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.read64();
        return;
      case WireType.I64:
        this.advance(8);
        return;
      case WireType.LEN:
        this.pos = this.lengthEnd();
        return;
      case WireType.I32:
        this.advance(4);
        return;
      default:
        throw new DecodeError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('truncated fixed-width field');
    this.pos += n;
  }
}

/** A field arrived with a wire type its declaration does not allow. */
export function wrongWireType(message: string, field: number, wireType: number): DecodeError {
  return new DecodeError(`${message} field ${field}: unexpected wire type ${wireType}`);
}

export function tooDeep(message: string): DecodeError {
  return new DecodeError(`${message}: nested deeper than ${MESSAGE_DEPTH_MAX}`);
}
