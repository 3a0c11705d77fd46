/**
 * A cluster of real `bulwark serve` processes on 127.0.0.1: what `bulwark up` runs, and what the
 * real-process tests, `bulwark chaos` and the benchmarks start. Each member is a child process with
 * its own data directory and log file; members can be stopped, killed with SIGKILL, paused with
 * SIGSTOP, resumed, restarted and wiped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from 'node:fs';
import * as net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `bulwark` entry point next to this file in dist/. */
export const BULWARK_MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface LocalMemberSpec {
  readonly name: string;
  readonly clientPort: number;
  /** Ports this member listens on for peers; several give network redundancy. */
  readonly peerPorts: readonly number[];
  /**
   * Ports the other members dial to reach this one (by default the listening ports). The chaos
   * tool puts fault-injecting proxies here.
   */
  readonly advertisedPeerPorts?: readonly number[];
}

export interface LocalClusterOptions {
  readonly dir: string;
  readonly members: readonly LocalMemberSpec[];
  readonly token?: string;
  /** Flags added to every member's command line (e.g. --consensus paxos, --heartbeat-interval 50). */
  readonly extraArgs?: readonly string[];
  /** Per-member extra flags, by member name. */
  readonly memberArgs?: Readonly<Record<string, readonly string[]>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Where member output goes: files under dir (default) or inherited (for `bulwark up --verbose`). */
  readonly output?: 'files' | 'inherit';
  /** Each member's data on a RAID volume over `disks` directories (dir/<name>/disk1, ...). */
  readonly raid?: { readonly level: 1 | 5; readonly disks: number };
  /** Called when a member exits without being asked to. */
  readonly onExit?: (name: string, code: number | null, signal: string | null) => void;
}

export type MemberState = 'stopped' | 'running' | 'paused';

interface Member {
  readonly spec: LocalMemberSpec;
  proc: ChildProcess | null;
  state: MemberState;
  log: WriteStream | null;
  expectingExit: boolean;
  exited: Promise<void> | null;
}

export class LocalCluster {
  private readonly members: Member[];

  constructor(private readonly o: LocalClusterOptions) {
    this.members = o.members.map((spec) => ({ spec, proc: null, state: 'stopped', log: null, expectingExit: false, exited: null }));
    mkdirSync(o.dir, { recursive: true });
  }

  /** Adds a member to the launcher (not started; the cluster learns of it through MemberAdd). */
  addMember(spec: LocalMemberSpec): void {
    if (this.members.some((m) => m.spec.name === spec.name)) throw new Error(`member ${spec.name} exists`);
    this.members.push({ spec, proc: null, state: 'stopped', log: null, expectingExit: false, exited: null });
  }

  /** Forgets a stopped member (after MemberRemove), so it is left out of --initial-cluster. */
  removeMember(name: string): void {
    const i = this.members.findIndex((m) => m.spec.name === name);
    if (i < 0) throw new Error(`no member named ${name}`);
    if (this.members[i]!.proc !== null) throw new Error(`stop member ${name} before removing it`);
    this.members.splice(i, 1);
  }

  get names(): string[] {
    return this.members.map((m) => m.spec.name);
  }

  clientUrl(name: string): string {
    return `http://127.0.0.1:${this.member(name).spec.clientPort}`;
  }

  /** Client endpoints as etcdctl takes them: 127.0.0.1:2379,... */
  endpoints(): string[] {
    return this.members.map((m) => `127.0.0.1:${m.spec.clientPort}`);
  }

  dataDir(name: string): string {
    return resolve(this.o.dir, name);
  }

  private dataDirArg(name: string): string {
    const r = this.o.raid;
    if (r === undefined) return this.dataDir(name);
    return Array.from({ length: r.disks }, (_, i) => join(this.dataDir(name), `disk${i + 1}`)).join(',');
  }

  logFile(name: string): string {
    return resolve(this.o.dir, `${name}.log`);
  }

  state(name: string): MemberState {
    return this.member(name).state;
  }

  pid(name: string): number | null {
    return this.member(name).proc?.pid ?? null;
  }

  initialCluster(): string {
    return this.members
      .flatMap((m) => (m.spec.advertisedPeerPorts ?? m.spec.peerPorts).map((p) => `${m.spec.name}=http://127.0.0.1:${p}`))
      .join(',');
  }

  argsFor(name: string, state: 'new' | 'existing' = 'new'): string[] {
    const m = this.member(name).spec;
    const advertised = m.advertisedPeerPorts ?? m.peerPorts;
    return [
      'serve',
      '--name', m.name,
      '--data-dir', this.dataDirArg(m.name),
      ...(this.o.raid === undefined ? [] : ['--raid', String(this.o.raid.level)]),
      '--listen-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${m.clientPort}`,
      '--listen-peer-urls', m.peerPorts.map((p) => `http://127.0.0.1:${p}`).join(','),
      '--initial-advertise-peer-urls', advertised.map((p) => `http://127.0.0.1:${p}`).join(','),
      '--initial-cluster', this.initialCluster(),
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.o.token ?? 'bulwark-local',
      ...(this.o.extraArgs ?? []),
      ...(this.o.memberArgs?.[m.name] ?? []),
    ];
  }

