import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HealthState } from './health-state.js';

const ok = { ok: true } as const;
const bad = { ok: false, reason: 'refused' } as const;

test('an up backend goes down only after `fall` consecutive failures', () => {
  const h = new HealthState({ rise: 2, fall: 3 });
  assert.equal(h.observe(ok).type, 'none');
  assert.equal(h.observe(bad).type, 'none');
  assert.equal(h.observe(bad).type, 'none');
  assert.equal(h.observe(ok).type, 'none', 'a success resets the streak');
  assert.equal(h.observe(bad).type, 'none');
  assert.equal(h.observe(bad).type, 'none');
  assert.equal(h.up, true);
  assert.deepEqual(h.observe(bad), { type: 'went-down', reason: 'refused' });
  assert.equal(h.up, false);
});

test('a down backend comes up only after `rise` consecutive successes', () => {
  const h = new HealthState({ rise: 2, fall: 1 });
  h.observe(ok);
  h.observe(bad);
  assert.equal(h.up, false);
  assert.equal(h.observe(ok).type, 'none');
  assert.equal(h.observe(bad).type, 'none', 'a failure resets the streak');
  assert.equal(h.observe(ok).type, 'none');
  assert.equal(h.observe(ok).type, 'went-up');
  assert.equal(h.up, true);
});

test('a new backend whose first check fails goes down at once', () => {
  const h = new HealthState({ rise: 2, fall: 3 });
  assert.equal(h.up, true);
  assert.equal(h.observe(bad).type, 'went-down');
});
