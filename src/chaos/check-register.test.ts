import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRegister } from './check-register.js';
import { op } from './test-ops.js';

test('a linearizable register history passes', () => {
  const r = checkRegister([
    op({ input: { type: 'write', key: 'a', value: '1' }, call: 0, ret: 1 }),
    op({ input: { type: 'read', key: 'a' }, output: { value: '1' }, call: 2, ret: 3 }),
    op({ input: { type: 'cas', key: 'a', expected: '1', value: '2' }, output: { ok: true }, call: 4, ret: 5 }),
    op({ input: { type: 'read', key: 'a' }, output: { value: '2' }, call: 6, ret: 7 }),
  ]);
  assert.equal(r.anomalies.length, 0);
  assert.equal(r.stats['linearizableKeys'], 1);
});

test('a stale read is a linearizability anomaly with its window', () => {
  const w1 = op({ input: { type: 'write', key: 'a', value: '1' }, call: 0, ret: 1 });
  const w2 = op({ input: { type: 'write', key: 'a', value: '2' }, call: 2, ret: 3 });
  const stale = op({ client: 1, input: { type: 'read', key: 'a' }, output: { value: '1' }, call: 4, ret: 5 });
  const r = checkRegister([w1, w2, stale, op({ input: { type: 'write', key: 'b', value: '1' }, call: 0, ret: 1 })]);
  assert.equal(r.anomalies.length, 1);
  const a = r.anomalies[0]!;
  assert.equal(a.type, 'linearizability');
  assert.equal(a.key, 'a');
  assert.ok(a.opIds.includes(stale.id) && a.opIds.includes(w2.id));
  assert.match(a.detail ?? '', /cannot be (ordered|explained)/);
});

test('a write in doubt may take effect late; a write that failed may not take effect at all', () => {
  const inDoubt = op({ input: { type: 'write', key: 'a', value: '9' }, outcome: 'info', call: 0, ret: 1 });
  const read = op({ input: { type: 'read', key: 'a' }, output: { value: '9' }, call: 5, ret: 6 });
  assert.equal(checkRegister([inDoubt, read]).anomalies.length, 0);
  const failed = op({ input: { type: 'write', key: 'a', value: '9' }, outcome: 'fail', call: 0, ret: 1 });
  const r = checkRegister([failed, op({ input: { type: 'read', key: 'a' }, output: { value: '9' }, call: 5, ret: 6 })]);
  assert.equal(r.anomalies.length, 1, 'a failed write that is read back is caught');
});

test('every failing key is reported, not only the first', () => {
  const ops = ['a', 'b', 'c'].flatMap((k) => [
    op({ input: { type: 'write', key: k, value: '1' }, call: 0, ret: 1 }),
    op({ input: { type: 'read', key: k }, output: { value: null }, call: 2, ret: 3 }),
  ]);
  assert.deepEqual(checkRegister(ops).anomalies.map((a) => a.key), ['a', 'b', 'c']);
});

test('a search over budget is undecided, not valid', () => {
  const ops = [];
  for (let i = 0; i < 40; i++) ops.push(op({ input: { type: 'write', key: 'a', value: String(i % 3) }, outcome: 'info', call: i, ret: i + 1 }));
  ops.push(op({ input: { type: 'read', key: 'a' }, output: { value: '7' }, call: 100, ret: 101 }));
  const r = checkRegister(ops, { stepsMax: 10 });
  assert.ok(r.unknown.length + r.anomalies.length > 0);
});