  async startAll(): Promise<void> {
    for (const m of this.members) this.start(m.spec.name);
  }

  start(name: string, state: 'new' | 'existing' = 'new'): void {
    const m = this.member(name);
    if (m.proc !== null) throw new Error(`member ${name} is already running`);
    const inherit = this.o.output === 'inherit';
    const proc = spawn(process.execPath, [BULWARK_MAIN, ...this.argsFor(name, state)], {
      stdio: inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.o.env },
    });
    if (!inherit) {
      m.log = createWriteStream(this.logFile(name), { flags: 'a' });
      proc.stdout?.pipe(m.log, { end: false });
      proc.stderr?.pipe(m.log, { end: false });
    }
    m.proc = proc;
    m.state = 'running';
    m.expectingExit = false;
    m.exited = new Promise((resolveExit) => {
      proc.on('exit', (code, signal) => {
        const expected = m.expectingExit;
        m.proc = null;
        m.state = 'stopped';
        m.log?.end();
        m.log = null;
        resolveExit();
        if (!expected) this.o.onExit?.(name, code, signal);
      });
    });
  }

  /** SIGTERM, then SIGKILL if the member has not exited within `graceMs`. */
  async stop(name: string, graceMs = 5000): Promise<void> {
    const m = this.member(name);
    if (m.proc === null) return;
    m.expectingExit = true;
    if (m.state === 'paused') m.proc.kill('SIGCONT');
    m.proc.kill('SIGTERM');
    const t = setTimeout(() => m.proc?.kill('SIGKILL'), graceMs);
    await m.exited;
    clearTimeout(t);
  }

  /** kill -9: the member gets no chance to flush anything. */
  async kill(name: string): Promise<void> {
    const m = this.member(name);
    if (m.proc === null) return;
    m.expectingExit = true;
    m.proc.kill('SIGKILL');
    await m.exited;
  }

  pause(name: string): void {
    const m = this.member(name);
    if (m.proc === null || m.state !== 'running') throw new Error(`member ${name} is not running`);
    m.proc.kill('SIGSTOP');
    m.state = 'paused';
  }

  resume(name: string): void {
    const m = this.member(name);
    if (m.proc === null || m.state !== 'paused') throw new Error(`member ${name} is not paused`);
    m.proc.kill('SIGCONT');
    m.state = 'running';
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    this.start(name, 'existing');
  }

  /** Removes a stopped member's data directory (its disk is lost). */
  wipe(name: string): void {
    const m = this.member(name);
    if (m.proc !== null) throw new Error(`stop member ${name} before wiping it`);
    rmSync(this.dataDir(name), { recursive: true, force: true });
  }

  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(this.members.map((m) => this.stop(m.spec.name, graceMs)));
  }

  async killAll(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m.spec.name)));
  }

  /** Resolves when the member answers /health with 200, or rejects after `timeoutMs`. */
  async waitHealthy(name: string, timeoutMs = 20_000): Promise<void> {
    const url = `${this.clientUrl(name)}/health`;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return;
        last = `${r.status} ${await r.text()}`;
      } catch (e) {
        last = (e as Error).message;
      }
      if (this.member(name).proc === null) throw new Error(`member ${name} exited while starting; see ${this.logFile(name)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`member ${name} not healthy after ${timeoutMs} ms (${last}); see ${this.logFile(name)}`);
  }

  async waitAllHealthy(timeoutMs = 30_000): Promise<void> {
    await Promise.all(this.members.filter((m) => m.proc !== null).map((m) => this.waitHealthy(m.spec.name, timeoutMs)));
  }

  private member(name: string): Member {
    const m = this.members.find((x) => x.spec.name === name);
    if (m === undefined) throw new Error(`no member named ${name}`);
    return m;
  }
}

/** Ports below 32768 (above it the kernel hands out ports for outgoing connections) that are free now. */
export async function freePorts(count: number, o: { min?: number; max?: number } = {}): Promise<number[]> {
  const min = o.min ?? 12000;
  const max = o.max ?? 32000;
  const out: number[] = [];
  for (let attempts = 0; out.length < count && attempts < count * 50; attempts++) {
    const p = min + Math.floor(Math.random() * (max - min));
    if (out.includes(p)) continue;
    if (await portFree(p)) out.push(p);
  }
  if (out.length < count) throw new Error(`could not find ${count} free ports in [${min}, ${max})`);
  return out;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const s = net.createServer();
    s.once('error', () => resolvePort(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolvePort(true)));
  });
}

/** A cluster of `n` members named m1..mn on free ports (for tests and tools). */
export async function localClusterOnFreePorts(o: Omit<LocalClusterOptions, 'members'> & { readonly size: number; readonly peerPortsEach?: number }): Promise<LocalCluster> {
  const each = o.peerPortsEach ?? 1;
  const ports = await freePorts(o.size * (1 + each));
  const members: LocalMemberSpec[] = [];
  for (let i = 0; i < o.size; i++) {
    const base = i * (1 + each);
    members.push({ name: `m${i + 1}`, clientPort: ports[base]!, peerPorts: ports.slice(base + 1, base + 1 + each) });
  }
  return new LocalCluster({ ...o, members });
}
