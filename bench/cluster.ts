/**
 * Cluster benchmark: a three-member Bulwark and a three-member etcd 3.4 on this machine, driven by
 * one load generator (`bulwark bench`'s runner, src/bench/runner.ts, on our gRPC client) and
 * started through one code path (the chaos tool's cluster targets, src/chaos/target-*.ts). Prints
 * one table side by side: puts at concurrency 1/16/64/256, linearizable and serializable ranges at
 * 1/64/256, overload points; throughput, p50/p99, CPU microseconds per operation on each member
 * (from /proc/PID/stat, over the measured span only), RSS per member (start -> max for overload
 * points) and the share of requests refused with "too many requests".
 *
 *   node dist/bench/cluster.js                                  both systems, one round
 *   node dist/bench/cluster.js --rounds 3 --duration 5          medians of three rounds
 *   node dist/bench/cluster.js --order alternating              both clusters up, point by point A B
 *   node dist/bench/cluster.js --settle 5                       5 s of unmeasured puts on each fresh cluster
 *   node dist/bench/cluster.js --systems bulwark --points put16,put64 --json
 *   node dist/bench/cluster.js --bulwark-args "--consensus paxos"
 *   node dist/bench/cluster.js --systems bulwark --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *   node dist/bench/cluster.js --hold bulwark                   start, print endpoints, wait for Ctrl-C/SIGTERM
 *   node dist/bench/cluster.js --endpoints h:p,h:p,h:p --pids 1,2,3 --points put64   load only
 *
 * Order: `sequential` (the default, issue 5's "one after the other") starts one system, runs all
 * its points, stops it, then the other, in every round; `alternating` keeps both clusters up and
 * runs each point on one system, then the other. Either way the systems share the machine's load
 * drift round by round; alternating holds ratios better when the load moves fast, sequential
 * keeps the idle cluster from taking CPU (heartbeats) from the measured one.
 *
 * Points: put1 put16 put64 put256 lin1 lin64 lin256 ser1 ser64 ser256 over2048 (default), and
 * over20k (more waiting writes than a member accepts: they must be refused, memory must stay flat).
 * etcd comes from Debian's etcd-server (/usr/bin/etcd, or --etcd PATH) with its default timing
 * (100 ms heartbeat, 1 s election timeout), as Bulwark's. Both keep their data in a temporary
 * directory that is removed afterwards. Everything stops by itself: each point runs --duration
 * seconds after a --warmup, every call has a deadline, and Ctrl-C stops the clusters.
 *
 * Figures on a shared 2-core machine are noisy: compare ratios within one run.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions, BenchWorkload } from '../src/bench/bench-options.js';
import { EtcdConnection, errorText } from '../src/bench/etcd-client.js';
import { runBench, type BenchResult } from '../src/bench/runner.js';
import type { ProcessClusterOptions, ProcessClusterTarget } from '../src/chaos/cluster-target.js';
import { BulwarkTarget } from '../src/chaos/target-bulwark.js';
import { ETCD_BIN_DEFAULT, EtcdTarget } from '../src/chaos/target-etcd.js';
import { BENCH_CONCURRENCY_MAX, PROPOSALS_PENDING_MAX } from '../src/core/limits.js';

type SystemName = 'bulwark' | 'etcd';
type PointKind = 'put' | 'lin' | 'ser' | 'over';
type Order = 'sequential' | 'alternating';

interface PointSpec {
  readonly name: string;
  readonly kind: PointKind;
  readonly concurrency: number;
}

interface MemberSample {
  readonly name: string;
  readonly leader: boolean;
  readonly cpuUsPerOp: number;
  readonly rssMiB: number;
  readonly rssMaxMiB: number;
  /** RSS when the point started, before any of its load. */
  readonly rssStartMiB: number;
}

