/**
 * A leader's view of one follower's log (etcd's tracker.Progress), in one of three states:
 *
 * - probe: the leader does not know where the logs diverge; one append at a time, each waiting
 *   for its answer (or the next heartbeat) before the next goes.
 * - replicate: the logs match up to `match`; appends stream optimistically from `next`, bounded by
 *   the in-flight window.
 * - snapshot: the entries the follower needs are compacted away; a snapshot is being sent in chunks
 *   and appends wait.
 *
 * Invariant: match < next. In replicate state every append in flight ends below `next`.
 */
import { assert, assertNever } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { SnapshotMeta } from '../consensus/types.js';
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A snapshot on its way to a follower: which bytes went out and which were acknowledged. */
export interface SnapshotTransfer {
  readonly meta: SnapshotMeta;
  /** Bumped on every restart; answers about an earlier attempt are ignored. */
  attempt: number;
  /** The next offset to send. */
  sentOffset: number;
  /** The follower holds [0, ackedOffset) of this snapshot. */
  ackedOffset: number;
  /** The chunk ending the snapshot went out (in this attempt). */
  lastSent: boolean;
  /** Ticks since the last acknowledgement; a restart after RAFT_SNAPSHOT_TIMEOUT_ELECTIONS timeouts. */
  idleTicks: number;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** In probe state: an append went out and its answer has not come back. */
  probeSent = false;
  readonly inflights: Inflights;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The leader's tick when it last heard from this follower (-Infinity: not since it became leader). */
  lastHeardTick = Number.NEGATIVE_INFINITY;
  isLearner: boolean;
  /** The commit index last sent in an append, so a commit-only append goes out only when needed. */
  commitSent = 0;
  /** The highest heartbeat round this follower has answered (read-index confirmation). */
  readRoundAcked = 0;
  transfer: SnapshotTransfer | null = null;
  /** Snapshot transfers restarted so far for this follower (attempt numbers keep growing). */
  private attempts = 0;

  constructor(
    readonly id: NodeId,
    options: { readonly next: number; readonly isLearner: boolean; readonly inflightMax: number },
  ) {
    assert(options.next >= 1, 'next index starts at 1');
    this.next = options.next;
    this.isLearner = options.isLearner;
    this.inflights = new Inflights(options.inflightMax);
  }

  becomeProbe(): void {
    const installed = this.state === 'snapshot' && this.transfer !== null ? this.transfer.meta.index : 0;
    this.state = 'probe';
    this.probeSent = false;
    this.transfer = null;
    this.inflights.reset();
    this.next = Math.max(this.match + 1, installed + 1);
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.probeSent = false;
    this.transfer = null;
    this.inflights.reset();
    this.next = this.match + 1;
  }

  becomeSnapshot(meta: SnapshotMeta): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.inflights.reset();
    this.transfer = { meta, attempt: ++this.attempts, sentOffset: 0, ackedOffset: 0, lastSent: false, idleTicks: 0 };
  }

  /** Restarts the current snapshot transfer from `offset` under a new attempt number. */
  restartTransfer(offset: number): void {
    assert(this.transfer !== null, 'restart without a transfer');
    this.transfer.attempt = ++this.attempts;
    this.transfer.sentOffset = offset;
    this.transfer.ackedOffset = offset;
    this.transfer.lastSent = false;
    this.transfer.idleTicks = 0;
  }

  /** Whether an append may go now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
      default:
        return assertNever(this.state, 'progress state');
    }
  }

  /** Records an append that covers (next .. lastIndex]; `lastIndex` = next - 1 for an empty one. */
  sentAppend(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** An acknowledgement up to `index`. Returns false when it tells nothing new. */
  maybeUpdate(index: number): boolean {
    const updated = index > this.match;
    if (updated) {
      this.match = index;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /**
   * A rejection of the append whose prevIndex was `rejected`; `hintNext` is where the leader's
   * reading of the follower's hint says to retry, and `followerLast` the follower's last index when
   * the hint tells it. Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: number, hintNext: number, followerLast: number | null): boolean {
    const before = this.next;
    if (this.state !== 'snapshot' && followerLast !== null && followerLast < this.match) {
      // The follower no longer holds what it acknowledged: its disk lost entries and
      // Protocol-Aware Recovery dropped them. Forget the match and probe from its log's end.
      this.match = 0;
      this.becomeProbe();
    } else if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (this.state === 'snapshot' || this.next - 1 !== rejected) {
      return false;
    }
    this.next = Math.max(this.match + 1, Math.min(rejected, hintNext));
    if (this.next === before) {
      // No step back is possible (a follower contradicting what it acknowledged): wait for the
      // next heartbeat instead of sending the same probe in a tight loop.
      this.probeSent = true;
      return false;
    }
    this.probeSent = false;
    return true;
  }
}
