import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../core/crc32c.js';
import { logIndex, nodeIdFromBigInt, term } from '../core/ids.js';
import type { ConfigState, SnapshotMeta } from '../consensus/types.js';
import { SeededRandom } from '../env/random.js';
import { SimDisk } from '../sim/disk.js';
import { isWalError } from './errors.js';
import { openSnapshotStore } from './snapshot-store.js';

const config: ConfigState = {
  voters: [nodeIdFromBigInt(1n), nodeIdFromBigInt(2n), nodeIdFromBigInt(3n)],
  learners: [nodeIdFromBigInt(4n)],
  votersOutgoing: [],
  learnersNext: [],
  autoLeave: false,
};
const blob = (n: number, seed: number) => new SeededRandom(seed).bytes(n);
const chunksOf = (data: Uint8Array, size: number) => Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size));
const newDisk = (seed = 1) => new SimDisk({ random: new SeededRandom(seed) });

async function readAll(store: { read(m: SnapshotMeta, o: number, l: number): Promise<Uint8Array> }, meta: SnapshotMeta): Promise<Uint8Array> {
  const out = new Uint8Array(meta.sizeBytes);
  for (let off = 0; off < meta.sizeBytes; off += 1000) out.set(await store.read(meta, off, 1000), off);
  return out;
}

test('save, latest, read back, reopen, prune', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  assert.equal(store.latest(), null);
  const a = blob(5000, 1);
  const metaA = await store.save({ index: logIndex(10), term: term(2), config }, chunksOf(a, 700));
  assert.equal(metaA.sizeBytes, 5000);
  assert.equal(metaA.crc32c, crc32c(a));
  const b = blob(3000, 2);
  async function* gen() {
    for (const c of chunksOf(b, 512)) yield c;
  }
  const metaB = await store.save({ index: logIndex(20), term: term(3), config }, gen());
  assert.equal(store.latest()!.index, 20);
  assert.deepEqual(await readAll(store, metaB), b);
  await store.close();
  const again = await openSnapshotStore(disk);
  assert.deepEqual(again.store.list().map((m) => m.index), [20, 10]);
  assert.deepEqual(again.store.latest(), metaB);
  assert.deepEqual(again.store.latest()!.config, config);
  assert.deepEqual(await readAll(again.store, metaA), a);
  await again.store.prune(1);
  assert.deepEqual(again.store.list().map((m) => m.index), [20]);
  await assert.rejects(again.store.read(metaA, 0, 10), (e) => isWalError(e, 'snapshot-not-found'));
  await again.store.close();
});

test('a crash during save leaves the previous snapshots and a temp file that open removes', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const disk = newDisk(seed);
    const { store } = await openSnapshotStore(disk);
    const old = await store.save({ index: logIndex(5), term: term(1), config }, [blob(2000, 3)]);
    const saving = store.save({ index: logIndex(9), term: term(1), config }, chunksOf(blob(9000, 4), 1000));
    for (let i = 0; i < seed * 3; i++) await Promise.resolve();
    disk.crash();
    void saving;
    const { store: after, report } = await openSnapshotStore(disk.mount());
    const latest = after.latest()!;
    assert.ok(latest.index === 5 || latest.index === 9, `seed ${seed}`);
    if (latest.index === 5) assert.deepEqual(latest, old);
    assert.equal((await disk.list('snap')).filter((n) => n.endsWith('.tmp')).length, 0);
    assert.ok(report.quarantined.length === 0, `seed ${seed}: a crash never looks like corruption`);
  }
});

test('a damaged newest snapshot is quarantined and the previous one is used', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  await store.save({ index: logIndex(5), term: term(1), config }, [blob(4000, 1)]);
  const newest = await store.save({ index: logIndex(9), term: term(2), config }, [blob(4000, 2)]);
  await store.close();
  disk.inject({ type: 'bit-rot', path: 'snap/snap-00000000000000000009-00000000000000000002.snap', offset: 1234, bit: 0 });
  const { store: after, report } = await openSnapshotStore(disk);
  assert.equal(after.latest()!.index, 5);
  assert.equal(report.newerCorruptIndex, 9);
  assert.equal(report.quarantined[0]!.reason, 'data checksum mismatch');
  assert.deepEqual(await disk.list('snap/quarantine'), ['snap-00000000000000000009-00000000000000000002.snap']);
  void newest;
});

