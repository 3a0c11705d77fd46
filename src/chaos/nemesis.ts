/**
 * The nemesis: while the clients run, it waits a quiet interval, injects one fault, holds it,
 * heals it, and again, until the load phase ends; then it heals whatever is still broken and
 * brings every member back. One fault at a time, chosen from the enabled kinds with a seeded
 * random, on a random member or on the leader (half the time each), so each fault in the timeline
 * has a clear cause.
 */
import { EtcdConnection, errorText } from '../bench/etcd-client.js';
import { assertNever } from '../core/assert.js';
import { CHAOS_ADMIN_TIMEOUT_MS, CHAOS_RECOVERY_TIMEOUT_MS } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { ClusterTarget } from './cluster-target.js';
import type { FaultKind } from './fault-kinds.js';
import type { FaultRecord, RunClock } from './history.js';
import { describeShape, NO_SHAPE, type LinkShape } from './network-fabric.js';
import { buildPartition, type PartitionShape } from './partition.js';
import { pause } from './workload.js';

/** Failpoints Bulwark members honour (BULWARK_FAILPOINTS; docs/chaos.md). */
export const FAILPOINT_FSYNC_DELAY = 'wal-fsync-delay-ms';
/** The member's WAL fsyncs fail from the N-th on (so it can rejoin first, then fails under load). */
export const FAILPOINT_FSYNC_ERROR_AFTER = 'wal-fsync-error-after';

export interface NemesisOptions {
  readonly target: ClusterTarget;
  readonly kinds: readonly FaultKind[];
  /** Quiet time between faults (each is drawn from [0.5, 1.5] × this). */
  readonly intervalMs: number;
  /** How long a fault is held (also drawn from [0.5, 1.5] × this). */
  readonly durationMs: number;
  readonly random: Random;
  readonly clock: RunClock;
  readonly log: (line: string) => void;
  /** random (default): each fault drawn from the kinds; cycle: the kinds in turn (CI covers each). */
  readonly order?: 'random' | 'cycle';
}

interface Active {
  readonly record: { -readonly [K in keyof FaultRecord]: FaultRecord[K] };
  heal(): Promise<void>;
}

export class Nemesis {
  readonly faults: FaultRecord[] = [];
  private active: Active | null = null;
  private nextId = 0;

  constructor(private readonly o: NemesisOptions) {}

  /** The fault being held now, for the progress line. */
  get current(): string | null {
    return this.active === null ? null : `${this.active.record.kind} ${this.active.record.description}`;
  }

  /** Injects faults until `signal` aborts, then heals the last one. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.o.kinds.length === 0) return;
    while (!signal.aborted) {
      await pause(this.jitter(this.o.intervalMs), signal);
      if (signal.aborted) break;
      const kind = this.o.order === 'cycle' ? this.o.kinds[this.nextId % this.o.kinds.length]! : this.o.random.pick(this.o.kinds);
      await this.inject(kind);
      await pause(this.jitter(this.o.durationMs), signal);
      await this.healActive();
    }
    await this.healActive();
  }

  private jitter(ms: number): number {
    return Math.round(ms * (0.5 + this.o.random.float()));
  }

  private async inject(kind: FaultKind): Promise<void> {
    const t = this.o.target;
    const record: Active['record'] = { id: this.nextId++, kind, description: '', members: [], startMs: this.o.clock.now(), endMs: -1, error: null };
    let heal: () => Promise<void> = async () => {};
    try {
      switch (kind) {
        case 'kill': {
          const m = await this.victim();
          record.members = [m];
          record.description = `kill -9 ${m}`;
          await t.kill(m);
          heal = () => t.restart(m);
          break;
        }
        case 'pause': {
          const m = await this.victim();
          record.members = [m];
          record.description = `SIGSTOP ${m}`;
          t.pause(m);
          heal = async () => t.resume(m);
          break;
        }
        case 'partition-halves':
        case 'partition-lone':
        case 'partition-bridge':
        case 'partition-oneway': {
          const shape = await this.partitionShape(kind);
          const p = buildPartition(t.members, shape, this.o.random);
          record.members = [...p.affected];
          record.description = p.description;
          await t.fabric!.partition(p.cuts);
          heal = () => t.fabric!.heal();
          break;
        }
        case 'delay':
        case 'loss':
        case 'bandwidth': {
          const s = this.shape(kind);
          record.members = [...t.members];
          record.description = `all peer links: ${describeShape(s)}`;
          await t.fabric!.degrade(s);
          heal = () => t.fabric!.heal();
          break;
        }
        case 'disk-slow':
        case 'disk-fail': {
          const m = await this.victim();
          const failpoint = kind === 'disk-slow' ? `${FAILPOINT_FSYNC_DELAY}=${100 + this.o.random.int(400)}` : `${FAILPOINT_FSYNC_ERROR_AFTER}=${10 + this.o.random.int(40)}`;
          record.members = [m];
          record.description = `${m} restarted with BULWARK_FAILPOINTS=${failpoint}`;
          await t.restart(m, { env: { BULWARK_FAILPOINTS: failpoint } });
          heal = () => t.restart(m);
          break;
        }
        case 'leader-move': {
          record.description = await this.moveLeader();
          record.members = [...t.members];
          break;
        }
        case 'member-replace': {
          const m = await this.victim();
          record.members = [m];
          record.description = `${m} removed, wiped, added back as a new member`;
          await t.replaceMember(m);
          heal = () => t.waitHealthy(m, CHAOS_RECOVERY_TIMEOUT_MS);
          break;
        }
        default:
          assertNever(kind, 'fault kind');
      }
    } catch (e) {
      record.error = `injecting: ${errorText(e)}`;
      if (record.description === '') record.description = kind;
    }
    this.o.log(`fault ${record.id}: ${kind}: ${record.description}${record.error === null ? '' : ` (${record.error})`}`);
    this.active = { record, heal };
    this.faults.push(record);
  }

  private async healActive(): Promise<void> {
    const a = this.active;
    if (a === null) return;
    this.active = null;
    try {
      await a.heal();
    } catch (e) {
      a.record.error = `${a.record.error === null ? '' : `${a.record.error}; `}healing: ${errorText(e)}`;
    }
    a.record.endMs = a.record.kind === 'leader-move' ? a.record.startMs : this.o.clock.now();
  }

  /** A member to hit: the leader half the time (when one is known), else any running member. */
  private async victim(): Promise<string> {
    const t = this.o.target;
    const running = t.members.filter((m) => t.state(m) === 'running');
    const pool = running.length > 0 ? running : [...t.members];
    if (this.o.random.chance(0.5)) {
      const l = await this.leader();
      if (l !== null && pool.includes(l.name)) return l.name;
    }
    return this.o.random.pick(pool);
  }

