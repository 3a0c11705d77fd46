/**
 * RAID-5 parity arithmetic: XOR over GF(2), so the parity of a stripe is the XOR of its data chunks
 * and any one missing chunk (data or parity) is the XOR of all the others. Pure and synchronous.
 * Chunks shorter than the stripe's length count as zero-padded (a chunk's bytes past its used
 * length are zero by definition, see raid-layout.ts).
 */
import { assert } from '../core/assert.js';

/** target[i] ^= source[i] for i < min(target.length, source.length); 32 bits at a time when aligned. */
export function xorInto(target: Uint8Array, source: Uint8Array): void {
  const n = Math.min(target.length, source.length);
  let i = 0;
  if (target.byteOffset % 4 === 0 && source.byteOffset % 4 === 0 && n >= 16) {
    const words = n >>> 2;
    const t = new Uint32Array(target.buffer, target.byteOffset, words);
    const s = new Uint32Array(source.buffer, source.byteOffset, words);
    for (let w = 0; w < words; w++) t[w]! ^= s[w]!;
    i = words << 2;
  }
  for (; i < n; i++) target[i]! ^= source[i]!;
}

/** The XOR of `chunks`, each zero-padded to `lengthBytes`. */
export function xorOf(chunks: readonly Uint8Array[], lengthBytes: number): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  for (const c of chunks) xorInto(out, c.length > lengthBytes ? c.subarray(0, lengthBytes) : c);
  return out;
}

/** The parity of a stripe's data chunks, `lengthBytes` long (data chunk 0's used length). */
export function parityOf(dataChunks: readonly Uint8Array[], lengthBytes: number): Uint8Array {
  assert(dataChunks.length >= 2, 'RAID-5 has at least two data chunks');
  return xorOf(dataChunks, lengthBytes);
}

/**
 * Rebuilds one missing chunk of a stripe from all the others (the data chunks present and the
 * parity): the missing chunk is their XOR, cut to its own used length.
 */
export function reconstructChunk(others: readonly Uint8Array[], missingUsedBytes: number): Uint8Array {
  assert(others.length >= 2, 'reconstruction needs the other data chunks and the parity');
  return xorOf(others, missingUsedBytes);
}

/** True when `parity` equals the XOR of `dataChunks` over `lengthBytes`. */
export function parityAgrees(dataChunks: readonly Uint8Array[], parity: Uint8Array, lengthBytes: number): boolean {
  const expected = parityOf(dataChunks, lengthBytes);
  if (parity.length < lengthBytes) {
    for (let i = parity.length; i < lengthBytes; i++) if (expected[i] !== 0) return false;
  }
  for (let i = 0; i < Math.min(lengthBytes, parity.length); i++) if (expected[i] !== parity[i]) return false;
  return true;
}
