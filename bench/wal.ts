// Storage benchmark: the disk's own fsync rate, WAL append throughput under group commit, recovery
// time against log length, and snapshot save/load time against size. A tool with a report, not a
// test: figures depend on the disk and on what else runs; compare the ratios within one run.
//
//   node dist/bench/wal.js [--dir DIR] [--quick] [--json] [--seconds S]
//
// --dir     where to write (default: a fresh directory under the OS temp dir, removed afterwards)
// --quick   smaller sizes (recovery up to 100k entries, snapshots up to 10 MB)
// --seconds how long each throughput cell runs (default 2)
import { mkdtemp, mkdir, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { logIndex, nodeIdFromBigInt, term } from '../src/core/ids.js';
import type { ConfigState, Entry } from '../src/consensus/types.js';
import { NodeDisk } from '../src/env/node/disk.js';
import { openSnapshotStore } from '../src/wal/snapshot-store.js';
import { openWal } from '../src/wal/wal.js';

const { values: args } = parseArgs({
  options: {
    dir: { type: 'string' },
    quick: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '2' },
  },
});
const seconds = Number(args.seconds);
const MB = 1024 * 1024;

interface FsyncResult {
  readonly fsyncsPerSec: number;
  readonly meanMs: number;
}

interface AppendResult {
  readonly recordBytes: number;
  readonly appenders: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly recordsPerFsync: number;
  readonly fsyncsPerSec: number;
  /** The disk's own rate, measured just before this cell (the disk is shared: it drifts). */
  readonly diskFsyncsPerSec: number;
  readonly vsDiskFsyncRate: number;
}

interface RecoveryResult {
  readonly entries: number;
  readonly walMB: number;
  readonly fullLogMs: number;
  /** The same history compacted behind a snapshot 10,000 entries back. */
  readonly compactedMs: number;
  readonly compactedEntries: number;
}

interface SnapshotResult {
  readonly sizeMB: number;
  readonly saveMs: number;
  readonly loadMs: number;
  readonly saveMBps: number;
  readonly loadMBps: number;
}

const say = (s: string) => {
  if (!args.json) process.stdout.write(s + '\n');
};

/** The physical limit: one writer, 4 KiB write + fdatasync, in a loop. */
async function fsyncRate(dir: string, forSeconds: number): Promise<FsyncResult> {
  const fh = await open(join(dir, 'fsync-probe'), 'w');
  try {
    const block = new Uint8Array(4096).fill(7);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < forSeconds * 1000) {
      await fh.write(block, 0, block.length, (n % 256) * 4096);
      await fh.datasync();
      n++;
    }
    const ms = performance.now() - t0;
    return { fsyncsPerSec: (n * 1000) / ms, meanMs: ms / n };
  } finally {
    await fh.close();
  }
}

async function appendThroughput(dir: string, recordBytes: number, appenders: number): Promise<AppendResult> {
  const diskFsyncs = (await fsyncRate(dir, Math.min(1, seconds))).fsyncsPerSec;
  const sub = join(dir, `append-${recordBytes}-${appenders}`);
  await mkdir(sub, { recursive: true });
  const { wal } = await openWal(new NodeDisk(sub));
  const data = new Uint8Array(recordBytes).fill(1);
  let next = 1;
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const appender = async () => {
    while (performance.now() < deadline) {
      const index = next++;
      wal.append([{ index: logIndex(index), term: term(1), kind: 'normal', data }], false);
      await wal.sync();
      done++;
    }
  };
  await Promise.all(Array.from({ length: appenders }, appender));
  const ms = performance.now() - t0;
  const st = wal.stats();
  await wal.close();
  await rm(sub, { recursive: true, force: true });
  const recordsPerSec = (done * 1000) / ms;
  const fsyncsPerSec = (st.fsyncs * 1000) / ms;
  return {
    recordBytes,
    appenders,
    recordsPerSec,
    mbPerSec: (recordsPerSec * recordBytes) / MB,
    recordsPerFsync: done / Math.max(1, st.fsyncs),
    fsyncsPerSec,
    diskFsyncsPerSec: diskFsyncs,
    vsDiskFsyncRate: recordsPerSec / diskFsyncs,
  };
}

async function recoveryTime(dir: string, entries: number): Promise<RecoveryResult> {
  const sub = join(dir, `recovery-${entries}`);
  await mkdir(sub, { recursive: true });
  const disk = new NodeDisk(sub);
  const { wal } = await openWal(disk);
  const data = new Uint8Array(100).fill(3);
  const batch: Entry[] = [];
  for (let i = 1; i <= entries; i++) {
    batch.push({ index: logIndex(i), term: term(1), kind: 'normal', data });
    if (batch.length === 4096 || i === entries) {
      wal.append(batch, true);
      batch.length = 0;
      await wal.sync();
    }
  }
  const walBytes = wal.stats().bytesWritten;
  await wal.close();
  const t0 = performance.now();
  const full = await openWal(disk);
  const fullLogMs = performance.now() - t0;
  if (full.recovered.entries.length !== entries) throw new Error(`recovered ${full.recovered.entries.length} of ${entries}`);
  // A snapshot every 10,000 entries lets the log be compacted behind it: recovery reads only the tail.
  const keep = Math.min(10_000, entries);
  await full.wal.compact(logIndex(entries - keep));
  await full.wal.close();
  const t1 = performance.now();
  const compacted = await openWal(disk);
  const compactedMs = performance.now() - t1;
  const compactedEntries = compacted.recovered.entries.length;
  await compacted.wal.close();
  await rm(sub, { recursive: true, force: true });
  return { entries, walMB: walBytes / MB, fullLogMs, compactedMs, compactedEntries };
}

