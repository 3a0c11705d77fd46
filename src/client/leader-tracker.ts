/**
 * What the client believes about leadership: the leader's member id and the term it leads in.
 * It learns from Status answers (which name the leader) and from response headers (which carry the
 * answering member's term: a higher term than ours means an election happened and our leader may
 * be stale). Pure: the caller acts on what the methods return.
 */
import type { NodeId } from '../core/ids.js';

export class LeaderTracker {
  private leaderId: NodeId | null = null;
  private termValue = 0;

  get leader(): NodeId | null {
    return this.leaderId;
  }

  get term(): number {
    return this.termValue;
  }

  /** A response header from some member. Returns true when it shows a newer term (leader to be rediscovered). */
  observeTerm(raftTerm: number): boolean {
    if (raftTerm <= this.termValue) return false;
    this.termValue = raftTerm;
    this.leaderId = null;
    return true;
  }

  /** A member says `leader` leads in `raftTerm` (0 or null: no leader). Returns true when our view changed. */
  observeLeader(leader: NodeId | null, raftTerm: number): boolean {
    if (raftTerm < this.termValue) return false;
    if (leader === null) {
      // A member without a leader at a newer term: the old leader is gone.
      if (raftTerm > this.termValue || this.leaderId !== null) {
        const changed = this.leaderId !== null;
        this.termValue = raftTerm;
        this.leaderId = null;
        return changed;
      }
      return false;
    }
    const changed = leader !== this.leaderId || raftTerm !== this.termValue;
    this.termValue = raftTerm;
    this.leaderId = leader;
    return changed;
  }

  /** Something suggests the leader is gone (it failed, or a member said "not leader"/"no leader"). */
  invalidate(): boolean {
    const had = this.leaderId !== null;
    this.leaderId = null;
    return had;
  }
}
