/**
 * The monitor of a member's volume: a vanished disk is noticed without any write, every change of
 * health is logged and shows in Status `errors`, a new member is rebuilt on its own, the volume's
 * failure stops the member once, and jobs refuse to overlap.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RAID_PROBE_INTERVAL_MS } from '../core/limits.js';
import type { LogFields, Logger } from '../env/logger.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk, StepClock, isRaidError, openVolume, type VolumeStatus } from '../storage/index.js';
import { RaidMonitor, volumeErrors } from './raid-monitor.js';

interface Line {
  readonly level: string;
  readonly msg: string;
  readonly fields: LogFields;
}

function recordingLogger(lines: Line[]): Logger {
  const log = (level: string) => (msg: string, fields: LogFields = {}) => void lines.push({ level, msg, fields });
  const l: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

/** Lets the volume's pending promise chains run (MemDisk completes on microtasks). */
async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

async function setup(level: 1 | 5 = 5) {
  const disks = [0, 1, 2].map((i) => new MemDisk(`/d${i}`));
  const clock = new StepClock();
  const lines: Line[] = [];
  const logger = recordingLogger(lines);
  const volume = await openVolume({ members: disks, clock, logger, create: { level, chunkBytes: 4096, random: new SeededRandom(3) } });
  const f = await volume.open('wal/0001.log', 'create').catch(async () => {
    await volume.mkdir('wal');
    return volume.open('wal/0001.log', 'create');
  });
  const data = new SeededRandom(4).bytes(100_000);
  await f.write(0, data);
  await f.sync();
  const failures: string[] = [];
  const spares = new Map<string, MemDisk>();
  const monitor = new RaidMonitor({
    volume,
    clock,
    logger,
    onFailed: (r) => failures.push(r),
    openDisk: async (dir) => {
      const d = spares.get(dir) ?? new MemDisk(dir);
      spares.set(dir, d);
      return d;
    },
    pid: 4242,
  });
  return { disks, clock, lines, volume, monitor, failures, data };
}

