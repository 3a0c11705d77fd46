import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BoltReader } from './bbolt-reader.js';
import { BoltError } from './errors.js';
import { boltImage, compareBytes, type BoltBucketSource } from './bbolt-writer.js';
import { concatBytes } from '../core/bytes.js';

const enc = new TextEncoder();

function bucket(name: string, entries: [Uint8Array, Uint8Array][]): BoltBucketSource {
  const sorted = [...entries].sort((a, b) => compareBytes(a[0], b[0]));
  return { name: enc.encode(name), length: sorted.length, key: (i) => sorted[i]![0], valueBytes: (i) => sorted[i]![1].length, value: (i) => sorted[i]![1] };
}


function key(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(4, i, false);
  return b;
}

test('empty, inline, multi-level and overflowing buckets read back in order', () => {
  const many = Array.from({ length: 5000 }, (_, i): [Uint8Array, Uint8Array] => [key(i), enc.encode(`value-${i}`)]);
  const big: [Uint8Array, Uint8Array][] = [[enc.encode('big'), new Uint8Array(20_000).fill(7)], [enc.encode('small'), enc.encode('x')]];
  const img = boltImage([bucket('many', many), bucket('empty', []), bucket('tiny', [[enc.encode('a'), enc.encode('1')]]), bucket('big', big)], { pageSize: 4096 });
  const file = concatBytes(img.pages());
  assert.equal(file.length, img.sizeBytes);
  const r = new BoltReader(file);
  assert.equal(r.sizeBytes, img.sizeBytes);
  assert.deepEqual(r.entries([]).map((e) => new TextDecoder().decode(e.key)), ['big', 'empty', 'many', 'tiny']);
  assert.ok(r.entries([]).every((e) => e.isBucket));
  const got = r.entries([enc.encode('many')]);
  assert.equal(got.length, 5000);
  got.forEach((e, i) => {
    assert.deepEqual([...e.key], [...key(i)]);
    assert.equal(new TextDecoder().decode(e.value), `value-${i}`);
  });
  assert.equal(r.entries([enc.encode('empty')]).length, 0);
  assert.equal(r.entries([enc.encode('big')])[0]!.value.length, 20_000);
  assert.equal(r.entries([enc.encode('tiny')])[0]!.value[0], 0x31);
});

test('property: any buckets round-trip', () => {
  const entries = fc.uniqueArray(fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.uint8Array({ maxLength: 3000 })), { selector: (e) => Buffer.from(e[0]).toString('hex'), maxLength: 200 });
  fc.assert(
    fc.property(entries, entries, (a, b) => {
      const file = concatBytes(boltImage([bucket('a', a), bucket('b', b)], { pageSize: 4096 }).pages());
      const r = new BoltReader(file);
      for (const [name, es] of [['a', a], ['b', b]] as const) {
        const sorted = [...es].sort((x, y) => compareBytes(x[0], y[0]));
        const got = r.entries([enc.encode(name)]);
        assert.equal(got.length, sorted.length);
        got.forEach((e, i) => {
          assert.deepEqual([...e.key], [...sorted[i]![0]]);
          assert.deepEqual([...e.value], [...sorted[i]![1]]);
        });
      }
    }),
    { numRuns: 60 },
  );
});

test('property: damaged files give a BoltError or wrong data, never a crash or a hang', () => {
  const many = Array.from({ length: 800 }, (_, i): [Uint8Array, Uint8Array] => [key(i), enc.encode(`v${i}`)]);
  const file = concatBytes(boltImage([bucket('k', many), bucket('m', [[enc.encode('x'), enc.encode('y')]])], { pageSize: 4096 }).pages());
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(file.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 20 }), fc.nat(file.length), (flips, cut) => {
      const damaged = file.slice(0, Math.max(cut, 4096 * 2 + 100));
      for (const [at, v] of flips) if (at < damaged.length) damaged[at] = v;
      try {
        const r = new BoltReader(damaged);
        for (const b of r.entries([])) if (b.isBucket) r.entries([b.key]);
      } catch (e) {
        if (!(e instanceof BoltError)) throw e;
      }
    }),
    { numRuns: 300 },
  );
});

test('not a bbolt file', () => {
  assert.throws(() => new BoltReader(new Uint8Array(10)), BoltError);
  assert.throws(() => new BoltReader(new Uint8Array(10000)), BoltError);
});
