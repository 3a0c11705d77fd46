import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { IndexMap } from './index-map.js';

type Op = { type: 'set'; key: number } | { type: 'delete'; from: number; len: number } | { type: 'clear' };

test('IndexMap behaves like a Map over any mix of dense, holey and far-apart keys', () => {
  const key = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 1, max: 2 ** 40 }));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 8, arbitrary: key.map((k) => ({ type: 'set' as const, key: k })) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('delete' as const), from: key, len: fc.integer({ min: 0, max: 10_000 }) }) },
    { weight: 1, arbitrary: fc.constant({ type: 'clear' as const }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const m = new IndexMap<number>();
      const oracle = new Map<number, number>();
      ops.forEach((o, n) => {
        if (o.type === 'set') {
          m.set(o.key, n);
          oracle.set(o.key, n);
        } else if (o.type === 'delete') {
          m.deleteRange(o.from, o.from + o.len);
          for (const k of [...oracle.keys()]) if (k >= o.from && k <= o.from + o.len) oracle.delete(k);
        } else {
          m.clear();
          oracle.clear();
        }
        assert.equal(m.size, oracle.size);
      });
      assert.deepEqual(m.keys(), [...oracle.keys()].sort((a, b) => a - b));
      for (const [k, v] of oracle) assert.equal(m.get(k), v);
      assert.equal(m.get(2 ** 41), undefined);
    }),
    { numRuns: 300 },
  );
});

test('a contiguous log appends, truncates and compacts in place', () => {
  const m = new IndexMap<string>();
  for (let i = 1; i <= 10_000; i++) m.set(i, `e${i}`);
  m.deleteRange(9_001, 10_000); // a Raft truncation
  m.deleteRange(1, 5_000); // compaction
  for (let i = 9_001; i <= 9_500; i++) m.set(i, `f${i}`);
  assert.equal(m.size, 4_500);
  assert.equal(m.get(5_000), undefined);
  assert.equal(m.get(5_001), 'e5001');
  assert.equal(m.get(9_500), 'f9500');
  assert.deepEqual(m.keys().slice(0, 2), [5_001, 5_002]);
});
