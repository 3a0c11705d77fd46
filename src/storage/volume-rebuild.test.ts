/**
 * Degraded mode, member failures, and replace-and-rebuild online: the volume keeps serving reads
 * and writes while a new member is rebuilt (throttled, with progress), is whole at the end with its
 * generation bumped, and a second failure in RAID-5 fails the volume with a clear typed error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DiskError, applyOpenOptions, isDiskError, type Disk, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { isRaidError } from './errors.js';
import { MemDisk } from './mem-disk.js';
import { StepClock } from './step-clock.js';
import { openVolume } from './volume-open.js';

const C = 4096;

async function fresh(level: 1 | 5, n: number) {
  const disks = Array.from({ length: n }, (_, i) => new MemDisk(`m${i}`));
  const clock = new StepClock();
  const v = await openVolume({ members: disks, clock, create: { level, chunkBytes: C, random: new SeededRandom(11) } });
  return { disks, clock, v };
}

test('replace and rebuild online: the volume serves writes during the rebuild and is whole at the end', async () => {
  for (const level of [5, 1] as const) {
    const { disks, clock, v } = await fresh(level, 3);
    const model = new SeededRandom(1).bytes(300 * 1024);
    const f = await v.open('big', 'create');
    await f.write(0, model);
    await f.sync();
    const gen0 = v.status().generation;

    await v.failMember(1);
    assert.equal(v.health, 'degraded');
    assert.equal(v.status().members[1]!.state, 'failed');
    assert.ok(v.status().generation > gen0, 'failing a member is a change of array state');
    await assert.rejects(v.removeMember(0), (e: unknown) => isRaidError(e, 'invalid-state'), 'only a failed member can be removed');
    await v.removeMember(1);
    assert.equal(v.status().members[1]!.state, 'missing');
    const used = new MemDisk('used');
    await used.mkdir('somebody-elses-data');
    await assert.rejects(v.addMember(used), (e: unknown) => isRaidError(e, 'not-blank'));

    const spare = new MemDisk('spare');
    assert.equal(await v.addMember(spare), 1);
    assert.deepEqual(v.rebuildPending, [1]);

    // Rebuild at 64 KiB/s of virtual time while a writer keeps going between steps.
    const progress: number[] = [];
    let writes = 0;
    const rebuilding = v.rebuild({
      bytesPerSecMax: 64 * 1024,
      stepBytes: 16 * 1024,
      onProgress: (done, total) => {
        progress.push(done);
        assert.ok(done <= total);
      },
    });
    const writer = (async () => {
      const r = new SeededRandom(2);
      while (v.rebuildPending.length > 0 && writes < 200) {
        const pos = r.int(model.length - 100);
        const bytes = r.bytes(1 + r.int(99));
        model.set(bytes, pos);
        await f.write(pos, bytes);
        if (writes % 5 === 0) await f.sync();
        assert.deepEqual(await f.read(pos, bytes.length), bytes);
        writes++;
        await clock.sleep(0);
      }
    })();
    const result = await rebuilding;
    await writer;
    await f.sync();
    assert.ok(writes > 0, 'writes went on during the rebuild');
    assert.deepEqual(result.members, [1]);
    assert.equal(result.lostStripes, 0);
    assert.ok(progress.length > 3 && progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress is reported and monotonic');
    assert.ok(result.elapsedMs >= (result.bytes / (64 * 1024)) * 1000 * 0.9, 'the rebuild was throttled');
    const st = v.status();
    assert.equal(st.health, 'clean');
    assert.equal(st.members[1]!.name, 'spare');
    assert.equal(st.activity.type, 'idle');
    assert.equal((await v.scrub({ mode: 'check' })).mismatches, 0);
    await v.close();

    // The new member alone with one old one holds everything.
    disks[level === 5 ? 0 : 2]!.fault = { type: 'gone' };
    if (level === 1) disks[0]!.fault = { type: 'gone' };
    const w = await openVolume({ members: [disks[0]!, spare, disks[2]!], clock, resync: false });
    assert.deepEqual(await w.readFile('big'), model);
    await w.close();
  }
});

test('a rebuild interrupted by a crash starts over on the next open, and completes', async () => {
  const { disks, clock, v } = await fresh(5, 3);
  const data = new SeededRandom(4).bytes(200 * 1024);
  await (await v.open('f', 'create')).write(0, data);
  await v.sync();
  await v.failMember(2);
  await v.removeMember(2);
  const spare = new MemDisk('spare');
  await v.addMember(spare);
  const abort = new AbortController();
  let steps = 0;
  await assert.rejects(v.rebuild({ stepBytes: 8192, onProgress: () => void (++steps === 3 && abort.abort()), signal: abort.signal }), /aborted/);
  for (const d of [...disks, spare]) d.crash();
  const w = await openVolume({ members: [disks[0]!, disks[1]!, spare], clock });
  assert.deepEqual(w.rebuildPending, [2], 'the half-rebuilt member is not trusted');
  assert.deepEqual(await w.readFile('f'), data);
  await w.rebuild();
  assert.equal(w.health, 'clean');
  await w.close();
  disks[0]!.fault = { type: 'gone' };
  const x = await openVolume({ members: [disks[0]!, disks[1]!, spare], clock, resync: false });
  assert.deepEqual(await x.readFile('f'), data);
  await x.close();
});

test('RAID-5: a second member failure fails the volume with a typed error; nothing is served wrong', async () => {
  const { disks, v } = await fresh(5, 3);
  const f = await v.open('f', 'create');
  await f.write(0, new Uint8Array(50_000).fill(7));
  await f.sync();
  disks[0]!.fault = { type: 'eio' };
  await f.write(0, new Uint8Array(10).fill(1));
  await f.sync(); // the first failure degrades
  assert.equal(v.health, 'degraded');
  disks[1]!.fault = { type: 'eio' };
  await f.write(0, new Uint8Array(10).fill(2));
  await assert.rejects(f.sync(), (e: unknown) => isDiskError(e, 'EIO') && isRaidError(e.cause, 'volume-failed'));
  assert.equal(v.health, 'failed');
  assert.match(v.status().failure ?? '', /1 of 3 members usable, RAID-5 needs 2/);
  await assert.rejects(f.read(0, 10), (e: unknown) => isDiskError(e, 'EIO') && isRaidError(e.cause, 'volume-failed'));
  await assert.rejects(v.stat('f'), (e: unknown) => isDiskError(e, 'EIO'));
  await v.close();
  await assert.rejects(openVolume({ members: disks, clock: new StepClock() }), (e: unknown) => isRaidError(e, 'volume-failed'));
});

test('an fsync failure on one member degrades it and the sync succeeds; on too many it is fatal', async () => {
  for (const level of [1, 5] as const) {
    const { disks, v } = await fresh(level, 3);
    const f = await v.open('f', 'create');
    await f.write(0, new Uint8Array(9000).fill(3));
    disks[2]!.failSync = true;
    await f.sync();
    assert.equal(v.status().members[2]!.state, 'failed');
    assert.match(v.status().members[2]!.reason, /journal write failed: EIO/);
    assert.equal(v.health, 'degraded');
    await f.write(0, new Uint8Array(10).fill(4));
    disks[1]!.failSync = true;
    if (level === 5) {
      await assert.rejects(f.sync(), (e: unknown) => isDiskError(e, 'EIO') && isRaidError(e.cause, 'volume-failed'));
    } else {
      await f.sync(); // one copy left is still a volume
      disks[0]!.failSync = true;
      await f.write(0, new Uint8Array(10).fill(5));
      await assert.rejects(f.sync(), (e: unknown) => isRaidError((e as Error).cause, 'volume-failed'));
    }
    await v.close();
  }
});

test('operator errors are typed: failing the last redundancy, adding with no free slot, unknown members', async () => {
  const { v } = await fresh(5, 3);
  await v.failMember(0);
  await assert.rejects(v.failMember(1), (e: unknown) => isRaidError(e, 'invalid-state'));
  await assert.rejects(v.failMember(0), (e: unknown) => isRaidError(e, 'invalid-state'));
  await assert.rejects(v.failMember(7), (e: unknown) => isRaidError(e, 'invalid-state'));
  await v.removeMember(0);
  await v.addMember(new MemDisk('n1'));
  await assert.rejects(v.addMember(new MemDisk('n2')), (e: unknown) => isRaidError(e, 'invalid-state'));
  await v.rebuild();
  await assert.rejects(v.addMember(new MemDisk('n3')), (e: unknown) => isRaidError(e, 'invalid-state'));
  await v.close();
});

test('generations: every change of array state bumps it on the members in the array, not on a failed one', async () => {
  const { disks, clock, v } = await fresh(1, 2);
  const g1 = v.status().generation;
  await v.failMember(1);
  const g2 = v.status().generation;
  assert.ok(g2 > g1);
  await v.close();
  const { decodeSuperblock } = await import('./superblock.js');
  const sb0 = decodeSuperblock(await disks[0]!.readFile('.raid/superblock'), 'm0');
  const sb1 = decodeSuperblock(await disks[1]!.readFile('.raid/superblock'), 'm1');
  assert.ok(sb0.generation > sb1.generation, 'the failed member keeps its old generation: it is stale');
  assert.equal(sb0.slots[1]!.state, 'failed');
  assert.equal(sb0.clean, true);
  const w = await openVolume({ members: [disks[1]!, disks[0]!], clock });
  assert.deepEqual(w.rebuildPending, [1], 'the stale member is detected and resynced');
  await w.rebuild();
  assert.equal(w.health, 'clean');
  await w.close();
});

test('closing the volume stops a running rebuild without failing its member; the next open resumes it', async () => {
  const { disks, clock, v } = await fresh(5, 3);
  await (await v.open('f', 'create')).write(0, new SeededRandom(8).bytes(120 * 1024));
  await v.sync();
  await v.failMember(0);
  await v.removeMember(0);
  const spare = new MemDisk('spare');
  await v.addMember(spare);
  let closing: Promise<void> | null = null;
  const rebuilding = v.rebuild({ stepBytes: 8192, onProgress: () => void (closing ??= v.close()) });
  await assert.rejects(rebuilding, (e: unknown) => isDiskError(e, 'EBADF'));
  await closing;
  const w = await openVolume({ members: [spare, disks[1]!, disks[2]!], clock });
  assert.deepEqual(w.rebuildPending, [0], 'still to be rebuilt, not failed');
  await w.rebuild();
  assert.equal(w.health, 'clean');
  await w.close();
});

/** A disk whose file fsyncs fail once `armed` (directory fsyncs still work). */
class FileSyncFails implements Disk {
  armed = false;
  constructor(private readonly d: MemDisk) {}
  get name(): string {
    return this.d.name;
  }
  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const h = await this.d.open(path, mode);
    const sync = async (): Promise<void> => {
      if (this.armed) throw new DiskError('EIO', path, `EIO: ${path}: fsync failed`);
      return h.sync();
    };
    const f: FileHandle = { path: h.path, read: (p, l) => h.read(p, l), write: (p, b) => h.write(p, b), sync, truncate: (n) => h.truncate(n), sizeBytes: () => h.sizeBytes(), close: () => h.close() };
    return applyOpenOptions(f, options);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.d.readFile(path);
  }
  list(dir: string): Promise<string[]> {
    return this.d.list(dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.d.mkdir(dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.d.rename(from, to);
  }
  unlink(path: string): Promise<void> {
    return this.d.unlink(path);
  }
  rmdir(dir: string): Promise<void> {
    return this.d.rmdir(dir);
  }
  stat(path: string): Promise<FileStat | null> {
    return this.d.stat(path);
  }
  syncDir(dir: string): Promise<void> {
    return this.d.syncDir(dir);
  }
}

test('a file fsync failing on the new member at the very end of its rebuild fails it for good; the volume goes on', async () => {
  const { v } = await fresh(5, 3);
  const f = await v.open('data', 'create');
  const model = new SeededRandom(21).bytes(100 * 1024);
  await f.write(0, model);
  await f.sync();
  await v.failMember(2);
  await v.removeMember(2);
  const spare = new FileSyncFails(new MemDisk('spare'));
  await v.addMember(spare);
  // The last progress report comes just before the final checkpoint fsyncs the member's files.
  const rebuilding = v.rebuild({ onProgress: (done, total) => void (done >= total && (spare.armed = true)) });
  await assert.rejects(rebuilding, (e: unknown) => isRaidError(e, 'invalid-state'));
  assert.equal(v.status().members[2]!.state, 'failed', 'the member is not trusted after its fsync failed');
  assert.equal(v.health, 'degraded');
  // Writes go on without it (a member marked active without its journal broke them).
  await f.write(0, new Uint8Array([9, 9, 9]));
  await f.sync();
  model.set([9, 9, 9], 0);
  await v.dropCaches();
  assert.deepEqual(await v.readFile('data'), model);
  await v.close();
});
