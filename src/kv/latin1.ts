/**
 * Keys and values are kept as one-byte ("latin1") JavaScript strings: each byte becomes one char
 * code 0..255. V8 stores such a string flat at one byte per char behind a 16-byte header, where a
 * Uint8Array costs about 100 bytes of object before its data; strings compare with `<` in exactly
 * etcd's byte order, are cheap Map keys, and a copy is taken on the way in, so the store never
 * holds on to a log entry's buffer through a view.
 *
 * Buffer's 'latin1' codec is used, not TextDecoder: WHATWG's "latin1" is windows-1252 and maps
 * bytes 0x80..0x9f to other code points.
 */

// Buffer's latin1 codec applied to a plain Uint8Array, without allocating a Buffer view per call
// (twice as fast on the apply path). Node's own Buffer methods take any Uint8Array as `this`;
// the documented route is the fallback if that ever changes.
type Latin1Native = { latin1Slice?: (this: Uint8Array, start: number, end: number) => string; latin1Write?: (this: Uint8Array, s: string, offset: number, length: number) => number };
const native = Buffer.prototype as unknown as Latin1Native;
const nativeSlice = typeof native.latin1Slice === 'function' ? native.latin1Slice : null;
const nativeWrite = typeof native.latin1Write === 'function' ? native.latin1Write : null;

/** A string holding exactly the bytes of `b`. */
export function latin1FromBytes(b: Uint8Array): string {
  // Below 13 chars V8 concatenates into a flat string; longer results would be cons-string trees.
  if (b.length <= 12) {
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }
  if (nativeSlice !== null) return nativeSlice.call(b, 0, b.length);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** A fresh Uint8Array (not a pooled Buffer) with the bytes of a latin1 string. */
export function bytesFromLatin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  if (s.length <= 32) {
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  } else writeLatin1(s, out, 0);
  return out;
}

/** Writes the bytes of a latin1 string into `target` at `offset`; returns the bytes written. */
export function writeLatin1(s: string, target: Uint8Array, offset: number): number {
  if (s.length <= 32) {
    for (let i = 0; i < s.length; i++) target[offset + i] = s.charCodeAt(i);
    return s.length;
  }
  if (nativeWrite !== null) return nativeWrite.call(target, s, offset, s.length);
  return Buffer.from(target.buffer, target.byteOffset, target.byteLength).write(s, offset, s.length, 'latin1');
}

/** The empty value (tombstones, keys_only answers). */
export const EMPTY = '';
