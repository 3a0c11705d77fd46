/**
 * How long an automatic snapshot stops the member from serving. The driver captures the state
 * machine's image synchronously (KvStore.snapshot()), then serializes and writes it between turns
 * of the event loop. This measures, at each state size, the synchronous capture, the longest
 * stretch of serialization between two writes (the save hands the disk 1 MiB at a time), and the
 * worst event-loop delay seen by a 1 ms timer while a real snapshot is saved to a temp directory
 * with the real snapshot store, next to the total save time. Not a test: a tool that prints a report.
 *
 *   node dist/bench/snapshot-pause.js [--keys 100000,1000000] [--value-bytes 100] [--json]
 *
 * Figures on a shared machine are noisy; the event-loop delay includes other processes' load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { logIndex, nodeIdFromBigInt, term } from '../src/core/ids.js';
import type { ConfigState } from '../src/consensus/types.js';
import { NodeDisk } from '../src/env/node/disk.js';
import { encodeCommand, putOp } from '../src/kv/command.js';
import { KvStore } from '../src/kv/kv-store.js';
import { openSnapshotStore } from '../src/wal/snapshot-store.js';

interface Args {
  keys: number[];
  valueBytes: number;
  json: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { keys: [100_000, 1_000_000], valueBytes: 100, json: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--keys') a.keys = String(argv[++i]).split(',').map(Number);
    else if (f === '--value-bytes') a.valueBytes = Number(argv[++i]);
    else if (f === '--json') a.json = true;
    else if (f === '--help' || f === '-h') {
      process.stdout.write('usage: node dist/bench/snapshot-pause.js [--keys 100000,1000000] [--value-bytes N] [--json]\n');
      process.exit(0);
    } else throw new Error(`unknown flag ${f}`);
  }
  if (a.keys.some((k) => !Number.isSafeInteger(k) || k < 1) || !Number.isSafeInteger(a.valueBytes) || a.valueBytes < 0) throw new Error('bad --keys or --value-bytes');
  return a;
}

const MEMBER = nodeIdFromBigInt(1n);
const CONFIG: ConfigState = { voters: [MEMBER], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const key = (i: number): string => `/bench/k${String(i).padStart(8, '0')}`;
/** What the snapshot store writes at once (its SAVE_WRITE_BYTES): the serialization between two writes. */
const WRITE_BYTES = 1024 * 1024;
const CAPTURES = 5;

function load(n: number, valueBytes: number): KvStore {
  const store = new KvStore({ quotaBytes: Number.MAX_SAFE_INTEGER });
  const value = new Uint8Array(valueBytes).fill(0x61);
  for (let i = 0; i < n; i++) {
    const data = encodeCommand({ requestId: { member: MEMBER, counter: i + 1 }, session: null, op: putOp(key(i), value) });
    store.apply({ index: logIndex(i + 1), term: term(1), kind: 'normal', data });
  }
  return store;
}

const ms = (x: number): string => `${x.toFixed(1).padStart(8)} ms`;

async function measure(n: number, a: Args, log: (s: string) => void): Promise<Record<string, number>> {
  const store = load(n, a.valueBytes);
  // The synchronous capture, several times (the first may pay for a GC).
  const captures: number[] = [];
  for (let i = 0; i < CAPTURES; i++) {
    const t0 = performance.now();
    store.snapshot();
    captures.push(performance.now() - t0);
  }
  captures.sort((x, y) => x - y);
  // Serialization alone: the longest stretch that produces one write's worth of bytes.
  let longestSlice = 0;
  let bytes = 0;
  const t0 = performance.now();
  let sliceStart = t0;
  let sliceBytes = 0;
  for (const c of store.snapshot().chunks()) {
    bytes += c.length;
    sliceBytes += c.length;
    if (sliceBytes >= WRITE_BYTES) {
      const now = performance.now();
      longestSlice = Math.max(longestSlice, now - sliceStart);
      sliceStart = now;
      sliceBytes = 0;
    }
  }
  const serialize = performance.now() - t0;
  longestSlice = Math.max(longestSlice, performance.now() - sliceStart);
  // A real save through the snapshot store, with a 1 ms timer watching the event loop.
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-snap-pause-'));
  let saveMs = 0;
  let worstDelay = 0;
  try {
    const { store: snaps } = await openSnapshotStore(new NodeDisk(dir));
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const s0 = performance.now();
    const src = store.snapshot();
    async function* eachOnItsOwn(): AsyncIterable<Uint8Array> {
      for (const c of src.chunks()) yield c;
    }
    await snaps.save({ index: src.index, term: term(1), config: CONFIG }, eachOnItsOwn());
    saveMs = performance.now() - s0;
    h.disable();
    worstDelay = h.max / 1e6;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  log(`\n${n.toLocaleString()} keys, values of ${a.valueBytes} B: snapshot of ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  log(`  capture (synchronous)        median ${ms(captures[Math.floor(CAPTURES / 2)]!)}   max ${ms(captures[CAPTURES - 1]!)}`);
  log(`  serialize, whole             ${ms(serialize)}`);
  log(`  serialize, longest 1 MiB     ${ms(longestSlice)}`);
  log(`  save to disk, whole          ${ms(saveMs)}`);
  log(`  event-loop delay, worst      ${ms(worstDelay)}   (during the save, capture included)`);
  return {
    keys: n,
    snapshotBytes: bytes,
    captureMedianMs: captures[Math.floor(CAPTURES / 2)]!,
    captureMaxMs: captures[CAPTURES - 1]!,
    serializeMs: serialize,
    longestSliceMs: longestSlice,
    saveMs,
    worstEventLoopDelayMs: worstDelay,
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const log = (s: string): void => {
    if (!a.json) process.stdout.write(s + '\n');
  };
  log(`Snapshot pause (node ${process.version}); figures are provisional on a shared machine`);
  // Warm up: the first serialization ever runs unoptimized code (a one-time cost, reported apart).
  const warm = load(10_000, a.valueBytes);
  const w0 = performance.now();
  for (const c of warm.snapshot().chunks()) void c;
  log(`  warm-up: first serialization of 10,000 keys ${ms(performance.now() - w0)}`);
  const rows: Record<string, number>[] = [];
  for (const n of a.keys) rows.push(await measure(n, a, log));
  if (a.json) process.stdout.write(JSON.stringify({ valueBytes: a.valueBytes, node: process.version, rows }, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
