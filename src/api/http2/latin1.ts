/**
 * Header names and values are octets; we carry them as latin1 strings (one char per octet), which
 * round-trips any byte exactly and is what gRPC's ASCII metadata needs.
 */

export function latin1Decode(data: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n < 24) {
    let s = '';
    for (let i = start; i < end; i++) s += String.fromCharCode(data[i]!);
    return s;
  }
  return Buffer.from(data.buffer, data.byteOffset + start, n).toString('latin1');
}

/** Writes `s` as latin1 at `out[pos]`; returns the position after it. */
export function latin1Write(s: string, out: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) out[pos++] = s.charCodeAt(i) & 0xff;
  return pos;
}
