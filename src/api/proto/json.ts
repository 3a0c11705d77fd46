/**
 * Protobuf messages as JSON, the way etcd's HTTP gateway (grpc-gateway with jsonpb, OrigName)
 * writes and reads them: proto field names on output (`range_end`, `raft_term`, `peerURLs`), both
 * the proto name and the lowerCamelCase JSON name accepted on input; 64-bit integers as decimal
 * strings (numbers accepted on input); bytes as standard base64 (URL-safe accepted on input);
 * enums by name (numbers accepted); fields at their default omitted; unknown fields ignored.
 *
 * Works on the generated codecs' object shapes: `toJson` takes a decoded message (every field
 * present), `fromJson` returns an `Init` ready for the generated encoder. Bad input is a
 * JsonMappingError whose message reads like jsonpb's, never a crash.
 */
import { BulwarkError } from '../../core/errors.js';
import { JSON_SCHEMA } from './generated/json-schema.js';
import type { FieldSchema, JsonSchema } from './json-schema-types.js';

export class JsonMappingError extends BulwarkError<'json-invalid'> {
  constructor(message: string) {
    super('json-invalid', message);
    this.name = 'JsonMappingError';
  }
}

/** Nesting limit for JSON input (etcd's txn nesting is far below it). */
const JSON_DEPTH_MAX = 64;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

type Obj = Record<string, unknown>;

export class ProtoJson {
  constructor(private readonly schema: JsonSchema = JSON_SCHEMA) {}

  /** A decoded message as grpc-gateway writes it (a plain object for JSON.stringify). */
  toJson(type: string, msg: unknown): Obj {
    const fields = this.fields(type);
    const m = msg as Obj;
    const out: Obj = {};
    for (const f of fields) {
      if (f.oneof !== undefined) {
        const u = m[f.oneof] as { type: string; value: unknown } | undefined;
        if (u === undefined || u.type !== f.prop) continue;
        out[f.name] = this.valueToJson(f, u.value);
        continue;
      }
      const v = m[f.prop];
      if (f.repeated) {
        const arr = v as readonly unknown[] | undefined;
        if (arr === undefined || arr.length === 0) continue;
        out[f.name] = arr.map((x) => this.valueToJson(f, x));
        continue;
      }
      if (v === undefined || isDefault(f, v)) continue;
      out[f.name] = this.valueToJson(f, v);
    }
    return out;
  }

