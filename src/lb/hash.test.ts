import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashString, xxh32 } from './hash.js';

test('xxh32 matches the reference test vectors', () => {
  // Published vectors of the reference implementation.
  assert.equal(xxh32(new Uint8Array(0), 0), 0x02cc5d05);
  assert.equal(hashString('a', 0), 0x550d7456);
  assert.equal(hashString('abc', 0), 0x32d153ff);
  assert.equal(hashString('Nobody inspects the spammish repetition', 0), 0xe2293b2f);
});

test('xxh32 depends on the seed and spreads nearby keys', () => {
  assert.notEqual(hashString('key', 0), hashString('key', 1));
  const buckets = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) buckets[hashString(`k${i}`) % 16]!++;
  for (const b of buckets) assert.ok(b > 800 && b < 1200, `bucket count ${b} far from 1000`);
});
