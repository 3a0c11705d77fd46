/**
 * Cluster benchmark: a three-member Bulwark and a three-member etcd 3.4 on this machine, driven by
 * the same closed-loop load generator (our gRPC client), alternating system by system so both see
 * the same machine load. Prints one table side by side: puts at concurrency 1/16/64/256,
 * linearizable and serializable ranges at 1/64/256, an overload point (puts at 2048), throughput,
 * p50/p99, CPU microseconds per operation on each member (from /proc/PID/stat), RSS per member.
 *
 *   node dist/bench/cluster.js                                  both systems, one round
 *   node dist/bench/cluster.js --rounds 3 --duration 5          medians of three alternating rounds
 *   node dist/bench/cluster.js --systems bulwark --points put16,put64 --json
 *   node dist/bench/cluster.js --bulwark-args "--consensus paxos"
 *   node dist/bench/cluster.js --systems bulwark --node-args "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *   node dist/bench/cluster.js --hold bulwark                   start, print endpoints, wait for Ctrl-C
 *   node dist/bench/cluster.js --endpoints h:p,h:p,h:p --pids 1,2,3 --points put64   load only
 *
 * Points: put1 put16 put64 put256 lin1 lin64 lin256 ser1 ser64 ser256 over2048 (default), and
 * over20k (more waiting writes than a member accepts: they must be refused, memory must stay flat).
 * etcd comes from Debian's etcd-server (/usr/bin/etcd, or --etcd PATH), started here on free ports
 * with the flags of /work/shared/bench/etcd-cluster.sh. Both clusters keep their data in a temporary
 * directory that is removed afterwards. Everything stops by itself: each point runs --duration
 * seconds after a --warmup, and every call has a deadline.
 *
 * Figures on a shared 2-core machine are noisy: compare ratios within one run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcChannel } from '../src/api/grpc/client.js';
import { GrpcError } from '../src/api/grpc/errors.js';
import { Status } from '../src/api/grpc/status.js';
import * as pb from '../src/api/proto/generated/etcdserverpb.js';
import { freePorts, localClusterOnFreePorts, type LocalCluster } from '../src/server/local-cluster.js';

type SystemName = 'bulwark' | 'etcd';
type PointKind = 'put' | 'lin' | 'ser' | 'over';

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
  readonly errors: Record<string, number>;
  readonly members: MemberSample[];
  readonly loadAvg1: number;
}

interface RunningSystem {
  readonly name: SystemName;
  readonly endpoints: string[];
  readonly pids: number[];
  readonly memberNames: string[];
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

const VALUE = new Uint8Array(256).fill(0x76);
const KEY_SPACE = 100_000;
const READ_KEY = new TextEncoder().encode('bench-read-key');
const CALL_DEADLINE_MS = 10_000;
const SAMPLES_MAX = 4_000_000;
const CLK_TCK = 100; // Linux USER_HZ: /proc/PID/stat counts CPU time in 1/100 s

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}
const flag = (name: string): boolean => process.argv.includes(`--${name}`);

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

async function startBulwark(extra: string[], nodeArgs: string[]): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-'));
  const cluster: LocalCluster = await localClusterOnFreePorts({ dir, size: 3, extraArgs: extra, nodeArgs, token: 'bench' });
  await cluster.startAll();
  await cluster.waitAllHealthy(60_000);
  const names = cluster.names;
  return {
    name: 'bulwark',
    endpoints: names.map((n) => cluster.clientUrl(n).replace(/^http:\/\//, '')),
    pids: names.map((n) => cluster.pid(n) ?? -1),
    memberNames: names,
    stop: async () => {
      // A profiled member needs time to write its profile on exit; otherwise do not wait long.
      await cluster.stopAll(nodeArgs.some((a) => a.startsWith('--cpu-prof') || a.startsWith('--prof')) ? 30_000 : 3000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Three etcd members on free ports (the fixed ports of the shared script may be taken by another
 * engineer's etcd), with the flags that script uses, data and logs in a temporary directory.
 */
