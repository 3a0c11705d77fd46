/**
 * The tool against the reference, etcd 3.4: a clean campaign must find nothing, and etcd's
 * serializable reads — answered by the local member without asking the leader, so stale on a
 * member cut off from the others — must be caught by the register checker: a real store's real
 * stale reads, not a planted bug.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../src/chaos/report.js';
import { assertCleanRun, etcdMissing, shortCampaign } from './harness.js';

test('etcd register: kill -9, one-way partitions, leadership transfers', { skip: etcdMissing, timeout: 150_000 }, async () => {
  const faults = ['kill', 'partition-oneway', 'leader-move'] as const;
  assertCleanRun(await shortCampaign({ target: 'etcd', workload: 'register', faults, seed: 21 }), faults);
});

test('etcd: serializable reads from a partitioned member are caught as stale', { skip: etcdMissing, timeout: 200_000 }, async () => {
  const reports: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const { result } = await shortCampaign({ target: 'etcd', workload: 'register', faults: ['partition-lone'], reads: 'serializable', seed: 31 + attempt, durationMs: 6000, faultIntervalMs: 400, faultDurationMs: 2500 });
    reports.push(formatReport(result));
    if (result.verdict === 'invalid') {
      assert.ok(result.anomalies.every((a) => a.type === 'linearizability'));
      assert.match(result.anomalies[0]!.detail ?? '', /cannot be (ordered|explained)/);
      return;
    }
  }
  assert.fail(`no run caught the stale reads:\n${reports.join('\n\n')}`);
});
