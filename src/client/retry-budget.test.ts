import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget } from './retry-budget.js';

test('the budget allows minPerSecond * window retries when idle, plus percent of calls', () => {
  const b = new RetryBudget({ percent: 20, minPerSecond: 1, windowMs: 10_000, buckets: 10 });
  let granted = 0;
  while (b.tryRetry(0)) granted++;
  assert.equal(granted, 10, 'ten retries over a ten-second window at one per second');
  for (let i = 0; i < 50; i++) b.recordCall(0);
  let more = 0;
  while (b.tryRetry(0)) more++;
  assert.equal(more, 10, '20% of 50 calls');
});

test('spent retries come back as the window slides', () => {
  const b = new RetryBudget({ percent: 0, minPerSecond: 1, windowMs: 10_000, buckets: 10 });
  while (b.tryRetry(0));
  assert.equal(b.tryRetry(500), false);
  assert.equal(b.available(10_000), 10, 'the whole window later, the retries are back');
  assert.equal(b.tryRetry(10_000), true);
});

test('a budget of zero never retries', () => {
  const b = new RetryBudget({ percent: 0, minPerSecond: 0, windowMs: 1000, buckets: 10 });
  b.recordCall(0);
  assert.equal(b.tryRetry(0), false);
});