async function startEtcd(binary: string): Promise<RunningSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
  const ports = await freePorts(6);
  const names = ['m1', 'm2', 'm3'];
  const peer = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const client = (i: number): string => `http://127.0.0.1:${ports[2 * i]}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const procs: ChildProcess[] = names.map((name, i) =>
    spawn(binary, [
      '--name', name,
      '--data-dir', join(dir, `${name}.etcd`),
      '--listen-client-urls', client(i),
      '--advertise-client-urls', client(i),
      '--listen-peer-urls', peer(i),
      '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster', initial,
      '--initial-cluster-token', `bench-${process.pid}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ], { stdio: ['ignore', 'ignore', openSync(join(dir, `${name}.log`), 'a')] }),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => new Promise<void>((resolveExit) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolveExit();
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => {
        clearTimeout(t);
        resolveExit();
      });
      p.kill('SIGTERM');
    })));
    rmSync(dir, { recursive: true, force: true });
  };
  const endpoints = names.map((_, i) => client(i).replace(/^http:\/\//, ''));
  try {
    await leaderIndex(endpoints);
    const dead = procs.findIndex((p) => p.exitCode !== null);
    if (dead >= 0) throw new Error(`etcd ${names[dead]} exited; see ${join(dir, `${names[dead]}.log`)}`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { name: 'etcd', endpoints, pids: procs.map((p) => p.pid ?? -1), memberNames: names, stop };
}

/** The index of the leader in `endpoints`, asked of each member's Maintenance.Status. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ids: bigint[] = [];
    let leader = 0n;
    for (const ep of endpoints) {
      const ch = new GrpcChannel(ep);
      try {
        const s = await ch.call(pb.MaintenanceService.Status, {}, { deadlineMs: 2000 });
        ids.push(s.header?.memberId ?? -1n);
        if (s.leader !== 0n) leader = s.leader;
      } catch {
        ids.push(-1n);
      } finally {
        ch.close();
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

function errorName(e: unknown): string {
  if (e instanceof GrpcError) {
    if (e.status === Status.RESOURCE_EXHAUSTED) return 'too-many-requests';
    if (e.status === Status.DEADLINE_EXCEEDED) return 'deadline';
    // etcd's UNAVAILABLE family says what happened in its message ("etcdserver: leader changed").
    const m = /etcdserver: ([a-z ]+)/.exec(e.details);
    return m === null ? `grpc-${e.status}(${e.details.slice(0, 40)})` : m[1]!.replace(/ /g, '-');
  }
  return 'other';
}

/** Connections for a point: puts go to the leader; reads spread over every member, leader first. */
function connectionsFor(spec: PointSpec, endpoints: string[], leader: number): GrpcChannel[] {
  const perTarget = Math.max(1, Math.min(spec.concurrency, 4));
  if (spec.kind === 'over') return Array.from({ length: Math.ceil(spec.concurrency / OVER_STREAMS_PER_CONNECTION) }, () => new GrpcChannel(endpoints[leader]!));
  if (spec.kind === 'put') return Array.from({ length: perTarget }, () => new GrpcChannel(endpoints[leader]!));
  const order = [leader, ...endpoints.keys()].filter((v, i, a) => a.indexOf(v) === i);
  const n = Math.min(spec.concurrency, order.length * perTarget);
  return Array.from({ length: n }, (_, i) => new GrpcChannel(endpoints[order[i % order.length]!]!));
}

async function runPoint(sys: RunningSystem, spec: PointSpec, o: { durationMs: number; warmupMs: number; round: number; errorBackoffMs: number }): Promise<PointResult> {
  const leader = await leaderIndex(sys.endpoints);
  const channels = connectionsFor(spec, sys.endpoints, leader);
  const keyBuf = (i: number): Uint8Array => new TextEncoder().encode(`k${(i % KEY_SPACE).toString().padStart(7, '0')}`);
  const serializable = spec.kind === 'ser';
  const op = (ch: GrpcChannel, i: number): Promise<unknown> =>
    spec.kind === 'put' || spec.kind === 'over'
      ? ch.call(pb.KVService.Put, { key: keyBuf(i), value: VALUE }, { deadlineMs: CALL_DEADLINE_MS })
      : ch.call(pb.KVService.Range, { key: READ_KEY, serializable }, { deadlineMs: CALL_DEADLINE_MS });
  if (spec.kind === 'lin' || spec.kind === 'ser') await channels[0]!.call(pb.KVService.Put, { key: READ_KEY, value: VALUE });

  const latencies = new Float64Array(SAMPLES_MAX);
  let samples = 0;
  let ok = 0;
  const errors: Record<string, number> = {};
  let measuring = false;
  let stopping = false;
  let seq = Math.floor(Math.random() * KEY_SPACE);
  const rssMax = sys.pids.map(() => 0);
  const rssStart = sys.pids.map(rssMiB);

  const worker = async (w: number): Promise<void> => {
    const ch = channels[w % channels.length]!;
    while (!stopping) {
      const t0 = performance.now();
      try {
        await op(ch, seq++);
        if (measuring) {
          ok++;
          if (samples < SAMPLES_MAX) latencies[samples++] = performance.now() - t0;
        }
      } catch (e) {
        if (measuring) errors[errorName(e)] = (errors[errorName(e)] ?? 0) + 1;
        // An overloaded server answers at once: back off so the loop is not a spin.
        await sleep(o.errorBackoffMs);
      }
    }
  };
  const workers = Array.from({ length: spec.concurrency }, (_, w) => worker(w));
  const rssTimer = setInterval(() => sys.pids.forEach((p, i) => (rssMax[i] = Math.max(rssMax[i]!, rssMiB(p)))), 250);
  await sleep(o.warmupMs);
  const cpu0 = sys.pids.map(cpuTicks);
  const t0 = performance.now();
  measuring = true;
  await sleep(o.durationMs);
  measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu1 = sys.pids.map(cpuTicks);
  const measuredOk = ok;
  const rssEnd = sys.pids.map(rssMiB);
  stopping = true;
  await Promise.all(workers);
  clearInterval(rssTimer);
  for (const ch of channels) ch.close();

  const sorted = latencies.subarray(0, samples).sort();
  const pct = (p: number): number => (samples === 0 ? NaN : sorted[Math.min(samples - 1, Math.floor(p * samples))]!);
  return {
    system: sys.name,
    point: spec.name,
    round: o.round,
    opsPerSec: measuredOk / elapsedS,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    ok: measuredOk,
    errors,
    loadAvg1: loadavg()[0]!,
    members: sys.pids.map((p, i) => ({
      name: sys.memberNames[i]!,
      leader: i === leader,
      cpuUsPerOp: measuredOk === 0 ? NaN : (((cpu1[i]! - cpu0[i]!) / CLK_TCK) * 1e6) / measuredOk,
      rssMiB: rssEnd[i]!,
      rssMaxMiB: rssMax[i]!,
      rssStartMiB: rssStart[i]!,
    })),
  };
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
  const cols = [0, 1, 2].map((slot) => median(rs.map((r) => {
    const ordered = [...r.members].sort((a, b) => Number(b.leader) - Number(a.leader));
    return ordered[slot] === undefined ? NaN : pick(ordered[slot]!);
  })));
  return cols.map((c) => (Number.isNaN(c) ? '-' : c.toFixed(digits))).join('/');
}

function printTable(results: PointResult[], systems: SystemName[], points: PointSpec[]): void {
  const header = ['point', ...systems.flatMap((s) => [`${s} ops/s`, 'p50 ms', 'p99 ms', 'CPU µs/op L/F/F', 'RSS MiB L/F/F', 'errors'])];
  const rows: string[][] = [header];
  for (const p of points) {
    const row = [p.name];
    for (const s of systems) {
      const rs = results.filter((r) => r.system === s && r.point === p.name);
      if (rs.length === 0) {
        row.push('-', '-', '-', '-', '-', '-');
        continue;
      }
      const errs: Record<string, number> = {};
      for (const r of rs) for (const [k, v] of Object.entries(r.errors)) errs[k] = (errs[k] ?? 0) + v;
      row.push(
        fmtRate(median(rs.map((r) => r.opsPerSec))),
        fmtMs(median(rs.map((r) => r.p50Ms))),
        fmtMs(median(rs.map((r) => r.p99Ms))),
        perMember(rs, (m) => m.cpuUsPerOp, 0),
        p.kind === 'over' ? `${perMember(rs, (m) => m.rssStartMiB, 0)} -> max ${perMember(rs, (m) => m.rssMaxMiB, 0)}` : perMember(rs, (m) => m.rssMiB, 0),
        Object.entries(errs).map(([k, v]) => `${k}:${v}`).join(' ') || '0',
      );
    }
    rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
}

// ---------------------------------------------------------------------------------------------

async function start(system: SystemName, o: { bulwarkArgs: string[]; nodeArgs: string[]; etcdBinary: string }): Promise<RunningSystem> {
  return system === 'bulwark' ? startBulwark(o.bulwarkArgs, o.nodeArgs) : startEtcd(o.etcdBinary);
}

async function main(): Promise<void> {
  const rounds = Number(arg('rounds', '1'));
  const durationMs = Number(arg('duration', '4')) * 1000;
  const warmupMs = Number(arg('warmup', '1')) * 1000;
  const systems = arg('systems', 'bulwark,etcd').split(',') as SystemName[];
  const wanted = arg('points', DEFAULT_POINTS.join(',')).split(',');
  const points = ALL_POINTS.filter((p) => wanted.includes(p.name));
  const bulwarkArgs = arg('bulwark-args', '').split(' ').filter((s) => s !== '');
  const nodeArgs = arg('node-args', '').split(' ').filter((s) => s !== '');
  const etcdBinary = arg('etcd', '/usr/bin/etcd');
  const json = flag('json');
  // What a client waits after an error before its next call (etcd's clientv3 backs off 25 ms+).
  const errorBackoffMs = Number(arg('error-backoff-ms', '25'));
  const hold = arg('hold', '');
  if (systems.includes('etcd') && !existsSync(etcdBinary)) {
    throw new Error(`no etcd at ${etcdBinary}: apt-get install etcd-server (or pass --etcd PATH, or --systems bulwark)`);
  }

  const endpoints = arg('endpoints', '');
  if (endpoints !== '') {
    // Load only, against members already running (CPU figures need --pids in the same order).
    const pids = arg('pids', '').split(',').filter((x) => x !== '').map(Number);
    const eps = endpoints.split(',');
    const sys: RunningSystem = { name: 'bulwark', endpoints: eps, pids, memberNames: eps, stop: async () => {} };
    for (const p of points) {
      const r = await runPoint(sys, p, { durationMs, warmupMs, round: 1, errorBackoffMs });
      console.log(`${p.name}: ${fmtRate(r.opsPerSec)}/s p50 ${fmtMs(r.p50Ms)} ms p99 ${fmtMs(r.p99Ms)} ms cpu µs/op ${r.members.map((m) => m.cpuUsPerOp.toFixed(0)).join('/')} errors ${JSON.stringify(r.errors)}`);
    }
    return;
  }
  if (hold !== '') {
    const sys = await start(hold as SystemName, { bulwarkArgs, nodeArgs, etcdBinary });
    console.log(`${hold} running: ${sys.endpoints.join(',')} pids ${sys.pids.join(',')}; Ctrl-C stops it`);
    await new Promise<void>((r) => process.once('SIGINT', () => r()));
    await sys.stop();
    return;
  }

  const log = (s: string): void => {
    if (!json) process.stderr.write(`${s}\n`);
  };
  log(`cluster bench: ${systems.join(' vs ')}, ${rounds} round(s), ${durationMs / 1000} s per point after ${warmupMs / 1000} s warmup; ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const results: PointResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const system of systems) {
      const sys = await start(system, { bulwarkArgs, nodeArgs, etcdBinary });
      try {
        for (const p of points) {
          const r = await runPoint(sys, p, { durationMs, warmupMs, round, errorBackoffMs });
          results.push(r);
          log(`  round ${round} ${system} ${p.name}: ${fmtRate(r.opsPerSec)}/s p50 ${fmtMs(r.p50Ms)} ms p99 ${fmtMs(r.p99Ms)} ms cpu µs/op ${r.members.map((m) => `${m.leader ? 'L' : 'F'}${m.cpuUsPerOp.toFixed(0)}`).join(' ')} rss ${r.members.map((m) => `${m.rssStartMiB.toFixed(0)}->${m.rssMaxMiB.toFixed(0)}`).join('/')} MiB (start->max) errors ${JSON.stringify(r.errors)} load ${r.loadAvg1.toFixed(1)}`);
        }
      } finally {
        await sys.stop();
      }
    }
  }
  if (json) {
    console.log(JSON.stringify({ loadAvg: loadavg(), rounds, durationMs, results }, null, 2));
    return;
  }
  console.log(`\nmedians of ${rounds} round(s); load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}; CPU and RSS listed leader first`);
  printTable(results, systems, points);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
