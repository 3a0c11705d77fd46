/**
 * Runs one benchmark: `concurrency` closed-loop workers over `connections` HTTP/2 connections, for a
 * duration or a number of operations, recording each request's latency in a histogram and the
 * process's own CPU time, so the report can show that the client was not the bottleneck.
 */
import { performance } from 'node:perf_hooks';
import type { ClientDuplex } from '../api/grpc/index.js';
import type { LeaseKeepAliveRequestInit, LeaseKeepAliveResponse, WatchRequestInit, WatchResponse } from '../api/proto/generated/etcdserverpb.js';
import { assertNever } from '../core/assert.js';
import { BENCH_ERROR_BACKOFF_MS, BENCH_ERROR_KINDS_MAX, BENCH_PRELOAD_CONCURRENCY, BENCH_PROGRESS_INTERVAL_MS, BENCH_WATCH_DRAIN_MS_MAX } from '../core/limits.js';
import { SeededRandom } from '../env/random.js';
import { validateBenchOptions, workloadName, type BenchOptions, type BenchWorkload } from './bench-options.js';
import { BenchError } from './errors.js';
import { bytes, EtcdConnection, errorText } from './etcd-client.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { keyChooser, keyName, type KeyChooser } from './key-chooser.js';

export interface BenchProgress {
  readonly phase: 'preload' | 'warmup' | 'measure';
  readonly elapsedMs: number;
  readonly ops: number;
  readonly errors: number;
  /** Fraction done in [0, 1] (by time or by operations, whichever is nearer its end). */
  readonly fraction: number;
  /** Operations per second over the last interval. */
  readonly rate: number;
}

export interface BenchResult {
  readonly workload: string;
  readonly endpoints: readonly string[];
  readonly concurrency: number;
  readonly connections: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  readonly keyCount: number;
  readonly distribution: string;
  readonly durationMs: number;
  readonly ops: number;
  readonly errors: number;
  /** Distinct error messages with their counts (the most frequent first, bounded). */
  readonly errorKinds: readonly { readonly message: string; readonly count: number }[];
  readonly throughput: number;
  /** Latency in microseconds: of each request, or for `watch` from the put's send to each watcher's receipt. */
  readonly latencyUs: HistogramSummary;
  /** For `watch`: the writers' put latency. */
  readonly putLatencyUs?: HistogramSummary;
  /** For `watch`: events delivered, and events expected (puts × watchers) that never arrived. */
  readonly watch?: { readonly delivered: number; readonly missing: number; readonly puts: number };
  readonly cpu: {
    readonly userMs: number;
    readonly systemMs: number;
    /** Client CPU per operation, user + system. */
    readonly perOpUs: number;
    /** CPU time over wall time: 1.0 is one core fully busy. */
    readonly utilization: number;
  };
  readonly histogram: readonly [number, number][];
}

export interface RunHooks {
  readonly onProgress?: (p: BenchProgress) => void;
  /** Stops the run early (Ctrl-C): the result covers what was measured. */
  readonly signal?: AbortSignal;
  /**
   * The measurement begins (after the warm-up) and ends (its wall time is taken), so a caller can
   * read server-side figures (CPU time, memory) over exactly the measured span.
   */
  readonly onMeasure?: (event: 'start' | 'end') => void;
}

interface Tally {
  measuring: boolean;
  ops: number;
  errors: number;
  issued: number;
  readonly latency: Histogram;
  readonly errorKinds: Map<string, number>;
}

export async function runBench(o: BenchOptions, hooks: RunHooks = {}): Promise<BenchResult> {
  validateBenchOptions(o);
  const conns = Array.from({ length: o.connections }, (_, i) => new EtcdConnection(o.endpoints[i % o.endpoints.length]!));
  try {
    await checkReachable(conns, o.requestTimeoutMs);
    if (o.preload && needsPreload(o.workload)) await preload(o, conns, hooks);
    if (o.workload.type === 'watch') return await runWatch(o, conns, o.workload.watchers, hooks);
    return await runClosedLoop(o, conns, hooks);
  } finally {
    for (const c of conns) c.close();
  }
}