test('receiving: chunks in any order, resent and restarted, verified, then installed', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  const data = blob(10_000, 9);
  const meta: SnapshotMeta = { index: logIndex(42), term: term(7), config, sizeBytes: data.length, crc32c: crc32c(data) };
  const chunk = (offset: number, len: number, last = false) => {
    const d = data.slice(offset, offset + len);
    return { meta, offset, data: d, crc32c: crc32c(d), last };
  };
  await store.receiveChunk(chunk(0, 4000));
  await store.receiveChunk(chunk(4000, 4000));
  await store.receiveChunk(chunk(4000, 4000)); // a resend
  await store.receiveChunk(chunk(8000, 2000, true));
  await store.finishReceive(meta);
  assert.deepEqual(store.latest(), meta);
  assert.deepEqual(await readAll(store, meta), data);
  // A chunk whose bytes do not match its checksum is refused.
  const bad = chunk(0, 100);
  await assert.rejects(store.receiveChunk({ ...bad, crc32c: bad.crc32c ^ 1 }), (e) => isWalError(e, 'snapshot-chunk-invalid'));
  const past = new Uint8Array(100);
  await assert.rejects(store.receiveChunk({ meta, offset: 9990, data: past, crc32c: crc32c(past), last: true }), (e) => isWalError(e, 'snapshot-chunk-invalid'));
  // A transfer that is short, or whose bytes do not match the meta, is discarded at finish.
  const meta2: SnapshotMeta = { ...meta, index: logIndex(50) };
  const c2 = (offset: number, len: number) => {
    const d = data.slice(offset, offset + len);
    return { meta: meta2, offset, data: d, crc32c: crc32c(d), last: false };
  };
  await store.receiveChunk(c2(0, 5000));
  await assert.rejects(store.finishReceive(meta2), (e) => isWalError(e, 'snapshot-verify-failed'));
  await store.receiveChunk(c2(0, 10_000));
  await assert.rejects(store.finishReceive({ ...meta2, crc32c: meta2.crc32c ^ 1 }), (e) => isWalError(e, 'snapshot-verify-failed'));
  assert.equal(store.latest()!.index, 42);
  assert.deepEqual((await disk.list('snap')).filter((n) => n.startsWith('recv-')), []);
});

test('ENOSPC writing the temp file is a typed, non-fatal error and leaves nothing behind', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  disk.inject({ type: 'enospc-next-write', path: null });
  await assert.rejects(store.save({ index: logIndex(3), term: term(1), config }, [blob(100, 1)]), (e) => isWalError(e, 'snapshot-io') && !e.fatal);
  assert.equal(store.latest(), null);
  assert.deepEqual(await disk.list('snap'), []);
  const ok = await store.save({ index: logIndex(3), term: term(1), config }, [blob(100, 1)]);
  assert.equal(store.latest()!.index, ok.index);
});

test('a failed fsync while saving is fatal (fsyncgate), and the temp file is not put in place', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  disk.inject({ type: 'fail-next-sync', path: null });
  await assert.rejects(store.save({ index: logIndex(3), term: term(1), config }, [blob(100, 1)]), (e) => isWalError(e, 'snapshot-fatal') && e.fatal);
  assert.equal(store.latest(), null);
  assert.deepEqual(await disk.list('snap'), []);
});

test('reading a snapshot from start to end checks it: a bit flipped on the way fails the last read', async () => {
  const disk = newDisk();
  const { store } = await openSnapshotStore(disk);
  const data = blob(5000, 5);
  const meta = await store.save({ index: logIndex(4), term: term(1), config }, [data]);
  assert.deepEqual(await readAll(store, meta), data, 'a clean read passes');
  disk.inject({ type: 'flip-next-read', path: 'snap/snap-00000000000000000004-00000000000000000001.snap' });
  await assert.rejects(readAll(store, meta), (e) => isWalError(e, 'snapshot-corrupt-read'));
  assert.deepEqual(await readAll(store, meta), data, 'the flip was transient');
});
