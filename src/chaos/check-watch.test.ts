import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWatch, type WatchEvent, type WatchHistory } from './check-watch.js';
import { op } from './test-ops.js';

const ev = (revision: number, value: string, session = 100): WatchEvent => ({ revision, key: 'w/0', value, type: 'put', session });
const put = (value: string, revision: number, outcome: 'ok' | 'fail' | 'info' = 'ok') => op({ input: { type: 'put', key: 'w/0', value }, output: { revision }, outcome, call: revision, ret: revision + 0.5 });
const reference = [ev(2, 'a', -1), ev(3, 'b', -1), ev(4, 'c', -1)];
const history = (events: WatchEvent[], ref: WatchEvent[] | null = reference): WatchHistory => ({ startRevision: 1, lastRevision: 4, watchers: [{ client: 0, events }], reference: ref });
const types = (ops: ReturnType<typeof op>[], h: WatchHistory) => checkWatch(ops, h).anomalies.map((a) => a.type).sort();
const puts = [put('a', 2), put('b', 3), put('c', 4)];

test('a watcher that saw everything once, in order, passes', () => {
  assert.deepEqual(types(puts, history([ev(2, 'a'), ev(3, 'b', 101), ev(4, 'c', 101)])), []);
});

test('missed, duplicated, reordered, phantom and wrong events are caught', () => {
  assert.deepEqual(types(puts, history([ev(2, 'a'), ev(4, 'c')])), ['watch-missed-event']);
  assert.deepEqual(types(puts, history([ev(2, 'a'), ev(3, 'b'), ev(3, 'b', 101), ev(4, 'c', 101)])), ['watch-duplicate']);
  assert.ok(types(puts, history([ev(3, 'b'), ev(2, 'a'), ev(4, 'c')])).includes('watch-out-of-order'));
  assert.deepEqual(types(puts, history([ev(2, 'a'), ev(3, 'b'), ev(4, 'c'), ev(5, 'zz')])), ['watch-phantom-event']);
  assert.deepEqual(types(puts, history([ev(2, 'a'), ev(3, 'x'), ev(4, 'c')])), ['watch-wrong-event']);
});

test('a watcher that never caught up is incomplete', () => {
  assert.deepEqual(types(puts, history([ev(2, 'a')])), ['watch-incomplete']);
});

test('acknowledged puts must be in the reference at their revision; failed ones must not', () => {
  assert.deepEqual(types([...puts, put('d', 5)], history([ev(2, 'a'), ev(3, 'b'), ev(4, 'c')])), ['watch-lost-write']);
  assert.deepEqual(types([put('a', 2), put('b', 9), put('c', 4)], history([ev(2, 'a'), ev(3, 'b'), ev(4, 'c')])), ['watch-lost-write']);
  assert.deepEqual(types([put('a', 2), put('b', 3, 'fail'), put('c', 4)], history([ev(2, 'a'), ev(3, 'b'), ev(4, 'c')])), ['failed-write-visible']);
});

test('without a reference the check is undecided', () => {
  const r = checkWatch(puts, history([ev(2, 'a'), ev(3, 'b'), ev(4, 'c')], null));
  assert.equal(r.unknown.length, 1);
});
