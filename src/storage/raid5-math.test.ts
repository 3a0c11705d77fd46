import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parityAgrees, parityOf, reconstructChunk, xorInto } from './raid5-math.js';

test('any one chunk of a stripe (data or parity) is the XOR of the others, with zero-padded short chunks', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 300 }), fc.nat(), (k, len, seed) => {
      // Chunks fill in order: chunk 0 is the longest, later ones may be shorter or empty.
      const lens = Array.from({ length: k }, (_, j) => Math.max(0, Math.min(len, len - j * ((seed % 7) + 1))));
      const data = lens.map((l, j) => Uint8Array.from({ length: l }, (_, i) => (i * 31 + j * 17 + seed) & 0xff));
      const parity = parityOf(data, len);
      assert.ok(parityAgrees(data, parity, len));
      for (let miss = 0; miss < k; miss++) {
        const others = [...data.filter((_, j) => j !== miss), parity];
        assert.deepEqual(reconstructChunk(others, lens[miss]!), data[miss]);
      }
      assert.deepEqual(reconstructChunk(data, len), parity);
      if (len > 0) {
        const bad = parity.slice();
        bad[len - 1]! ^= 1;
        assert.equal(parityAgrees(data, bad, len), false);
      }
    }),
  );
});

test('xorInto is the same with and without the 32-bit fast path', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 100 }), fc.nat(3), (src, offset) => {
      const buf = new Uint8Array(src.length + 8);
      const a = buf.subarray(offset, offset + src.length);
      a.fill(0x5a);
      const b = new Uint8Array(src.length).fill(0x5a);
      xorInto(a, src);
      for (let i = 0; i < b.length; i++) b[i]! ^= src[i]!;
      assert.deepEqual(a, b);
    }),
  );
});