interface PointResult {
  readonly system: SystemName;
  readonly point: string;
  readonly round: number;
  readonly opsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly ok: number;
  /** Failed requests by kind ("too-many-requests", "deadline", etcd's own words, ...). */
  readonly errors: Record<string, number>;
  /** Share of the requests answered "too many requests": refused at once, as they should be under overload. */
  readonly refusedShare: number;
  readonly members: MemberSample[];
  /** The load generator's own CPU per operation (this process), to show it was not the bottleneck. */
  readonly clientCpuUsPerOp: number;
  readonly loadAvg1: number;
}

interface RunningSystem {
  readonly name: SystemName;
  readonly endpoints: string[];
  readonly pids: number[];
  readonly memberNames: string[];
  /** Ranges read keys that must exist: written once, by the first read point after the start. */
  preloaded: boolean;
  stop(): Promise<void>;
}

const ALL_POINTS: PointSpec[] = [
  { name: 'put1', kind: 'put', concurrency: 1 },
  { name: 'put16', kind: 'put', concurrency: 16 },
  { name: 'put64', kind: 'put', concurrency: 64 },
  { name: 'put256', kind: 'put', concurrency: 256 },
  { name: 'lin1', kind: 'lin', concurrency: 1 },
  { name: 'lin64', kind: 'lin', concurrency: 64 },
  { name: 'lin256', kind: 'lin', concurrency: 256 },
  { name: 'ser1', kind: 'ser', concurrency: 1 },
  { name: 'ser64', kind: 'ser', concurrency: 64 },
  { name: 'ser256', kind: 'ser', concurrency: 256 },
  { name: 'over2048', kind: 'over', concurrency: 2048 },
  // Beyond every member's bound on waiting proposals (PROPOSALS_PENDING_MAX): the excess must be
  // refused at once with "too many requests", and memory must not follow the offered load.
  { name: 'over20k', kind: 'over', concurrency: 20_000 },
];
/** Points run unless --points names others (over20k is a stress test of its own). */
const DEFAULT_POINTS = ALL_POINTS.filter((p) => p.name !== 'over20k').map((p) => p.name);
/** Streams per connection for overload points: below every HTTP/2 stream limit on either side. */
const OVER_STREAMS_PER_CONNECTION = 512;
/** Connections per member for the other points (as etcd's benchmark tool and `bulwark bench` default). */
const CONNECTIONS_PER_MEMBER = 4;
const VALUE_BYTES = 256;
const KEY_BYTES = 16;
/** Puts spread over this many keys; ranges read one of READ_KEYS keys written before the first read point. */
const PUT_KEYS = 100_000;
const READ_KEYS = 1000;
const CALL_DEADLINE_MS = 10_000;
const CLK_TCK = 100; // Linux USER_HZ: /proc/PID/stat counts CPU time in 1/100 s
const RSS_SAMPLE_MS = 250;

if (Math.max(...ALL_POINTS.map((p) => p.concurrency)) > BENCH_CONCURRENCY_MAX) throw new Error('a point asks for more requests in flight than the runner allows');
if (20_000 <= PROPOSALS_PENDING_MAX) throw new Error('over20k no longer exceeds the bound on waiting proposals');

// ---------------------------------------------------------------------------------------------
// Processes.

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

interface StartOptions {
  readonly bulwarkArgs: string[];
  readonly nodeArgs: string[];
  readonly etcdBinary: string;
}

/** Starts a three-member cluster of `system` through its chaos target (no network fabric between members). */
async function start(system: SystemName, o: StartOptions): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), `${system}-bench-`));
  // A profiled member needs time to write its profile on exit.
  const profiled = o.nodeArgs.some((a) => a.startsWith('--cpu-prof') || a.startsWith('--prof') || a.startsWith('--heap-prof'));
  const common: ProcessClusterOptions = { size: 3, dir, network: 'none', seed: process.pid, heartbeatMs: 100, electionMs: 1000, stopGraceMs: profiled ? 30_000 : 3000 };
  const target: ProcessClusterTarget =
    system === 'bulwark' ? new BulwarkTarget({ ...common, extraArgs: ['--log-level', 'warn', ...o.bulwarkArgs], nodeArgs: o.nodeArgs }) : new EtcdTarget(common, o.etcdBinary);
  const stop = async (): Promise<void> => {
    await target.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await target.start();
  } catch (e) {
    await stop();
    throw e;
  }
  const pidOf = new Map([...target.pids()].map(([pid, name]) => [name, pid]));
  const names = [...target.members];
  return { name: system, endpoints: names.map((n) => target.endpoint(n)), pids: names.map((n) => pidOf.get(n) ?? -1), memberNames: names, preloaded: false, stop };
}

