/**
 * RAID benchmark: what a volume costs a write-ahead log, and how fast it rebuilds and scrubs.
 *
 * 1. Sequential append + fsync, the WAL's pattern: each appender appends records to its own file
 *    and syncs after every record, for 256 B and 4 KiB records, with 1 and 16 appenders at once, on
 *    a plain directory, RAID-1 over 2 and 3 directories and RAID-5 over 3, all in the same run and
 *    on the same file system, so the ratios to the plain directory mean something on a busy machine.
 * 2. Rebuild and scrub rates (unthrottled) of RAID-1 and RAID-5 volumes holding --data-mib MiB.
 *
 *   node dist/bench/raid.js [--duration 2] [--rounds 3] [--data-mib 64] [--chunk 64KiB] [--dir /tmp] [--json]
 *
 * Each append figure is the median of --rounds runs of --duration seconds, the targets interleaved.
 *
 * Every member directory lives under --dir, so all members share one disk: RAID's extra writes
 * and fsyncs land on the same device as the data's, which is the worst case for RAID overhead.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Disk } from '../src/env/disk.js';
import { NodeClock } from '../src/env/node/clock.js';
import { NodeDisk } from '../src/env/node/disk.js';
import { SeededRandom } from '../src/env/random.js';
import { openVolume, type RaidLevel, type RaidVolume } from '../src/storage/index.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    'data-mib': { type: 'string', default: '64' },
    chunk: { type: 'string', default: '65536' },
    dir: { type: 'string', default: tmpdir() },
    json: { type: 'boolean', default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const rounds = Math.max(1, Number(values.rounds));
const dataMiB = Number(values['data-mib']);
const chunkBytes = Number(String(values.chunk).replace(/KiB$/i, '')) * (/KiB$/i.test(String(values.chunk)) ? 1024 : 1);
const clock = new NodeClock();
const APPENDS_PER_APPENDER_MAX = 1_000_000;

interface Target {
  readonly name: string;
  readonly level: RaidLevel | 0;
  readonly members: number;
}

const TARGETS: readonly Target[] = [
  { name: 'plain directory', level: 0, members: 1 },
  { name: 'RAID-1, 2 members', level: 1, members: 2 },
  { name: 'RAID-1, 3 members', level: 1, members: 3 },
  { name: 'RAID-5, 3 members', level: 5, members: 3 },
];

async function open(t: Target, root: string): Promise<{ disk: Disk; volume: RaidVolume | null }> {
  const dirs = Array.from({ length: t.members }, (_, i) => join(root, `d${i}`));
  for (const d of dirs) mkdirSync(d, { recursive: true });
  if (t.level === 0) return { disk: new NodeDisk(dirs[0]!), volume: null };
  const volume = await openVolume({ members: dirs.map((d) => new NodeDisk(d)), clock, create: { level: t.level, chunkBytes, random: new SeededRandom(1) } });
  return { disk: volume, volume };
}

interface AppendResult {
  readonly target: string;
  readonly recordBytes: number;
  readonly appenders: number;
  readonly appends: number;
  readonly appendsPerSec: number;
  readonly mbPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function appendBench(t: Target, recordBytes: number, appenders: number): Promise<AppendResult> {
  const root = mkdtempSync(join(values.dir!, 'bulwark-raid-bench-'));
  try {
    const { disk, volume } = await open(t, root);
    const record = new SeededRandom(2).bytes(recordBytes);
    const latencies: number[] = [];
    const start = clock.nowMs();
    const deadline = start + durationMs;
    await Promise.all(
      Array.from({ length: appenders }, async (_, i) => {
        const f = await disk.open(`wal-${i}`, 'create');
        let at = 0;
        for (let n = 0; n < APPENDS_PER_APPENDER_MAX && clock.nowMs() < deadline; n++) {
          const t0 = clock.nowMs();
          await f.write(at, record);
          await f.sync();
          latencies.push(clock.nowMs() - t0);
          at += recordBytes;
        }
        await f.close();
      }),
    );
    const secs = (clock.nowMs() - start) / 1000;
    await volume?.close();
    latencies.sort((a, b) => a - b);
    return {
      target: t.name, recordBytes, appenders, appends: latencies.length,
      appendsPerSec: latencies.length / secs, mbPerSec: (latencies.length * recordBytes) / secs / 1e6,
      p50Ms: quantile(latencies, 0.5), p99Ms: quantile(latencies, 0.99),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface ResyncResult {
  readonly target: string;
  readonly dataMiB: number;
  readonly rebuildMBps: number;
  readonly rebuildMemberBytes: number;
  readonly scrubMBps: number;
  readonly scrubBytes: number;
}

async function resyncBench(t: Target): Promise<ResyncResult> {
  const root = mkdtempSync(join(values.dir!, 'bulwark-raid-bench-'));
  try {
    const { volume } = await open(t, root);
    const v = volume!;
    const f = await v.open('snapshot', 'create');
    const block = new SeededRandom(3).bytes(1024 * 1024);
    for (let i = 0; i < dataMiB; i++) await f.write(i * block.length, block);
    await f.sync();
    await v.failMember(0);
    await v.removeMember(0);
    const spare = join(root, 'spare');
    mkdirSync(spare);
    await v.addMember(new NodeDisk(spare));
    const rebuild = await v.rebuild({ bytesPerSecMax: Number.MAX_SAFE_INTEGER });
    const scrub = await v.scrub({ mode: 'check', bytesPerSecMax: Number.MAX_SAFE_INTEGER });
    await v.close();
    return {
      target: t.name, dataMiB,
      rebuildMBps: rebuild.bytes / (rebuild.elapsedMs / 1000) / 1e6, rebuildMemberBytes: rebuild.bytes,
      scrubMBps: scrub.checkedBytes / (scrub.elapsedMs / 1000) / 1e6, scrubBytes: scrub.checkedBytes,
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Runs every target `rounds` times, interleaved (A B C D A B C D ...), and keeps each target's
 * median round, so that load from other processes falls on all targets alike.
 */
