/**
 * The same campaigns against Bulwark's own `bulwark serve` members, once the server is in the build:
 * a clean run with process, network and disk faults must find nothing, and a member started with
 * a planted bug (`--unsafe-planted-bug stale-reads`: linearizable reads served locally, without
 * ReadIndex) must be caught under a lone-member partition.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCampaign, type CampaignOptions } from '../../src/chaos/campaign.js';
import type { FaultKind } from '../../src/chaos/fault-kinds.js';
import { formatReport } from '../../src/chaos/report.js';
import { BulwarkTarget, bulwarkServeAvailable } from '../../src/chaos/target-bulwark.js';
import type { WorkloadName } from '../../src/chaos/workload.js';

const missing = bulwarkServeAvailable() ? false : 'this build has no `bulwark serve` yet (the server lands with issue 5); the etcd campaigns cover the tool meanwhile';

async function campaign(o: { workload: WorkloadName; faults: readonly FaultKind[]; plantedBug?: string; seed: number; durationMs?: number }): Promise<Awaited<ReturnType<typeof runCampaign>>> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-chaos-bw-'));
  const target = new BulwarkTarget({ size: 3, dir: join(dir, 'data'), network: 'proxy', seed: o.seed, heartbeatMs: 50, electionMs: 500, ...(o.plantedBug === undefined ? {} : { plantedBug: o.plantedBug }) });
  const options: CampaignOptions = {
    target,
    network: 'proxy',
    workload: o.workload,
    clients: 6,
    durationMs: o.durationMs ?? 6000,
    faults: o.faults,
    faultIntervalMs: 500,
    faultDurationMs: 1500,
    faultOrder: 'cycle',
    opTimeoutMs: 1000,
    ratePerSecond: 150,
    reads: 'linearizable',
    seed: o.seed,
    outDir: join(dir, 'out'),
    log: () => {},
  };
  try {
    return await runCampaign(options);
  } finally {
    await target.stop();
    await rm(join(dir, 'data'), { recursive: true, force: true });
  }
}

test('Bulwark: register under kill -9, partitions and a slow disk finds nothing', { skip: missing, timeout: 150_000 }, async () => {
  const faults = ['kill', 'partition-halves', 'disk-slow'] as const;
  const r = await campaign({ workload: 'register', faults, seed: 41 });
  assert.equal(r.verdict, 'valid', formatReport(r));
  for (const k of faults) assert.ok(r.faults.some((f) => f.kind === k && f.error === null), `${k} injected\n${formatReport(r)}`);
});

test('Bulwark: a member serving reads without ReadIndex (planted bug) is caught', { skip: missing, timeout: 200_000 }, async () => {
  const reports: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await campaign({ workload: 'register', faults: ['partition-lone'], plantedBug: 'stale-reads', seed: 51 + attempt, durationMs: 8000 });
    reports.push(formatReport(r));
    if (r.verdict === 'invalid') {
      assert.ok(r.anomalies.some((a) => a.type === 'linearizability'));
      return;
    }
  }
  assert.fail(`the planted stale-reads bug was not caught:\n${reports.join('\n\n')}`);
});
