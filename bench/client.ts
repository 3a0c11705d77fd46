/**
 * Client benchmark: (1) the failover client's cost per call next to a bare gRPC channel, one after
 * the other against the same single-member etcd, sequential and with 32 calls in flight; (2) what
 * an application sees when the leader of a three-member etcd is killed: the longest time between
 * two successful writes around each kill, and how many calls failed.
 *
 *   node dist/bench/client.js [--ops 3000] [--kills 3] [--json]
 *
 * Needs /usr/bin/etcd (Debian: apt-get install -y etcd-server). Against etcd, a write cut off by
 * a kill may have applied and is not retried (no exactly-once sessions): those are counted as
 * "ambiguous" failures; Bulwark retries them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { GrpcChannel } from '../src/api/grpc/client.js';
import { KVService, MaintenanceService } from '../src/api/proto/generated/etcdserverpb.js';
import { createClient, isClientError } from '../src/client/index.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '3000' }, kills: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
const OPS = Number(values.ops);
const KILLS = Number(values.kills);
const ETCD = '/usr/bin/etcd';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function ports(n: number): Promise<number[]> {
  for (;;) {
    const base = 12000 + Math.floor(Math.random() * 1900) * 10;
    const p = Array.from({ length: n }, (_, i) => base + i);
    if ((await Promise.all(p.map(portFree))).every(Boolean)) return p;
  }
}

class Etcd {
  readonly procs: (ChildProcess | null)[] = [];
  readonly endpoints: string[];
  constructor(
    readonly dir: string,
    readonly p: number[],
    readonly size: number,
  ) {
    this.endpoints = Array.from({ length: size }, (_, i) => `127.0.0.1:${p[i * 2]}`);
  }
  static async start(size: number): Promise<Etcd> {
    const e = new Etcd(mkdtempSync(join(tmpdir(), 'bulwark-bench-client-')), await ports(size * 2), size);
    for (let i = 0; i < size; i++) e.spawn(i, 'new');
    await e.ready();
    return e;
  }
  spawn(i: number, state: string): void {
    const peer = (j: number): string => `http://127.0.0.1:${this.p[j * 2 + 1]}`;
    const initial = Array.from({ length: this.size }, (_, j) => `e${j}=${peer(j)}`).join(',');
    this.procs[i] = spawn(ETCD, [`--name=e${i}`, `--data-dir=${join(this.dir, `e${i}`)}`, `--listen-client-urls=http://${this.endpoints[i]}`, `--advertise-client-urls=http://${this.endpoints[i]}`, `--listen-peer-urls=${peer(i)}`, `--initial-advertise-peer-urls=${peer(i)}`, `--initial-cluster=${initial}`, `--initial-cluster-state=${state}`, '--heartbeat-interval=50', '--election-timeout=500'], { stdio: 'ignore' });
  }
  async leader(): Promise<number | null> {
    for (let i = 0; i < this.size; i++) {
      if (this.procs[i] === null) continue;
      const ch = new GrpcChannel(this.endpoints[i]!, { connectTimeoutMs: 500 });
      try {
        const s = await ch.call(MaintenanceService.Status, {}, { deadlineMs: 1000 });
        if (s.leader !== 0n && s.leader === s.header?.memberId) return i;
      } catch {
        // try the next
      } finally {
        ch.close();
      }
    }
    return null;
  }
  async ready(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const l = await this.leader();
      if (l !== null) {
        let all = true;
        for (const e of this.endpoints) if ((await fetch(`http://${e}/health`).then((r) => r.status, () => 0)) !== 200) all = false;
        if (all) return;
      }
      await sleep(100);
    }
    throw new Error('etcd not ready');
  }
  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p === null || p === undefined) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
    this.procs[i] = null;
  }
  async stop(): Promise<void> {
    for (let i = 0; i < this.size; i++) await this.kill(i);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface Row {
  readonly what: string;
  readonly opsPerSecond: number;
  readonly meanUs: number;
}

async function measure(what: string, concurrency: number, op: (i: number) => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < 100; i++) await op(i); // warm up
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < OPS) await op(next++);
    }),
  );
  const ms = performance.now() - start;
  return { what, opsPerSecond: Math.round((OPS / ms) * 1000), meanUs: Math.round(((ms * 1000) / OPS) * concurrency) };
}

async function overhead(): Promise<Row[]> {
  const etcd = await Etcd.start(1);
  try {
    const ch = new GrpcChannel(etcd.endpoints[0]!);
    const client = createClient({ endpoints: etcd.endpoints, exactlyOnce: 'off' });
    const key = new TextEncoder().encode('bench/k');
    const value = new Uint8Array(64);
    const rows: Row[] = [];
    // Each pair runs alternately, three rounds, and the median round counts: the machine is shared
    // and noisy, and a fixed order would favour whichever runs in the quieter moment.
    const median = async (what: string, c: number, op: () => Promise<unknown>, rounds: Row[][], slot: number): Promise<void> => {
      (rounds[slot] ??= []).push(await measure(what, c, op));
    };
    for (const c of [1, 32]) {
      const rounds: Row[][] = [];
      for (let round = 0; round < 3; round++) {
        await median(`put, bare GrpcChannel, ${c} in flight`, c, () => ch.call(KVService.Put, { key, value }), rounds, 0);
        await median(`put, failover client, ${c} in flight`, c, () => client.put(key, value), rounds, 1);
        await median(`get, bare GrpcChannel, ${c} in flight`, c, () => ch.call(KVService.Range, { key }), rounds, 2);
        await median(`get, failover client, ${c} in flight`, c, () => client.get(key), rounds, 3);
      }
      for (const r of rounds) rows.push([...r].sort((a, b) => a.opsPerSecond - b.opsPerSecond)[1]!);
    }
    ch.close();
    await client.close();
    return rows;
  } finally {
    await etcd.stop();
  }
}

interface FailoverRow {
  readonly kill: number;
  readonly longestGapMs: number;
  readonly failedAmbiguous: number;
  readonly failedOther: number;
}

async function failover(): Promise<FailoverRow[]> {
  const etcd = await Etcd.start(3);
  const client = createClient({ endpoints: etcd.endpoints, callTimeoutMs: 10_000 });
  const rows: FailoverRow[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      let running = true;
      let lastOk = performance.now();
      let longest = 0;
      let ambiguous = 0;
      let other = 0;
      const writer = (async () => {
        for (let i = 0; running; i++) {
          try {
            await client.put(`bench/f${i % 100}`, String(i));
            const now = performance.now();
            longest = Math.max(longest, now - lastOk);
            lastOk = now;
          } catch (e) {
            if (isClientError(e) && e.mayHaveApplied) ambiguous++;
            else other++;
          }
        }
      })();
      await sleep(500);
      const leader = await etcd.leader();
      if (leader !== null) await etcd.kill(leader);
      await sleep(3000);
      running = false;
      await writer;
      rows.push({ kill: k + 1, longestGapMs: Math.round(longest), failedAmbiguous: ambiguous, failedOther: other });
      if (leader !== null) etcd.spawn(leader, 'existing');
      await etcd.ready();
    }
  } finally {
    await client.close();
    await etcd.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  if (!existsSync(ETCD)) {
    process.stderr.write(`client bench: ${ETCD} not found (apt-get install -y etcd-server)\n`);
    process.exit(2);
  }
  const rows = await overhead();
  const fo = await failover();
  if (values.json) {
    process.stdout.write(JSON.stringify({ ops: OPS, overhead: rows, failover: fo }, null, 2) + '\n');
    return;
  }
  process.stdout.write(`Client overhead against a single-member etcd 3.4 (${OPS} calls each, 64-byte values)\n\n`);
  process.stdout.write(`${'call'.padEnd(42)} ${'ops/s'.padStart(8)} ${'mean µs'.padStart(9)}\n`);
  for (const r of rows) process.stdout.write(`${r.what.padEnd(42)} ${String(r.opsPerSecond).padStart(8)} ${String(r.meanUs).padStart(9)}\n`);
  process.stdout.write(`\nLeader killed (SIGKILL) under a sequential writer, three-member etcd 3.4 (election timeout 500 ms)\n\n`);
  process.stdout.write(`${'kill'.padEnd(6)} ${'longest gap ms'.padStart(15)} ${'ambiguous'.padStart(10)} ${'other failed'.padStart(13)}\n`);
  for (const r of fo) process.stdout.write(`${String(r.kill).padEnd(6)} ${String(r.longestGapMs).padStart(15)} ${String(r.failedAmbiguous).padStart(10)} ${String(r.failedOther).padStart(13)}\n`);
}

void main();
