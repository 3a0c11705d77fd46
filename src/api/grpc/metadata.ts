/**
 * gRPC metadata: HTTP/2 header fields, as a flat [name, value, ...] array of lowercase names and
 * latin1 values (binary values, names ending in -bin, are base64). Reading is by name.
 */

/** Metadata to send: -bin names take bytes. */
export type MetadataInit = Readonly<Record<string, string | Uint8Array>>;

/** Names of the transport's own headers, which are not metadata. */
const RESERVED = new Set([':method', ':scheme', ':path', ':authority', ':status', 'content-type', 'te', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-status', 'grpc-message', 'user-agent', 'content-length']);

export class Metadata {
  constructor(readonly fields: readonly string[]) {}

  get(name: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) return f[i + 1];
    return undefined;
  }

  getAll(name: string): string[] {
    const out: string[] = [];
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === name) out.push(f[i + 1]!);
    return out;
  }

  /** A -bin value, decoded from base64. */
  getBinary(name: string): Uint8Array | undefined {
    const v = this.get(name);
    return v === undefined ? undefined : Uint8Array.from(Buffer.from(v, 'base64'));
  }

  /** The application's metadata as an object (first value per name), without transport headers. */
  toObject(): Record<string, string> {
    const out: Record<string, string> = {};
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i]!;
      if (!RESERVED.has(name) && !(name in out)) out[name] = f[i + 1]!;
    }
    return out;
  }
}

/** Flattens user metadata for sending; names are lowercased, -bin values base64-encoded. */
export function flattenMetadata(md: MetadataInit | undefined, out: string[]): void {
  if (md === undefined) return;
  for (const key of Object.keys(md)) {
    const name = key.toLowerCase();
    if (RESERVED.has(name) || name.startsWith(':')) continue;
    const v = md[key]!;
    out.push(name, typeof v === 'string' ? v : Buffer.from(v).toString('base64'));
  }
}

/** Percent-encodes a grpc-message (grpc/doc/PROTOCOL-HTTP2.md: UTF-8, then %XX outside 0x20-0x7e and '%'). */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const b of Buffer.from(message, 'utf8')) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? '%' + b.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(b);
  }
  return out;
}

export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length + 0 && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
