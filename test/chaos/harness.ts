/**
 * Short chaos campaigns for CI against a real 3-member cluster — Bulwark's `bulwark serve` members,
 * or etcd 3.4 (Debian's etcd-server) as the reference: each run is a few seconds of load with the
 * faults injected in turn, then healing, final reads and the checks. Every process and namespace
 * is removed at the end, also when a test fails.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCampaign, type CampaignResult } from '../../src/chaos/campaign.js';
import type { FaultKind } from '../../src/chaos/fault-kinds.js';
import { formatReport } from '../../src/chaos/report.js';
import type { ProcessClusterTarget } from '../../src/chaos/cluster-target.js';
import { BulwarkTarget, bulwarkServeAvailable } from '../../src/chaos/target-bulwark.js';
import { ETCD_BIN_DEFAULT, EtcdTarget } from '../../src/chaos/target-etcd.js';
import type { ReadMode, WorkloadName } from '../../src/chaos/workload.js';

export const etcdMissing: string | false = existsSync(ETCD_BIN_DEFAULT) ? false : `${ETCD_BIN_DEFAULT} not found (apt-get install -y etcd-server to run the etcd campaigns)`;
export const bulwarkMissing: string | false = bulwarkServeAvailable() ? false : 'this build has no `bulwark serve`';

export interface ShortCampaign {
  readonly target: 'bulwark' | 'etcd';
  /** Bulwark only: `--unsafe-planted-bug NAME` on every member. */
  readonly plantedBug?: string;
  /** Bulwark only: the cluster's protocol (default raft). */
  readonly consensus?: 'raft' | 'paxos';
  readonly workload: WorkloadName;
  readonly faults: readonly FaultKind[];
  readonly durationMs?: number;
  readonly reads?: ReadMode;
  readonly network?: 'proxy' | 'netns';
  readonly seed?: number;
  readonly faultIntervalMs?: number;
  readonly faultDurationMs?: number;
}

export async function shortCampaign(c: ShortCampaign): Promise<{ result: CampaignResult; outDir: string; log: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-chaos-test-'));
  const log: string[] = [];
  const common = { size: 3, dir: join(dir, 'data'), network: c.network ?? 'proxy', seed: c.seed ?? 1, heartbeatMs: 50, electionMs: 500 };
  const target: ProcessClusterTarget = c.target === 'etcd' ? new EtcdTarget(common) : new BulwarkTarget({ ...common, ...(c.consensus === undefined ? {} : { consensus: c.consensus }), ...(c.plantedBug === undefined ? {} : { plantedBug: c.plantedBug }) });
  try {
    const result = await runCampaign({
      target,
      network: c.network ?? 'proxy',
      workload: c.workload,
      clients: 6,
      // Long enough for every kind to come up in turn, with room for slow injections on a loaded machine.
      durationMs: Math.max(c.durationMs ?? 4500, c.faults.length * 1800 + 1000),
      faults: c.faults,
      faultIntervalMs: c.faultIntervalMs ?? 300,
      faultDurationMs: c.faultDurationMs ?? 900,
      faultOrder: 'cycle',
      opTimeoutMs: 1000,
      ratePerSecond: 150,
      reads: c.reads ?? 'linearizable',
      seed: c.seed ?? 1,
      outDir: join(dir, 'out'),
      log: (l) => log.push(l),
    });
    return { result, outDir: join(dir, 'out'), log };
  } finally {
    await target.stop();
    // Keep the output when the caller wants to look (it asserts on it first); the data goes.
    await rm(join(dir, 'data'), { recursive: true, force: true });
  }
}

/** The checks every campaign against a correct store must pass. */
export function assertCleanRun(r: { result: CampaignResult; outDir: string; log: string[] }, faults: readonly FaultKind[], o: { readonly okMin?: number } = {}): void {
  const s = r.result;
  const report = `${formatReport(s)}\n--- log ---\n${r.log.join('\n')}`;
  assert.equal(s.verdict, 'valid', report);
  // Enough successes that the checkers had a history to judge. Liveness proper is asserted by the
  // campaign's final reads after healing; during the faults a loaded CI machine (restarts taking
  // seconds) can leave a 3-member cluster without a quorum for most of a short run.
  const okMin = o.okMin ?? 10;
  assert.ok(s.ops.filter((x) => x.outcome === 'ok').length >= okMin, `at least ${okMin} successful operations\n${report}`);
  for (const k of faults) {
    const injected = s.faults.filter((f) => f.kind === k);
    assert.ok(injected.length > 0, `fault ${k} was injected\n${report}`);
    assert.ok(injected.some((f) => f.error === null), `fault ${k} was injected and healed without error\n${report}`);
  }
  const history = JSON.parse(readFileSync(join(r.outDir, 'history.json'), 'utf8')) as { format: string; operations: unknown[] };
  assert.equal(history.format, 'bulwark-chaos-history/1');
  assert.equal(history.operations.length, s.ops.length);
  assert.match(readFileSync(join(r.outDir, 'timeline.html'), 'utf8'), /<svg/);
  assert.match(readFileSync(join(r.outDir, 'report.txt'), 'utf8'), /verdict: VALID/);
}