/** The index of the leader in `endpoints`, asked of each member's Maintenance.Status. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ids: bigint[] = [];
    let leader = 0n;
    for (const ep of endpoints) {
      const c = new EtcdConnection(ep);
      try {
        const s = await c.status({ deadlineMs: 2000 });
        ids.push(s.header?.memberId ?? -1n);
        if (s.leader !== 0n) leader = s.leader;
      } catch {
        ids.push(-1n);
      } finally {
        c.close();
      }
    }
    const i = ids.indexOf(leader);
    if (leader !== 0n && i >= 0) return i;
    await sleep(200);
  }
  throw new Error(`no leader among ${endpoints.join(', ')}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Load.

/** A short name for a failed request, from the runner's error text. */
function errorName(message: string): string {
  if (/RESOURCE_EXHAUSTED|too many requests/i.test(message)) return 'too-many-requests';
  if (/DEADLINE_EXCEEDED|deadline/i.test(message)) return 'deadline';
  // etcd's UNAVAILABLE family says what happened in its message ("etcdserver: leader changed").
  const m = /etcdserver: ([a-z ]+)/.exec(message);
  return m === null ? message.slice(0, 40).replace(/\s+/g, '-') : m[1]!.trim().replace(/ /g, '-');
}

/**
 * The runner's options for a point. Puts go to the leader (as etcd's benchmark tool sends them
 * with --endpoints set to the leader); reads spread over every member, leader first.
 */
function benchOptions(spec: PointSpec, sys: RunningSystem, leader: number, o: { durationMs: number; warmupMs: number; round: number; errorBackoffMs: number }): BenchOptions {
  const toLeader = [sys.endpoints[leader]!];
  const leaderFirst = [leader, ...sys.endpoints.keys()].filter((v, i, a) => a.indexOf(v) === i).map((i) => sys.endpoints[i]!);
  const read = spec.kind === 'lin' || spec.kind === 'ser';
  const workload: BenchWorkload = read ? { type: 'range', serializable: spec.kind === 'ser' } : { type: 'put' };
  const endpoints = read ? leaderFirst : toLeader;
  const connections =
    spec.kind === 'over' ? Math.ceil(spec.concurrency / OVER_STREAMS_PER_CONNECTION) : Math.min(spec.concurrency, endpoints.length * CONNECTIONS_PER_MEMBER);
  return {
    endpoints,
    workload,
    concurrency: spec.concurrency,
    connections,
    durationMs: o.durationMs,
    totalOps: null,
    warmupMs: o.warmupMs,
    keyBytes: KEY_BYTES,
    valueBytes: VALUE_BYTES,
    keyCount: read ? READ_KEYS : PUT_KEYS,
    distribution: { type: 'uniform' },
    requestTimeoutMs: CALL_DEADLINE_MS,
    preload: read && !sys.preloaded,
    keyPrefix: 'bench/',
    seed: o.round,
    errorBackoffMs: o.errorBackoffMs,
  };
}

