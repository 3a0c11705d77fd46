// One on-disk scenario for every row of the segment recovery table: the row is chosen, and the
// outcome (what is kept, quarantined, repaired) is what the row promises.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { joinPath, type Disk } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { SimDisk } from '../sim/disk.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';
import { scanSegment } from './segment-scan.js';
import { openWal, type WalRecovered } from './wal.js';
import { SEGMENT_RECOVERY_TABLE } from './wal-recovery-table.js';

const enc = new TextEncoder();
const SEGMENT_BYTES = 16 * 1024;
const entry = (i: number): Entry => ({ index: logIndex(i), term: term(1), kind: 'normal', data: enc.encode(`entry ${i}`.padEnd(500, '.')) });

/** A log of `n` entries, one batch each, over several small segments. */
async function buildLog(n: number): Promise<{ disk: SimDisk; segments: string[] }> {
  const disk = new SimDisk({ random: new SeededRandom(1) });
  const { wal } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  for (let i = 1; i <= n; i++) {
    wal.append([entry(i)], true);
    wal.setHardState(enc.encode(`hs${i}`));
    await wal.sync();
  }
  await wal.close();
  return { disk, segments: (await disk.list('wal')).filter((s) => s.endsWith('.wal')) };
}

const reopen = async (disk: Disk) => (await openWal(disk, { segmentBytes: SEGMENT_BYTES })).recovered;
const rows = (r: WalRecovered) => r.report.decisions.map((d) => d.row);
const path = (name: string) => joinPath('wal', name);

async function bytesOf(disk: Disk, name: string): Promise<Uint8Array> {
  return disk.readFile(path(name));
}

async function overwrite(disk: Disk, name: string, offset: number, data: Uint8Array): Promise<void> {
  const f = await disk.open(path(name), 'write');
  await f.write(offset, data);
  await f.sync();
  await f.close();
}

async function truncateFile(disk: Disk, name: string, size: number): Promise<void> {
  const f = await disk.open(path(name), 'write');
  await f.truncate(size);
  await f.sync();
  await f.close();
}

/** Where the last batch of a segment starts (its seal batch, for a sealed segment). */
async function lastBatchStart(disk: Disk, name: string): Promise<number> {
  const s = scanSegment(await bytesOf(disk, name), { segmentId: Number.parseInt(name.slice(0, 16), 16), expectedSeq: null });
  return s.batches.at(-1)!.commit.batchStartOffset;
}

/** `disk` with unlink doing nothing (a crash before the removals were durable); `onUnlink` sees the paths. */
function withoutUnlink(disk: Disk, onUnlink: (path: string) => void = () => {}): Disk {
  return {
    name: disk.name,
    open: (p, mode, options) => disk.open(p, mode, options),
    readFile: (p) => disk.readFile(p),
    list: (d) => disk.list(d),
    mkdir: (d) => disk.mkdir(d),
    rename: (a, b) => disk.rename(a, b),
    unlink: async (p) => onUnlink(p),
    rmdir: (d) => disk.rmdir(d),
    stat: (p) => disk.stat(p),
    syncDir: (d) => disk.syncDir(d),
  };
}

const covered = new Set<string>();
const expectRow = (r: WalRecovered, row: string) => {
  assert.ok(rows(r).includes(row), `expected row ${row}, got ${rows(r).join(', ')}`);
  covered.add(row);
};

test('last-clean and middle-clean: an intact log replays whole', async () => {
  const { disk, segments } = await buildLog(12);
  assert.ok(segments.length >= 3);
  const r = await reopen(disk);
  expectRow(r, 'last-clean');
  expectRow(r, 'middle-clean');
  assert.equal(r.entries.length, 12);
  assert.equal(new TextDecoder().decode(r.hardState!), 'hs12');
  assert.equal(r.report.corrupt, false);
});