  /** A JSON request body (already parsed) as the generated encoder's Init. */
  fromJson(type: string, json: unknown, depth = 0): Obj {
    if (depth > JSON_DEPTH_MAX) throw new JsonMappingError(`${type}: nesting deeper than ${JSON_DEPTH_MAX}`);
    if (json === null || json === undefined) return {};
    if (typeof json !== 'object' || Array.isArray(json)) {
      throw new JsonMappingError(`json: cannot unmarshal ${jsonKind(json)} into Go value of type map[string]json.RawMessage`);
    }
    const fields = this.fields(type);
    const src = json as Obj;
    const out: Obj = {};
    for (const f of fields) {
      const raw = Object.prototype.hasOwnProperty.call(src, f.name) ? src[f.name] : Object.prototype.hasOwnProperty.call(src, f.prop) ? src[f.prop] : undefined;
      if (raw === undefined || raw === null) continue;
      if (f.oneof !== undefined) {
        if (out[f.oneof] !== undefined) throw new JsonMappingError(`${type}: more than one field of oneof ${f.oneof} given`);
        out[f.oneof] = { type: f.prop, value: this.valueFromJson(f, raw, depth) };
        continue;
      }
      if (f.repeated) {
        if (!Array.isArray(raw)) throw new JsonMappingError(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type []${goType(f)}`);
        out[f.prop] = raw.map((x) => this.valueFromJson(f, x, depth));
        continue;
      }
      out[f.prop] = this.valueFromJson(f, raw, depth);
    }
    return out;
  }

  private fields(type: string): readonly FieldSchema[] {
    const f = this.schema.messages[type];
    if (f === undefined) throw new JsonMappingError(`unknown message type ${type}`);
    return f;
  }

  private valueToJson(f: FieldSchema, v: unknown): unknown {
    switch (f.kind) {
      case 'bool':
      case 'string':
      case 'int32':
      case 'uint32':
        return v;
      case 'int64':
      case 'uint64':
      case 'int64-number':
      case 'uint64-number':
        return String(v);
      case 'bytes':
        return Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).byteLength).toString('base64');
      case 'enum': {
        const values = this.schema.enums[f.type!]!;
        for (const [name, n] of Object.entries(values)) if (n === v) return name;
        return v;
      }
      case 'message':
        return this.toJson(f.type!, v);
    }
  }

  private valueFromJson(f: FieldSchema, v: unknown, depth: number): unknown {
    switch (f.kind) {
      case 'bool':
        if (typeof v !== 'boolean') throw cannot(v, 'bool');
        return v;
      case 'string':
        if (typeof v !== 'string') throw cannot(v, 'string');
        return v;
      case 'bytes':
        if (typeof v !== 'string') throw cannot(v, '[]uint8');
        return decodeBase64(v);
      case 'int32':
        return Number(integer(v, 'int32', -(2n ** 31n), 2n ** 31n - 1n));
      case 'uint32':
        return Number(integer(v, 'uint32', 0n, 2n ** 32n - 1n));
      case 'int64':
        return integer(v, 'int64', INT64_MIN, INT64_MAX);
      case 'uint64':
        return integer(v, 'uint64', 0n, UINT64_MAX);
      case 'int64-number':
      case 'uint64-number': {
        const n = integer(v, f.kind === 'int64-number' ? 'int64' : 'uint64', f.kind === 'int64-number' ? INT64_MIN : 0n, f.kind === 'int64-number' ? INT64_MAX : UINT64_MAX);
        if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new JsonMappingError(`value ${n} of field ${f.name} is out of the supported range (±2^53)`);
        }
        return Number(n);
      }
      case 'enum': {
        const values = this.schema.enums[f.type!]!;
        if (typeof v === 'string') {
          const n = values[v];
          if (n === undefined) throw new JsonMappingError(`unknown value ${JSON.stringify(v)} for enum ${goEnumName(f.type!)}`);
          return n;
        }
        return Number(integer(v, 'int32', -(2n ** 31n), 2n ** 31n - 1n));
      }
      case 'message':
        return this.fromJson(f.type!, v, depth + 1);
    }
  }
}

function isDefault(f: FieldSchema, v: unknown): boolean {
  switch (f.kind) {
    case 'bool':
      return v === false;
    case 'string':
      return v === '';
    case 'bytes':
      return (v as Uint8Array).length === 0;
    case 'message':
      return false;
    default:
      return v === 0 || v === 0n;
  }
}

function integer(v: unknown, go: string, min: bigint, max: bigint): bigint {
  let n: bigint;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new JsonMappingError(`json: cannot unmarshal number ${v} into Go value of type ${go}`);
    n = BigInt(v);
  } else if (typeof v === 'string') {
    if (!/^-?\d{1,25}$/.test(v)) throw new JsonMappingError(`json: cannot unmarshal string ${JSON.stringify(v.slice(0, 40))} into Go value of type ${go}`);
    n = BigInt(v);
  } else {
    throw cannot(v, go);
  }
  if (n < min || n > max) throw new JsonMappingError(`json: cannot unmarshal number ${n} into Go value of type ${go}`);
  return n;
}

const BASE64_STD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Standard base64 as Go's encoding/json writes it; URL-safe accepted too (jsonpb does). */
export function decodeBase64(s: string): Uint8Array {
  const url = !BASE64_STD.test(s) && BASE64_URL.test(s);
  if ((!BASE64_STD.test(s) && !url) || s.length % 4 !== 0) {
    let bad = s.search(/[^A-Za-z0-9+/=_-]/);
    if (bad < 0) bad = s.length - (s.length % 4 === 0 ? 0 : s.length % 4);
    throw new JsonMappingError(`illegal base64 data at input byte ${bad}`);
  }
  const buf = Buffer.from(s, url ? 'base64url' : 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function cannot(v: unknown, go: string): JsonMappingError {
  return new JsonMappingError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type ${go}`);
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    default:
      return 'object';
  }
}

function goType(f: FieldSchema): string {
  switch (f.kind) {
    case 'bytes':
      return '[]uint8';
    case 'message':
      return `*${f.type!}`;
    case 'enum':
      return goEnumName(f.type!);
    case 'int64-number':
      return 'int64';
    case 'uint64-number':
      return 'uint64';
    default:
      return f.kind;
  }
}

/** etcdserverpb.RangeRequest.SortOrder → etcdserverpb.RangeRequest_SortOrder (Go's name). */
function goEnumName(type: string): string {
  const dot = type.indexOf('.');
  return type.slice(0, dot + 1) + type.slice(dot + 1).replace(/\./g, '_');
}
