/**
 * Little-endian binary writer and reader for Bulwark's own formats (peer messages, WAL records,
 * snapshots). The reader never trusts its input: every length is checked against what remains, and
 * a violation throws DecodeError, so a peer speaking nonsense is an error, never a crash.
 */
import { DecodeError } from './errors.js';

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  constructor(initialCapacityBytes = 256) {
    this.buf = new Uint8Array(initialCapacityBytes);
    this.view = new DataView(this.buf.buffer);
  }

  get lengthBytes(): number {
    return this.pos;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.pos++] = v;
    return this;
  }

  bool(v: boolean): this {
    return this.u8(v ? 1 : 0);
  }

  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
    return this;
  }

  /** A non-negative safe integer (up to 2^53 - 1) as 8 bytes. */
  u53(v: number): this {
    this.reserve(8);
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }

  u64(v: bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  i64(v: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  f64(v: number): this {
    this.reserve(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  /** Unsigned LEB128 varint of a non-negative safe integer. */
  varint(v: number): this {
    this.reserve(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  raw(data: Uint8Array): this {
    this.reserve(data.length);
    this.buf.set(data, this.pos);
    this.pos += data.length;
    return this;
  }

  /** Length-prefixed bytes. */
  bytes(data: Uint8Array): this {
    this.varint(data.length);
    return this.raw(data);
  }

  string(s: string): this {
    return this.bytes(textEncoder.encode(s));
  }

  /** Pads with zeros to a multiple of `alignBytes`. */
  align(alignBytes: number): this {
    const pad = (alignBytes - (this.pos % alignBytes)) % alignBytes;
    this.reserve(pad);
    this.buf.fill(0, this.pos, this.pos + pad);
    this.pos += pad;
    return this;
  }

  /** Overwrites 4 bytes at an earlier position (for lengths and checksums filled in last). */
  patchU32(at: number, v: number): this {
    this.view.setUint32(at, v, true);
    return this;
  }

  /** The written bytes. The view shares memory with the writer until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class ByteReader {
  private readonly view: DataView;
  private pos: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remainingBytes(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError(`truncated input: need ${n} bytes for ${what} at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  bool(what = 'bool'): boolean {
    const v = this.u8(what);
    if (v > 1) throw new DecodeError(`invalid boolean ${v} for ${what}`);
    return v === 1;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u53(what = 'u53'): number {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${what} out of range: ${v}`);
    return Number(v);
  }

  u64(what = 'u64'): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  i64(what = 'i64'): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }

  f64(what = 'f64'): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  varint(what = 'varint'): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what);
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) throw new DecodeError(`${what} out of range`);
        return result;
      }
      mul *= 0x80;
    }
    throw new DecodeError(`${what}: varint too long`);
  }

  raw(n: number, what = 'bytes'): Uint8Array {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Length-prefixed bytes, bounded by `maxBytes`. Returns a view into the input. */
  bytes(maxBytes: number, what = 'bytes'): Uint8Array {
    const n = this.varint(`${what} length`);
    if (n > maxBytes) throw new DecodeError(`${what} too long: ${n} bytes, at most ${maxBytes}`);
    return this.raw(n, what);
  }

  string(maxBytes: number, what = 'string'): string {
    const b = this.bytes(maxBytes, what);
    try {
      return textDecoder.decode(b);
    } catch (e) {
      throw new DecodeError(`${what}: invalid UTF-8`, { cause: e });
    }
  }

  skip(n: number, what = 'padding'): void {
    this.need(n, what);
    this.pos += n;
  }

  align(alignBytes: number): void {
    const pad = (alignBytes - (this.pos % alignBytes)) % alignBytes;
    this.skip(Math.min(pad, this.end - this.pos));
  }

  /** Asserts the input was consumed exactly. */
  done(what = 'message'): void {
    if (this.pos !== this.end) throw new DecodeError(`${what}: ${this.end - this.pos} trailing bytes`);
  }
}

export function utf8(s: string): Uint8Array {
  return textEncoder.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic byte order (etcd's key order). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** The parts one after another in a new array (or the only part itself, uncopied). */
export function concatBytes(parts: Iterable<Uint8Array>): Uint8Array {
  const list = Array.isArray(parts) ? (parts as readonly Uint8Array[]) : [...parts];
  if (list.length === 1) return list[0]!;
  const out = new Uint8Array(list.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of list) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
