import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDiskError, writeFileAtomic } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { SimDisk } from './disk.js';

const bytes = (...xs: number[]) => new Uint8Array(xs);
const newDisk = (seed = 1, extra: Partial<ConstructorParameters<typeof SimDisk>[0]> = {}) => new SimDisk({ random: new SeededRandom(seed), ...extra });

test('files: positional writes, reads, truncate, list, stat, typed errors', async () => {
  const d = newDisk();
  await d.mkdir('a/b');
  const f = await d.open('a/b/x', 'create-new');
  await f.write(0, bytes(1, 2, 3));
  await f.write(10, bytes(9));
  assert.equal(await f.sizeBytes(), 11);
  assert.deepEqual([...(await f.read(0, 20))], [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9]);
  await f.truncate(2);
  assert.deepEqual([...(await d.readFile('a/b/x'))], [1, 2]);
  assert.deepEqual(await d.list('a'), ['b']);
  assert.deepEqual(await d.list('a/b'), ['x']);
  assert.deepEqual(await d.stat('a/b/x'), { sizeBytes: 2, isDirectory: false });
  assert.equal(await d.stat('nope'), null);
  await assert.rejects(d.open('a/b/x', 'create-new'), (e) => isDiskError(e, 'EEXIST'));
  await assert.rejects(d.open('a/b/y', 'read'), (e) => isDiskError(e, 'ENOENT'));
  await assert.rejects(d.open('missing/y', 'create'), (e) => isDiskError(e, 'ENOENT'));
  await assert.rejects(d.rmdir('a'), (e) => isDiskError(e, 'ENOTEMPTY'));
  await f.close();
  await assert.rejects(async () => f.read(0, 1), (e) => isDiskError(e, 'EBADF'));
});

test('a crash loses unsynced data and keeps synced data', async () => {
  const d = newDisk();
  const f = await d.open('x', 'create');
  await f.write(0, bytes(1, 2, 3, 4));
  await f.sync();
  await d.syncDir('.');
  await f.write(4, bytes(5, 6, 7, 8));
  d.crash({ mode: 'lose' });
  assert.deepEqual([...(await d.readFile('x'))], [1, 2, 3, 4]);
});

test('a torn write keeps whole sectors in order, with at most one sector of garbage, and only where it wrote', async () => {
  for (let seed = 1; seed <= 200; seed++) {
    const d = newDisk(seed, { sectorBytes: 512 });
    const f = await d.open('x', 'create');
    const base = new Uint8Array(700).fill(7);
    await f.write(0, base);
    await f.sync();
    await d.syncDir('.');
    const data = new Uint8Array(2000).fill(1);
    await f.write(700, data);
    d.crash();
    const got = await d.readFile('x');
    assert.deepEqual(got.subarray(0, 700), base, `seed ${seed}: synced bytes intact (powersafe overwrite)`);
    // Pieces of the write: [700,1024) [1024,1536) [1536,2048) [2048,2560) [2560,2700).
    const pieces = [700, 1024, 1536, 2048, 2560, 2700];
    let garbage = 0;
    let ended = false;
    for (let i = 0; i + 1 < pieces.length; i++) {
      const piece = got.subarray(pieces[i], pieces[i + 1]);
      const kept = piece.length === pieces[i + 1]! - pieces[i]! && piece.every((b) => b === 1);
      if (piece.length === 0) ended = true;
      else if (!kept) garbage++;
      else assert.ok(!ended && garbage === 0, `seed ${seed}: a piece after the tear survived`);
    }
    assert.ok(garbage <= 1, `seed ${seed}: ${garbage} garbage pieces`);
  }
});

test('names: a create or rename without a directory fsync may be lost; with it, it stays', async () => {
  let lostSeen = 0;
  for (let seed = 1; seed <= 50; seed++) {
    const d = newDisk(seed);
    const f = await d.open('kept', 'create');
    await f.write(0, bytes(1));
    await f.sync();
    await d.syncDir('.');
    const g = await d.open('maybe', 'create');
    await g.write(0, bytes(2));
    await g.sync();
    d.crash();
    assert.deepEqual(await d.list('.'), (await d.stat('maybe')) === null ? ['kept'] : ['kept', 'maybe']);
    if ((await d.stat('maybe')) === null) lostSeen++;
    assert.deepEqual([...(await d.readFile('kept'))], [1]);
  }
  assert.ok(lostSeen > 5 && lostSeen < 45, `an unsynced name is lost sometimes (${lostSeen}/50)`);
  // writeFileAtomic survives every crash point: old or new contents, never neither.
  for (let seed = 1; seed <= 50; seed++) {
    const d = newDisk(seed);
    await writeFileAtomic(d, 'f', bytes(1));
    const p = writeFileAtomic(d, 'f', bytes(2, 2));
    for (let i = 0; i < seed % 7; i++) await Promise.resolve();
    d.crash();
    void p;
    const got = [...(await d.readFile('f'))];
    assert.ok(got.join() === '1' || got.join() === '2,2', `seed ${seed}: got ${got}`);
  }
});

