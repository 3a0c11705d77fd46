import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import type { FileHandle } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import { SeededRandom } from '../env/random.js';
import { NodeDisk } from '../env/node/disk.js';
import { SimDisk } from '../sim/disk.js';
import { isWalError } from './errors.js';
import { openWal } from './wal.js';

const enc = new TextEncoder();
const entry = (i: number, t = 1, text = `e${i}`): Entry => ({ index: logIndex(i), term: term(t), kind: 'normal', data: enc.encode(text) });
const texts = (es: readonly Entry[]) => es.map((e) => `${e.index}@${e.term}:${new TextDecoder().decode(e.data)}`);
const newDisk = (seed = 1) => new SimDisk({ random: new SeededRandom(seed) });

test('append, sync, reopen: entries and hard state come back', async () => {
  const disk = newDisk();
  const { wal, recovered } = await openWal(disk);
  assert.equal(recovered.entries.length, 0);
  assert.equal(recovered.hardState, null);
  wal.append([entry(1), entry(2), entry(3)], true);
  wal.setHardState(enc.encode('hs1'));
  await wal.sync();
  await wal.close();
  const again = await openWal(disk);
  assert.deepEqual(texts(again.recovered.entries), ['1@1:e1', '2@1:e2', '3@1:e3']);
  assert.equal(new TextDecoder().decode(again.recovered.hardState!), 'hs1');
  assert.equal(again.recovered.repairUntil, null);
  assert.equal(again.recovered.report.corrupt, false);
  await again.wal.close();
});

test('replaceSuffix truncates a conflicting suffix; without it each entry replaces its own index', async () => {
  const disk = newDisk();
  const { wal } = await openWal(disk);
  wal.append([entry(1), entry(2), entry(3), entry(4)], true);
  await wal.sync();
  wal.append([entry(3, 2, 'x'), entry(4, 2, 'y'), entry(5, 2, 'z')], true);
  wal.append([entry(3, 3, 'w')], true);
  await wal.sync();
  await wal.close();
  const r = await openWal(disk);
  assert.deepEqual(texts(r.recovered.entries), ['1@1:e1', '2@1:e2', '3@3:w']);
  assert.equal(r.recovered.lastIndex, 3);
  // Paxos: slot 2 replaced in place, slot 5 left alone, a hole at 4.
  r.wal.append([entry(5, 4, 'p5')], false);
  r.wal.append([entry(2, 4, 'p2')], false);
  await r.wal.sync();
  await r.wal.close();
  const p = await openWal(disk);
  assert.deepEqual(texts(p.recovered.entries), ['1@1:e1', '2@4:p2', '3@3:w', '5@4:p5']);
  await p.wal.close();
});

test('segments roll, compaction removes the prefix, reset replaces the log', async () => {
  const disk = newDisk();
  const { wal } = await openWal(disk, { segmentBytes: 16 * 1024 });
  for (let i = 1; i <= 200; i++) {
    wal.append([entry(i, 1, 'x'.repeat(200))], true);
    if (i % 10 === 0) await wal.sync();
  }
  await wal.sync();
  const segmentsBefore = (await disk.list('wal')).length;
  assert.ok(segmentsBefore > 3, `rolled into ${segmentsBefore} segments`);
  await wal.compact(logIndex(150));
  const segmentsAfter = (await disk.list('wal')).length;
  assert.ok(segmentsAfter < segmentsBefore, 'compaction removed segments');
  const read = await wal.readEntries(logIndex(151), logIndex(160));
  assert.deepEqual(read.map((e) => e.index), [151, 152, 153, 154, 155, 156, 157, 158, 159, 160]);
  await wal.close();
  const r = await openWal(disk, { segmentBytes: 16 * 1024 });
  assert.equal(r.recovered.compactedThrough, 150);
  assert.equal(r.recovered.lastIndex, 200);
  assert.ok(r.recovered.entries.every((e) => e.index > 100), 'entries come from the kept segments');
  assert.equal(r.recovered.entries.at(-1)!.index, 200);
  assert.equal(r.recovered.report.corrupt, false);
  await r.wal.reset(logIndex(500));
  r.wal.append([entry(501)], true);
  await r.wal.sync();
  await r.wal.close();
  const z = await openWal(disk, { segmentBytes: 16 * 1024 });
  assert.deepEqual(texts(z.recovered.entries), ['501@1:e501']);
  assert.equal(z.recovered.compactedThrough, 500);
  assert.equal((await disk.list('wal')).filter((n) => n.endsWith('.wal')).length, 1);
  await z.wal.close();
});

