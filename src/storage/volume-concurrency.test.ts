/**
 * Many callers at once: concurrent appenders share flushes (group commit) and read back what they
 * wrote; a write larger than the dirty-memory bound flushes on its own part-way.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RAID_DIRTY_BYTES_MAX } from '../core/limits.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk } from './mem-disk.js';
import { StepClock } from './step-clock.js';
import { openVolume } from './volume-open.js';

test('16 concurrent appenders: every sync is durable, syncs share flushes, every file reads back', async () => {
  for (const level of [1, 5] as const) {
    const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
    const clock = new StepClock();
    const v = await openVolume({ members: disks, clock, create: { level, chunkBytes: 4096, random: new SeededRandom(1) } });
    const expected: Uint8Array[] = [];
    let syncs = 0;
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const f = await v.open(`wal-${i}`, 'create');
        const r = new SeededRandom(i);
        const parts: Uint8Array[] = [];
        let at = 0;
        for (let n = 0; n < 40; n++) {
          const rec = r.bytes(1 + r.int(700));
          await f.write(at, rec);
          await f.sync();
          syncs++;
          assert.deepEqual(await f.read(at, rec.length), rec);
          at += rec.length;
          parts.push(rec);
        }
        expected[i] = Buffer.concat(parts);
      }),
    );
    const flushes = v.status().counters.flushes;
    assert.ok(flushes < syncs, `group commit: ${flushes} flushes for ${syncs} syncs`);
    // Power cut right after: every acknowledged sync is in the journals.
    for (const d of disks) d.crash(new SeededRandom(9));
    const w = await openVolume({ members: disks, clock });
    for (let i = 0; i < 16; i++) assert.deepEqual(await w.readFile(`wal-${i}`), new Uint8Array(expected[i]!));
    assert.equal((await w.scrub({ mode: 'check' })).mismatches, 0);
    await w.close();
  }
});

test('a write larger than the dirty-memory bound flushes part-way and reads back whole', async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
  const v = await openVolume({ members: disks, clock: new StepClock(), create: { level: 5, chunkBytes: 65536, random: new SeededRandom(1) } });
  const big = new SeededRandom(4).bytes(2.5 * RAID_DIRTY_BYTES_MAX);
  const f = await v.open('big', 'create');
  await f.write(0, big);
  assert.ok(v.status().counters.flushes >= 2, 'flushed on its own before any sync');
  await f.sync();
  await v.dropCaches();
  assert.deepEqual(await v.readFile('big'), big);
  assert.equal(v.status().counters.checksumErrors, 0);
  await v.close();
});