async function runPoint(sys: RunningSystem, spec: PointSpec, o: { durationMs: number; warmupMs: number; round: number; errorBackoffMs: number; signal: AbortSignal }): Promise<PointResult> {
  const leader = await leaderIndex(sys.endpoints);
  const options = benchOptions(spec, sys, leader, o);
  const rssStart = sys.pids.map(rssMiB);
  const rssMax = [...rssStart];
  let cpu0 = sys.pids.map(() => NaN);
  let cpu1 = sys.pids.map(() => NaN);
  let rssEnd = sys.pids.map(() => NaN);
  const rssTimer = setInterval(() => sys.pids.forEach((p, i) => (rssMax[i] = Math.max(rssMax[i]!, rssMiB(p)))), RSS_SAMPLE_MS);
  let r: BenchResult;
  try {
    r = await runBench(options, {
      signal: o.signal,
      onMeasure: (event) => {
        if (event === 'start') cpu0 = sys.pids.map(cpuTicks);
        else {
          cpu1 = sys.pids.map(cpuTicks);
          rssEnd = sys.pids.map(rssMiB);
        }
      },
    });
  } finally {
    clearInterval(rssTimer);
  }
  if (options.preload) sys.preloaded = true;
  const errors: Record<string, number> = {};
  for (const k of r.errorKinds) errors[errorName(k.message)] = (errors[errorName(k.message)] ?? 0) + k.count;
  const named = r.errorKinds.reduce((n, k) => n + k.count, 0);
  if (r.errors > named) errors['unnamed'] = r.errors - named;
  const attempts = r.ops + r.errors;
  return {
    system: sys.name,
    point: spec.name,
    round: o.round,
    opsPerSec: r.throughput,
    p50Ms: r.ops === 0 ? NaN : r.latencyUs.p50 / 1000,
    p99Ms: r.ops === 0 ? NaN : r.latencyUs.p99 / 1000,
    ok: r.ops,
    errors,
    refusedShare: attempts === 0 ? 0 : (errors['too-many-requests'] ?? 0) / attempts,
    loadAvg1: loadavg()[0]!,
    clientCpuUsPerOp: r.cpu.perOpUs,
    members: sys.pids.map((p, i) => ({
      name: sys.memberNames[i]!,
      leader: i === leader,
      cpuUsPerOp: r.ops === 0 ? NaN : (((cpu1[i]! - cpu0[i]!) / CLK_TCK) * 1e6) / r.ops,
      rssMiB: rssEnd[i]!,
      rssMaxMiB: rssMax[i]!,
      rssStartMiB: rssStart[i]!,
    })),
  };
}

/** Puts at concurrency 16 to the leader for `ms`, not measured: warms a fresh cluster's code paths. */
async function settle(sys: RunningSystem, ms: number, signal: AbortSignal): Promise<void> {
  const leader = await leaderIndex(sys.endpoints);
  const spec = { name: 'settle', kind: 'put', concurrency: 16 } as const;
  await runBench({ ...benchOptions(spec, sys, leader, { durationMs: ms, warmupMs: 0, round: 0, errorBackoffMs: 25 }), keyPrefix: 'settle/' }, { signal });
}

