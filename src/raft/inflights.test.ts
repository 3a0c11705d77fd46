/** The ring-buffer window against a plain array. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Inflights } from './inflights.js';

type Op = { readonly type: 'add'; readonly step: number } | { readonly type: 'free'; readonly upTo: number } | { readonly type: 'freeFirst' } | { readonly type: 'reset' };

test('Inflights behaves like a naive array window', () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.nat({ max: 5 }).map((step) => ({ type: 'add' as const, step })),
    fc.nat({ max: 200 }).map((upTo) => ({ type: 'free' as const, upTo })),
    fc.constant({ type: 'freeFirst' as const }),
    fc.constant({ type: 'reset' as const }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (capacity, ops) => {
      const w = new Inflights(capacity);
      let naive: number[] = [];
      let last = 0;
      for (const o of ops) {
        switch (o.type) {
          case 'add':
            if (naive.length === capacity) {
              assert.ok(w.full());
              continue;
            }
            last += o.step;
            w.add(last);
            naive.push(last);
            break;
          case 'free':
            w.freeLE(o.upTo);
            naive = naive.filter((x) => x > o.upTo);
            break;
          case 'freeFirst':
            w.freeFirstOne();
            naive.shift();
            break;
          case 'reset':
            w.reset();
            naive = [];
            break;
        }
        assert.equal(w.count, naive.length);
        assert.equal(w.full(), naive.length === capacity);
      }
    }),
    { numRuns: 1000 },
  );
});
