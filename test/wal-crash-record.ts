/** The bytes of record `index` in the real crash test: its size and content follow from the index. */
export function crashRecordData(index: number): Uint8Array {
  const n = 32 + ((index * 7919) % 3000);
  const out = new Uint8Array(n);
  let x = index * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}
