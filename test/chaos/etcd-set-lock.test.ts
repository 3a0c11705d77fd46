import { test } from 'node:test';
import { assertCleanRun, etcdMissing, shortCampaign } from './harness.js';

test('set: member replacement, loss, a bridge against etcd', { skip: etcdMissing, timeout: 150_000 }, async () => {
  const faults = ['loss', 'partition-bridge', 'member-replace'] as const;
  assertCleanRun(await shortCampaign({ workload: 'set', faults, seed: 13, durationMs: 5500 }), faults);
});

test('lock: a lone member, leadership transfers, a slow link against etcd', { skip: etcdMissing, timeout: 120_000 }, async () => {
  const faults = ['partition-lone', 'leader-move', 'bandwidth'] as const;
  assertCleanRun(await shortCampaign({ workload: 'lock', faults, seed: 14 }), faults);
});
