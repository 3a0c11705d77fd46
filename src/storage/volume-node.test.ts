/**
 * Volumes over real directories (NodeDisk): a member directory deleted under a running volume during
 * a write load costs the writer nothing; the volume notices, goes degraded, takes a new directory,
 * rebuilds online and is whole again.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, rename, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeClock } from '../env/node/clock.js';
import { NodeDisk } from '../env/node/disk.js';
import { SeededRandom } from '../env/random.js';
import { openVolume } from './volume-open.js';

test('real directories: a member directory deleted during a write load; degraded, replaced, rebuilt, whole', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'bulwark-raid-'));
  try {
    for (const level of [5, 1] as const) {
      const dirs = [0, 1, 2].map((i) => join(root, `l${level}-d${i}`));
      for (const d of dirs) await mkdir(d);
      const clock = new NodeClock();
      const v = await openVolume({ members: dirs.map((d) => new NodeDisk(d)), clock, create: { level, chunkBytes: 16 * 1024, random: new SeededRandom(level) } });
      await v.mkdir('wal');
      const seg = await v.open('wal/0000000000000001.wal', 'create');
      const records: Uint8Array[] = [];
      let end = 0;
      const append = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) {
          const r = new SeededRandom(records.length).bytes(300 + (records.length % 700));
          await seg.write(end, r);
          end += r.length;
          records.push(r);
          if (i % 4 === 3) await seg.sync();
        }
        await seg.sync();
      };
      await append(200);
      // Pull a member's directory out from under the volume, as an unmount or `rm -rf` would.
      await rm(dirs[1]!, { recursive: true, force: true });
      await append(200);
      await v.probe();
      await append(50);
      const st = v.status();
      assert.equal(st.health, 'degraded');
      assert.equal(st.members[1]!.state, 'failed');
      await v.removeMember(1);
      const spare = join(root, `l${level}-spare`);
      await mkdir(spare);
      assert.equal(await v.addMember(new NodeDisk(spare)), 1);
      const rebuilding = v.rebuild({ bytesPerSecMax: 512 * 1024 * 1024 });
      await append(100);
      const r = await rebuilding;
      assert.deepEqual(r.members, [1]);
      assert.equal(v.health, 'clean');
      await append(20);
      await v.close();

      // The rebuilt member and one other hold everything.
      await rename(dirs[0]!, `${dirs[0]}-gone`);
      await mkdir(dirs[0]!);
      const w = await openVolume({ members: [dirs[0]!, spare, dirs[2]!].map((d) => new NodeDisk(d)), clock, resync: false });
      const all = await w.readFile('wal/0000000000000001.wal');
      let at = 0;
      for (const rec of records) {
        assert.deepEqual(all.subarray(at, at + rec.length), rec);
        at += rec.length;
      }
      assert.equal(all.length, end);
      await w.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
