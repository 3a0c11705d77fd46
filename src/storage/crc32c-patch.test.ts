import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../core/crc32c.js';
import { crc32cPatch } from './crc32c-patch.js';

test('patching a CRC32C for changed bytes equals recomputing it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 200 }), (m, at, repl) => {
      const offset = at % m.length;
      const next = m.slice();
      const n = Math.min(repl.length, m.length - offset);
      const delta = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        delta[i] = m[offset + i]! ^ repl[i]!;
        next[offset + i] = repl[i]!;
      }
      assert.equal(crc32cPatch(crc32c(m), m.length, offset, delta), crc32c(next));
    }),
  );
});

test('patching works across long tails (the zero-shift matrices)', () => {
  const m = new Uint8Array(1 << 20);
  for (let i = 0; i < m.length; i += 4099) m[i] = i & 0xff;
  const before = crc32c(m);
  const delta = Uint8Array.of(0xde, 0xad);
  m[17]! ^= 0xde;
  m[18]! ^= 0xad;
  assert.equal(crc32cPatch(before, m.length, 17, delta), crc32c(m));
});
