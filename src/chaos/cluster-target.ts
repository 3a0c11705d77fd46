/**
 * What the chaos tool runs against: a cluster it starts itself (Bulwark or etcd, real processes on
 * this machine, with a network fabric between the members) or endpoints it is given (no process or
 * network faults there). Process clusters share everything but the command line, which
 * target-etcd.ts and target-bulwark.ts build.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdConnection, errorText } from '../bench/etcd-client.js';
import { assertNever } from '../core/assert.js';
import { CHAOS_ADMIN_TIMEOUT_MS, CHAOS_HEALTH_POLL_MS, CHAOS_STOP_GRACE_MS } from '../core/limits.js';
import { freePorts } from '../server/local-cluster.js';
import { ChaosError } from './errors.js';
import { needsOf, type FaultKind } from './fault-kinds.js';
import { MemberProcess, type ProcessState, type SpawnSpec } from './member-process.js';
import type { MemberAddress, NetworkFabric } from './network-fabric.js';
import { NetnsFabric } from './netns-fabric.js';
import { ProxyFabric } from './proxy-fabric.js';

export type TargetKind = 'bulwark' | 'etcd' | 'endpoints';

export interface ClusterTarget {
  readonly kind: TargetKind;
  readonly members: readonly string[];
  /** host:port a client uses for this member. */
  endpoint(member: string): string;
  readonly fabric: NetworkFabric | null;
  /** Why fault `k` cannot be injected here, or null. */
  unsupported(k: FaultKind): string | null;
  start(): Promise<void>;
  /** Stops every process and removes what start made (safe to call twice). */
  stop(): Promise<void>;
  state(member: string): ProcessState;
  kill(member: string): Promise<void>;
  /** Starts a stopped member on its existing data (with extra environment, e.g. failpoints). */
  restart(member: string, o?: { readonly env?: Readonly<Record<string, string>> }): Promise<void>;
  pause(member: string): void;
  resume(member: string): void;
  /** Resolves when the member answers /health (it has a leader and can serve), or throws. */
  waitHealthy(member: string, timeoutMs: number): Promise<void>;
  /** Removes the member from the cluster, wipes its data, adds it back as a new member and starts it. */
  replaceMember(member: string): Promise<void>;
  logFile(member: string): string | null;
  rssBytes(member: string): Promise<number | null>;
}

export interface ProcessClusterOptions {
  readonly size: number;
  /** Data directories and logs go here. */
  readonly dir: string;
  readonly network: 'proxy' | 'netns' | 'none';
  readonly seed: number;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  /** Extra flags for every member. */
  readonly extraArgs?: readonly string[];
  /** How long stop() waits after SIGTERM before SIGKILL (CHAOS_STOP_GRACE_MS by default). */
  readonly stopGraceMs?: number;
  /** Called when a member exits without being asked to. */
  readonly onUnexpectedExit?: (member: string, code: number | null, signal: string | null) => void;
}

/** Resolves when http://host:port/health answers 200 with a healthy body, or throws after `timeoutMs`. */
export async function waitHttpHealthy(o: { readonly url: string; readonly timeoutMs: number; readonly alive: () => boolean; readonly what: string }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(o.url, { signal: AbortSignal.timeout(1000) });
      const body = await r.text();
      if (r.status === 200 && !/"health"\s*:\s*"false"/.test(body)) return;
      last = `${r.status} ${body.slice(0, 200)}`;
    } catch (e) {
      last = errorText(e);
    }
    if (!o.alive()) throw new ChaosError('cluster', `${o.what} exited while starting`);
    await new Promise((r) => setTimeout(r, CHAOS_HEALTH_POLL_MS));
  }
  throw new ChaosError('cluster', `${o.what} not healthy after ${o.timeoutMs} ms (${last})`);
}

/** A cluster of member processes on this machine, with a network fabric between them. */
export abstract class ProcessClusterTarget implements ClusterTarget {
  abstract readonly kind: TargetKind;
  protected addresses: MemberAddress[] = [];
  protected readonly procs = new Map<string, MemberProcess>();
  fabric: NetworkFabric | null = null;
  private netns: NetnsFabric | null = null;
  private started = false;