async function snapshotTime(dir: string, sizeMB: number): Promise<SnapshotResult> {
  const sub = join(dir, `snapshot-${sizeMB}`);
  await mkdir(sub, { recursive: true });
  const disk = new NodeDisk(sub);
  const config: ConfigState = { voters: [nodeIdFromBigInt(1n)], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const chunk = new Uint8Array(MB);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  const { store } = await openSnapshotStore(disk);
  const t0 = performance.now();
  const meta = await store.save({ index: logIndex(1), term: term(1), config }, Array.from({ length: sizeMB }, () => chunk));
  const saveMs = performance.now() - t0;
  await store.close();
  // Load = open (which checksums the newest snapshot) + read it all, as a restart does.
  const t1 = performance.now();
  const opened = await openSnapshotStore(disk);
  let read = 0;
  for (let off = 0; off < meta.sizeBytes; off += 4 * MB) read += (await opened.store.read(meta, off, 4 * MB)).length;
  const loadMs = performance.now() - t1;
  if (read !== meta.sizeBytes) throw new Error('short snapshot read');
  await opened.store.close();
  await rm(sub, { recursive: true, force: true });
  return { sizeMB, saveMs, loadMs, saveMBps: sizeMB / (saveMs / 1000), loadMBps: sizeMB / (loadMs / 1000) };
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function main(): Promise<void> {
  const own = args.dir === undefined;
  const dir = args.dir ?? (await mkdtemp(join(tmpdir(), 'bulwark-bench-wal-')));
  await mkdir(dir, { recursive: true });
  try {
    say(`Storage benchmark in ${dir} (provisional figures: the machine is shared)\n`);
    const fsync = await fsyncRate(dir, seconds);
    say(`Disk: 4 KiB write + fdatasync, one writer: ${fmt(fsync.fsyncsPerSec)} fsyncs/s (${fmt(fsync.meanMs, 2)} ms each) — the physical limit for one writer\n`);

    const appends: AppendResult[] = [];
    say('WAL append throughput (each appender awaits its record\'s fsync, then appends again);');
    say('the disk\'s fsync rate is measured again just before each row, and the ratio is against it');
    say('  record   appenders   records/s      MB/s   records/fsync   WAL fsyncs/s   disk fsyncs/s   records/s ÷ disk fsyncs/s');
    for (const recordBytes of [256, 4096]) {
      for (const appenders of [1, 16, 256]) {
        const r = await appendThroughput(dir, recordBytes, appenders);
        appends.push(r);
        say(
          `  ${(recordBytes === 256 ? '256 B' : '4 KiB').padStart(6)}   ${String(appenders).padStart(9)}   ${fmt(r.recordsPerSec).padStart(9)}   ${fmt(r.mbPerSec, 2).padStart(7)}   ${fmt(r.recordsPerFsync, 1).padStart(13)}   ${fmt(r.fsyncsPerSec).padStart(12)}   ${fmt(r.diskFsyncsPerSec).padStart(13)}   ${fmt(r.vsDiskFsyncRate, 1).padStart(25)}`,
        );
      }
    }

    const recoveries: RecoveryResult[] = [];
    say('\nRecovery (openWal) against log length, 100-byte entries');
    say('   entries    WAL MB   full log ms   compacted behind a snapshot 10k back: ms (entries)');
    for (const n of args.quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]) {
      const r = await recoveryTime(dir, n);
      recoveries.push(r);
      say(`  ${fmt(r.entries).padStart(8)}   ${fmt(r.walMB, 1).padStart(7)}   ${fmt(r.fullLogMs).padStart(11)}   ${fmt(r.compactedMs).padStart(8)} (${fmt(r.compactedEntries)})`);
    }

    const snapshots: SnapshotResult[] = [];
    say('\nSnapshots: save (temp file, fsync, rename, dir fsync) and load (open with checksum, read all)');
    say('   size MB   save ms   save MB/s   load ms   load MB/s');
    for (const mb of args.quick ? [1, 10] : [1, 10, 100]) {
      const r = await snapshotTime(dir, mb);
      snapshots.push(r);
      say(`  ${String(r.sizeMB).padStart(8)}   ${fmt(r.saveMs).padStart(7)}   ${fmt(r.saveMBps).padStart(9)}   ${fmt(r.loadMs).padStart(7)}   ${fmt(r.loadMBps).padStart(9)}`);
    }
    if (args.json) process.stdout.write(JSON.stringify({ dir, fsync, appends, recoveries, snapshots }, null, 2) + '\n');
  } finally {
    if (own) await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/wal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
