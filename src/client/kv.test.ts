import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareBytes } from '../core/bytes.js';
import { prefixEnd, rangeOf, toBytes } from './kv.js';
import { isClientError } from './errors.js';
import { Compare, Op, txnWrites } from './txn.js';

test('prefixEnd bounds exactly the keys with the prefix', () => {
  assert.deepEqual(prefixEnd(toBytes('a')), toBytes('b'));
  assert.deepEqual(prefixEnd(new Uint8Array([0x61, 0xff])), toBytes('b'));
  assert.deepEqual(prefixEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 6 }), fc.uint8Array({ maxLength: 8 }), (prefix, key) => {
      const end = prefixEnd(prefix);
      const hasPrefix = key.length >= prefix.length && prefix.every((b, i) => key[i] === b);
      const inRange = compareBytes(key, prefix) >= 0 && (end.length === 1 && end[0] === 0 ? true : compareBytes(key, end) < 0);
      assert.equal(inRange, hasPrefix, `prefix ${prefix} key ${key}`);
    }),
    { seed: 3 },
  );
});

test('range options: an empty key means every key; options exclude each other', () => {
  assert.deepEqual(rangeOf(new Uint8Array(0), { prefix: true }), { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
  assert.deepEqual(rangeOf(toBytes('k'), { fromKey: true }), { key: toBytes('k'), rangeEnd: new Uint8Array([0]) });
  assert.deepEqual(rangeOf(toBytes('k'), {}), { key: toBytes('k'), rangeEnd: undefined });
  assert.throws(() => rangeOf(toBytes('k'), { prefix: true, fromKey: true }), (e: unknown) => isClientError(e, 'invalid-argument'));
});

test('a transaction writes when any branch, nested or not, puts or deletes', () => {
  assert.equal(txnWrites({ compare: [Compare.version('k', '=', 0)], success: [Op.get('k')], failure: [Op.get('j')] }), false);
  assert.equal(txnWrites({ success: [Op.get('k')], failure: [Op.put('k', 'v')] }), true);
  assert.equal(txnWrites({ success: [Op.txn([], [Op.delete('k')])] }), true);
});