test('a disk that vanishes is noticed by the probe alone, logged, and reported in Status errors', async () => {
  const { disks, clock, lines, monitor, volume } = await setup();
  monitor.start();
  assert.deepEqual(monitor.errors(), []);
  disks[1]!.fault = { type: 'gone' };
  clock.advance(RAID_PROBE_INTERVAL_MS);
  await settle();
  assert.equal(volume.health, 'degraded');
  const degraded = lines.find((l) => l.msg === 'raid: volume degraded');
  assert.ok(degraded !== undefined, 'the change of health is logged');
  assert.match(String(degraded.fields['problems']), /member 1 failed/);
  const errs = monitor.errors();
  assert.equal(errs.length, 1);
  assert.match(errs[0]!, /^raid: degraded \(member 1 failed: /);
  assert.equal(monitor.status().pid, 4242);
  monitor.stop();
  await volume.close();
});

test('a member added while serving is rebuilt on its own; the volume is clean again and says so', async () => {
  const { disks, lines, monitor, volume, data } = await setup();
  monitor.start();
  disks[2]!.fault = { type: 'gone' };
  await monitor.probe();
  assert.equal(volume.health, 'degraded');
  assert.throws(() => monitor.startRebuild(), (e: unknown) => isRaidError(e, 'invalid-state'), 'nothing is pending yet');
  await assert.rejects(monitor.add('/d0'), /already a member/);
  const slot = await monitor.add('/spare');
  assert.equal(slot, 2);
  const job = monitor.status().job;
  assert.ok(job !== null && job.type === 'rebuild', 'adding a member starts its rebuild');
  assert.throws(() => monitor.startScrub('check'), (e: unknown) => isRaidError(e, 'invalid-state'), 'a scrub waits for the rebuild');
  await settle(500);
  const done = monitor.status().job!;
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.equal(volume.health, 'clean');
  assert.deepEqual(monitor.errors(), []);
  assert.ok(lines.some((l) => l.msg === 'raid: rebuild finished'));
  assert.ok(lines.some((l) => l.msg === 'raid: volume clean again: every member in sync'));
  // The rebuilt member holds its share: the data reads back with another member gone.
  disks[0]!.fault = { type: 'gone' };
  await volume.dropCaches();
  assert.deepEqual(await volume.readFile('wal/0001.log'), data);
  monitor.stop();
});

test('a scrub job: mismatches found by a check show in Status errors until a repair scrub', async () => {
  const { disks, monitor, volume } = await setup();
  monitor.start();
  await volume.dropCaches();
  // Flip bytes of one member's copy behind the volume's back (bit rot).
  const h = await disks[0]!.open('wal/0001.log', 'write');
  await h.write(10, new Uint8Array([1, 2, 3, 4]));
  await h.close();
  const job = monitor.startScrub('check');
  assert.equal(job.type, 'scrub');
  await settle(500);
  const st = monitor.status();
  assert.equal(st.job?.state, 'done');
  assert.ok((st.lastScrub?.mismatches ?? 0) > 0, 'the check counted the damaged chunk');
  assert.ok(monitor.errors().some((e) => /last scrub found \d+ mismatches/.test(e)));
  monitor.startScrub('repair');
  await settle(500);
  assert.equal(monitor.status().lastScrub?.mode, 'repair');
  monitor.startScrub('check');
  await settle(500);
  assert.equal(monitor.status().lastScrub?.mismatches, 0, 'repaired');
  assert.deepEqual(monitor.errors(), []);
  monitor.stop();
  await volume.close();
});

test('the volume failing stops the member once, with the reason', async () => {
  const { disks, lines, monitor, failures } = await setup();
  monitor.start();
  disks[0]!.fault = { type: 'gone' };
  disks[1]!.fault = { type: 'eio' };
  await monitor.probe();
  await monitor.probe();
  assert.equal(monitor.status().health, 'failed');
  assert.equal(failures.length, 1, 'onFailed is called once');
  assert.match(failures[0]!, /1 of 3 members usable, RAID-5 needs 2/);
  assert.ok(lines.some((l) => l.level === 'error' && l.msg.startsWith('raid: volume failed: no redundancy left')));
  assert.match(monitor.errors()[0]!, /^raid: failed \(/);
  assert.throws(() => monitor.startScrub('check'), (e: unknown) => isRaidError(e, 'invalid-state'));
  monitor.stop();
});

test('volumeErrors: nothing when clean; health, lost stripes and check mismatches otherwise', () => {
  const base: VolumeStatus = {
    name: 'raid5(a,b,c)', arrayId: '00', level: 5, memberCount: 3, chunkBytes: 4096, generation: 3, health: 'clean', degraded: false, failure: null,
    members: [0, 1, 2].map((i) => ({ index: i, name: `d${i}`, state: 'active' as const, reason: '', counters: { readErrors: 0, writeErrors: 0, checksumErrors: 0, repairedChunks: 0 } })),
    activity: { type: 'idle' }, lastScrub: null,
    counters: { checksumErrors: 0, readErrors: 0, writeErrors: 0, repairedChunks: 0, reconstructedStripes: 0, lostStripes: 0, flushes: 0, checkpoints: 0, journalBytes: 0 },
    clean: false,
  };
  assert.deepEqual(volumeErrors(base), []);
  const members = base.members.map((m) => (m.index === 2 ? { ...m, state: 'failed' as const, reason: 'x'.repeat(500) } : m.index === 0 ? { ...m, state: 'rebuilding' as const } : m));
  const degraded = volumeErrors({ ...base, health: 'degraded', degraded: true, members, activity: { type: 'rebuild', member: 0, doneBytes: 25, totalBytes: 100 } });
  assert.equal(degraded.length, 1);
  assert.match(degraded[0]!, /^raid: degraded \(member 0 rebuilding 25%; member 2 failed: x+…\)$/);
  assert.ok(degraded[0]!.length < 250, 'a long reason is cut');
  assert.deepEqual(volumeErrors({ ...base, health: 'failed', degraded: true, failure: 'too few' }), ['raid: failed (too few)']);
  const lost = volumeErrors({ ...base, counters: { ...base.counters, lostStripes: 2 }, lastScrub: { mode: 'check', finishedWallMs: 0, checkedBytes: 1, mismatches: 3, repaired: 0, lost: 0 } });
  assert.deepEqual(lost, ['raid: 2 stripes lost (reads of them fail with EIO)', 'raid: the last scrub found 3 mismatches (run a repair scrub)']);
});
