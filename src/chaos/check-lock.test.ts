import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkLock, FencedResource } from './check-lock.js';
import { op } from './test-ops.js';

const acquire = (client: number, token: number | null, call: number, ret: number, leaseAlive = true) => op({ client, input: { type: 'acquire', lock: 'L' }, output: { token, key: `L/${client}`, lease: '1', leaseAlive }, call, ret });
const release = (client: number, call: number) => op({ client, input: { type: 'release', lock: 'L', key: `L/${client}` }, call, ret: call + 1 });
const types = (ops: ReturnType<typeof op>[], log = new FencedResource('L').log) => checkLock(ops, log).anomalies.map((a) => a.type).sort();

test('the fenced resource refuses tokens lower than the highest it accepted', () => {
  const r = new FencedResource('L');
  assert.deepEqual(r.access({ client: 0, token: 5, atMs: 1 }), { accepted: true, highest: 5 });
  assert.deepEqual(r.access({ client: 1, token: 3, atMs: 2 }), { accepted: false, highest: 5 });
  assert.deepEqual(r.access({ client: 0, token: 5, atMs: 3 }), { accepted: true, highest: 5 });
  assert.deepEqual(checkLock([], r.log).anomalies, []);
  assert.match(checkLock([], r.log).notes.join(' '), /refused 1 stale use/);
});

test('a valid history passes', () => {
  assert.deepEqual(types([acquire(0, 10, 0, 1), release(0, 2), acquire(1, 12, 3, 4), release(1, 5)]), []);
});

test('duplicate tokens, tokens out of order and grants without a key are caught', () => {
  assert.deepEqual(types([acquire(0, 10, 0, 1), release(0, 2), acquire(1, 10, 3, 4)]), ['lock-duplicate-token', 'lock-token-order'], 'a repeated token is also not larger');
  assert.deepEqual(types([acquire(0, 10, 0, 1), release(0, 2), acquire(1, 8, 3, 4)]), ['lock-token-order']);
  assert.deepEqual(types([acquire(0, null, 0, 1, true)]), ['lock-granted-without-key']);
  assert.deepEqual(types([acquire(0, null, 0, 1, false)]), [], 'a lock whose lease died before use is a note, not an anomaly');
});

test('a resource log that went backwards is caught', () => {
  const log = [
    { lock: 'L', atMs: 1, client: 0, token: 5, accepted: true },
    { lock: 'L', atMs: 2, client: 1, token: 3, accepted: true },
  ];
  assert.deepEqual(types([], log), ['fencing-violated']);
});

test('overlapping holds are counted as a note', () => {
  const r = checkLock([acquire(0, 10, 0, 1), acquire(1, 12, 0.5, 2), release(0, 5), release(1, 6)], []);
  assert.equal(r.stats['overlappingHolds'], 1);
  assert.match(r.notes.join(' '), /believed they held the same lock/);
});
