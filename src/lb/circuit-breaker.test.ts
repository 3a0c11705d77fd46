import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitBreakers } from './circuit-breaker.js';

test('circuit breakers refuse at the limit and count the refusals', () => {
  const cb = new CircuitBreakers({ maxConnections: 2, maxPendingRequests: 1, maxRequests: 3, maxRetries: 1 });
  assert.ok(cb.tryAcquire('requests'));
  assert.ok(cb.tryAcquire('requests'));
  assert.ok(cb.tryAcquire('requests'));
  assert.ok(!cb.tryAcquire('requests'));
  assert.equal(cb.rejections('requests'), 1);
  cb.release('requests');
  assert.ok(cb.tryAcquire('requests'));
  assert.ok(cb.tryAcquire('retries'));
  assert.ok(!cb.tryAcquire('retries'));
  assert.equal(cb.inUse('requests'), 3);
  assert.throws(() => cb.release('pending'), /without acquire/);
});
