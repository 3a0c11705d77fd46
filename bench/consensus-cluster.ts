/**
 * Raft against Multi-Paxos on a real cluster: three `bulwark serve` processes on 127.0.0.1 with
 * their default timing (heartbeat 100 ms, election timeout 1000 ms) and fsync on, driven by one
 * load tool (this process, over Bulwark's own gRPC client).
 *
 * 1. Put throughput and latency: 256-byte values, keys spread over 100,000, every put sent to the
 *    leader, at each concurrency (callers each waiting for their put before the next), for
 *    --seconds per row after a one-second warm-up. The protocols alternate, A B A B (--rounds),
 *    each round on a fresh cluster, so the noise of a shared machine falls on both alike.
 * 2. Leader-crash recovery: kill -9 of the leader, then puts to the survivors (round robin, 250 ms
 *    deadline each) until one succeeds; the time from the kill to that first success. The killed
 *    member restarts and catches up between trials.
 *
 *   node dist/bench/consensus-cluster.js [--seconds 5] [--concurrency 1,16,64,256] [--rounds 2]
 *       [--trials 6] [--protocols raft,paxos] [--skip-throughput] [--skip-recovery] [--json]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { GrpcChannel } from '../src/api/grpc/index.js';
import { KVService, MaintenanceService } from '../src/api/proto/generated/etcdserverpb.js';
import { localClusterOnFreePorts, type LocalCluster } from '../src/server/local-cluster.js';

type Protocol = 'raft' | 'paxos';

interface ThroughputRow {
  readonly protocol: Protocol;
  readonly round: number;
  readonly concurrency: number;
  readonly puts: number;
  readonly errors: number;
  readonly seconds: number;
  readonly putsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

interface RecoveryTrial {
  readonly protocol: Protocol;
  readonly trial: number;
  readonly recoveryMs: number;
}

const VALUE = new Uint8Array(256).fill(0x62);
const KEYS = 100_000;
const enc = new TextEncoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Running {
  readonly cluster: LocalCluster;
  readonly dir: string;
  readonly channels: Map<string, GrpcChannel>;
}

function channel(r: Running, name: string): GrpcChannel {
  let c = r.channels.get(name);
  if (c === undefined) {
    c = new GrpcChannel(r.cluster.endpoints()[r.cluster.names.indexOf(name)]!);
    r.channels.set(name, c);
  }
  return c;
}

async function start(protocol: Protocol): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), `bulwark-bench-${protocol}-`));
  const cluster = await localClusterOnFreePorts({ dir, size: 3, extraArgs: ['--consensus', protocol, '--log-level', 'warn'] });
  await cluster.startAll();
  await cluster.waitAllHealthy(60_000);
  return { cluster, dir, channels: new Map() };
}

async function stop(r: Running): Promise<void> {
  for (const c of r.channels.values()) c.close();
  r.channels.clear();
  await r.cluster.killAll();
  rmSync(r.dir, { recursive: true, force: true });
}

/** The member every reachable member calls leader, once they agree (bounded wait). */
async function leader(r: Running, among: readonly string[] = r.cluster.names, timeoutMs = 30_000): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const ids = new Map<string, string>();
    const leaders = new Set<string>();
    for (const name of among) {
      try {
        const s = await channel(r, name).call(MaintenanceService.Status, {}, { deadlineMs: 1000 });
        ids.set((s.header?.memberId ?? 0n).toString(16), name);
        if (s.leader !== 0n) leaders.add(s.leader.toString(16));
      } catch {
        /* not reachable now */
      }
    }
    const name = leaders.size === 1 ? ids.get([...leaders][0]!) : undefined;
    if (name !== undefined) return name;
    await sleep(50);
  }
  throw new Error(`no leader among ${among.join(', ')} within ${timeoutMs} ms`);
}

function put(ch: GrpcChannel, key: number, deadlineMs: number): Promise<unknown> {
  return ch.call(KVService.Put, { key: enc.encode(`bench/${key}`), value: VALUE }, { deadlineMs });
}

async function load(ch: GrpcChannel, concurrency: number, seconds: number): Promise<{ latencies: number[]; errors: number; elapsed: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const began = performance.now();
  const end = began + seconds * 1000;
  let next = Math.floor(Math.random() * KEYS);
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await put(ch, next++ % KEYS, 5000);
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
        if (errors > 10_000) return; // a broken cluster: stop, the row will say so
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, errors, elapsed: (performance.now() - began) / 1000 };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function throughputRound(protocol: Protocol, round: number, concurrencies: readonly number[], seconds: number): Promise<ThroughputRow[]> {
  const r = await start(protocol);
  try {
    const ch = channel(r, await leader(r));
    await load(ch, 16, 1); // warm-up: connections, JIT, the first segments
    const rows: ThroughputRow[] = [];
    for (const c of concurrencies) {
      const { latencies, errors, elapsed } = await load(ch, c, seconds);
      latencies.sort((a, b) => a - b);
      rows.push({ protocol, round, concurrency: c, puts: latencies.length, errors, seconds: elapsed, putsPerSecond: latencies.length / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) });
      process.stderr.write(`  ${protocol} round ${round} concurrency ${c}: ${Math.round(latencies.length / elapsed)} puts/s, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${errors} errors\n`);
    }
    return rows;
  } finally {
    await stop(r);
  }
}

