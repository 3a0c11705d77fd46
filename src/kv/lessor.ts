/**
 * The leader's lessor: when leases expire, by the leader's clock. It is pure (the server passes
 * `nowMs` from its Clock) and not replicated; its decisions reach the replicas only through the
 * log, so every replica revokes the same leases at the same point of the history:
 *
 * - `expired(now)` lists leases past their deadline; the server proposes them as one LeaseExpire.
 *   A lease proposed for expiry refuses renewal (so a client is never told "renewed" for a lease
 *   that is about to be revoked) and is proposed again if still alive after LEASE_EXPIRY_RETRY_MS.
 * - Keep-alives are leader-local, as in etcd: `renew` moves the deadline in memory only.
 * - `checkpoints(now)` lists remaining TTLs to write to the log, so a new leader starts each lease
 *   from its last checkpoint instead of from its full TTL (etcd#9888: leader changes otherwise
 *   extend every lease). Each lease is checkpointed every half TTL, clamped to
 *   [LEASE_CHECKPOINT_DELAY_MS_MIN, checkpointIntervalMs], which bounds that extension.
 * - A renewal of a lease with a checkpoint in force must also reach the log (a checkpoint of 0:
 *   "full TTL again"), or a new leader would expire it early from the old, lower checkpoint.
 *   `renew` then says `awaitCheckpoint`: the server proposes `checkpoints(now)` (which puts such
 *   resets first) and answers the keep-alive once that entry is applied.
 *
 * The server promotes the lessor when it becomes leader *and has applied an entry of its own
 * term*: by then every LeaseExpire an earlier leader proposed is applied or gone, so a lease this
 * leader renews cannot be revoked by a stale decision. It demotes it when it loses leadership.
 */
import { assert } from '../core/assert.js';
import type { LeaseId } from '../core/ids.js';
import {
  LEASE_CHECKPOINT_DELAY_MS_MIN,
  LEASE_CHECKPOINT_INTERVAL_MS_DEFAULT,
  LEASE_CHECKPOINTS_PER_ENTRY_MAX,
  LEASE_EXPIRIES_PER_ENTRY_MAX,
  LEASE_EXPIRY_RETRY_MS,
} from '../core/limits.js';
import type { LeaseCheckpoint } from './command.js';
import type { LeaseEvent, LeaseInfo } from './leases.js';
import { MinHeap } from './min-heap.js';

export interface LessorOptions {
  readonly checkpointIntervalMs?: number;
  readonly checkpointDelayMsMin?: number;
  readonly checkpointsPerEntryMax?: number;
  readonly expiriesPerEntryMax?: number;
  readonly expiryRetryMs?: number;
}

export type RenewResult =
  | { readonly type: 'renewed'; readonly ttlSec: number; readonly awaitCheckpoint: boolean }
  | { readonly type: 'not-found' }
  | { readonly type: 'not-leader' };

interface TrackedLease {
  readonly id: LeaseId;
  readonly ttlSec: number;
  expiresAtMs: number;
  /** Set when the lease was handed out by `expired`; it may be handed out again after the retry delay. */
  expiringSinceMs: number | null;
  /** The remaining TTL the replicated state holds for it (0: none, a new leader would use the full TTL). */
  checkpointedSec: number;
  /** Bumped on every deadline change; heap entries of older generations are stale. */
  gen: number;
  checkpointGen: number;
  resetQueued: boolean;
}

interface Deadline {
  readonly atMs: number;
  readonly id: LeaseId;
  readonly gen: number;
}

export class Lessor {
  private primary = false;
  private readonly leases = new Map<bigint, TrackedLease>();
  private readonly expiries = new MinHeap<Deadline>((d) => d.atMs);
  private readonly checkpointsDue = new MinHeap<Deadline>((d) => d.atMs);
  private readonly resets: LeaseId[] = [];
  private readonly o: Required<LessorOptions>;

