import { test } from 'node:test';
import { assertCleanRun, etcdMissing, shortCampaign } from './harness.js';

test('register: kill -9, one-way partitions, leadership transfers against etcd', { skip: etcdMissing, timeout: 120_000 }, async () => {
  const faults = ['kill', 'partition-oneway', 'leader-move'] as const;
  assertCleanRun(await shortCampaign({ workload: 'register', faults, seed: 11 }), faults);
});

test('list-append: pauses, halves, latency against etcd', { skip: etcdMissing, timeout: 120_000 }, async () => {
  const faults = ['pause', 'partition-halves', 'delay'] as const;
  assertCleanRun(await shortCampaign({ workload: 'list-append', faults, seed: 12 }), faults);
});
