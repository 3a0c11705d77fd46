import { test } from 'node:test';
import { assertCleanRun, bulwarkMissing, shortCampaign } from './harness.js';

test('Bulwark set: member replacement, loss, a bridge', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['loss', 'partition-bridge', 'member-replace'] as const;
  assertCleanRun(await shortCampaign({ target: 'bulwark', workload: 'set', faults, seed: 13 }), faults);
});

test('Bulwark lock: leadership transfers, a slow link, pauses', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['leader-move', 'bandwidth', 'pause'] as const;
  // A lock cycle is eight calls and waits its turn: few complete under faults on a loaded machine.
  assertCleanRun(await shortCampaign({ target: 'bulwark', workload: 'lock', faults, seed: 14 }), faults, { okMin: 6 });
});
