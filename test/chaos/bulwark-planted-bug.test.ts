/**
 * The checkers can fail: members started with a planted bug (`--unsafe-planted-bug stale-reads`:
 * linearizable reads served locally, without ReadIndex) serve stale values from a member cut off
 * from the others, and the register checker must say so.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReport } from '../../src/chaos/report.js';
import { bulwarkMissing, shortCampaign } from './harness.js';

test('Bulwark: reads served without ReadIndex (planted bug) are caught under a lone-member partition', { skip: bulwarkMissing, timeout: 200_000 }, async () => {
  const reports: string[] = [];
  // A run catches it nearly always; timing on a loaded machine may hide it once, so up to three runs.
  for (let attempt = 0; attempt < 3; attempt++) {
    const { result } = await shortCampaign({ target: 'bulwark', plantedBug: 'stale-reads', workload: 'register', faults: ['partition-lone'], seed: 51 + attempt, durationMs: 6000, faultIntervalMs: 400, faultDurationMs: 2500 });
    reports.push(formatReport(result));
    if (result.verdict === 'invalid') {
      assert.ok(result.anomalies.every((a) => a.type === 'linearizability'));
      assert.ok(result.anomalies[0]!.opIds.length >= 2, 'a window of at least two operations');
      return;
    }
  }
  assert.fail(`the planted stale-reads bug was not caught:\n${reports.join('\n\n')}`);
});