test('reset to a snapshot below the last index (a Paxos acceptor keeps values past it): the re-written entries come back whole', async () => {
  // A snapshot from the leader may end before slots this member accepted; the engine re-writes
  // them after the reset (docs/paxos.md). Recovery must not mistake the log after the reset for
  // one with a gap behind the snapshot.
  const disk = newDisk();
  const { wal } = await openWal(disk);
  wal.append([entry(1), entry(2), entry(3), entry(5), entry(7), entry(8)], false);
  await wal.sync();
  await wal.reset(logIndex(4));
  wal.append([entry(5), entry(7), entry(8)], false);
  await wal.sync();
  await wal.close();
  const r = await openWal(disk);
  assert.equal(r.recovered.compactedThrough, 4);
  assert.deepEqual(texts(r.recovered.entries), ['5@1:e5', '7@1:e7', '8@1:e8']);
  assert.equal(r.recovered.report.corrupt, false);
  assert.equal(r.recovered.repairUntil, null);
  assert.ok(!r.recovered.report.events.some((e) => e.type === 'head-gap'), JSON.stringify(r.recovered.report.events));
  await r.wal.close();
});

test('resetWith writes the reset, the kept entries and the hard state in one batch', async () => {
  // A Paxos acceptor installing a snapshot keeps the values it accepted past it (docs/paxos.md);
  // the reset and those values in one batch means no crash leaves the empty log between them.
  const disk = newDisk();
  const { wal } = await openWal(disk);
  wal.append([entry(1), entry(2), entry(3), entry(5), entry(7)], false);
  wal.setHardState(enc.encode('old'));
  await wal.sync();
  const batchesBefore = wal.stats().batches;
  await wal.resetWith(logIndex(4), [entry(5, 2), entry(7, 2)], enc.encode('new'));
  // The roll seals the old segment (one batch); the reset and the entries are the next one.
  assert.equal(wal.stats().batches - batchesBefore, 2);
  disk.crash();
  const r = await openWal(disk);
  assert.equal(r.recovered.compactedThrough, 4);
  assert.deepEqual(texts(r.recovered.entries), ['5@2:e5', '7@2:e7']);
  assert.equal(new TextDecoder().decode(r.recovered.hardState!), 'new');
  assert.equal(r.recovered.repairUntil, null);
  r.wal.append([entry(8, 2)], false);
  await r.wal.sync();
  await r.wal.close();
});

test('a failed fsync is fatal and never retried', async () => {
  const disk = newDisk();
  const { wal } = await openWal(disk);
  wal.append([entry(1)], true);
  await wal.sync();
  disk.inject({ type: 'fail-next-sync', path: null });
  wal.append([entry(2)], true);
  await assert.rejects(wal.sync(), (e) => isWalError(e, 'wal-fatal'));
  assert.throws(() => wal.append([entry(3)], true), (e) => isWalError(e, 'wal-fatal'));
  await assert.rejects(wal.sync(), (e) => isWalError(e, 'wal-fatal'));
  // The process restarts: entry 2's write was dropped by the failed fsync, entry 1 stays.
  disk.crash();
  const r = await openWal(disk);
  assert.deepEqual(r.recovered.entries.map((e) => e.index), [1]);
  await r.wal.close();
});

