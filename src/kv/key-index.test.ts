import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leaseId } from '../core/ids.js';
import { inKeyRange, KeyIndex, keyRange, type KeyRange } from './key-index.js';
import { RevRecord } from './record.js';

const rec = (key: string, main = 1): RevRecord => new RevRecord(key, main, 0, main, 1, leaseId(0n), 'v', null);

test('the key index agrees with a sorted map under random inserts, replacements and deletes', () => {
  // Few distinct keys and many ops, so leaves split and merge often.
  const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\xff', '\x00'), maxLength: 7 });
  const op = fc.oneof(fc.record({ t: fc.constant('set' as const), key }), fc.record({ t: fc.constant('del' as const), key }));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 3000, size: 'max' }), key, key, (ops, start, end) => {
      const idx = new KeyIndex();
      const model = new Map<string, number>();
      for (const [i, o] of ops.entries()) {
        if (o.t === 'set') {
          idx.set(rec(o.key, i + 1));
          model.set(o.key, i + 1);
        } else assert.equal(idx.delete(o.key), model.delete(o.key));
      }
      idx.check();
      const sorted = [...model.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      assert.equal(idx.size, sorted.length);
      assert.deepEqual(idx.heads().map((h) => h.key), sorted);
      for (const k of sorted) assert.equal(idx.get(k)?.main, model.get(k));
      for (const r of [keyRange(start, ''), keyRange(start, '\0'), keyRange(start, end)] as KeyRange[]) {
        const got: string[] = [];
        idx.forEachInRange(r, (h) => void got.push(h.key));
        assert.deepEqual(got, sorted.filter((k) => inKeyRange(r, k)));
      }
      const after = sorted.find((k) => k > start);
      assert.equal(idx.next(start)?.key, after);
      assert.equal(idx.next(start, true)?.key, sorted.find((k) => k >= start));
    }),
    { numRuns: 60 },
  );
});

test('bulk load from sorted heads builds a valid index', () => {
  const keys = Array.from({ length: 5000 }, (_, i) => `k${String(i).padStart(6, '0')}`);
  const idx = KeyIndex.fromSorted(keys.map((k) => rec(k)));
  idx.check();
  assert.equal(idx.get('k000123')?.key, 'k000123');
  idx.set(rec('k000123x'));
  idx.delete('k000000');
  idx.check();
  assert.equal(idx.size, 5000);
});
