import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ByteReader, ByteWriter, compareBytes } from './bytes.js';
import { DecodeError } from './errors.js';

test('writer and reader round-trip every field kind', () => {
  fc.assert(
    fc.property(
      fc.nat(),
      fc.uint8Array({ maxLength: 64 }),
      fc.string(),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.boolean(),
      fc.maxSafeNat(),
      (n, b, s, u, i, flag, big) => {
        const w = new ByteWriter(1);
        w.varint(n).bytes(b).string(s).u64(u).i64(i).bool(flag).u53(big).varint(big).u32(n >>> 0).align(8);
        const r = new ByteReader(w.finish());
        assert.equal(r.varint(), n);
        assert.deepEqual(r.bytes(1 << 20), b);
        assert.equal(r.string(1 << 20), s);
        assert.equal(r.u64(), u);
        assert.equal(r.i64(), i);
        assert.equal(r.bool(), flag);
        assert.equal(r.u53(), big);
        assert.equal(r.varint(), big);
        assert.equal(r.u32(), n >>> 0);
        r.align(8);
        r.done();
      },
    ),
  );
});

test('reader rejects truncated and oversized input with DecodeError', () => {
  const w = new ByteWriter().bytes(new Uint8Array(10));
  const full = w.finish();
  for (let cut = 0; cut < full.length; cut++) {
    assert.throws(() => new ByteReader(full.subarray(0, cut)).bytes(100), DecodeError);
  }
  assert.throws(() => new ByteReader(full).bytes(5), /too long/);
  assert.throws(() => new ByteReader(new Uint8Array([2])).bool(), DecodeError);
  assert.throws(() => new ByteReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])).varint(), DecodeError);
  assert.throws(() => new ByteWriter().string('x').finish().slice(0, 1) && new ByteReader(new Uint8Array([1, 0xff])).string(10), /invalid UTF-8/);
});

test('compareBytes is lexicographic byte order', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.ok(compareBytes(enc('a'), enc('b')) < 0);
  assert.ok(compareBytes(enc('a'), enc('aa')) < 0);
  assert.ok(compareBytes(new Uint8Array([0xff]), enc('a')) > 0);
  assert.equal(compareBytes(enc('abc'), enc('abc')), 0);
});
