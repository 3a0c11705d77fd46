/**
 * The state machine, in process: apply throughput (puts, txns), reads at scale (one key, a
 * 100-key prefix), memory per key against the raw bytes, snapshot size and save/restore time,
 * and compaction. Not a test: a tool that prints a report.
 *
 *   node --expose-gc dist/bench/kv.js [--keys 1000000] [--value-bytes 256] [--json]
 *
 * --expose-gc makes the heap figures exact (a full GC before each reading); without it they
 * include garbage. Figures on a shared machine are noisy: compare ratios within one run.
 */
import { nodeIdFromBigInt, logIndex, term } from '../src/core/ids.js';
import { compare, encodeCommand, prefixEnd, putOp, rangeOp, txnOp, type Op } from '../src/kv/command.js';
import { KvStore } from '../src/kv/kv-store.js';
import { parseStoreBenchArgs, type StoreBenchArgs } from './store-args.js';

function parseArgs(argv: readonly string[]): StoreBenchArgs {
  return parseStoreBenchArgs(argv, { keys: 1_000_000 }, 'usage: node --expose-gc dist/bench/kv.js [--keys N] [--value-bytes N] [--json]');
}

const gc = (globalThis as { gc?: () => void }).gc;
function settle(): NodeJS.MemoryUsage {
  gc?.();
  gc?.();
  return process.memoryUsage();
}

const MEMBER = nodeIdFromBigInt(1n);
const key = (i: number): string => `/bench/k${String(i).padStart(8, '0')}`;
const BATCH = 10_000;

/** Wall and CPU seconds of a piece of work (the machine is shared: CPU time is the steadier figure). */
interface Timing {
  wallSec: number;
  cpuSec: number;
}

function clock(): () => Timing {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return { wallSec: (performance.now() - t0) / 1000, cpuSec: (c.user + c.system) / 1e6 };
  };
}

const add = (a: Timing, b: Timing): Timing => ({ wallSec: a.wallSec + b.wallSec, cpuSec: a.cpuSec + b.cpuSec });
const rate = (n: number, t: Timing): string => `${fmt(n / t.wallSec).padStart(10)} /s wall  ${fmt(n / t.cpuSec).padStart(10)} /s cpu`;

/** Applies ops, encoding each batch outside the timed part. */
function applyAll(store: KvStore, count: number, make: (i: number) => Op, counter: { index: number }): Timing {
  let total: Timing = { wallSec: 0, cpuSec: 0 };
  for (let base = 0; base < count; base += BATCH) {
    const n = Math.min(BATCH, count - base);
    const data: Uint8Array[] = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) data[i] = encodeCommand({ requestId: { member: MEMBER, counter: counter.index + i + 1 }, session: null, op: make(base + i) });
    const done = clock();
    for (let i = 0; i < n; i++) {
      const r = store.apply({ index: logIndex(++counter.index), term: term(1), kind: 'normal', data: data[i]! });
      if (r.outcome.type === 'error') throw new Error(`bench op failed: ${r.outcome.code}`);
    }
    total = add(total, done());
  }
  return total;
}

