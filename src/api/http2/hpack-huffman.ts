/**
 * The HPACK Huffman code (RFC 7541 Appendix B). The code is canonical: sorted by (length, symbol),
 * each code is the previous one plus one, shifted left when the length grows. So the table is
 * stored as the 257 code lengths alone and the codes are derived here (a test checks known codes
 * and the RFC's examples).
 */
import { HpackError } from './hpack-error.js';

/** Code length in bits of symbols 0..255 and of EOS (256). */
const CODE_LENGTHS_BITS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;
const SYMBOLS = 257;

/** codes[s] is the code of symbol s, right-aligned in CODE_LENGTHS_BITS[s] bits. */
export const HUFFMAN_CODES: readonly number[] = deriveCanonicalCodes();
export const HUFFMAN_LENGTHS_BITS = CODE_LENGTHS_BITS;

function deriveCanonicalCodes(): number[] {
  const order = Array.from({ length: SYMBOLS }, (_, s) => s).sort((a, b) => CODE_LENGTHS_BITS[a]! - CODE_LENGTHS_BITS[b]! || a - b);
  const codes = new Array<number>(SYMBOLS).fill(0);
  let code = 0;
  let prevLength = CODE_LENGTHS_BITS[order[0]!]!;
  for (const s of order) {
    const length = CODE_LENGTHS_BITS[s]!;
    code *= 2 ** (length - prevLength);
    prevLength = length;
    codes[s] = code;
    code += 1;
  }
  return codes;
}

// The decoding tree, flattened: node n has children tree[2n] (bit 0) and tree[2n+1] (bit 1). A
// child >= 0 is another node; a child < 0 is the leaf of symbol -child - 1. Node 0 is the root.
const tree = buildTree();

function buildTree(): Int32Array {
  const nodes: number[] = [0, 0];
  let count = 1;
  for (let s = 0; s < SYMBOLS; s++) {
    const length = CODE_LENGTHS_BITS[s]!;
    const code = HUFFMAN_CODES[s]!;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = 2 * node + bit;
      if (i === 0) {
        nodes[slot] = -s - 1;
      } else {
        if (nodes[slot] === 0) {
          nodes[slot] = count++;
          nodes.push(0, 0);
        }
        node = nodes[slot]!;
      }
    }
  }
  return Int32Array.from(nodes);
}

/** Bytes the Huffman encoding of `s` (latin1 octets) takes. */
export function huffmanEncodedLength(s: string): number {
  let bits = 0;
  for (let i = 0; i < s.length; i++) bits += CODE_LENGTHS_BITS[s.charCodeAt(i) & 0xff]!;
  return Math.ceil(bits / 8);
}

/** Writes the Huffman encoding of `s` at `out[pos]`; returns the position after it. */
export function huffmanEncode(s: string, out: Uint8Array, pos: number): number {
  let acc = 0; // pending bits, fewer than 8 after each symbol, so acc stays below 2^38
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const sym = s.charCodeAt(i) & 0xff;
    const length = CODE_LENGTHS_BITS[sym]!;
    acc = acc * 2 ** length + HUFFMAN_CODES[sym]!;
    bits += length;
    while (bits >= 8) {
      bits -= 8;
      const div = 2 ** bits;
      out[pos++] = Math.floor(acc / div) & 0xff;
      acc %= div;
    }
  }
  if (bits > 0) {
    // Pad with the most significant bits of EOS (all ones), RFC 7541 §5.2.
    out[pos++] = ((acc << (8 - bits)) | (0xff >> bits)) & 0xff;
  }
  return pos;
}

/**
 * Decodes Huffman-coded octets into a latin1 string. Rejects EOS in the data, padding longer than
 * 7 bits and padding that is not a prefix of EOS (all ones), as RFC 7541 §5.2 requires.
 */
export function huffmanDecode(data: Uint8Array, start: number, end: number): string {
  let out = '';
  let node = 0;
  let depth = 0; // bits consumed since the last symbol
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = tree[2 * node + bit]!;
      depth++;
      if (bit === 0) allOnes = false;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === EOS) throw new HpackError('Huffman string contains EOS');
        out += String.fromCharCode(sym);
        node = 0;
        depth = 0;
        allOnes = true;
      } else {
        if (next === 0) throw new HpackError('invalid Huffman code');
        node = next;
      }
    }
  }
  if (depth > 7) throw new HpackError('Huffman padding longer than 7 bits');
  if (!allOnes) throw new HpackError('Huffman padding is not a prefix of EOS');
  return out;
}
