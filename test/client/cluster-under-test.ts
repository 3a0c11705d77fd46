/**
 * The cluster the client's real-process tests run against, behind one interface: real Bulwark
 * members (`bulwark serve` through LocalCluster) once the server exists, the reference etcd 3.4
 * (Debian's /usr/bin/etcd) otherwise. BULWARK_TEST_CLUSTER=etcd|bulwark forces one. Members bind
 * 127.0.0.1 on free ports below 32768, data lives in a temporary directory, and every process is
 * killed by `stop()` (and, as a last resort, when the test process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../src/cli/commands.js';
import { localClusterOnFreePorts, type LocalCluster } from '../../src/server/local-cluster.js';
import { createClient } from '../../src/client/index.js';

export const ETCD_BIN = '/usr/bin/etcd';
export const ETCDCTL_BIN = '/usr/bin/etcdctl';

export interface TestCluster {
  readonly kind: 'etcd' | 'bulwark';
  readonly size: number;
  /** Client endpoints, "127.0.0.1:port". */
  readonly endpoints: readonly string[];
  /** Whether the server keeps exactly-once client sessions. */
  readonly exactlyOnce: boolean;
  /** kill -9. */
  kill(i: number): Promise<void>;
  /** Starts a killed member again on its data. */
  start(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT. */
  pause(i: number): void;
  resume(i: number): void;
  running(i: number): boolean;
  /** The index of the member that leads now, asking the running members; null when none does. */
  leaderIndex(): Promise<number | null>;
  /** Waits until every running member answers and a leader exists. */
  waitReady(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** A block of `n` consecutive free ports below 32768 (randomized so parallel test files rarely collide). */
export async function freePortBlock(n: number): Promise<number[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 12000 + Math.floor(Math.random() * 1900) * 10;
    const ports = Array.from({ length: n }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no free ports');
}

/** Which cluster the tests run against, or why they are skipped. */
export function clusterKind(): { kind: 'etcd' | 'bulwark' } | { skip: string } {
  const forced = process.env['BULWARK_TEST_CLUSTER'];
  const bulwark = COMMANDS.some((c) => c.name === 'serve');
  if (forced === 'bulwark' || (forced === undefined && bulwark)) return bulwark ? { kind: 'bulwark' } : { skip: '`bulwark serve` does not exist yet' };
  if (existsSync(ETCD_BIN)) return { kind: 'etcd' };
  return { skip: `${ETCD_BIN} not found (apt-get install etcd-server) and \`bulwark serve\` does not exist yet` };
}

/** The skip option for node:test when no cluster can run here. */
export function skipUnlessCluster(): string | false {
  const k = clusterKind();
  return 'skip' in k ? k.skip : false;
}

export async function startTestCluster(o: { size?: number } = {}): Promise<TestCluster> {
  const k = clusterKind();
  if ('skip' in k) throw new Error(k.skip);
  const size = o.size ?? 3;
  const cluster = k.kind === 'etcd' ? await EtcdCluster.start(size) : await BulwarkCluster.start(size);
  try {
    await cluster.waitReady();
    if (cluster instanceof BulwarkCluster) await cluster.probeSessions();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}

async function leaderOf(endpoints: readonly string[], running: (i: number) => boolean): Promise<number | null> {
  const client = createClient({ endpoints: [...endpoints], callTimeoutMs: 1500, dialTimeoutMs: 500 });
  try {
    const answers = await Promise.all(
      endpoints.map(async (e, i) => {
        if (!running(i)) return null;
        try {
          const s = await client.status(e, { timeoutMs: 1000 });
          return { i, leader: s.leader, self: s.header?.memberId ?? 0n, term: s.raftTerm };
        } catch {
          return null;
        }
      }),
    );
    let best: { leader: bigint; term: number } | null = null;
    for (const a of answers) if (a !== null && a.leader !== 0n && (best === null || a.term > best.term)) best = a;
    if (best === null) return null;
    const self = answers.find((a) => a !== null && a.self === best!.leader);
    return self?.i ?? null;
  } finally {
    await client.close();
  }
}

class EtcdCluster implements TestCluster {
  readonly kind = 'etcd' as const;
  readonly exactlyOnce = false;
  readonly endpoints: string[];
  private readonly procs: (ChildProcess | null)[];
  private readonly paused: boolean[];

  private constructor(
    readonly size: number,
    private readonly dir: string,
    private readonly ports: number[],
  ) {
    this.endpoints = Array.from({ length: size }, (_, i) => `127.0.0.1:${ports[i * 2]}`);
    this.procs = new Array<ChildProcess | null>(size).fill(null);
    this.paused = new Array<boolean>(size).fill(false);
  }

  static async start(size: number): Promise<EtcdCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-client-etcd-'));
    const ports = await freePortBlock(size * 2);
    const c = new EtcdCluster(size, dir, ports);
    for (let i = 0; i < size; i++) c.spawn(i, 'new');
    return c;
  }

  private args(i: number, state: 'new' | 'existing'): string[] {
    const peer = (j: number): string => `http://127.0.0.1:${this.ports[j * 2 + 1]}`;
    const initial = Array.from({ length: this.size }, (_, j) => `e${j + 1}=${peer(j)}`).join(',');
    return [
      `--name=e${i + 1}`,
      `--data-dir=${join(this.dir, `e${i + 1}`)}`,
      `--listen-client-urls=http://${this.endpoints[i]}`,
      `--advertise-client-urls=http://${this.endpoints[i]}`,
      `--listen-peer-urls=${peer(i)}`,
      `--initial-advertise-peer-urls=${peer(i)}`,
      `--initial-cluster=${initial}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=bulwark-client-${this.ports[0]}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--logger=zap',
    ];
  }

  private spawn(i: number, state: 'new' | 'existing'): void {
    const log = createWriteStream(join(this.dir, `e${i + 1}.log`), { flags: 'a' });
    const p = spawn(ETCD_BIN, this.args(i, state), { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.pipe(log);
    p.stderr?.pipe(log);
    live.add(p);
    p.on('exit', () => live.delete(p));
    this.procs[i] = p;
    this.paused[i] = false;
  }

  running(i: number): boolean {
    const p = this.procs[i];
    return p !== null && p !== undefined && p.exitCode === null && p.signalCode === null && !this.paused[i];
  }

  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p === null || p === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
    this.procs[i] = null;
  }

  async start(i: number): Promise<void> {
    if (this.procs[i] !== null) return;
    this.spawn(i, 'existing');
  }

  pause(i: number): void {
    this.procs[i]?.kill('SIGSTOP');
    this.paused[i] = true;
  }

  resume(i: number): void {
    this.procs[i]?.kill('SIGCONT');
    this.paused[i] = false;
  }

  leaderIndex(): Promise<number | null> {
    return leaderOf(this.endpoints, (i) => this.running(i));
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.leaderIndex()) !== null) return;
      await sleep(100);
    }
    throw new Error(`etcd cluster not ready after ${timeoutMs} ms; logs in ${this.dir}`);
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      if (this.paused[i]) this.resume(i);
      await this.kill(i);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class BulwarkCluster implements TestCluster {
  readonly kind = 'bulwark' as const;
  /** Whether the server answers /bulwark.v1.Session/Open (probed once the cluster is ready). */
  exactlyOnce = false;
  readonly endpoints: string[];

  private constructor(
    readonly size: number,
    private readonly local: LocalCluster,
    private readonly dir: string,
  ) {
    this.endpoints = local.endpoints();
  }

  static async start(size: number): Promise<BulwarkCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-client-'));
    const local = await localClusterOnFreePorts({ dir, size, extraArgs: ['--heartbeat-interval', '100', '--election-timeout', '1000'] });
    await local.startAll();
    return new BulwarkCluster(size, local, dir);
  }

  private name(i: number): string {
    return this.local.names[i]!;
  }

  running(i: number): boolean {
    return this.local.state(this.name(i)) === 'running';
  }

  kill(i: number): Promise<void> {
    return this.local.kill(this.name(i));
  }

  async start(i: number): Promise<void> {
    if (this.local.state(this.name(i)) !== 'stopped') return;
    this.local.start(this.name(i), 'existing');
  }

  pause(i: number): void {
    this.local.pause(this.name(i));
  }

  resume(i: number): void {
    this.local.resume(this.name(i));
  }

  leaderIndex(): Promise<number | null> {
    return leaderOf(this.endpoints, (i) => this.running(i));
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.leaderIndex()) !== null) return;
      await sleep(100);
    }
    throw new Error(`bulwark cluster not ready after ${timeoutMs} ms; logs in ${this.dir}`);
  }

  /** Opens a session with a first write: does this server keep exactly-once sessions? */
  async probeSessions(): Promise<void> {
    const c = createClient({ endpoints: this.endpoints, callTimeoutMs: 10_000 });
    try {
      await c.put('__probe', 'x');
      this.exactlyOnce = c.session().type === 'open';
    } finally {
      await c.close();
    }
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.size; i++) if (this.local.state(this.name(i)) === 'paused') this.resume(i);
    await this.local.killAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
