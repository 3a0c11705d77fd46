/**
 * The checkers can fail: etcd's serializable reads are answered from the local member, so a member
 * cut off from the others serves stale values. Asking the register workload for serializable
 * reads under lone-member partitions must produce linearizability anomalies (and the list-append
 * checker must see stale reads the same way). With Bulwark the same test uses a planted bug
 * (campaign-bulwark.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../src/chaos/report.js';
import { etcdMissing, shortCampaign } from './harness.js';

test('stale reads from a partitioned member are caught by the register checker', { skip: etcdMissing, timeout: 200_000 }, async () => {
  const reports: string[] = [];
  // A run catches it nearly always; timing on a loaded machine may hide it once, so up to three runs.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { result } = await shortCampaign({ workload: 'register', faults: ['partition-lone'], reads: 'serializable', seed: 21 + attempt, durationMs: 6000, faultIntervalMs: 400, faultDurationMs: 2500 });
    reports.push(formatReport(result));
    if (result.verdict === 'invalid') {
      assert.ok(result.anomalies.every((a) => a.type === 'linearizability'));
      assert.ok(result.anomalies[0]!.opIds.length >= 2, 'a window of at least two operations');
      assert.match(result.anomalies[0]!.detail ?? '', /cannot be ordered/);
      return;
    }
  }
  assert.fail(`no run caught the stale reads:\n${reports.join('\n\n')}`);
});

test('stale reads are caught by the list-append checker too', { skip: etcdMissing, timeout: 200_000 }, async () => {
  const reports: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const { result } = await shortCampaign({ workload: 'list-append', faults: ['partition-lone'], reads: 'serializable', seed: 31 + attempt, durationMs: 6000, faultIntervalMs: 400, faultDurationMs: 2500 });
    reports.push(formatReport(result));
    if (result.verdict === 'invalid') {
      assert.ok(result.anomalies.some((a) => a.type === 'stale-read' || a.type === 'nonmonotonic-read'), formatReport(result));
      return;
    }
  }
  assert.fail(`no run caught the stale reads:\n${reports.join('\n\n')}`);
});
