/**
 * `bulwark serve --raid 1` on a real process (issue 10): a member on a two-disk mirror loses one
 * disk during a write load. Writes go on without a client error, every way of looking reports the
 * volume degraded, every acknowledged write reads back — and after a restart on the one disk left,
 * the member still serves them all (with a disk that died by rename, the empty directory found at
 * its path on restart is taken as a new disk and rebuilt). One member, so no peer can hide a failure of its volume.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MaintenanceService } from '../../src/api/proto/generated/etcdserverpb.js';
import type { RaidLiveStatus } from '../../src/server/raid-monitor.js';
import { count, put, rangePrefix, startCluster, waitFor, type TestCluster } from '../cluster/harness.js';
import { DyingDisk } from './dying-disk.js';

const RAID = { level: 1 as const, disks: 2 };
const LOAD_WRITERS = 4;
const LOAD_PUTS_MAX = 2000;
const LOAD_MS_MAX = 20_000;

async function raidStatus(t: TestCluster, name: string): Promise<RaidLiveStatus> {
  const r = await fetch(`${t.cluster.clientUrl(name)}/raid/status`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  return (await r.json()) as RaidLiveStatus;
}

test('a member on a RAID-1 mirror loses a disk under a write load: writes go on, degraded everywhere, nothing lost, restarts on the disk left', { timeout: 180_000 }, async (ctx) => {
  let disk: DyingDisk | null = null;
  const t = await startCluster({
    size: 1,
    raid: RAID,
    beforeStart: (dir) => {
      disk = DyingDisk.create(join(dir, 'm1', 'disk2'));
    },
  });
  const name = 'm1';
  const acked = new Map<string, string>();
  const errors: string[] = [];
  let stopping = false;
  let writers: Promise<void>[] = [];
  try {
    assert.ok(disk !== null);
    const dying: DyingDisk = disk;
    ctx.diagnostic(`the disk dies by ${dying.method}`);
    const clean = await raidStatus(t, name);
    assert.equal(clean.level, 1);
    assert.equal(clean.memberCount, 2);
    assert.equal(clean.health, 'clean');

    // Writers, bounded in count and time; every put must succeed.
    const deadline = Date.now() + LOAD_MS_MAX;
    let issued = 0;
    writers = Array.from({ length: LOAD_WRITERS }, async (_, w) => {
      for (let i = 0; !stopping && Date.now() < deadline && issued < LOAD_PUTS_MAX; i++) {
        issued++;
        const key = `load/${w}/${String(i).padStart(5, '0')}`;
        try {
          await put(t.channel(name), key, `v${w}-${i}`, 5000);
          acked.set(key, `v${w}-${i}`);
        } catch (e) {
          errors.push(`${key}: ${(e as Error).message}`);
        }
      }
    });
    await waitFor('some writes', async () => acked.size >= 100);
    dying.kill();
    const degraded = await waitFor('the volume to report degraded', async () => {
      const st = await raidStatus(t, name);
      return st.health === 'degraded' ? st : null;
    });
    assert.equal(degraded.members[1]!.state, 'failed');
    assert.equal(degraded.members[0]!.state, 'active');
    // Writes go on while degraded.
    const before = acked.size;
    await waitFor('writes to go on while degraded', async () => acked.size >= before + 100);
    stopping = true;
    await Promise.all(writers);
    assert.deepEqual(errors, [], 'no client saw an error');

    // Status errors, metrics and the log say so.
    const s = await t.channel(name).call(MaintenanceService.Status, {}, { deadlineMs: 3000 });
    assert.ok(s.errors.some((e) => /^raid: degraded \(member 1 failed/.test(e)), `Status errors: ${JSON.stringify(s.errors)}`);
    const metrics = await (await fetch(`${t.cluster.clientUrl(name)}/metrics`)).text();
    assert.match(metrics, /^bulwark_raid_degraded\{[^}]*\} 1$/m);
    assert.match(metrics, /^bulwark_raid_member_state\{[^}]*member="1"[^}]*state="failed"[^}]*\} 1$/m);
    for (const msg of ['raid: member failed', 'raid: volume degraded']) {
      // The log reaches its file through a pipe: give it a moment.
      await waitFor(`the member to log "${msg}"`, async () => readFileSync(t.cluster.logFile(name), 'utf8').includes(msg), 10_000);
    }

    // Every acknowledged write is there, in one range.
    const stored = await rangePrefix(t.channel(name), 'load/');
    const lost = [...acked].filter(([k, v]) => stored.get(k) !== v).map(([k]) => k);
    assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged writes lost`);

    // Restarted on the disk that is left, it serves them all.
    await t.cluster.stop(name);
    t.cluster.start(name, 'existing');
    await t.cluster.waitHealthy(name, 30_000);
    assert.equal(await count(t.channel(name), 'load/'), stored.size);
    const again = await rangePrefix(t.channel(name), 'load/');
    assert.deepEqual([...acked].filter(([k, v]) => again.get(k) !== v).map(([k]) => k), [], 'nothing lost across the restart');
    if (dying.method === 'ext4-shutdown') {
      assert.equal((await raidStatus(t, name)).health, 'degraded', 'the dead disk stays failed');
    } else {
      // The renamed-away directory is recreated empty at start: a new disk, rebuilt from the other.
      await waitFor('the rebuild onto the new, empty directory', async () => (await raidStatus(t, name)).health === 'clean', 30_000);
    }
  } finally {
    stopping = true;
    await Promise.allSettled(writers);
    await t.cluster.killAll();
    (disk as DyingDisk | null)?.cleanup();
    await t.close();
  }
});