async function appendCell(recordBytes: number, appenders: number): Promise<AppendResult[]> {
  const runs = new Map<string, AppendResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const t of TARGETS) {
      const r = await appendBench(t, recordBytes, appenders);
      runs.set(t.name, [...(runs.get(t.name) ?? []), r]);
      if (!values.json) process.stderr.write(`  round ${round + 1}: ${t.name}, ${recordBytes} B x ${appenders}: ${r.appendsPerSec.toFixed(0)} appends/s\n`);
    }
  }
  return TARGETS.map((t) => {
    const rs = [...runs.get(t.name)!].sort((a, b) => a.appendsPerSec - b.appendsPerSec);
    return rs[Math.floor(rs.length / 2)]!;
  });
}

/**
 * How this machine treats concurrent fsyncs: 256-byte appends + fdatasync to one file, and to three
 * files at once (what a 3-member volume does per flush). Where the second is not slower per round,
 * the volume's parallel member fsyncs cost nothing extra and 1-appender rows flatter RAID.
 */
async function fsyncCalibration(): Promise<{ oneFilePerSec: number; threeFilesPerSec: number }> {
  const root = mkdtempSync(join(values.dir!, 'bulwark-raid-bench-'));
  try {
    const disk = new NodeDisk(root);
    const rate = async (files: number): Promise<number> => {
      const hs = await Promise.all(Array.from({ length: files }, (_, i) => disk.open(`cal-${files}-${i}`, 'create')));
      const rec = new Uint8Array(256);
      const start = clock.nowMs();
      let rounds = 0;
      for (let at = 0; clock.nowMs() - start < durationMs / 2 && rounds < APPENDS_PER_APPENDER_MAX; at += rec.length, rounds++) {
        await Promise.all(hs.map(async (h) => {
          await h.write(at, rec);
          await h.sync();
        }));
      }
      await Promise.all(hs.map((h) => h.close()));
      return rounds / ((clock.nowMs() - start) / 1000);
    };
    return { oneFilePerSec: await rate(1), threeFilesPerSec: await rate(3) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const calibration = await fsyncCalibration();
  const appends: AppendResult[] = [];
  for (const recordBytes of [256, 4096]) {
    for (const appenders of [1, 16]) appends.push(...(await appendCell(recordBytes, appenders)));
  }
  const resyncs: ResyncResult[] = [];
  for (const t of TARGETS.filter((x) => x.level !== 0)) resyncs.push(await resyncBench(t));
  if (values.json) {
    process.stdout.write(JSON.stringify({ durationMs, chunkBytes, dataMiB, calibration, appends, resyncs }, null, 2) + '\n');
    return;
  }
  const lines: string[] = [];
  lines.push(`fsync calibration: 256 B append + fdatasync, one file ${calibration.oneFilePerSec.toFixed(0)} rounds/s, three files in parallel ${calibration.threeFilesPerSec.toFixed(0)} rounds/s`);
  lines.push('');
  lines.push(`Append + fsync (median of ${rounds} interleaved runs of ${values.duration} s, chunk ${chunkBytes} B, one fsync per record)`);
  lines.push('');
  lines.push('| volume | record | appenders | appends/s | MB/s | p50 ms | p99 ms | vs plain |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of appends) {
    const plain = appends.find((p) => p.target === TARGETS[0]!.name && p.recordBytes === r.recordBytes && p.appenders === r.appenders)!;
    lines.push(`| ${r.target} | ${r.recordBytes} B | ${r.appenders} | ${r.appendsPerSec.toFixed(0)} | ${r.mbPerSec.toFixed(2)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${(r.appendsPerSec / plain.appendsPerSec).toFixed(2)} |`);
  }
  lines.push('');
  lines.push(`Rebuild and scrub, unthrottled, ${dataMiB} MiB of data`);
  lines.push('');
  lines.push('| volume | rebuild MB/s (member bytes written) | scrub MB/s (member bytes read) |');
  lines.push('|---|---:|---:|');
  for (const r of resyncs) lines.push(`| ${r.target} | ${r.rebuildMBps.toFixed(1)} (${(r.rebuildMemberBytes / 1e6).toFixed(1)} MB) | ${r.scrubMBps.toFixed(1)} (${(r.scrubBytes / 1e6).toFixed(1)} MB) |`);
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`raid bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
