/**
 * Just enough protobuf for the few messages the balancer speaks itself (gRPC health checks, the
 * etcd MemberList and Status polls, peeking at RangeRequest.serializable). Field numbers come from
 * the published .proto files. The reader never trusts its input: a truncated or malformed message is
 * a DecodeError, never a crash or an endless loop.
 */
import { DecodeError } from '../core/errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  uint(field: number, v: number | bigint): this {
    if (v === 0 || v === 0n) return this; // proto3 default, not sent
    this.tag(field, WIRE_VARINT);
    this.varint(BigInt(v));
    return this;
  }

  bool(field: number, v: boolean): this {
    return v ? this.uint(field, 1) : this;
  }

  bytes(field: number, v: Uint8Array): this {
    if (v.length === 0) return this;
    this.tag(field, WIRE_LEN);
    this.varint(BigInt(v.length));
    for (const b of v) this.parts.push(b);
    return this;
  }

  string(field: number, v: string): this {
    return this.bytes(field, encoder.encode(v));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export type ProtoField =
  | { readonly field: number; readonly wire: typeof WIRE_VARINT; readonly value: bigint }
  | { readonly field: number; readonly wire: typeof WIRE_LEN; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: typeof WIRE_I64 | typeof WIRE_I32; readonly value: Uint8Array };

/** Iterates the fields of one message. Unknown fields are returned too; callers skip what they do not know. */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) throw new DecodeError(`protobuf: truncated varint at offset ${pos}`);
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
    }
    throw new DecodeError('protobuf: varint too long');
  };
  const take = (n: number): Uint8Array => {
    if (n < 0 || pos + n > buf.length) throw new DecodeError(`protobuf: truncated field: need ${n} bytes at offset ${pos}, have ${buf.length - pos}`);
    const out = buf.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < buf.length) {
    const key = readVarint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field === 0) throw new DecodeError('protobuf: field number 0');
    switch (wire) {
      case WIRE_VARINT:
        yield { field, wire, value: readVarint() };
        break;
      case WIRE_I64:
        yield { field, wire, value: take(8) };
        break;
      case WIRE_LEN: {
        const n = readVarint();
        if (n > BigInt(buf.length)) throw new DecodeError(`protobuf: length ${n} beyond the message`);
        yield { field, wire, value: take(Number(n)) };
        break;
      }
      case WIRE_I32:
        yield { field, wire, value: take(4) };
        break;
      default:
        throw new DecodeError(`protobuf: unsupported wire type ${wire} for field ${field}`);
    }
  }
}

export function protoString(f: ProtoField, what: string): string {
  if (f.wire !== WIRE_LEN) throw new DecodeError(`protobuf: ${what} is not length-delimited`);
  try {
    return decoder.decode(f.value);
  } catch (e) {
    throw new DecodeError(`protobuf: ${what} is not UTF-8`, { cause: e });
  }
}

export function protoVarint(f: ProtoField, what: string): bigint {
  if (f.wire !== WIRE_VARINT) throw new DecodeError(`protobuf: ${what} is not a varint`);
  return f.value;
}

export function protoMessage(f: ProtoField, what: string): Uint8Array {
  if (f.wire !== WIRE_LEN) throw new DecodeError(`protobuf: ${what} is not a message`);
  return f.value;
}
