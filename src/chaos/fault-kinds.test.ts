import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFaultList } from './fault-kinds.js';

test('fault lists expand groups and report unknown names', () => {
  assert.deepEqual(parseFaultList('kill,partition').kinds, ['kill', 'partition-halves', 'partition-lone', 'partition-bridge', 'partition-oneway']);
  assert.deepEqual(parseFaultList('none').kinds, []);
  assert.deepEqual(parseFaultList('kill,zap').unknown, ['zap']);
  assert.equal(parseFaultList('all').kinds.length, 13);
});
