import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport, verdictOf } from './report.js';
import { op } from './test-ops.js';

test('the report states the verdict and lists anomalies with their operations', () => {
  const ops = [op({ id: 7, input: { type: 'read', key: 'k' }, output: { value: '1' }, call: 0, ret: 1 })];
  const anomalies = [{ type: 'stale-read', key: 'k', message: 'read 7 is stale', opIds: [7], detail: null }];
  const text = formatReport({ workload: 'set', target: 'etcd', members: 3, network: 'proxy', durationMs: 1000, seed: 1, reads: 'linearizable', ops, faults: [], skippedFaults: ['disk-slow: no'], anomalies, notes: ['n'], unknown: [], stats: {}, verdict: verdictOf(anomalies, []), files: [] });
  assert.match(text, /INVALID \(1 anomaly\)/);
  assert.match(text, /op 7 client 0/);
  assert.match(text, /skipped disk-slow/);
  assert.equal(verdictOf([], ['x']), 'unknown');
  assert.equal(verdictOf([], []), 'valid');
});
