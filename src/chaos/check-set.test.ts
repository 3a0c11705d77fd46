import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSet } from './check-set.js';
import { op } from './test-ops.js';

const add = (element: number, call: number, ret: number, outcome: 'ok' | 'fail' | 'info' = 'ok') => op({ input: { type: 'add', set: 's/', element }, outcome, call, ret });
const read = (elements: number[], call: number, ret: number, final = false) => op({ input: { type: 'read', set: 's/', final }, output: { elements }, call, ret });
const types = (ops: ReturnType<typeof op>[]) => checkSet(ops).anomalies.map((a) => a.type).sort();

test('a valid history passes', () => {
  const r = checkSet([add(1, 0, 1), add(2, 0.5, 3), read([1], 2, 2.5), add(3, 4, 5, 'info'), read([1, 2], 6, 7, true)]);
  assert.deepEqual(r.anomalies, []);
  assert.equal(r.stats['addsInDoubtNotApplied'], 1);
});

test('a lost add, a stale read, a vanished element and a phantom are caught', () => {
  assert.deepEqual(types([add(1, 0, 1), read([], 6, 7, true)]), ['lost-add']);
  assert.deepEqual(types([add(1, 0, 1), read([], 2, 3), read([1], 6, 7, true)]), ['stale-read']);
  assert.ok(types([add(1, 0, 10, 'info'), read([1], 11, 12), read([], 13, 14), read([1], 20, 21, true)]).includes('element-vanished'));
  assert.deepEqual(types([add(1, 0, 1), read([1, 5], 6, 7, true)]), ['phantom-element']);
  assert.deepEqual(types([add(1, 0, 1, 'fail'), read([1], 6, 7, true)]), ['phantom-element']);
});