test('last-torn-tail: garbage after the last batch is cut, nothing is lost', async () => {
  const { disk, segments } = await buildLog(5);
  const last = segments.at(-1)!;
  const size = (await bytesOf(disk, last)).length;
  await overwrite(disk, last, size, new SeededRandom(2).bytes(700));
  const r = await reopen(disk);
  expectRow(r, 'last-torn-tail');
  assert.equal(r.entries.length, 5);
  assert.equal(r.repairUntil, null);
  assert.equal((await bytesOf(disk, last)).length, size, 'the tail was cut');
});

test('last-header-torn: a segment whose creation a crash interrupted gets its header again', async () => {
  const disk = new SimDisk({ random: new SeededRandom(1) });
  await disk.mkdir('wal');
  const f = await disk.open('wal/0000000000000001-00000000000000000001.wal', 'create');
  await f.write(0, new Uint8Array(30).fill(0x42));
  await f.close();
  const r = await reopen(disk);
  expectRow(r, 'last-header-torn');
  assert.equal(r.entries.length, 0);
  assert.equal(r.report.corrupt, false);
  assert.equal(rows(await reopen(disk))[0], 'last-clean');
});

test('sealed-successor-missing: a lost last segment is corruption, never a silent truncation', async () => {
  const { disk, segments } = await buildLog(12);
  await disk.unlink(path(segments.at(-1)!));
  const r = await reopen(disk);
  expectRow(r, 'sealed-successor-missing');
  assert.equal(r.report.corrupt, true);
  assert.ok(r.repairUntil !== null && r.repairUntil > r.lastIndex);
  // The fresh successor lets the log go on; the repair point is durable.
  const again = await reopen(disk);
  assert.equal(again.repairUntil, r.repairUntil);
});

test('middle-bytes-after-seal: garbage after a seal is ignored', async () => {
  const { disk, segments } = await buildLog(12);
  const first = segments[0]!;
  const size = (await bytesOf(disk, first)).length;
  await overwrite(disk, first, size, new Uint8Array(100).fill(0x55));
  const r = await reopen(disk);
  expectRow(r, 'middle-bytes-after-seal');
  assert.equal(r.entries.length, 12);
  assert.equal(r.repairUntil, null);
});

test('interrupted-roll: an empty successor next to an unsealed segment is removed', async () => {
  const { disk, segments } = await buildLog(2);
  assert.equal(segments.length, 1);
  const successor = `0000000000000002-00000000000000000003.wal`;
  const { encodeSegmentHeader } = await import('./segment-header.js');
  const f = await disk.open(path(successor), 'create');
  await f.write(0, encodeSegmentHeader({ segmentId: 2, firstIndex: 3 }));
  await f.close();
  const r = await reopen(disk);
  expectRow(r, 'interrupted-roll');
  assert.equal(r.entries.length, 2);
  assert.equal(r.repairUntil, null);
  assert.deepEqual((await disk.list('wal')).filter((n) => n.endsWith('.wal')), segments);
});

test('middle-unsealed: a lost seal with data after it is corruption', async () => {
  const { disk, segments } = await buildLog(12);
  await truncateFile(disk, segments[0]!, await lastBatchStart(disk, segments[0]!));
  const r = await reopen(disk);
  expectRow(r, 'middle-unsealed');
  assert.equal(r.report.corrupt, true);
  assert.ok(r.repairUntil !== null && r.repairUntil >= 12, `repairUntil ${r.repairUntil} covers the lost entries`);
  assert.ok((await disk.list('wal/quarantine')).length >= 1);
});

test('unsealed-before-gap: a segment missing in the middle is corruption', async () => {
  const { disk, segments } = await buildLog(16);
  assert.ok(segments.length >= 3);
  await truncateFile(disk, segments[0]!, await lastBatchStart(disk, segments[0]!));
  await disk.unlink(path(segments[1]!));
  const r = await reopen(disk);
  expectRow(r, 'unsealed-before-gap');
  assert.ok(r.repairUntil !== null && r.repairUntil >= 16);
});

