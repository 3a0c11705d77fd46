import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { keyChooser, keyName, ZIPFIAN_THETA_DEFAULT } from './key-chooser.js';

test('uniform keys cover the key space evenly', () => {
  const c = keyChooser({ distribution: { type: 'uniform' }, keyCount: 10, random: new SeededRandom(1) });
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 20_000; i++) counts[c.next()]!++;
  for (const n of counts) assert.ok(n > 1700 && n < 2300, `each key about 2000 times, got ${n}`);
});

test('zipfian keys are skewed: the hottest key takes a large share, and every index is in range', () => {
  const n = 1000;
  const c = keyChooser({ distribution: { type: 'zipfian', theta: ZIPFIAN_THETA_DEFAULT }, keyCount: n, random: new SeededRandom(2) });
  const counts = new Map<number, number>();
  for (let i = 0; i < 50_000; i++) {
    const k = c.next();
    assert.ok(Number.isInteger(k) && k >= 0 && k < n);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const sorted = [...counts.values()].sort((a, b) => b - a);
  // With theta 0.99 over 1000 keys the top key gets about 1/zeta(1000) ≈ 13 % of draws.
  assert.ok(sorted[0]! / 50_000 > 0.08, `top key share ${sorted[0]! / 50_000}`);
  assert.ok(sorted.slice(0, 10).reduce((a, b) => a + b, 0) / 50_000 > 0.3, 'the ten hottest keys take more than 30 %');
  const hottest = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  assert.notEqual(hottest, 0, 'ranks are scattered over the key space');
});

test('the same seed gives the same keys', () => {
  const a = keyChooser({ distribution: { type: 'zipfian', theta: 0.9 }, keyCount: 100, random: new SeededRandom(7) });
  const b = keyChooser({ distribution: { type: 'zipfian', theta: 0.9 }, keyCount: 100, random: new SeededRandom(7) });
  for (let i = 0; i < 100; i++) assert.equal(a.next(), b.next());
});

test('key names are padded to the key size', () => {
  assert.equal(keyName('bench/', 42, 16), 'bench/0000000042');
  assert.equal(keyName('bench/', 42, 16).length, 16);
  assert.equal(keyName('k', 12345, 3), 'k12345', 'never truncated');
});
