import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { SlotLog } from './slot-log.js';

const entry = (i: number): Entry => ({ index: logIndex(i), term: term(1), kind: 'normal', data: new Uint8Array([i % 256]) });

test('SlotLog behaves like a Map of slots with prefix deletion (against a naive oracle)', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.record({ op: fc.constant('set' as const), slot: fc.integer({ min: 1, max: 200 }) }), fc.record({ op: fc.constant('cut' as const), slot: fc.integer({ min: 0, max: 200 }) })), { maxLength: 100 }), (ops) => {
      const log = new SlotLog();
      const oracle = new Map<number, Entry>();
      let floor = 0;
      for (const o of ops) {
        if (o.op === 'set') {
          if (o.slot <= floor) continue;
          const e = entry(o.slot);
          log.set(o.slot, e);
          oracle.set(o.slot, e);
        } else {
          floor = Math.max(floor, o.slot);
          log.deleteThrough(o.slot);
          for (const k of [...oracle.keys()]) if (k <= o.slot) oracle.delete(k);
        }
        assert.equal(log.size, oracle.size);
        assert.deepEqual([...log.values()].map((e) => e.index), [...oracle.keys()].sort((a, b) => a - b));
        for (let s = 0; s <= 201; s++) assert.equal(log.get(s), oracle.get(s));
      }
    }),
    { numRuns: 300 },
  );
});
