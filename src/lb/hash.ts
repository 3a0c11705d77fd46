/**
 * xxHash32 (Yann Collet's algorithm, from its published description): fast, well-distributed 32-bit
 * hashes for consistent hashing. Not cryptographic; keys are chosen by clients, so the balancer must
 * never depend on them being spread well (it does not: a skewed key space only skews that traffic).
 */
const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));
const mul = Math.imul;

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function round(acc: number, input: number): number {
  acc = (acc + mul(input, P2)) | 0;
  acc = rotl(acc, 13);
  return mul(acc, P1);
}

export function xxh32(data: Uint8Array, seed = 0): number {
  const len = data.length;
  let i = 0;
  let h: number;
  if (len >= 16) {
    let v1 = (seed + P1 + P2) | 0;
    let v2 = (seed + P2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - P1) | 0;
    const limit = len - 16;
    while (i <= limit) {
      v1 = round(v1, readU32(data, i));
      v2 = round(v2, readU32(data, i + 4));
      v3 = round(v3, readU32(data, i + 8));
      v4 = round(v4, readU32(data, i + 12));
      i += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + P5) | 0;
  }
  h = (h + len) | 0;
  while (i + 4 <= len) {
    h = (h + mul(readU32(data, i), P3)) | 0;
    h = mul(rotl(h, 17), P4);
    i += 4;
  }
  while (i < len) {
    h = (h + mul(data[i]!, P5)) | 0;
    h = mul(rotl(h, 11), P1);
    i++;
  }
  h ^= h >>> 15;
  h = mul(h, P2);
  h ^= h >>> 13;
  h = mul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}

const encoder = new TextEncoder();

export function hashString(s: string, seed = 0): number {
  return xxh32(encoder.encode(s), seed);
}