test('fsync EIO drops the unsynced writes even though reads still see them (fsyncgate)', async () => {
  const d = newDisk();
  const f = await d.open('x', 'create');
  await d.syncDir('.');
  await f.write(0, bytes(1, 2));
  d.inject({ type: 'fail-next-sync', path: 'x' });
  await assert.rejects(f.sync(), (e) => isDiskError(e, 'EIO'));
  assert.deepEqual([...(await f.read(0, 2))], [1, 2], 'the page cache still shows the data');
  await f.sync(); // "succeeds", but the data was dropped
  d.crash();
  assert.deepEqual([...(await d.readFile('x'))], [], 'the write never reached the disk');
});

test('latent sector errors fail reads with EIO until the sector is rewritten', async () => {
  const d = newDisk(1, { sectorBytes: 512 });
  const f = await d.open('x', 'create');
  await f.write(0, new Uint8Array(2048).fill(3));
  d.inject({ type: 'latent-sector-error', path: 'x', offset: 600, lengthBytes: 1 });
  await assert.rejects(f.read(0, 2048), (e) => isDiskError(e, 'EIO'));
  assert.equal((await f.read(0, 512)).length, 512, 'other sectors read fine');
  await f.write(512, new Uint8Array(512).fill(4));
  assert.equal((await f.read(0, 2048)).length, 2048, 'rewriting the sector remapped it');
  assert.ok(d.faultRecords().some((r) => r.type === 'latent-sector-error' && r.corrupting));
});

test('a misdirected write shows only after a crash: the data lands elsewhere, its place stays stale', async () => {
  const d = newDisk(1, { sectorBytes: 512 });
  const f = await d.open('x', 'create');
  await d.syncDir('.');
  await f.write(0, new Uint8Array(2048).fill(1));
  await f.sync();
  d.inject({ type: 'misdirect-next-write', path: 'x', shiftBytes: 512 });
  await f.write(0, new Uint8Array(512).fill(2));
  await f.sync();
  assert.equal((await f.read(0, 1))[0], 2, 'the page cache shows the intended write');
  d.crash();
  const got = await d.readFile('x');
  assert.equal(got[0], 1, 'the intended place is stale');
  assert.equal(got[512], 2, 'the data landed one sector later');
});

test('bit flips on read are transient; bit rot persists', async () => {
  const d = newDisk();
  const f = await d.open('x', 'create');
  await f.write(0, new Uint8Array(64));
  d.inject({ type: 'flip-next-read', path: 'x' });
  assert.equal((await f.read(0, 64)).some((b) => b !== 0), true);
  assert.equal((await f.read(0, 64)).every((b) => b === 0), true);
  d.inject({ type: 'bit-rot', path: 'x', offset: 5, bit: 3 });
  assert.equal((await f.read(0, 64))[5], 8);
  assert.equal((await f.read(0, 64))[5], 8);
});

test('ENOSPC: a write past the capacity fails and writes nothing', async () => {
  const d = newDisk(1, { capacityBytes: 100 });
  const f = await d.open('x', 'create');
  await f.write(0, new Uint8Array(90));
  await assert.rejects(f.write(90, new Uint8Array(20)), (e) => isDiskError(e, 'ENOSPC'));
  assert.equal(await f.sizeBytes(), 90);
});

test('operations complete through the scheduler, with their latency; a crash strands the ones in flight', async () => {
  const queue: { fn: () => void; latencyMs: number }[] = [];
  const d = newDisk(1, { schedule: (fn, latencyMs) => queue.push({ fn, latencyMs }), latency: { writeMs: 2, syncMs: 5 } });
  const run = async () => {
    while (queue.length > 0) {
      queue.shift()!.fn();
      await new Promise((r) => setImmediate(r));
    }
  };
  const opening = d.open('x', 'create');
  await run();
  const f = await opening;
  let done = false;
  void f.write(0, bytes(1)).then(() => (done = true));
  assert.equal(queue.at(-1)!.latencyMs, 2);
  assert.equal(done, false, 'nothing completes until the scheduler runs it');
  await run();
  assert.equal(done, true);
  let late = false;
  const mounted = d.mount();
  void f.sync().then(() => (late = true));
  d.crash();
  void mounted.list('.').then(() => (late = true));
  await run();
  assert.equal(late, false, 'operations of a crashed incarnation never complete');
});

test('the same seed gives the same disk', async () => {
  const image = async (seed: number) => {
    const d = newDisk(seed, { faults: { readBitFlipProbability: 0.3 } });
    const f = await d.open('x', 'create');
    await d.syncDir('.');
    for (let i = 0; i < 20; i++) await f.write(i * 100, new Uint8Array(100).fill(i));
    d.crash();
    return [...(await d.readFile('x'))].join(',');
  };
  assert.equal(await image(7), await image(7));
  assert.notEqual(await image(7), await image(8));
});