async function recoveryTrials(protocol: Protocol, trials: number, first: number): Promise<RecoveryTrial[]> {
  const r = await start(protocol);
  const out: RecoveryTrial[] = [];
  try {
    for (let t = 0; t < trials; t++) {
      const l = await leader(r);
      await put(channel(r, l), 0, 5000); // the leader is serving
      const survivors = r.cluster.names.filter((n) => n !== l);
      await r.cluster.kill(l);
      const killedAt = performance.now();
      let recoveryMs = NaN;
      for (let i = 0; performance.now() - killedAt < 60_000; i++) {
        try {
          await put(channel(r, survivors[i % survivors.length]!), i, 250);
          recoveryMs = performance.now() - killedAt;
          break;
        } catch {
          /* no leader yet, or the request was lost with the old one */
        }
      }
      out.push({ protocol, trial: first + t, recoveryMs });
      process.stderr.write(`  ${protocol} trial ${first + t}: first write ${recoveryMs.toFixed(0)} ms after the kill\n`);
      channel(r, l).close();
      r.channels.delete(l);
      r.cluster.start(l, 'existing');
      await r.cluster.waitHealthy(l, 60_000);
      await sleep(1500); // let it catch up and the cluster settle before the next kill
    }
    return out;
  } finally {
    await stop(r);
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '1,16,64,256' },
      rounds: { type: 'string', default: '2' },
      trials: { type: 'string', default: '6' },
      protocols: { type: 'string', default: 'raft,paxos' },
      'skip-throughput': { type: 'boolean', default: false },
      'skip-recovery': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const protocols = values.protocols.split(',') as Protocol[];
  for (const p of protocols) if (p !== 'raft' && p !== 'paxos') throw new Error(`unknown protocol ${p}`);
  const concurrencies = values.concurrency.split(',').map(Number);
  const rounds = Number(values.rounds);
  const trials = Number(values.trials);
  const seconds = Number(values.seconds);

  const rows: ThroughputRow[] = [];
  if (!values['skip-throughput']) {
    for (let round = 1; round <= rounds; round++) for (const p of protocols) rows.push(...(await throughputRound(p, round, concurrencies, seconds)));
  }
  const recovery: RecoveryTrial[] = [];
  if (!values['skip-recovery']) {
    // Alternate in blocks too: half the trials of each protocol, then the other half.
    const half = Math.ceil(trials / 2);
    for (const [first, n] of [[1, half], [half + 1, trials - half]] as const) {
      if (n > 0) for (const p of protocols) recovery.push(...(await recoveryTrials(p, n, first)));
    }
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ rows, recovery }, null, 2)}\n`);
    return;
  }
  const lines: string[] = [];
  if (rows.length > 0) {
    lines.push(`put throughput: 3 members on 127.0.0.1, fsync on, 256-byte values, puts to the leader, ${seconds} s per row, rounds alternate ${protocols.join(' ')}`);
    lines.push('| concurrency | ' + protocols.map((p) => `${p} puts/s | ${p} p50 ms | ${p} p99 ms`).join(' | ') + ' |');
    lines.push('|---:|' + protocols.map(() => '---:|---:|---:').join('|') + '|');
    for (const c of concurrencies) {
      const cells = protocols.map((p) => {
        const mine = rows.filter((r) => r.protocol === p && r.concurrency === c);
        const avg = (f: (r: ThroughputRow) => number): number => mine.reduce((s, r) => s + f(r), 0) / mine.length;
        return `${Math.round(avg((r) => r.putsPerSecond))} | ${avg((r) => r.p50Ms).toFixed(1)} | ${avg((r) => r.p99Ms).toFixed(1)}`;
      });
      lines.push(`| ${c} | ${cells.join(' | ')} |`);
    }
    lines.push(`(each cell: the mean over ${rounds} round(s); errors: ${rows.reduce((s, r) => s + r.errors, 0)})`);
  }
  if (recovery.length > 0) {
    lines.push('');
    lines.push('leader-crash recovery: kill -9 of the leader to the first successful put (default timing: election timeout 1000 ms)');
    lines.push('| protocol | trials | median ms | max ms | each (ms) |');
    lines.push('|---|---:|---:|---:|---|');
    for (const p of protocols) {
      const ms = recovery.filter((r) => r.protocol === p).map((r) => r.recoveryMs);
      lines.push(`| ${p} | ${ms.length} | ${median(ms).toFixed(0)} | ${Math.max(...ms).toFixed(0)} | ${ms.map((x) => x.toFixed(0)).join(', ')} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
