import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SeededRandom } from '../env/random.js';
import { backoffDelayMs } from './backoff.js';

test('backoff stays between half and all of the doubled ceiling, capped at max', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 100, max: 10_000 }), fc.integer(), (retry, minMs, maxMs, seed) => {
      const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(retry - 1, 30));
      const d = backoffDelayMs(retry, { minMs, maxMs }, new SeededRandom(seed));
      assert.ok(d >= Math.floor(ceiling / 2) && d <= Math.ceil(ceiling), `retry ${retry}: ${d} within [${ceiling / 2}, ${ceiling}]`);
    }),
    { seed: 42 },
  );
});

test('backoff grows with retries', () => {
  const r = new SeededRandom(1);
  const o = { minMs: 10, maxMs: 10_000 };
  assert.ok(backoffDelayMs(1, o, r) <= 10);
  assert.ok(backoffDelayMs(8, o, r) >= 640);
});