test('corrupt-batch: a damaged committed batch cuts the log there and asks for repair', async () => {
  const { disk, segments } = await buildLog(12);
  disk.inject({ type: 'bit-rot', path: path(segments[0]!), offset: SEGMENT_HEADER_BYTES + 200, bit: 1 });
  const r = await reopen(disk);
  expectRow(r, 'corrupt-batch');
  assert.equal(r.entries.length, 0, 'everything from the damaged batch on is dropped');
  assert.ok(r.repairUntil !== null && r.repairUntil >= 12);
  assert.equal(new TextDecoder().decode(r.hardState!), 'hs12', 'the newest hard state survives the cut');
  assert.ok(r.report.events.some((e) => e.type === 'corrupt'));
});

test('header-corrupt-with-data: a damaged header of a segment holding data is corruption', async () => {
  const { disk, segments } = await buildLog(12);
  disk.inject({ type: 'bit-rot', path: path(segments[1]!), offset: 20, bit: 0 });
  const r = await reopen(disk);
  expectRow(r, 'header-corrupt-with-data');
  assert.ok(r.repairUntil !== null && r.repairUntil >= 12);
});

test('middle-header-invalid-empty: a middle segment wiped out is corruption', async () => {
  const { disk, segments } = await buildLog(16);
  const mid = segments[1]!;
  await overwrite(disk, mid, 0, new Uint8Array((await bytesOf(disk, mid)).length).fill(0xee));
  const r = await reopen(disk);
  expectRow(r, 'middle-header-invalid-empty');
  assert.ok(r.repairUntil !== null && r.repairUntil >= 16);
});

test('a reset whose removal of older segments a crash cut short: the leftovers are removed, not taken for the head of the log', async () => {
  // Entries 1..12 over several segments; then a snapshot at 6 replaces the log (a Paxos acceptor's
  // install keeps what it accepted above it). The reset's segment starts at 7, below where the
  // newest older segments start.
  const { disk, segments } = await buildLog(12);
  assert.ok(segments.length >= 3, `${segments.length} segments`);
  // The crash comes after the reset batch is durable and before the older segments are unlinked.
  const unlinkedNot: string[] = [];
  const keepsFiles = withoutUnlink(disk, (p) => unlinkedNot.push(p));
  const { wal } = await openWal(keepsFiles, { segmentBytes: SEGMENT_BYTES });
  await wal.resetWith(logIndex(6), [entry(7), entry(9)], enc.encode('hs-reset'));
  await wal.close();
  assert.deepEqual(unlinkedNot.map((p) => p.slice('wal/'.length)).sort(), [...segments].sort(), 'the reset removes every older segment');
  const resetSegment = (await disk.list('wal')).filter((n) => n.endsWith('.wal') && !segments.includes(n));
  assert.equal(resetSegment.length, 1);
  const r = await reopen(disk);
  assert.equal(r.report.corrupt, false, JSON.stringify(r.report.events));
  assert.equal(r.repairUntil, null);
  assert.equal(r.compactedThrough, 6);
  assert.deepEqual(r.entries.map((e) => e.index), [7, 9]);
  assert.equal(new TextDecoder().decode(r.hardState!), 'hs-reset');
  assert.deepEqual(
    r.report.events.filter((e) => e.type === 'superseded-removed').map((e) => (e as { segment: string }).segment).sort(),
    [...segments].sort(),
  );
  assert.deepEqual((await disk.list('wal')).filter((n) => n.endsWith('.wal')), resetSegment, 'only the reset segment is left');
  const again = await reopen(disk);
  assert.deepEqual(again.entries.map((e) => e.index), [7, 9]);
  assert.deepEqual(again.report.events, []);
});

