import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from './crc32c.js';
import { utf8 } from './bytes.js';

// Check values from RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check.
test('crc32c matches published check values', () => {
  assert.equal(crc32c(utf8('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  const inc = new Uint8Array(32).map((_, i) => i);
  assert.equal(crc32c(inc), 0x46dd794e);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

/** Bit-at-a-time reference: the definition, slow and obviously right. */
function naive(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('crc32c equals the bitwise definition and composes over concatenation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) => {
      assert.equal(crc32c(a), naive(a));
      const ab = new Uint8Array(a.length + b.length);
      ab.set(a);
      ab.set(b, a.length);
      assert.equal(crc32c(b, crc32c(a)), crc32c(ab));
      assert.equal(crc32c(ab, 0, a.length, ab.length), crc32c(b));
    }),
  );
});
