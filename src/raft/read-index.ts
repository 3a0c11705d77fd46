/**
 * A leader's pending linearizable reads (dissertation §6.4). A read records the commit index when
 * it arrives; it may be answered once the leader has confirmed, after the read arrived, that it
 * still leads: a quorum answered a heartbeat round started at or after the read. Reads that
 * arrive before the leader committed an entry of its term wait (`deferred`), because until then
 * its commit index may be behind the cluster's.
 *
 * Rounds batch reads: every read that arrives before the next round starts shares it.
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';

export interface PendingRead {
  readonly requestId: number;
  /** null: asked on this member; otherwise the follower the answer goes to. */
  readonly from: NodeId | null;
  /** The read point; 0 while deferred. */
  index: number;
  /** The heartbeat round that confirms it; 0 until a round is started. */
  round: number;
  /** The tick after which it is dropped. */
  readonly deadlineTick: number;
}

export class LeaderReads {
  private queue: PendingRead[] = [];
  private head = 0;
  private deferred: PendingRead[] = [];
  /** The newest heartbeat round started. */
  round = 0;
  private unassigned = 0;

  get size(): number {
    return this.queue.length - this.head + this.deferred.length;
  }

  /** Whether reads wait for a round to start. */
  get roundNeeded(): boolean {
    return this.unassigned > 0;
  }

  add(read: PendingRead): void {
    assert(read.round === 0, 'a new read has no round yet');
    this.queue.push(read);
    this.unassigned++;
  }

  defer(read: PendingRead): void {
    this.deferred.push(read);
  }

  /** Once the leader committed an entry of its term: deferred reads get the read point `commit`. */
  undefer(commit: number): void {
    for (const r of this.deferred) {
      r.index = commit;
      this.add(r);
    }
    this.deferred = [];
  }

  hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  /** Starts a heartbeat round for every read without one; returns its number. */
  startRound(): number {
    this.round++;
    for (let i = this.queue.length - this.unassigned; i < this.queue.length; i++) this.queue[i]!.round = this.round;
    this.unassigned = 0;
    return this.round;
  }

  /** Releases, oldest first, every read whose round `confirmed` covers. */
  release(confirmed: number, out: (r: PendingRead) => void): void {
    while (this.head < this.queue.length) {
      const r = this.queue[this.head]!;
      if (r.round === 0 || r.round > confirmed) break;
      this.head++;
      out(r);
    }
    this.compactQueue();
  }

  /** Removes reads whose deadline passed. */
  expire(tick: number, out: (r: PendingRead) => void): void {
    if (this.size === 0) return;
    const keep = (r: PendingRead): boolean => {
      if (r.deadlineTick >= tick) return true;
      out(r);
      return false;
    };
    const live = this.queue.slice(this.head);
    const before = live.length;
    const kept = live.filter(keep);
    if (kept.length !== before) {
      this.unassigned = kept.filter((r) => r.round === 0).length;
      this.queue = kept;
      this.head = 0;
    }
    this.deferred = this.deferred.filter(keep);
  }

  /** Removes every read (leadership lost). */
  drain(out: (r: PendingRead) => void): void {
    for (let i = this.head; i < this.queue.length; i++) out(this.queue[i]!);
    for (const r of this.deferred) out(r);
    this.queue = [];
    this.head = 0;
    this.deferred = [];
    this.unassigned = 0;
    this.round = 0;
  }

  private compactQueue(): void {
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
