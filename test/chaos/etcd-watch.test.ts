import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertCleanRun, etcdMissing, shortCampaign } from './harness.js';

test('watch: kill -9, pauses, a lone member against etcd; watchers resume and see every event once', { skip: etcdMissing, timeout: 150_000 }, async () => {
  const faults = ['kill', 'pause', 'partition-lone'] as const;
  const r = await shortCampaign({ workload: 'watch', faults, seed: 15 });
  assertCleanRun(r, faults);
  assert.ok((r.result.stats['referenceEvents'] ?? 0) > 10, 'writes happened');
  assert.equal(r.result.stats['eventsDelivered'], (r.result.stats['referenceEvents'] ?? 0) * (r.result.stats['watchers'] ?? 0), 'each watcher saw each event once');
});