/** Runs `fn` over prepared inputs for about `seconds` of wall time. */
function timeLoop<T>(seconds: number, inputs: readonly T[], fn: (x: T) => void): { n: number; t: Timing } {
  const done = clock();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    for (let j = 0; j < 100; j++) fn(inputs[n++ % inputs.length]!);
  }
  return { n, t: done() };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const N = args.keys;
  const value = new Uint8Array(args.valueBytes).fill(0x61);
  const rawBytesPerKey = key(0).length + args.valueBytes;
  const out: Record<string, number | string | boolean> = { keys: N, valueBytes: args.valueBytes, rawBytesPerKey, exactHeap: gc !== undefined, node: process.version };
  const log = (s: string): void => {
    if (!args.json) process.stdout.write(s + '\n');
  };
  log(`State machine benchmark: ${N.toLocaleString()} keys of ${key(0).length} bytes, values of ${args.valueBytes} bytes (node ${process.version})`);
  if (gc === undefined) log('  (run with node --expose-gc for exact heap figures)');

  log('  Rates per wall-clock second and per CPU-second of this process (the machine is shared).');
  const before = settle();
  const store = new KvStore({ quotaBytes: Number.MAX_SAFE_INTEGER });
  const counter = { index: 0 };
  const load = applyAll(store, N, (i) => putOp(key(i), value), counter);
  out['putsPerSecNewKeys'] = N / load.wallSec;
  out['putsPerCpuSecNewKeys'] = N / load.cpuSec;
  log(`\nApply (decode + apply; entries encoded beforehand)`);
  log(`  puts, new keys          ${rate(N, load)}`);

  const loaded = settle();
  const heapPerKey = (loaded.heapUsed - before.heapUsed) / N;
  const rssPerKey = (loaded.rss - before.rss) / N;
  out['heapBytesPerKey'] = heapPerKey;
  out['rssBytesPerKey'] = rssPerKey;
  log(`\nMemory at ${N.toLocaleString()} keys (one revision each)`);
  log(`  heap per key           ${heapPerKey.toFixed(0)} B   = ${(heapPerKey / rawBytesPerKey).toFixed(2)} x the raw ${rawBytesPerKey} B`);
  log(`  RSS per key            ${rssPerKey.toFixed(0)} B   = ${(rssPerKey / rawBytesPerKey).toFixed(2)} x the raw bytes`);

  const overwrite = Math.min(100_000, N);
  const ow = applyAll(store, overwrite, (i) => putOp(key((i * 7919) % N), value), counter);
  out['putsPerSecOverwrite'] = overwrite / ow.wallSec;
  out['putsPerCpuSecOverwrite'] = overwrite / ow.cpuSec;
  log(`\nApply on the loaded store`);
  log(`  puts, existing keys     ${rate(overwrite, ow)}`);
  const txns = 50_000;
  const txnT = applyAll(
    store,
    txns,
    (i) => {
      const k = key((i * 104_729) % N);
      return txnOp([compare(k, 'greater', { type: 'version', version: 0 })], [putOp(k, value), putOp(key((i * 104_729 + 1) % N), value)], [rangeOp(k)]);
    },
    counter,
  );
  out['txnsPerSec'] = txns / txnT.wallSec;
  out['txnsPerCpuSec'] = txns / txnT.cpuSec;
  log(`  txns (compare + 2 puts) ${rate(txns, txnT)}`);

  log(`\nReads at ${N.toLocaleString()} keys (local, serializable)`);
  const gets = Array.from({ length: 10_000 }, (_, i) => rangeOp(key((i * 7919) % N)));
  const get = timeLoop(2, gets, (op) => {
    if (store.range(op).kvs.length !== 1) throw new Error('get missed');
  });
  out['getsPerSec'] = get.n / get.t.wallSec;
  out['getsPerCpuSec'] = get.n / get.t.cpuSec;
  log(`  get one key             ${rate(get.n, get.t)}`);
  const prefixes = Math.floor(N / 100);
  const ranges = Array.from({ length: 1000 }, (_, i) => {
    const p = key(((i * 7919) % prefixes) * 100).slice(0, -2);
    return rangeOp(p, { rangeEnd: prefixEnd(p) });
  });
  const pr = timeLoop(2, ranges, (op) => {
    const r = store.range(op);
    if (r.kvs.length !== 100) throw new Error(`prefix range returned ${r.kvs.length}`);
  });
  out['prefixRange100PerSec'] = pr.n / pr.t.wallSec;
  out['prefixRange100PerCpuSec'] = pr.n / pr.t.cpuSec;
  log(`  100-key prefix range    ${rate(pr.n, pr.t)}`);

  log(`\nSnapshot of ${store.status().historyRecords.toLocaleString()} history records`);
  const src = store.snapshot();
  let done = clock();
  const chunks: Uint8Array[] = [];
  let snapBytes = 0;
  for (const c of src.chunks()) {
    chunks.push(c);
    snapBytes += c.length;
  }
  const save = done();
  out['snapshotBytes'] = snapBytes;
  out['snapshotChunks'] = chunks.length;
  out['snapshotSaveWallSec'] = save.wallSec;
  out['snapshotSaveCpuSec'] = save.cpuSec;
  log(`  size                    ${(snapBytes / 1024 / 1024).toFixed(1)} MiB in ${chunks.length} chunks (${(snapBytes / N).toFixed(0)} B per key)`);
  log(`  serialize               ${secs(save)}`);
  const restored = new KvStore({ quotaBytes: Number.MAX_SAFE_INTEGER });
  done = clock();
  const sink = restored.restore(src.index);
  for (const c of chunks) sink.write(c);
  sink.finish();
  const restore = done();
  out['snapshotRestoreWallSec'] = restore.wallSec;
  out['snapshotRestoreCpuSec'] = restore.cpuSec;
  log(`  restore                 ${secs(restore)}`);
  chunks.length = 0;
  done = clock();
  const h1 = store.stateHash();
  const hash = done();
  const same = restored.stateHash() === h1;
  out['stateHashCpuSec'] = hash.cpuSec;
  out['restoredHashMatches'] = same;
  log(`  whole-state hash        ${secs(hash)}; the restored copy ${same ? 'matches' : 'DIFFERS'}`);

  log(`\nCompaction`);
  const historyRecords = store.status().historyRecords;
  done = clock();
  const compactTo = store.revision;
  const r = store.apply({
    index: logIndex(++counter.index),
    term: term(1),
    kind: 'normal',
    data: encodeCommand({ requestId: { member: MEMBER, counter: counter.index }, session: null, op: { type: 'compaction', revision: compactTo, physical: true } }),
  });
  if (r.outcome.type === 'error') throw new Error(r.outcome.code);
  const compact = done();
  out['compactionCpuSec'] = compact.cpuSec;
  log(`  to the current revision, physical, over ${historyRecords.toLocaleString()} records: ${secs(compact)}`);

  if (args.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

function secs(t: Timing): string {
  return `${t.wallSec.toFixed(2)} s wall, ${t.cpuSec.toFixed(2)} s cpu`;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

main();
