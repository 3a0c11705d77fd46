import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from './random.js';

test('a seed reproduces the same sequence; different seeds differ', () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const c = new SeededRandom(43);
  const sa = Array.from({ length: 100 }, () => a.uint32());
  const sb = Array.from({ length: 100 }, () => b.uint32());
  const sc = Array.from({ length: 100 }, () => c.uint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

test('int() is within bounds and roughly uniform', () => {
  const r = new SeededRandom(7);
  const counts = new Array<number>(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const v = r.int(10);
    assert.ok(v >= 0 && v < 10);
    counts[v]!++;
  }
  // Chi-square with 9 degrees of freedom: 27.9 is the 0.999 quantile.
  const expected = n / 10;
  const chi = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
  assert.ok(chi < 27.9, `chi-square ${chi}`);
});

test('fork gives an independent deterministic stream', () => {
  const a = new SeededRandom(1).fork();
  const b = new SeededRandom(1).fork();
  assert.equal(a.uint32(), b.uint32());
  assert.notEqual(new SeededRandom(1).uint32(), new SeededRandom(1).fork().uint32());
});