  constructor(protected readonly o: ProcessClusterOptions) {}

  get members(): readonly string[] {
    return this.addresses.map((a) => a.name);
  }

  /** The command line of a member. `initialCluster` replaces the static one (a re-added member). */
  protected abstract spawnSpec(a: MemberAddress, state: 'new' | 'existing', o: { readonly env?: Readonly<Record<string, string>>; readonly initialCluster?: string }): SpawnSpec;

  /** Fault needs this kind of target cannot meet, beyond the generic ones. */
  protected abstract unsupportedNeed(need: ReturnType<typeof needsOf>[number]): string | null;

  endpoint(member: string): string {
    const a = this.address(member);
    return `${a.host}:${a.clientPort}`;
  }

  peerUrl(member: string): string {
    const a = this.address(member);
    return `http://${a.advertisedPeerHost}:${a.advertisedPeerPort}`;
  }

  initialCluster(): string {
    return this.addresses.map((a) => `${a.name}=http://${a.advertisedPeerHost}:${a.advertisedPeerPort}`).join(',');
  }

  dataDir(member: string): string {
    return join(this.o.dir, member);
  }

  logFile(member: string): string {
    return join(this.o.dir, `${member}.log`);
  }

  unsupported(k: FaultKind): string | null {
    for (const need of needsOf(k)) {
      const generic = this.genericNeed(need);
      if (generic !== null) return generic;
      const specific = this.unsupportedNeed(need);
      if (specific !== null) return specific;
    }
    return null;
  }

  private genericNeed(need: ReturnType<typeof needsOf>[number]): string | null {
    const f = this.fabric;
    switch (need) {
      case 'process':
      case 'admin':
      case 'failpoints':
        return null;
      case 'three-members':
        return this.o.size >= 3 ? null : 'needs at least three members';
      case 'network-cut':
        return f === null ? 'no network fabric (--network none)' : f.unsupported('cut');
      case 'network-delay':
        return f === null ? 'no network fabric (--network none)' : f.unsupported('delay');
      case 'network-loss':
        return f === null ? 'no network fabric (--network none)' : f.unsupported('loss');
      case 'network-bandwidth':
        return f === null ? 'no network fabric (--network none)' : f.unsupported('bandwidth');
      default:
        return assertNever(need, 'fault need');
    }
  }

  async start(): Promise<void> {
    this.started = true;
    const names = Array.from({ length: this.o.size }, (_, i) => `m${i + 1}`);
    const ports = await freePorts(this.o.size * 3);
    const plain = names.map((name, i) => ({ name, clientPort: ports[i * 3]!, peerPort: ports[i * 3 + 1]!, proxyPort: ports[i * 3 + 2]! }));
    switch (this.o.network) {
      case 'none':
        this.addresses = plain.map((m) => ({ name: m.name, host: '127.0.0.1', clientPort: m.clientPort, peerPort: m.peerPort, advertisedPeerHost: '127.0.0.1', advertisedPeerPort: m.peerPort, netns: null }));
        break;
      case 'proxy': {
        this.addresses = plain.map((m) => ({ name: m.name, host: '127.0.0.1', clientPort: m.clientPort, peerPort: m.peerPort, advertisedPeerHost: '127.0.0.1', advertisedPeerPort: m.proxyPort, netns: null }));
        this.fabric = new ProxyFabric({ members: this.addresses, pids: () => this.pids(), seed: this.o.seed });
        break;
      }
      case 'netns': {
        // The id picks the subnet and names; derived from the ports so concurrent runs differ.
        const id = 1 + (ports[0]! % 250);
        this.netns = new NetnsFabric({ members: plain, id });
        this.addresses = [...this.netns.addresses];
        this.fabric = this.netns;
        process.once('exit', () => this.netns?.teardownSync());
        break;
      }
    }
    await this.fabric?.setup();
    for (const a of this.addresses) {
      const p = new MemberProcess(a.name, (n, code, signal) => this.o.onUnexpectedExit?.(n, code, signal));
      this.procs.set(a.name, p);
      p.start(this.spawnSpec(a, 'new', {}));
    }
    await Promise.all(this.addresses.map((a) => this.waitHealthy(a.name, 30_000)));
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await Promise.all([...this.procs.values()].map((p) => p.stop(this.o.stopGraceMs ?? CHAOS_STOP_GRACE_MS)));
    await this.fabric?.teardown();
    this.netns = null;
    this.started = false;
  }

