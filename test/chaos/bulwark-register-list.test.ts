import { test } from 'node:test';
import { assertCleanRun, bulwarkMissing, shortCampaign } from './harness.js';

test('Bulwark register: kill -9, one-way partitions, a failing disk', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['kill', 'partition-oneway', 'disk-fail'] as const;
  assertCleanRun(await shortCampaign({ target: 'bulwark', workload: 'register', faults, seed: 11 }), faults);
});

test('Bulwark list-append: pauses, halves, latency', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['pause', 'partition-halves', 'delay'] as const;
  assertCleanRun(await shortCampaign({ target: 'bulwark', workload: 'list-append', faults, seed: 12 }), faults);
});