function needsPreload(w: BenchWorkload): boolean {
  return w.type === 'range' || w.type === 'mixed' || w.type === 'txn';
}

async function checkReachable(conns: readonly EtcdConnection[], timeoutMs: number): Promise<void> {
  const seen = new Set<string>();
  for (const c of conns) {
    if (seen.has(c.endpoint)) continue;
    seen.add(c.endpoint);
    try {
      await c.status({ deadlineMs: Math.min(timeoutMs, 5000) });
    } catch (e) {
      throw new BenchError('unreachable', `${c.endpoint} does not answer Maintenance.Status: ${errorText(e)}`, { cause: e });
    }
  }
}

async function preload(o: BenchOptions, conns: readonly EtcdConnection[], hooks: RunHooks): Promise<void> {
  const value = valueBytes(o.valueBytes, o.seed);
  let next = 0;
  let done = 0;
  const t0 = performance.now();
  const worker = async (w: number): Promise<void> => {
    const c = conns[w % conns.length]!;
    while (next < o.keyCount && hooks.signal?.aborted !== true) {
      const i = next++;
      try {
        await c.put(bytes(keyName(o.keyPrefix, i, o.keyBytes)), value, { deadlineMs: o.requestTimeoutMs });
      } catch (e) {
        throw new BenchError('preload-failed', `writing key ${i} before the run failed: ${errorText(e)}`, { cause: e });
      }
      done++;
      if (done % 1000 === 0) hooks.onProgress?.({ phase: 'preload', elapsedMs: performance.now() - t0, ops: done, errors: 0, fraction: done / o.keyCount, rate: 0 });
    }
  };
  await Promise.all(Array.from({ length: Math.min(BENCH_PRELOAD_CONCURRENCY, o.keyCount) }, (_, w) => worker(w)));
}

function valueBytes(n: number, seed: number): Uint8Array {
  const r = new SeededRandom(seed ^ 0x5eed);
  // Printable bytes, so a value shown by etcdctl reads as text.
  return Uint8Array.from({ length: n }, () => 97 + r.int(26));
}

function newTally(): Tally {
  return { measuring: false, ops: 0, errors: 0, issued: 0, latency: new Histogram(), errorKinds: new Map() };
}

function noteError(t: Tally, e: unknown): void {
  if (!t.measuring) return;
  t.errors++;
  const m = errorText(e).slice(0, 160);
  const n = t.errorKinds.get(m);
  if (n !== undefined) t.errorKinds.set(m, n + 1);
  else if (t.errorKinds.size < BENCH_ERROR_KINDS_MAX) t.errorKinds.set(m, 1);
}

/** Keys as bytes, computed once when there are not too many. */
function keyTable(o: BenchOptions): (i: number) => Uint8Array {
  if (o.keyCount <= 100_000) {
    const table = Array.from({ length: o.keyCount }, (_, i) => bytes(keyName(o.keyPrefix, i, o.keyBytes)));
    return (i) => table[i]!;
  }
  return (i) => bytes(keyName(o.keyPrefix, i, o.keyBytes));
}

type Op = (conn: EtcdConnection, worker: WorkerState) => Promise<unknown>;

interface WorkerState {
  readonly keys: KeyChooser;
  readonly random: SeededRandom;
  keepAlive: KeepAliveLane | null;
}