  state(member: string): ProcessState {
    return this.proc(member).state;
  }

  pids(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [name, p] of this.procs) if (p.pid !== null) out.set(p.pid, name);
    return out;
  }

  async kill(member: string): Promise<void> {
    await this.proc(member).kill();
  }

  async restart(member: string, o: { readonly env?: Readonly<Record<string, string>> } = {}): Promise<void> {
    const p = this.proc(member);
    if (p.state !== 'stopped') await p.kill();
    p.start(this.spawnSpec(this.address(member), 'existing', o.env === undefined ? {} : { env: o.env }));
  }

  pause(member: string): void {
    this.proc(member).pause();
  }

  resume(member: string): void {
    this.proc(member).resume();
  }

  async waitHealthy(member: string, timeoutMs: number): Promise<void> {
    const a = this.address(member);
    const p = this.proc(member);
    await waitHttpHealthy({ url: `http://${a.host}:${a.clientPort}/health`, timeoutMs, alive: () => p.state !== 'stopped', what: `member ${member} (log: ${this.logFile(member)})` });
  }

  async replaceMember(member: string): Promise<void> {
    const others = this.members.filter((m) => m !== member && this.proc(m).state === 'running');
    if (others.length === 0) throw new ChaosError('nemesis', `no running member to remove ${member} through`);
    const conn = new EtcdConnection(this.endpoint(others[0]!));
    try {
      const call = { deadlineMs: CHAOS_ADMIN_TIMEOUT_MS };
      // etcd refuses membership changes while a member is not known to be healthy ("unhealthy
      // cluster"), as it should right after another fault: wait for health, then retry.
      await Promise.all(this.members.filter((m) => this.proc(m).state === 'running').map((m) => this.waitHealthy(m, CHAOS_ADMIN_TIMEOUT_MS * 3).catch(() => {})));
      const url = this.peerUrl(member);
      const list = await retry(() => conn.memberList(call), CHAOS_ADMIN_TIMEOUT_MS * 3);
      const old = list.find((m) => m.name === member || m.peerURLs.includes(url));
      this.proc(member).expectExit();
      // A retried call may find its earlier attempt done (the answer was lost): check the list.
      if (old !== undefined) {
        await retry(async () => {
          try {
            await conn.memberRemove(old.ID, call);
          } catch (e) {
            if ((await conn.memberList(call)).some((m) => m.ID === old.ID)) throw e;
          }
        }, CHAOS_ADMIN_TIMEOUT_MS * 3);
      }
      await this.proc(member).kill();
      rmSync(this.dataDir(member), { recursive: true, force: true });
      const added = await retry(async () => {
        try {
          return await conn.memberAdd([url], call);
        } catch (e) {
          const members = await conn.memberList(call);
          if (members.some((m) => m.peerURLs.includes(url))) return { member: undefined, members };
          throw e;
        }
      }, CHAOS_ADMIN_TIMEOUT_MS * 3);
      const initialCluster = added.members
        .flatMap((m) => m.peerURLs.map((u) => `${m.name === '' ? (u === url ? member : m.name) : m.name}=${u}`))
        .join(',');
      this.proc(member).start(this.spawnSpec(this.address(member), 'existing', { initialCluster }));
    } catch (e) {
      throw new ChaosError('nemesis', `replacing member ${member} failed: ${errorText(e)}`, { cause: e });
    } finally {
      conn.close();
    }
  }

  async rssBytes(member: string): Promise<number | null> {
    return this.proc(member).rssBytes();
  }

  protected address(member: string): MemberAddress {
    const a = this.addresses.find((x) => x.name === member);
    if (a === undefined) throw new ChaosError('invalid-options', `no member named ${member}`);
    return a;
  }

  private proc(member: string): MemberProcess {
    const p = this.procs.get(member);
    if (p === undefined) throw new ChaosError('invalid-options', `no member named ${member}`);
    return p;
  }
}

async function retry<T>(f: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
