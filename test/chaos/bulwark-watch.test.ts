import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCleanRun, bulwarkMissing, shortCampaign } from './harness.js';

test('Bulwark watch: kill -9, a slow disk, a lone member; watchers resume and see every event once', { skip: bulwarkMissing, timeout: 150_000 }, async () => {
  const faults = ['kill', 'disk-slow', 'partition-lone'] as const;
  const r = await shortCampaign({ target: 'bulwark', workload: 'watch', faults, seed: 15 });
  assertCleanRun(r, faults);
  assert.ok((r.result.stats['referenceEvents'] ?? 0) > 10, 'writes happened');
  assert.equal(r.result.stats['eventsDelivered'], (r.result.stats['referenceEvents'] ?? 0) * (r.result.stats['watchers'] ?? 0), 'each watcher saw each event once');
});