  constructor(options: LessorOptions = {}) {
    this.o = {
      checkpointIntervalMs: options.checkpointIntervalMs ?? LEASE_CHECKPOINT_INTERVAL_MS_DEFAULT,
      checkpointDelayMsMin: options.checkpointDelayMsMin ?? LEASE_CHECKPOINT_DELAY_MS_MIN,
      checkpointsPerEntryMax: options.checkpointsPerEntryMax ?? LEASE_CHECKPOINTS_PER_ENTRY_MAX,
      expiriesPerEntryMax: options.expiriesPerEntryMax ?? LEASE_EXPIRIES_PER_ENTRY_MAX,
      expiryRetryMs: options.expiryRetryMs ?? LEASE_EXPIRY_RETRY_MS,
    };
    assert(this.o.checkpointDelayMsMin > 0 && this.o.checkpointDelayMsMin <= this.o.checkpointIntervalMs, 'checkpoint delays ordered');
    assert(this.o.checkpointsPerEntryMax > 0 && this.o.expiriesPerEntryMax > 0 && this.o.expiryRetryMs > 0, 'lessor bounds positive');
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  /**
   * Takes over as leader: every lease runs from its checkpointed remaining TTL (or its full TTL
   * when none), plus `extendMs` (etcd extends by an election timeout so clients can find the new
   * leader before their leases lapse).
   */
  promote(nowMs: number, leases: Iterable<LeaseInfo>, extendMs = 0): void {
    this.demote();
    this.primary = true;
    for (const l of leases) {
      const remainingSec = l.remainingTtlSec > 0 ? l.remainingTtlSec : l.ttlSec;
      this.track(l.id, l.ttlSec, nowMs + remainingSec * 1000 + extendMs, l.remainingTtlSec, nowMs);
    }
  }

  demote(): void {
    this.primary = false;
    this.leases.clear();
    this.expiries.clear();
    this.checkpointsDue.clear();
    this.resets.length = 0;
  }

  /** Follows what apply did to the lease table (wire to KvStoreOptions.onLeaseEvent). */
  observe(e: LeaseEvent, nowMs: number): void {
    if (!this.primary) return;
    switch (e.type) {
      case 'granted':
        this.track(e.id, e.ttlSec, nowMs + e.ttlSec * 1000, 0, nowMs);
        return;
      case 'revoked':
        this.leases.delete(e.id);
        return;
      case 'checkpointed': {
        const l = this.leases.get(e.id);
        if (l !== undefined) l.checkpointedSec = e.remainingTtlSec;
        return;
      }
    }
  }

  private track(id: LeaseId, ttlSec: number, expiresAtMs: number, checkpointedSec: number, nowMs: number): void {
    const l: TrackedLease = { id, ttlSec, expiresAtMs, expiringSinceMs: null, checkpointedSec, gen: 0, checkpointGen: 0, resetQueued: false };
    this.leases.set(id, l);
    this.expiries.push({ atMs: expiresAtMs, id, gen: 0 });
    this.scheduleCheckpoint(l, nowMs);
    this.maybeCompactHeaps();
  }

  private checkpointDelayMs(l: TrackedLease): number {
    return Math.min(this.o.checkpointIntervalMs, Math.max(this.o.checkpointDelayMsMin, (l.ttlSec * 1000) / 2));
  }

  private scheduleCheckpoint(l: TrackedLease, nowMs: number): void {
    l.checkpointGen++;
    this.checkpointsDue.push({ atMs: nowMs + this.checkpointDelayMs(l), id: l.id, gen: l.checkpointGen });
  }

  /** A keep-alive on the leader. */
  renew(id: LeaseId, nowMs: number): RenewResult {
    if (!this.primary) return { type: 'not-leader' };
    const l = this.leases.get(id);
    if (l === undefined || l.expiringSinceMs !== null || l.expiresAtMs <= nowMs) return { type: 'not-found' };
    l.expiresAtMs = nowMs + l.ttlSec * 1000;
    l.gen++;
    this.expiries.push({ atMs: l.expiresAtMs, id, gen: l.gen });
    this.maybeCompactHeaps();
    const awaitCheckpoint = l.checkpointedSec > 0;
    if (awaitCheckpoint && !l.resetQueued) {
      l.resetQueued = true;
      this.resets.push(id);
    }
    return { type: 'renewed', ttlSec: l.ttlSec, awaitCheckpoint };
  }

  /** Milliseconds left on the leader's clock, or null when the lease is unknown (or this is not the leader). */
  remainingMs(id: LeaseId, nowMs: number): number | null {
    const l = this.leases.get(id);
    return l === undefined ? null : Math.max(0, l.expiresAtMs - nowMs);
  }

  /** etcd's LeaseTimeToLive TTL: remaining seconds rounded up, -1 once expired. */
  ttlSec(id: LeaseId, nowMs: number): number | null {
    const ms = this.remainingMs(id, nowMs);
    if (ms === null) return null;
    return ms <= 0 ? -1 : Math.ceil(ms / 1000);
  }

  /** Leases to propose in one LeaseExpire entry (at most expiriesPerEntryMax). */
  expired(nowMs: number): LeaseId[] {
    const out: LeaseId[] = [];
    if (!this.primary) return out;
    while (out.length < this.o.expiriesPerEntryMax) {
      const d = this.expiries.peek();
      if (d === undefined || d.atMs > nowMs) break;
      this.expiries.pop();
      const l = this.leases.get(d.id);
      if (l === undefined || l.gen !== d.gen) continue;
      if (l.expiringSinceMs !== null && nowMs - l.expiringSinceMs < this.o.expiryRetryMs) continue;
      l.expiringSinceMs = nowMs;
      l.gen++;
      this.expiries.push({ atMs: nowMs + this.o.expiryRetryMs, id: l.id, gen: l.gen });
      out.push(l.id);
    }
    return out;
  }

  /** Checkpoints to propose in one LeaseCheckpoint entry: renewal resets first, then due remaining TTLs. */
  checkpoints(nowMs: number): LeaseCheckpoint[] {
    const out: LeaseCheckpoint[] = [];
    if (!this.primary) return out;
    while (out.length < this.o.checkpointsPerEntryMax && this.resets.length > 0) {
      const id = this.resets.shift()!;
      const l = this.leases.get(id);
      if (l === undefined) continue;
      l.resetQueued = false;
      out.push({ id, remainingTtlSec: 0 });
    }
    while (out.length < this.o.checkpointsPerEntryMax) {
      const d = this.checkpointsDue.peek();
      if (d === undefined || d.atMs > nowMs) break;
      this.checkpointsDue.pop();
      const l = this.leases.get(d.id);
      if (l === undefined || l.checkpointGen !== d.gen) continue;
      this.scheduleCheckpoint(l, nowMs);
      if (l.expiringSinceMs !== null) continue;
      const remainingSec = Math.ceil((l.expiresAtMs - nowMs) / 1000);
      if (remainingSec <= 0) continue;
      out.push({ id: l.id, remainingTtlSec: remainingSec });
    }
    return out;
  }

  /** The earliest time `expired` or `checkpoints` may have something (for the server's timer). */
  nextDeadlineMs(): number | null {
    if (!this.primary) return null;
    if (this.resets.length > 0) return 0;
    const a = this.expiries.peek()?.atMs;
    const b = this.checkpointsDue.peek()?.atMs;
    if (a === undefined) return b ?? null;
    return b === undefined ? a : Math.min(a, b);
  }

  /** Renewals leave stale heap entries behind; drop them once they outnumber live leases. */
  private maybeCompactHeaps(): void {
    const limit = 4 * this.leases.size + 1024;
    if (this.expiries.size > limit) {
      this.expiries.filter((d) => this.leases.get(d.id)?.gen === d.gen);
    }
    if (this.checkpointsDue.size > limit) {
      this.checkpointsDue.filter((d) => this.leases.get(d.id)?.checkpointGen === d.gen);
    }
  }
}