test('a reset batch lost in a crash: its empty segment is renamed to start after the log, and a later compaction still replays', async () => {
  const { disk, segments } = await buildLog(12);
  const keepsFiles = withoutUnlink(disk);
  const { wal } = await openWal(keepsFiles, { segmentBytes: SEGMENT_BYTES });
  await wal.resetWith(logIndex(6), [entry(7)], enc.encode('hs-reset'));
  await wal.close();
  // The crash took the reset batch: its segment (named for index 7) holds only its header.
  const [fresh] = (await disk.list('wal')).filter((n) => n.endsWith('.wal') && !segments.includes(n));
  assert.ok(fresh !== undefined);
  await truncateFile(disk, fresh, SEGMENT_HEADER_BYTES);
  const first = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  assert.equal(first.recovered.lastIndex, 12, 'the log before the reset');
  assert.equal(first.recovered.report.corrupt, false);
  const renamed = first.recovered.report.events.find((e) => e.type === 'segment-renamed') as { from: string; to: string } | undefined;
  assert.deepEqual(renamed && { from: renamed.from, to: Number.parseInt(renamed.to.slice(17, 37), 10) }, { from: fresh, to: 13 });
  first.wal.append([entry(13), entry(14)], true);
  await first.wal.sync();
  await first.wal.compact(logIndex(12)); // every segment before the renamed one goes
  await first.wal.close();
  const again = await reopen(disk);
  assert.equal(again.report.corrupt, false);
  assert.equal(again.compactedThrough, 12);
  assert.deepEqual(again.entries.map((e) => e.index), [13, 14]);
});

test('every possible row of the segment table has a scenario above', () => {
  const possible = SEGMENT_RECOVERY_TABLE.filter((r) => r.action !== 'impossible').map((r) => r.id);
  assert.deepEqual([...covered].sort(), possible.sort());
});

test('the repair point clears once the log reaches it again', async () => {
  const { disk, segments } = await buildLog(12);
  disk.inject({ type: 'bit-rot', path: path(segments[0]!), offset: SEGMENT_HEADER_BYTES + 200, bit: 1 });
  const { wal, recovered } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  const until = recovered.repairUntil!;
  assert.equal(wal.pendingRepairUntil, until);
  for (let i = recovered.lastIndex + 1; i < until; i++) wal.append([entry(i)], true);
  await wal.sync();
  assert.equal(wal.pendingRepairUntil, until, 'not yet');
  wal.append([entry(until)], true);
  await wal.sync();
  assert.equal(wal.pendingRepairUntil, null, 'reached');
  await wal.close();
  assert.equal((await reopen(disk)).repairUntil, null);
});

test('a log with gaps (Multi-Paxos) stays under repair until every index up to the repair point is back', async () => {
  const { disk, segments } = await buildLog(12);
  disk.inject({ type: 'bit-rot', path: path(segments[0]!), offset: SEGMENT_HEADER_BYTES + 200, bit: 1 });
  const { wal, recovered } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  const until = recovered.repairUntil!;
  const hole = recovered.lastIndex + 1;
  assert.ok(hole < until, `a hole below the repair point (${hole} < ${until})`);
  // New slots past the repair point arrive first, and catch-up resends the old ones but one.
  wal.append([entry(until + 1), entry(until + 2)], false);
  for (let i = hole + 1; i <= until; i++) wal.append([entry(i)], false);
  await wal.sync();
  assert.equal(wal.pendingRepairUntil, until, `slot ${hole} is still missing`);
  wal.append([entry(hole)], false);
  await wal.sync();
  assert.equal(wal.pendingRepairUntil, null, 'every slot is back');
  await wal.close();
  assert.equal((await reopen(disk)).repairUntil, null);
});

test('recovery fsyncs the directory: a segment created by a process that failed before doing so keeps its name across a power loss', async () => {
  // Simulator: raft, storage-faults, seed 249 once its run changed.
  const disk = new SimDisk({ random: new SeededRandom(3) });
  // The first start creates segment 1 and fails writing its header (the disk is full): fatal.
  disk.inject({ type: 'enospc-next-write', path: null });
  await assert.rejects(openWal(disk, { segmentBytes: SEGMENT_BYTES }));
  // The process restarts (the page cache and the unsynced directory entry survive a process exit).
  const { wal } = await openWal(disk.mount(), { segmentBytes: SEGMENT_BYTES });
  for (let i = 1; i <= 3; i++) wal.append([entry(i)], true);
  await wal.sync(); // acknowledged
  // Power loss: unsynced data and directory entries are lost.
  disk.crash({ mode: 'lose' });
  const after = await openWal(disk.mount(), { segmentBytes: SEGMENT_BYTES });
  assert.deepEqual(after.recovered.entries.map((e) => e.index), [1, 2, 3]);
  await after.wal.close();
});
