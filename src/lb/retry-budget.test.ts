import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryBudget } from './retry-budget.js';

test('retry budget: a minimum per second plus a percentage of requests', () => {
  const budget = new RetryBudget({ percent: 20, minPerSecond: 1, windowMs: 10_000 });
  let now = 1_000_000;
  // With no traffic: the 10 s window holds 1/s × 10 s = 10 retries.
  let granted = 0;
  for (let i = 0; i < 100; i++) if (budget.tryRetry(now)) granted++;
  assert.equal(granted, 10);
  // 1000 requests add 20% = 200 more.
  for (let i = 0; i < 1000; i++) budget.onRequest(now);
  granted = 0;
  for (let i = 0; i < 1000; i++) if (budget.tryRetry(now)) granted++;
  assert.equal(granted, 200);
  // The window slides: after it has passed, the budget is back to its minimum.
  now += 10_000;
  granted = 0;
  for (let i = 0; i < 100; i++) if (budget.tryRetry(now)) granted++;
  assert.equal(granted, 10);
});

test('retry budget with no minimum caps retries at the percentage', () => {
  const budget = new RetryBudget({ percent: 10, minPerSecond: 0, windowMs: 10_000 });
  const now = 5_000;
  let granted = 0;
  for (let i = 0; i < 500; i++) {
    budget.onRequest(now + i);
    if (budget.tryRetry(now + i)) granted++;
  }
  assert.equal(granted, 50);
});
