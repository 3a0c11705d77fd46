import { parseArgs } from 'node:util';
import { BENCH_DEFAULTS, parseDistribution, parseDurationMs, validateBenchOptions, WORKLOAD_NAMES, type BenchOptions, type BenchWorkload } from '../bench/bench-options.js';
import { runCompare } from '../bench/compare.js';
import { BenchError } from '../bench/errors.js';
import { ProgressBar, renderProgress } from '../bench/progress-bar.js';
import { compareResults, formatComparison, formatResult } from '../bench/report.js';
import { runBench } from '../bench/runner.js';
import { UsageError, type Command } from './command.js';

const usage = `bulwark bench: a load generator for any etcd v3 endpoints (Bulwark or etcd)

Usage:
  bulwark bench --endpoints HOST:PORT[,HOST:PORT...] [flags]
  bulwark bench --compare A_ENDPOINTS B_ENDPOINTS [--rounds 3] [flags]

Workload:
  --workload NAME        ${WORKLOAD_NAMES.join(', ')} (default put)
                         range: linearizable reads; range-serializable: local reads;
                         txn: a compare on the key's version then a put;
                         mixed: reads and puts (--read-percent, --serializable);
                         watch: one key, --watchers streams, --concurrency writers; latency is
                         from a put's send to each watcher's receipt;
                         lease: grant, one keep-alive, revoke (--lease-ttl)
  --read-percent N       mixed: share of reads (default ${BENCH_DEFAULTS.readPercent})
  --serializable         mixed: serializable reads
  --watchers N           watch: watch streams (default ${BENCH_DEFAULTS.watchers})
  --lease-ttl SECONDS    lease: TTL granted (default ${BENCH_DEFAULTS.leaseTtlSeconds})

Load:
  --concurrency N        requests in flight (default ${BENCH_DEFAULTS.concurrency})
  --connections N        HTTP/2 connections, spread over the endpoints (default ${BENCH_DEFAULTS.connections})
  --duration D           measure for D (10s, 500ms, 2m; default 10s) ...
  --total N              ... or for N operations, whichever ends first
  --warmup D             load before measuring, not counted (default 1s)
  --timeout D            deadline of each request (default 10s)

Data:
  --keys N               distinct keys (default ${BENCH_DEFAULTS.keyCount})
  --key-size BYTES       (default ${BENCH_DEFAULTS.keyBytes})
  --value-size BYTES     (default ${BENCH_DEFAULTS.valueBytes})
  --distribution D       uniform or zipfian[:THETA] (default uniform; zipfian's theta 0.99)
  --prefix P             key prefix (default ${BENCH_DEFAULTS.keyPrefix})
  --no-preload           do not write the keys before a read workload
  --seed N               seed of the key choices

Output:
  --json                 one JSON document on stdout instead of the text report
  --no-progress          no progress bar (it is drawn on stderr when stderr is a terminal)

The report shows the client's own CPU per operation: if it nears one core, the client, not the
server, limits the figures.

Examples:
  bulwark bench --endpoints 127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379 --workload put --concurrency 64
  bulwark bench --workload range-serializable --compare 127.0.0.1:2379 127.0.0.1:12379 --rounds 5`;

const options = {
  endpoints: { type: 'string' },
  compare: { type: 'boolean' },
  rounds: { type: 'string' },
  workload: { type: 'string' },
  'read-percent': { type: 'string' },
  serializable: { type: 'boolean' },
  watchers: { type: 'string' },
  'lease-ttl': { type: 'string' },
  concurrency: { type: 'string' },
  connections: { type: 'string' },
  duration: { type: 'string' },
  total: { type: 'string' },
  warmup: { type: 'string' },
  timeout: { type: 'string' },
  keys: { type: 'string' },
  'key-size': { type: 'string' },
  'value-size': { type: 'string' },
  distribution: { type: 'string' },
  prefix: { type: 'string' },
  'no-preload': { type: 'boolean' },
  seed: { type: 'string' },
  json: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
} as const;

