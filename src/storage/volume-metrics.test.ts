import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { MemDisk } from './mem-disk.js';
import { StepClock } from './step-clock.js';
import { volumeMetrics } from './volume-metrics.js';
import { openVolume } from './volume-open.js';

test('volume metrics follow the volume: degraded flag, member state set, error counters', async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
  const v = await openVolume({ members: disks, clock: new StepClock(), create: { level: 5, chunkBytes: 4096, random: new SeededRandom(1) } });
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    volumeMetrics(v.status()).find((m) => m.name === name && Object.entries(labels).every(([k, x]) => m.labels[k] === x))?.value;
  assert.equal(value('bulwark_raid_degraded'), 0);
  assert.equal(value('bulwark_raid_member_state', { member: '1', state: 'active' }), 1);
  await v.failMember(1);
  assert.equal(value('bulwark_raid_degraded'), 1);
  assert.equal(value('bulwark_raid_failed'), 0);
  assert.equal(value('bulwark_raid_member_state', { member: '1', state: 'active' }), 0);
  assert.equal(value('bulwark_raid_member_state', { member: '1', state: 'failed' }), 1);
  assert.equal(value('bulwark_raid_generation'), v.status().generation);
  await v.close();
});
