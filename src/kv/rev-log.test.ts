import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leaseId } from '../core/ids.js';
import { RevLog } from './rev-log.js';
import { RevRecord } from './record.js';

test('the revision log agrees with an array: push, shift, search, replace', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constant('push' as const), fc.constant('shift' as const), fc.nat(5)), { maxLength: 12_000, size: 'max' }), (ops) => {
      const log = new RevLog();
      const arr: RevRecord[] = [];
      let main = 1;
      let sub = 0;
      for (const o of ops) {
        if (o === 'push' || typeof o === 'number') {
          if (typeof o === 'number' && o > 0) {
            main++;
            sub = 0;
          }
          const r = new RevRecord('k', main, sub++, main, 1, leaseId(0n), '', null);
          log.push(r);
          arr.push(r);
        } else assert.equal(log.shift(), arr.shift());
      }
      assert.equal(log.length, arr.length);
      for (let i = 0; i < arr.length; i += 97) assert.equal(log.at(i), arr[i]);
      for (const m of [0, 1, main >> 1, main, main + 1]) {
        const want = arr.findIndex((r) => r.main >= m);
        assert.equal(log.lowerBound(m), want === -1 ? arr.length : want);
      }
      if (arr.length > 0) {
        const i = arr.length >> 1;
        const copy = arr[i]!.withPrev(null);
        log.replace(arr[i]!, copy);
        assert.equal(log.at(i), copy);
      }
    }),
    { numRuns: 40 },
  );
});