function int(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a whole number, got "${v}"`);
  return Number(v);
}

function duration(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const d = parseDurationMs(v);
  if (d === null) throw new UsageError(`--${flag}: expected a duration like 10s, 500ms or 2m, got "${v}"`);
  return d;
}

function workloadOf(values: Record<string, string | boolean | undefined>): BenchWorkload {
  const name = (values['workload'] as string | undefined) ?? 'put';
  switch (name) {
    case 'put':
    case 'txn':
      return { type: name };
    case 'range':
      return { type: 'range', serializable: false };
    case 'range-serializable':
      return { type: 'range', serializable: true };
    case 'mixed':
      return { type: 'mixed', readPercent: int('read-percent', values['read-percent'] as string | undefined, BENCH_DEFAULTS.readPercent), serializable: values['serializable'] === true };
    case 'watch':
      return { type: 'watch', watchers: int('watchers', values['watchers'] as string | undefined, BENCH_DEFAULTS.watchers) };
    case 'lease':
      return { type: 'lease', ttlSeconds: int('lease-ttl', values['lease-ttl'] as string | undefined, BENCH_DEFAULTS.leaseTtlSeconds) };
    default:
      throw new UsageError(`--workload: expected one of ${WORKLOAD_NAMES.join(', ')}, got "${name}"`);
  }
}

const splitEndpoints = (s: string): string[] => s.split(',').map((e) => e.trim().replace(/^https?:\/\//, '')).filter((e) => e.length > 0);

/** The run options from the flags (endpoints left empty for --compare). */
export function benchOptionsFromFlags(values: Record<string, string | boolean | undefined>, endpoints: readonly string[]): BenchOptions {
  const s = (k: string): string | undefined => values[k] as string | undefined;
  const dist = parseDistribution(s('distribution') ?? 'uniform');
  if (dist === null) throw new UsageError(`--distribution: expected uniform or zipfian[:THETA], got "${s('distribution')}"`);
  const total = s('total');
  const o: BenchOptions = {
    endpoints,
    workload: workloadOf(values),
    concurrency: int('concurrency', s('concurrency'), BENCH_DEFAULTS.concurrency),
    connections: int('connections', s('connections'), BENCH_DEFAULTS.connections),
    durationMs: total !== undefined && s('duration') === undefined ? null : duration('duration', s('duration'), BENCH_DEFAULTS.durationMs),
    totalOps: total === undefined ? null : int('total', total, 0),
    warmupMs: duration('warmup', s('warmup'), BENCH_DEFAULTS.warmupMs),
    keyBytes: int('key-size', s('key-size'), BENCH_DEFAULTS.keyBytes),
    valueBytes: int('value-size', s('value-size'), BENCH_DEFAULTS.valueBytes),
    keyCount: int('keys', s('keys'), BENCH_DEFAULTS.keyCount),
    distribution: dist,
    requestTimeoutMs: duration('timeout', s('timeout'), BENCH_DEFAULTS.requestTimeoutMs),
    preload: values['no-preload'] !== true,
    keyPrefix: s('prefix') ?? BENCH_DEFAULTS.keyPrefix,
    seed: int('seed', s('seed'), 1),
  };
  try {
    validateBenchOptions({ ...o, endpoints: endpoints.length === 0 ? ['127.0.0.1:1'] : endpoints });
  } catch (e) {
    if (e instanceof BenchError) throw new UsageError(e.message);
    throw e;
  }
  return o;
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'load generator for etcd-compatible endpoints: throughput, latency percentiles, A/B comparison',
  usage,
  async run(args) {
    const { values, positionals } = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
    const compare = values.compare === true;
    if (compare && positionals.length !== 2) throw new UsageError('--compare takes two endpoint lists: --compare A1,A2 B1,B2');
    if (!compare && positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    if (!compare && values.endpoints === undefined) throw new UsageError('give --endpoints HOST:PORT[,...] (or --compare A B)');
    const endpoints = compare ? [] : splitEndpoints(values.endpoints!);
    const o = benchOptionsFromFlags(values, endpoints);
    const bar = new ProgressBar(process.stderr, process.stderr.isTTY === true && values['no-progress'] !== true && values.json !== true);
    const abort = new AbortController();
    const onSigint = (): void => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      if (!compare) {
        const r = await runBench(o, { signal: abort.signal, onProgress: (p) => bar.update(renderProgress(p, o.endpoints.length > 1 ? `${o.endpoints.length} endpoints` : o.endpoints[0]!)) });
        bar.clear();
        process.stdout.write(values.json === true ? JSON.stringify(r, null, 1) + '\n' : formatResult(r) + '\n');
        return 0;
      }
      const a = splitEndpoints(positionals[0]!);
      const b = splitEndpoints(positionals[1]!);
      let label = 'A';
      const r = await runCompare(
        { base: o, a, b, rounds: int('rounds', values.rounds, 3) },
        {
          signal: abort.signal,
          onRound: (side, round) => (label = `${side} round ${round + 1}`),
          onProgress: (p) => bar.update(renderProgress(p, label)),
        },
      );
      bar.clear();
      if (values.json === true) {
        process.stdout.write(JSON.stringify({ a: r.a, b: r.b, comparison: compareResults(r.a, r.b) }, null, 1) + '\n');
      } else {
        process.stdout.write(formatComparison({ labelA: a.join(','), labelB: b.join(','), a: r.a, b: r.b }) + '\n');
      }
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
      bar.clear();
    }
  },
};
