/**
 * Updating a CRC32C in place when bytes in the middle of the message change, without reading the
 * rest of the message: CRC is linear over GF(2), so for messages of equal length
 * crc(m xor d) = crc(m) xor raw(d), where raw is the CRC with zero initial value and no final xor.
 * A change at `offset` is followed by `n` unchanged bytes, which shift its contribution as n zero
 * bytes would; that shift is a 32x32 bit matrix, applied by squaring in O(log n) (zlib's
 * crc32_combine technique). This lets a RAID-5 stripe keep its parity checksum current as data
 * arrives instead of re-reading a whole chunk per flush. Pure and synchronous.
 */
import { crc32c } from '../core/crc32c.js';

const POLY = 0x82f63b78;

function times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i]!;
  return sum >>> 0;
}

function square(mat: Uint32Array): Uint32Array {
  const sq = new Uint32Array(32);
  for (let n = 0; n < 32; n++) sq[n] = times(mat, mat[n]!);
  return sq;
}

/** ZEROS[i] advances a raw CRC register over 2^i zero bytes. */
const ZEROS: Uint32Array[] = [];
{
  const oneBit = new Uint32Array(32);
  oneBit[0] = POLY;
  for (let n = 1; n < 32; n++) oneBit[n] = 1 << (n - 1);
  let op = square(square(square(oneBit)));
  for (let i = 0; i < 54; i++) {
    ZEROS.push(op);
    op = square(op);
  }
}

/** The raw register after `zeroBytes` more zero bytes. */
export function shiftZeros(register: number, zeroBytes: number): number {
  let r = register >>> 0;
  for (let i = 0, n = zeroBytes; n > 0 && r !== 0; i++, n = Math.floor(n / 2)) if (n % 2 === 1) r = times(ZEROS[i]!, r);
  return r;
}

/** CRC32C of `data` with zero initial register and no final xor: the linear part. */
function raw(data: Uint8Array): number {
  return ~crc32c(data, 0xffffffff) >>> 0;
}

/**
 * The CRC32C of a `lengthBytes`-long message whose CRC was `crc`, after the bytes at `offset` were
 * XORed with `delta` (old xor new).
 */
export function crc32cPatch(crc: number, lengthBytes: number, offset: number, delta: Uint8Array): number {
  return (crc ^ shiftZeros(raw(delta), lengthBytes - offset - delta.length)) >>> 0;
}
