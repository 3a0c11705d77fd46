/**
 * What one benchmark run does: the workload, how much load (in-flight requests over how many
 * connections), for how long, and the shape of the keys and values. Validated here, once, so the
 * runner can rely on it.
 */
import { assertNever } from '../core/assert.js';
import {
  BENCH_CONCURRENCY_MAX,
  BENCH_CONNECTIONS_MAX,
  BENCH_KEY_COUNT_MAX,
  BENCH_VALUE_BYTES_MAX,
  BENCH_WATCHERS_MAX,
} from '../core/limits.js';
import { BenchError } from './errors.js';
import { ZIPFIAN_THETA_DEFAULT, type KeyDistribution } from './key-chooser.js';

export type BenchWorkload =
  | { readonly type: 'put' }
  | { readonly type: 'range'; readonly serializable: boolean }
  | { readonly type: 'txn' }
  | { readonly type: 'mixed'; readonly readPercent: number; readonly serializable: boolean }
  | { readonly type: 'watch'; readonly watchers: number }
  | { readonly type: 'lease'; readonly ttlSeconds: number };

export const WORKLOAD_NAMES = ['put', 'range', 'range-serializable', 'txn', 'mixed', 'watch', 'lease'] as const;

export interface BenchOptions {
  /** host:port of each member; connections are spread over them. */
  readonly endpoints: readonly string[];
  readonly workload: BenchWorkload;
  /** Requests in flight at once (closed loop: each worker sends its next request when the last returns). */
  readonly concurrency: number;
  /** HTTP/2 connections the requests are multiplexed on. */
  readonly connections: number;
  /** Stop after this long (the warm-up not counted) ... */
  readonly durationMs: number | null;
  /** ... or after this many operations, whichever comes first. */
  readonly totalOps: number | null;
  /** Load before measuring, not counted. */
  readonly warmupMs: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  /** Distinct keys the workload touches. */
  readonly keyCount: number;
  readonly distribution: KeyDistribution;
  /** Deadline of each request. */
  readonly requestTimeoutMs: number;
  /** Write every key once before a read workload starts (so reads find values). */
  readonly preload: boolean;
  readonly keyPrefix: string;
  readonly seed: number;
  /** What a worker waits after a failed request before its next (BENCH_ERROR_BACKOFF_MS by default). */
  readonly errorBackoffMs?: number;
}

export const BENCH_DEFAULTS = {
  concurrency: 64,
  connections: 4,
  durationMs: 10_000,
  warmupMs: 1000,
  keyBytes: 16,
  valueBytes: 256,
  keyCount: 10_000,
  requestTimeoutMs: 10_000,
  readPercent: 90,
  watchers: 16,
  leaseTtlSeconds: 10,
  keyPrefix: 'bench/',
} as const;

/** Throws a BenchError naming the first thing to fix. */
export function validateBenchOptions(o: BenchOptions): void {
  const bad = (m: string): never => {
    throw new BenchError('invalid-options', m);
  };
  if (o.endpoints.length === 0) bad('give at least one endpoint (host:port)');
  for (const e of o.endpoints) if (!/^[^\s:]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i.test(e.replace(/^https?:\/\//, ''))) bad(`endpoint "${e}" is not host:port`);
  const intIn = (name: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) bad(`${name} must be a whole number in [${min}, ${max}], got ${v}`);
  };
  intIn('concurrency', o.concurrency, 1, BENCH_CONCURRENCY_MAX);
  intIn('connections', o.connections, 1, BENCH_CONNECTIONS_MAX);
  if (o.connections > o.concurrency && o.workload.type !== 'watch') bad(`more connections (${o.connections}) than requests in flight (${o.concurrency}) leaves connections idle`);
  if (o.durationMs === null && o.totalOps === null) bad('give a duration or a total number of operations');
  if (o.durationMs !== null) intIn('duration (ms)', o.durationMs, 1, 24 * 3600 * 1000);
  if (o.totalOps !== null) intIn('total operations', o.totalOps, 1, Number.MAX_SAFE_INTEGER);
  intIn('warm-up (ms)', o.warmupMs, 0, 3600 * 1000);
  intIn('key size', o.keyBytes, 1, 1024);
  intIn('value size', o.valueBytes, 0, BENCH_VALUE_BYTES_MAX);
  intIn('key count', o.keyCount, 1, BENCH_KEY_COUNT_MAX);
  intIn('request timeout (ms)', o.requestTimeoutMs, 1, 3600 * 1000);
  if (o.keyPrefix.length + String(o.keyCount - 1).length > o.keyBytes) bad(`key size ${o.keyBytes} is too small for prefix "${o.keyPrefix}" and ${o.keyCount} keys`);
  if (o.distribution.type === 'zipfian' && !(o.distribution.theta > 0 && o.distribution.theta < 1)) bad('zipfian theta must be in (0, 1)');
  const w = o.workload;
  switch (w.type) {
    case 'put':
    case 'range':
    case 'txn':
      break;
    case 'mixed':
      intIn('read percent', w.readPercent, 0, 100);
      break;
    case 'watch':
      intIn('watchers', w.watchers, 1, BENCH_WATCHERS_MAX);
      if (o.valueBytes < 8) bad('the watch workload carries a send time in each value: value size must be at least 8');
      break;
    case 'lease':
      intIn('lease TTL (s)', w.ttlSeconds, 1, 3600);
      break;
    default:
      assertNever(w, 'bench workload');
  }
}

export function workloadName(w: BenchWorkload): string {
  switch (w.type) {
    case 'put':
    case 'txn':
      return w.type;
    case 'range':
      return w.serializable ? 'range-serializable' : 'range';
    case 'mixed':
      return `mixed-${w.readPercent}r${w.serializable ? '-serializable' : ''}`;
    case 'watch':
      return `watch-${w.watchers}`;
    case 'lease':
      return 'lease';
    default:
      return assertNever(w, 'bench workload');
  }
}

/** "10s", "250ms", "2m", "1h", or a bare number of seconds, as milliseconds; null if malformed. */
export function parseDurationMs(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

/** "uniform", "zipfian" or "zipfian:0.8". */
export function parseDistribution(text: string): KeyDistribution | null {
  if (text === 'uniform') return { type: 'uniform' };
  const m = /^zipfian(?::(\d*\.?\d+))?$/.exec(text);
  if (m === null) return null;
  return { type: 'zipfian', theta: m[1] === undefined ? ZIPFIAN_THETA_DEFAULT : Number(m[1]) };
}