function makeOp(o: BenchOptions): Op {
  const key = keyTable(o);
  const value = valueBytes(o.valueBytes, o.seed);
  const call = { deadlineMs: o.requestTimeoutMs };
  const w = o.workload;
  switch (w.type) {
    case 'put':
      return (c, s) => c.put(key(s.keys.next()), value, call);
    case 'range':
      return (c, s) => c.range({ key: key(s.keys.next()), serializable: w.serializable }, call);
    case 'txn':
      // A compare on the key's version (always true after the preload), then a put: one guarded write.
      return (c, s) => {
        const k = key(s.keys.next());
        return c.txn([{ key: k, target: 0, result: 1, targetUnion: { type: 'version', value: 0 } }], [{ request: { type: 'requestPut', value: { key: k, value } } }], [{ request: { type: 'requestRange', value: { key: k } } }], call);
      };
    case 'mixed':
      return (c, s) => {
        const k = key(s.keys.next());
        return s.random.int(100) < w.readPercent ? c.range({ key: k, serializable: w.serializable }, call) : c.put(k, value, call);
      };
    case 'lease':
      return async (c, s) => {
        const lease = await c.leaseGrant(w.ttlSeconds, call);
        s.keepAlive ??= new KeepAliveLane(c);
        await s.keepAlive.renew(lease.id, o.requestTimeoutMs);
        await c.leaseRevoke(lease.id, call);
      };
    case 'watch':
      throw new Error('the watch workload has its own runner');
    default:
      return assertNever(w, 'bench workload');
  }
}

/** One LeaseKeepAlive stream used for one request at a time. */
class KeepAliveLane {
  private stream: ClientDuplex<LeaseKeepAliveRequestInit, LeaseKeepAliveResponse> | null = null;
  private iterator: AsyncIterator<LeaseKeepAliveResponse> | null = null;

  constructor(private readonly conn: EtcdConnection) {}

