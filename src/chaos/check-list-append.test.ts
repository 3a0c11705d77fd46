import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkListAppend } from './check-list-append.js';
import { op } from './test-ops.js';

const append = (element: number, call: number, ret: number, outcome: 'ok' | 'fail' | 'info' = 'ok') => op({ input: { type: 'append', key: 'k', element }, outcome, call, ret });
const read = (list: number[], call: number, ret: number, final = false) => op({ input: { type: 'read', key: 'k', final }, output: { list }, call, ret });
const types = (ops: ReturnType<typeof op>[]) => checkListAppend(ops).anomalies.map((a) => a.type).sort();

test('a valid history passes, and appends in doubt that landed are counted', () => {
  const r = checkListAppend([append(1, 0, 1), append(2, 2, 3), read([1], 1.5, 1.8), append(3, 4, 5, 'info'), read([1, 2, 3], 6, 7, true)]);
  assert.deepEqual(r.anomalies, []);
  assert.equal(r.stats['appendsInDoubtApplied'], 1);
});

test('a lost append is caught', () => {
  assert.deepEqual(types([append(1, 0, 1), append(2, 2, 3), read([1], 6, 7, true)]), ['lost-append']);
});

test('a stale read is caught', () => {
  assert.deepEqual(types([append(1, 0, 1), read([], 2, 3), read([1], 6, 7, true)]), ['stale-read']);
});

test('a read going back is caught', () => {
  const t = types([append(1, 0, 10), append(2, 0, 10), read([1, 2], 2, 3), read([1], 4, 5), read([1, 2], 20, 21, true)]);
  assert.ok(t.includes('nonmonotonic-read'));
});

test('reordered appends and incompatible orders are caught', () => {
  assert.ok(types([append(1, 0, 1), append(2, 2, 3), read([2, 1], 6, 7, true)]).includes('reordered-append'));
  assert.ok(types([append(1, 0, 5), append(2, 0, 5), read([1], 6, 7), read([2, 1], 8, 9, true)]).includes('incompatible-order'));
});

test('duplicates and phantoms are caught', () => {
  assert.deepEqual(types([append(1, 0, 1), read([1, 1], 6, 7, true)]), ['duplicate-element']);
  assert.deepEqual(types([append(1, 0, 1), read([1, 99], 6, 7, true)]), ['phantom-element']);
  assert.deepEqual(types([append(1, 0, 1), append(2, 0, 1, 'fail'), read([1, 2], 6, 7, true)]), ['phantom-element']);
});