test('preallocated dsync segments on a real disk: zeros ahead of the data, a clean reopen, rolls', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-wal-prealloc-'));
  try {
    const disk = new NodeDisk(dir);
    const options = { dsync: true, segmentBytes: 64 * 1024, preallocateBytes: 16 * 1024 };
    const { wal } = await openWal(disk, options);
    wal.append([entry(1, 1, 'x'.repeat(100))], true);
    await wal.sync();
    // The zeros go out in the background after the batch; wait for them (bounded).
    for (let i = 0; i < 500 && wal.stats().preallocatedBytes === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(wal.stats().preallocatedBytes > 0, 'zeros were written ahead of the first batch');
    const first = (await disk.list('wal')).filter((n) => n.endsWith('.wal'));
    assert.equal(first.length, 1);
    const size = (await disk.stat(join('wal', first[0]!)))!.sizeBytes;
    assert.ok(size >= 16 * 1024, `the segment was preallocated ahead of its first batch (${size} bytes)`);
    for (let i = 2; i <= 400; i++) {
      wal.append([entry(i, 1, 'x'.repeat(300))], true);
      if (i % 3 === 0) await wal.sync();
    }
    wal.setHardState(enc.encode('hs'));
    await wal.sync();
    const stats = wal.stats();
    assert.ok(stats.preallocatedBytes >= 32 * 1024, `${stats.preallocatedBytes} bytes preallocated`);
    await wal.close();
    assert.ok((await disk.list('wal')).length > 1, 'the log rolled');
    for (const name of await disk.list('wal')) {
      const st = await disk.stat(join('wal', name));
      assert.ok(st!.sizeBytes <= 64 * 1024, `${name}: never preallocated past the segment size`);
    }

    const active = (await disk.list('wal')).filter((n) => n.endsWith('.wal')).at(-1)!;
    const tail = await disk.readFile(join('wal', active));
    let zeros = 0;
    while (zeros < tail.length && tail[tail.length - 1 - zeros] === 0) zeros++;
    assert.ok(zeros < 64, `a clean close trims the preallocated zeros (${zeros} trailing zero bytes left, frame padding at most)`);
    const again = await openWal(disk, options);
    assert.equal(again.recovered.lastIndex, 400);
    assert.equal(again.recovered.entries.length, 400);
    assert.equal(new TextDecoder().decode(again.recovered.hardState!), 'hs');
    assert.equal(again.recovered.report.corrupt, false);
    assert.deepEqual(again.recovered.report.events, [], 'after a clean close the log is clean');
    for (let i = 401; i <= 420; i++) again.wal.append([entry(i, 1, 'y'.repeat(300))], true);
    await again.wal.sync();
    await again.wal.close();
    // Without the option, the same log reads back the same (the option changes no format).
    const plain = await openWal(disk);
    assert.equal(plain.recovered.lastIndex, 420);
    assert.equal(enc.encode('y'.repeat(300)).length, plain.recovered.entries.at(-1)!.data.length);
    await plain.wal.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing preallocation stops preallocating and never fails a batch', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-wal-prealloc-fail-'));
  try {
    const real = new NodeDisk(dir);
    const warnings: string[] = [];
    // A disk whose writes of 8 KiB or more (only the zeros are that large here) fail, as on ENOSPC.
    const disk: typeof real = Object.assign(Object.create(real) as typeof real, {
      open: async (...args: Parameters<typeof real.open>) => {
        const h = await real.open(...args);
        const failing: FileHandle = {
          path: h.path,
          read: (position, lengthBytes) => h.read(position, lengthBytes),
          write: (position, data) => (data.length >= 8192 ? Promise.reject(new Error('ENOSPC: no space left on device')) : h.write(position, data)),
          sync: () => h.sync(),
          truncate: (sizeBytes) => h.truncate(sizeBytes),
          sizeBytes: () => h.sizeBytes(),
          close: () => h.close(),
        };
        return failing;
      },
    });
    const logger: Logger = { debug: () => {}, info: () => {}, warn: (msg) => void warnings.push(msg), error: () => {}, child: () => logger };
    const { wal } = await openWal(disk, { dsync: true, segmentBytes: 64 * 1024, preallocateBytes: 16 * 1024, logger });
    for (let i = 1; i <= 100; i++) {
      wal.append([entry(i, 1, 'x'.repeat(300))], true);
      await wal.sync();
    }
    const stats = wal.stats();
    assert.equal(stats.preallocatedBytes, 0);
    const warned = warnings.filter((w) => w.includes('preallocate')).length;
    assert.ok(stats.segments > 1, 'the log rolled (each segment tries once)');
    assert.ok(warned >= 1 && warned <= stats.segments, `warned at most once per segment: ${warned} warnings, ${stats.segments} segments`);
    await wal.close();
    const again = await openWal(real);
    assert.equal(again.recovered.lastIndex, 100);
    await again.wal.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dsync segments on a real disk (O_DSYNC, as a member runs): batches, a roll and a reopen', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-wal-dsync-'));
  try {
    const disk = new NodeDisk(dir);
    const { wal } = await openWal(disk, { dsync: true, segmentBytes: 4096 });
    for (let i = 1; i <= 60; i++) {
      wal.append([entry(i, 1, 'x'.repeat(100))], true);
      if (i % 7 === 0) await wal.sync();
    }
    wal.setHardState(enc.encode('hs'));
    await wal.sync();
    const stats = wal.stats();
    assert.ok(stats.batches >= 9 && stats.fsyncs === stats.batches, `${stats.batches} batches, ${stats.fsyncs} flushes`);
    await wal.close();
    assert.ok((await disk.list('wal')).length > 1, 'the log rolled to more segments');
    const again = await openWal(disk, { dsync: true, segmentBytes: 4096 });
    assert.equal(again.recovered.entries.length, 60);
    assert.equal(again.recovered.lastIndex, 60);
    assert.equal(new TextDecoder().decode(again.recovered.hardState!), 'hs');
    assert.equal(again.recovered.report.corrupt, false);
    again.wal.append([entry(61)], true);
    await again.wal.sync();
    await again.wal.close();
    const last = await openWal(disk);
    assert.equal(last.recovered.lastIndex, 61);
    await last.wal.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
