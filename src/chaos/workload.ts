/**
 * A chaos workload: what its clients do during the run, what they read once the faults are
 * healed, and the pure checker that turns the recorded history into anomalies. Each workload is
 * in workload-<name>.ts, its checker in check-<name>.ts (pure and unit-tested on synthetic
 * histories, so the checkers are known to be able to fail).
 */
import { certainlyNotApplied, errorText, type EtcdConnection } from '../bench/etcd-client.js';
import type { Random } from '../env/random.js';
import type { Anomaly, OpHandle, Recorder, RecordedOp } from './history.js';

export const WORKLOAD_NAMES = ['register', 'list-append', 'set', 'watch', 'lock'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export type ReadMode = 'linearizable' | 'serializable';

export interface ClientContext {
  readonly index: number;
  /** The member this client talks to (clients are bound to members round-robin, as in Jepsen). */
  readonly member: string;
  /** This client's own connection to its member. */
  readonly conn: EtcdConnection;
  /** A connection of this client to any member (the watch workload moves between members). */
  connectionTo(member: string): EtcdConnection;
  readonly members: readonly string[];
  readonly recorder: Recorder;
  readonly random: Random;
  /** Aborted when the load phase ends. */
  readonly signal: AbortSignal;
  readonly opTimeoutMs: number;
  /** How reads are asked for; serializable reads are the planted weakness a checker must catch. */
  readonly reads: ReadMode;
  readonly keyPrefix: string;
  /**
   * Waits before the next operation: paces the client to its share of the run's rate, and backs
   * off after an operation that did not succeed (a client of a dead member must not spin).
   */
  throttle(): Promise<void>;
}

export interface FinalContext {
  readonly recorder: Recorder;
  /** A connection to a member that answered a linearizable read just now. */
  healthyConnection(): Promise<{ readonly member: string; readonly conn: EtcdConnection }>;
  readonly opTimeoutMs: number;
  readonly keyPrefix: string;
  readonly signal: AbortSignal;
}

export interface CheckOutcome {
  readonly anomalies: readonly Anomaly[];
  /** Things worth knowing that are not violations (e.g. indeterminate writes that did land). */
  readonly notes: readonly string[];
  /** Parts the checker could not decide (a search that ran out of budget). */
  readonly unknown: readonly string[];
  readonly stats: Readonly<Record<string, number>>;
}

export interface Workload {
  readonly name: WorkloadName;
  /** Before the clients start (e.g. the revision the watchers start from). */
  prepare(ctx: FinalContext): Promise<void>;
  /** One client's loop, until ctx.signal aborts. */
  client(ctx: ClientContext): Promise<void>;
  /** After the cluster has recovered: final reads, recorded like any operation. */
  finish(ctx: FinalContext): Promise<void>;
  check(ops: readonly RecordedOp[]): CheckOutcome;
  /** Extra data for history.json (the watch workload's events). */
  extra(): unknown;
}

/** The client index of the final reads, which are not a worker's. */
export const FINAL_CLIENT = -1;

/** Ends a write that threw: certainly not applied → fail, otherwise in doubt → info. */
export function endWrite<I extends { readonly type: string }, O>(h: OpHandle<I, O>, e: unknown): void {
  if (certainlyNotApplied(e)) h.fail(errorText(e));
  else h.info(errorText(e));
}

/** A read that threw changed nothing: it failed. */
export function endRead<I extends { readonly type: string }, O>(h: OpHandle<I, O>, e: unknown): void {
  h.fail(errorText(e));
}

/** Sleeps `ms`, or less if the signal aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The keys in use: each key gets about `opsPerKey` operations, `width` keys at a time (Jepsen's independent keys). */
export class KeyRotation {
  private ops = 0;

  constructor(
    private readonly opsPerKey: number,
    private readonly width: number,
  ) {}

  next(random: Random): number {
    const base = Math.floor(this.ops / this.opsPerKey);
    this.ops++;
    return base + random.int(this.width);
  }
}

/** Keeps the first few anomalies of each type (the report stays readable) and counts them all. */
export class AnomalyList {
  readonly list: Anomaly[] = [];
  readonly counts = new Map<string, number>();

  constructor(private readonly perTypeMax: number) {}

  add(a: Anomaly): void {
    const n = (this.counts.get(a.type) ?? 0) + 1;
    this.counts.set(a.type, n);
    if (n <= this.perTypeMax) this.list.push(a);
  }

  /** Notes for the anomalies counted and not listed. */
  notes(): string[] {
    return [...this.counts].filter(([, n]) => n > this.perTypeMax).map(([t, n]) => `${n} ${t} anomalies in all; the first ${this.perTypeMax} are listed`);
  }
}