  private async partitionShape(kind: FaultKind): Promise<PartitionShape> {
    switch (kind) {
      case 'partition-lone':
        return { type: 'lone', member: await this.victim() };
      case 'partition-oneway':
        return { type: 'oneway', member: await this.victim(), inbound: this.o.random.chance(0.5) };
      case 'partition-bridge':
        return { type: 'bridge' };
      default:
        return { type: 'halves' };
    }
  }

  private shape(kind: 'delay' | 'loss' | 'bandwidth'): LinkShape {
    const r = this.o.random;
    const proxy = this.o.target.fabric?.kind === 'proxy';
    switch (kind) {
      case 'delay':
        return { ...NO_SHAPE, delayMs: 20 + r.int(180), jitterMs: 50 };
      case 'loss':
        return { ...NO_SHAPE, lossPercent: 10 + r.int(30), resetPercent: proxy ? 1 : 0 };
      case 'bandwidth':
        return { ...NO_SHAPE, bytesPerSecond: (16 + r.int(112)) * 1024 };
      default:
        return assertNever(kind, 'link fault kind');
    }
  }

  /** Status of every running member: who leads, and each member's id. */
  private async statuses(): Promise<{ name: string; id: bigint; leader: bigint }[]> {
    const t = this.o.target;
    const out: { name: string; id: bigint; leader: bigint }[] = [];
    await Promise.all(
      t.members
        .filter((m) => t.state(m) === 'running')
        .map(async (m) => {
          const c = new EtcdConnection(t.endpoint(m));
          try {
            const s = await c.status({ deadlineMs: 1000 });
            out.push({ name: m, id: s.header?.memberId ?? 0n, leader: s.leader });
          } catch {
            // Not answering: not a candidate.
          } finally {
            c.close();
          }
        }),
    );
    return out;
  }

  private async leader(): Promise<{ name: string; id: bigint } | null> {
    const st = await this.statuses();
    const votes = new Map<bigint, number>();
    for (const s of st) if (s.leader !== 0n) votes.set(s.leader, (votes.get(s.leader) ?? 0) + 1);
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    if (best === undefined) return null;
    const l = st.find((s) => s.id === best[0]);
    return l === undefined ? null : { name: l.name, id: l.id };
  }

  /**
   * Maintenance.MoveLeader on the leader, to a random follower (etcdctl move-leader). Right after
   * another fault the leader we found may already have lost its role: look again and retry, for
   * a bounded time.
   */
  private async moveLeader(): Promise<string> {
    const deadline = Date.now() + CHAOS_ADMIN_TIMEOUT_MS * 2;
    for (;;) {
      try {
        return await this.moveLeaderOnce();
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await pause(250);
      }
    }
  }

  private async moveLeaderOnce(): Promise<string> {
    const st = await this.statuses();
    const l = await this.leader();
    if (l === null) throw new Error('no leader to move');
    const followers = st.filter((s) => s.id !== l.id);
    if (followers.length === 0) throw new Error('no follower to move leadership to');
    const to = this.o.random.pick(followers);
    const c = new EtcdConnection(this.o.target.endpoint(l.name));
    try {
      await c.moveLeader(to.id, { deadlineMs: CHAOS_ADMIN_TIMEOUT_MS });
    } finally {
      c.close();
    }
    return `leadership ${l.name} → ${to.name}`;
  }
}

/**
 * After the load phase: every member running, resumed and reachable, and healthy. Returns what
 * could not be brought back (the run's report says so; the final reads then go to those that can).
 */
export async function recoverCluster(target: ClusterTarget, log: (line: string) => void): Promise<string[]> {
  const problems: string[] = [];
  await target.fabric?.heal().catch((e: unknown) => problems.push(`healing the network: ${errorText(e)}`));
  for (const m of target.members) {
    try {
      if (target.state(m) === 'paused') target.resume(m);
      else if (target.state(m) === 'stopped') {
        log(`restarting ${m}`);
        await target.restart(m);
      }
    } catch (e) {
      problems.push(`${m}: ${errorText(e)}`);
    }
  }
  await Promise.all(
    target.members.map((m) =>
      target.waitHealthy(m, CHAOS_RECOVERY_TIMEOUT_MS).catch((e: unknown) => {
        problems.push(`${m} did not recover: ${errorText(e)}`);
      }),
    ),
  );
  return problems;
}