  async renew(id: bigint, timeoutMs: number): Promise<void> {
    if (this.stream === null || this.iterator === null) {
      this.stream = this.conn.keepAliveStream();
      this.iterator = this.stream[Symbol.asyncIterator]();
    }
    const it = this.iterator;
    const stream = this.stream;
    let timer: NodeJS.Timeout | undefined;
    try {
      await stream.write({ ID: id });
      const r = await Promise.race([
        it.next(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`keep-alive got no answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (r.done === true) throw new Error('keep-alive stream ended');
      if (r.value.TTL <= 0) throw new Error('keep-alive: the lease is gone');
    } catch (e) {
      stream.cancel();
      this.stream = null;
      this.iterator = null;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.stream?.cancel();
  }
}

async function runClosedLoop(o: BenchOptions, conns: readonly EtcdConnection[], hooks: RunHooks): Promise<BenchResult> {
  const op = makeOp(o);
  const tally = newTally();
  const clock = phaseClock(o, tally, hooks);
  const workers: WorkerState[] = [];
  const worker = async (w: number): Promise<void> => {
    const conn = conns[w % conns.length]!;
    const random = new SeededRandom(o.seed * 7919 + w);
    const state: WorkerState = { keys: keyChooser({ distribution: o.distribution, keyCount: o.keyCount, random }), random, keepAlive: null };
    workers.push(state);
    while (!clock.stopped()) {
      if (tally.measuring && o.totalOps !== null && tally.issued >= o.totalOps) break;
      if (tally.measuring) tally.issued++;
      const counted = tally.measuring;
      const t0 = performance.now();
      try {
        await op(conn, state);
        if (counted && tally.measuring) {
          tally.latency.record((performance.now() - t0) * 1000);
          tally.ops++;
        }
      } catch (e) {
        if (counted) noteError(tally, e);
        // A worker whose connection is gone, or whose server refuses at once, must not spin.
        await new Promise((r) => setTimeout(r, o.errorBackoffMs ?? BENCH_ERROR_BACKOFF_MS));
      }
    }
  };
  clock.start();
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  const end = clock.finish();
  for (const s of workers) s.keepAlive?.close();
  return result(o, tally, end, {});
}

/**
 * The run's phases: warm-up (load, not counted), then measurement until the duration, the operation
 * count or the abort signal ends it. CPU is measured over the measurement only.
 */
function phaseClock(o: BenchOptions, tally: Tally, hooks: RunHooks) {
  let stopped = false;
  let measureStart = 0;
  let cpuStart = process.cpuUsage();
  let warmTimer: NodeJS.Timeout | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  const t0 = performance.now();
  let lastOps = 0;
  let lastAt = t0;
  const beginMeasure = (): void => {
    tally.measuring = true;
    measureStart = performance.now();
    cpuStart = process.cpuUsage();
    hooks.onMeasure?.('start');
    if (o.durationMs !== null) endTimer = setTimeout(() => (stopped = true), o.durationMs);
  };
  const onAbort = (): void => {
    stopped = true;
  };
  return {
    start(): void {
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      if (hooks.signal?.aborted === true) stopped = true;
      if (o.warmupMs > 0) warmTimer = setTimeout(beginMeasure, o.warmupMs);
      else beginMeasure();
      if (hooks.onProgress !== undefined) {
        const report = hooks.onProgress;
        progressTimer = setInterval(() => {
          const now = performance.now();
          const rate = ((tally.ops - lastOps) * 1000) / Math.max(1, now - lastAt);
          lastOps = tally.ops;
          lastAt = now;
          if (!tally.measuring) {
            report({ phase: 'warmup', elapsedMs: now - t0, ops: 0, errors: 0, fraction: 0, rate: 0 });
            return;
          }
          const elapsed = now - measureStart;
          const byTime = o.durationMs === null ? 0 : elapsed / o.durationMs;
          const byOps = o.totalOps === null ? 0 : tally.issued / o.totalOps;
          report({ phase: 'measure', elapsedMs: elapsed, ops: tally.ops, errors: tally.errors, fraction: Math.min(1, Math.max(byTime, byOps)), rate });
        }, BENCH_PROGRESS_INTERVAL_MS);
      }
    },
    stopped: (): boolean => stopped,
    stop(): void {
      stopped = true;
    },
    /** Ends the run: the measured wall time and CPU. */
    finish(): { wallMs: number; cpu: NodeJS.CpuUsage } {
      clearTimeout(warmTimer);
      clearTimeout(endTimer);
      clearInterval(progressTimer);
      hooks.signal?.removeEventListener('abort', onAbort);
      if (!tally.measuring) return { wallMs: 0, cpu: { user: 0, system: 0 } };
      tally.measuring = false;
      const end = { wallMs: performance.now() - measureStart, cpu: process.cpuUsage(cpuStart) };
      hooks.onMeasure?.('end');
      return end;
    },
  };
}

function result(o: BenchOptions, tally: Tally, end: { wallMs: number; cpu: NodeJS.CpuUsage }, extra: Partial<Pick<BenchResult, 'putLatencyUs' | 'watch'>>, opsOverride?: number): BenchResult {
  const ops = opsOverride ?? tally.ops;
  const cpuUs = end.cpu.user + end.cpu.system;
  const errorKinds = [...tally.errorKinds].sort((a, b) => b[1] - a[1]).map(([message, count]) => ({ message, count }));
  return {
    workload: workloadName(o.workload),
    endpoints: o.endpoints,
    concurrency: o.concurrency,
    connections: o.connections,
    keyBytes: o.keyBytes,
    valueBytes: o.valueBytes,
    keyCount: o.keyCount,
    distribution: o.distribution.type === 'uniform' ? 'uniform' : `zipfian(${o.distribution.theta})`,
    durationMs: end.wallMs,
    ops,
    errors: tally.errors,
    errorKinds,
    throughput: end.wallMs > 0 ? (ops * 1000) / end.wallMs : 0,
    latencyUs: tally.latency.summary(),
    ...extra,
    cpu: {
      userMs: end.cpu.user / 1000,
      systemMs: end.cpu.system / 1000,
      perOpUs: ops > 0 ? cpuUs / ops : 0,
      utilization: end.wallMs > 0 ? cpuUs / 1000 / end.wallMs : 0,
    },
    histogram: tally.latency.buckets(),
  };
}

/**
 * Watch fan-out: `watchers` watch streams on one key, `concurrency` writers putting to it. Each
 * value starts with the put's send time, so every watcher measures delivery latency on the same
 * clock. Throughput counts delivered events.
 */
async function runWatch(o: BenchOptions, conns: readonly EtcdConnection[], watcherCount: number, hooks: RunHooks): Promise<BenchResult> {
  const key = bytes(`${o.keyPrefix}watch`);
  const delivery = newTally();
  delivery.measuring = true; // puts sent during the warm-up carry a negative time and are skipped
  const puts = newTally();
  let delivered = 0;
  const streams: ClientDuplex<WatchRequestInit, WatchResponse>[] = [];
  const readers: Promise<void>[] = [];
  const created: Promise<void>[] = [];
  for (let i = 0; i < watcherCount; i++) {
    const s = conns[i % conns.length]!.watchStream();
    streams.push(s);
    let onCreated!: () => void;
    let onFailed!: (e: unknown) => void;
    created.push(new Promise<void>((res, rej) => ((onCreated = res), (onFailed = rej))));
    await s.write({ requestUnion: { type: 'createRequest', value: { key } } });
    readers.push(
      (async () => {
        try {
          for await (const r of s) {
            if (r.created) onCreated();
            const now = performance.now();
            for (const ev of r.events) {
              const v = ev.kv?.value;
              if (v === undefined || v.length < 8) continue;
              const sent = new DataView(v.buffer, v.byteOffset, 8).getFloat64(0, true);
              if (sent < 0) continue; // written during warm-up
              delivery.latency.record((now - sent) * 1000);
              delivery.ops++;
              delivered++;
            }
          }
          onFailed(new BenchError('watch-failed', 'the watch stream ended'));
        } catch (e) {
          onFailed(e);
          noteError(delivery, e);
        }
      })(),
    );
  }
  try {
    await Promise.race([Promise.all(created), new Promise<never>((_, rej) => setTimeout(() => rej(new BenchError('watch-failed', 'watchers were not created in time')), o.requestTimeoutMs))]);
  } catch (e) {
    for (const s of streams) s.cancel();
    throw e;
  }

  const clock = phaseClock(o, puts, hooks);
  const value = new Uint8Array(o.valueBytes);
  const writer = async (w: number): Promise<void> => {
    const conn = conns[w % conns.length]!;
    while (!clock.stopped()) {
      if (puts.measuring && o.totalOps !== null && puts.issued >= o.totalOps) break;
      const counted = puts.measuring;
      if (counted) puts.issued++;
      const t0 = performance.now();
      const v = value.slice();
      new DataView(v.buffer).setFloat64(0, counted ? t0 : -1, true);
      try {
        await conn.put(key, v, { deadlineMs: o.requestTimeoutMs });
        if (counted && puts.measuring) {
          puts.latency.record((performance.now() - t0) * 1000);
          puts.ops++;
        }
      } catch (e) {
        if (counted) noteError(puts, e);
        await new Promise((r) => setTimeout(r, o.errorBackoffMs ?? BENCH_ERROR_BACKOFF_MS));
      }
    }
  };
  clock.start();
  await Promise.all(Array.from({ length: o.concurrency }, (_, w) => writer(w)));
  // Let the last events arrive before closing the streams.
  const expected = puts.ops * watcherCount;
  const drainUntil = performance.now() + BENCH_WATCH_DRAIN_MS_MAX;
  while (delivered < expected && performance.now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  const end = clock.finish();
  delivery.measuring = false; // the cancellations below are not errors
  for (const s of streams) s.cancel();
  await Promise.allSettled(readers);
  delivery.errors += puts.errors;
  for (const [m, n] of puts.errorKinds) delivery.errorKinds.set(m, (delivery.errorKinds.get(m) ?? 0) + n);
  return result(o, delivery, end, { putLatencyUs: puts.latency.summary(), watch: { delivered, missing: Math.max(0, expected - delivered), puts: puts.ops } }, delivered);
}