// ---------------------------------------------------------------------------------------------
// Report.

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmtRate(x: number): string {
  if (Number.isNaN(x)) return '-';
  return x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

function fmtMs(x: number): string {
  return Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(0);
}

/** Leader first, then followers: "L/F/F". */
function perMember(rs: PointResult[], pick: (m: MemberSample) => number, digits: number): string {
  const cols = [0, 1, 2].map((slot) =>
    median(
      rs.map((r) => {
        const ordered = [...r.members].sort((a, b) => Number(b.leader) - Number(a.leader));
        return ordered[slot] === undefined ? NaN : pick(ordered[slot]!);
      }),
    ),
  );
  return cols.map((c) => (Number.isNaN(c) ? '-' : c.toFixed(digits))).join('/');
}

function printTable(results: PointResult[], systems: SystemName[], points: PointSpec[]): void {
  const header = ['point', ...systems.flatMap((s) => [`${s} ops/s`, 'p50 ms', 'p99 ms', 'CPU µs/op L/F/F', 'RSS MiB L/F/F', 'errors'])];
  if (systems.length === 2) header.push(`${systems[0]}/${systems[1]} ops`);
  const rows: string[][] = [header];
  for (const p of points) {
    const row = [p.name];
    const rates: number[] = [];
    for (const s of systems) {
      const rs = results.filter((r) => r.system === s && r.point === p.name);
      if (rs.length === 0) {
        row.push('-', '-', '-', '-', '-', '-');
        rates.push(NaN);
        continue;
      }
      const errs: Record<string, number> = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errs[k] = (errs[k] ?? 0) + v;
      const refused = median(rs.map((r) => r.refusedShare));
      rates.push(median(rs.map((r) => r.opsPerSec)));
      row.push(
        fmtRate(rates[rates.length - 1]!),
        fmtMs(median(rs.map((r) => r.p50Ms))),
        fmtMs(median(rs.map((r) => r.p99Ms))),
        perMember(rs, (m) => m.cpuUsPerOp, 0),
        p.kind === 'over' ? `${perMember(rs, (m) => m.rssStartMiB, 0)} -> max ${perMember(rs, (m) => m.rssMaxMiB, 0)}` : perMember(rs, (m) => m.rssMiB, 0),
        (Object.entries(errs).map(([k, v]) => `${k}:${v}`).join(' ') || '0') + (refused > 0 ? ` (refused ${(refused * 100).toFixed(0)}%)` : ''),
      );
    }
    if (systems.length === 2) row.push(Number.isNaN(rates[0]! / rates[1]!) ? '-' : (rates[0]! / rates[1]!).toFixed(2));
    rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

function describe(r: PointResult): string {
  const members = r.members.map((m) => `${m.leader ? 'L' : 'F'}${m.cpuUsPerOp.toFixed(0)}`).join(' ');
  const rss = r.members.map((m) => `${m.rssStartMiB.toFixed(0)}->${m.rssMaxMiB.toFixed(0)}`).join('/');
  return `${fmtRate(r.opsPerSec)}/s p50 ${fmtMs(r.p50Ms)} ms p99 ${fmtMs(r.p99Ms)} ms cpu µs/op ${members} rss ${rss} MiB (start->max) errors ${JSON.stringify(r.errors)} client ${r.clientCpuUsPerOp.toFixed(0)} µs/op load ${r.loadAvg1.toFixed(1)}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '1' },
      duration: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      // Unmeasured puts on a fresh cluster before its first point (V8 compiles hot code only after
      // it ran a while; etcd's Go code needs no warming).
      settle: { type: 'string', default: '0' },
      systems: { type: 'string', default: 'bulwark,etcd' },
      points: { type: 'string', default: DEFAULT_POINTS.join(',') },
      order: { type: 'string', default: 'sequential' },
      'bulwark-args': { type: 'string', default: '' },
      'node-args': { type: 'string', default: '' },
      etcd: { type: 'string', default: ETCD_BIN_DEFAULT },
      // What a client waits after an error before its next call (etcd's clientv3 backs off 25 ms+).
      'error-backoff-ms': { type: 'string', default: '25' },
      hold: { type: 'string', default: '' },
      endpoints: { type: 'string', default: '' },
      pids: { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  const durationMs = Number(values.duration) * 1000;
  const warmupMs = Number(values.warmup) * 1000;
  const systems = values.systems!.split(',') as SystemName[];
  const wanted = values.points!.split(',');
  const points = ALL_POINTS.filter((p) => wanted.includes(p.name));
  const order = values.order as Order;
  const startOptions: StartOptions = {
    bulwarkArgs: values['bulwark-args']!.split(' ').filter((s) => s !== ''),
    nodeArgs: values['node-args']!.split(' ').filter((s) => s !== ''),
    etcdBinary: values.etcd!,
  };
  const errorBackoffMs = Number(values['error-backoff-ms']);
  const settleMs = Number(values.settle) * 1000;
  const json = values.json === true;
  const unknown = wanted.filter((w) => !ALL_POINTS.some((p) => p.name === w));
  if (unknown.length > 0) throw new Error(`unknown points ${unknown.join(', ')}; known: ${ALL_POINTS.map((p) => p.name).join(' ')}`);
  if (systems.some((s) => s !== 'bulwark' && s !== 'etcd')) throw new Error(`--systems takes bulwark and etcd, not ${values.systems}`);
  if (order !== 'sequential' && order !== 'alternating') throw new Error(`--order is sequential or alternating, not ${order}`);
  if (!(rounds >= 1 && durationMs > 0 && warmupMs >= 0 && settleMs >= 0 && errorBackoffMs >= 0)) throw new Error('--rounds, --duration, --warmup, --settle and --error-backoff-ms must be positive numbers');
  if (systems.includes('etcd') && !EtcdTarget.available(startOptions.etcdBinary)) {
    throw new Error(`no etcd at ${startOptions.etcdBinary}: apt-get install etcd-server (or pass --etcd PATH, or --systems bulwark)`);
  }

  // Ctrl-C (or SIGTERM) ends the point being measured; every cluster started is stopped and its
  // directory removed on the way out. A second signal must not kill the process mid-cleanup.
  const abort = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => abort.abort());
  const running = new Set<RunningSystem>();
  const up = async (s: SystemName): Promise<RunningSystem> => {
    const sys = await start(s, startOptions);
    running.add(sys);
    if (settleMs > 0) await settle(sys, settleMs, abort.signal);
    return sys;
  };
  const down = async (sys: RunningSystem): Promise<void> => {
    running.delete(sys);
    await sys.stop();
  };
  const point = (sys: RunningSystem, p: PointSpec, round: number): Promise<PointResult> => runPoint(sys, p, { durationMs, warmupMs, round, errorBackoffMs, signal: abort.signal });

  try {
    if (values.endpoints !== '') {
      // Load only, against members already running (CPU figures need --pids in the same order).
      const eps = values.endpoints!.split(',');
      const pids = values.pids!.split(',').filter((x) => x !== '').map(Number);
      const sys: RunningSystem = { name: 'bulwark', endpoints: eps, pids, memberNames: eps, preloaded: false, stop: async () => {} };
      for (const p of points) {
        if (abort.signal.aborted) break;
        const r = await point(sys, p, 1);
        console.log(json ? JSON.stringify(r) : `${p.name}: ${describe(r)}`);
      }
      return;
    }
    if (values.hold !== '') {
      const sys = await up(values.hold as SystemName);
      console.log(`${values.hold} running: ${sys.endpoints.join(',')} pids ${sys.pids.join(',')}; Ctrl-C stops it`);
      await new Promise<void>((r) => abort.signal.addEventListener('abort', () => r(), { once: true }));
      return;
    }

    const log = (s: string): void => {
      if (!json) process.stderr.write(`${s}\n`);
    };
    const loadAtStart = loadavg();
    log(`cluster bench: ${systems.join(' vs ')}, ${order}, ${rounds} round(s), ${durationMs / 1000} s per point after ${warmupMs / 1000} s warmup; ${cpus().length} cores, load average ${loadAtStart.map((x) => x.toFixed(1)).join(' ')}`);
    const results: PointResult[] = [];
    const record = (r: PointResult): void => {
      results.push(r);
      log(`  round ${r.round} ${r.system} ${r.point}: ${describe(r)}`);
    };
    for (let round = 1; round <= rounds && !abort.signal.aborted; round++) {
      if (order === 'sequential') {
        for (const system of systems) {
          const sys = await up(system);
          try {
            for (const p of points) if (!abort.signal.aborted) record(await point(sys, p, round));
          } finally {
            await down(sys);
          }
        }
      } else {
        const all: RunningSystem[] = [];
        try {
          for (const system of systems) all.push(await up(system));
          // Who goes first changes every round, so neither system always follows the other's load.
          const turn = round % 2 === 1 ? all : [...all].reverse();
          for (const p of points) for (const sys of turn) if (!abort.signal.aborted) record(await point(sys, p, round));
        } finally {
          for (const sys of all) await down(sys);
        }
      }
    }
    const loads = results.map((r) => r.loadAvg1);
    if (json) {
      console.log(JSON.stringify({ order, rounds, durationMs, warmupMs, loadAvgAtStart: loadAtStart, loadAvg1Range: [Math.min(...loads), Math.max(...loads)], results }, null, 2));
      return;
    }
    console.log(`\n${order}, medians of ${rounds} round(s); 1-minute load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} during the points; CPU and RSS listed leader first`);
    printTable(results, systems, points);
  } finally {
    for (const sys of [...running]) await down(sys);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(errorText(e));
    process.exit(1);
  },
);
