/**
 * Quorum arithmetic. A majority configuration decides by more than half of its voters; a joint
 * configuration (C_old,new, §6 / dissertation §4.3) needs a majority of each of its two sets.
 * The engine uses one function for commit indexes and for read rounds: the largest value that a
 * quorum has reached.
 */
import { unreachable } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import { MEMBERS_MAX } from '../core/limits.js';
import type { ConfigState } from '../consensus/types.js';

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** How far a voter has got (a match index, a read round). */
export type ValueOf = (id: NodeId) => number;

/** Sorting space for majorityValue: a voter set never exceeds MEMBERS_MAX. */
const scratch = new Float64Array(MEMBERS_MAX);

/**
 * The largest value reached by a majority of `voters`. An empty set places no constraint
 * (Infinity), so a non-joint configuration is a joint one with an empty outgoing half.
 */
export function majorityValue(voters: readonly NodeId[], valueOf: ValueOf): number {
  const n = voters.length;
  if (n === 0) return Infinity;
  if (n > MEMBERS_MAX) unreachable(`${n} voters exceed MEMBERS_MAX`);
  for (let i = 0; i < n; i++) {
    // Insertion sort, descending: clusters are small and this allocates nothing.
    const v = valueOf(voters[i]!);
    let j = i;
    while (j > 0 && scratch[j - 1]! < v) {
      scratch[j] = scratch[j - 1]!;
      j--;
    }
    scratch[j] = v;
  }
  return scratch[n >> 1]!;
}

export function jointValue(c: ConfigState, valueOf: ValueOf): number {
  return Math.min(majorityValue(c.voters, valueOf), majorityValue(c.votersOutgoing, valueOf));
}

/** `votes`: true granted, false rejected, absent not yet answered. */
export function majorityVote(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  if (voters.length === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = (voters.length >> 1) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

export function jointVote(c: ConfigState, votes: ReadonlyMap<NodeId, boolean>): VoteOutcome {
  const a = majorityVote(c.voters, votes);
  const b = majorityVote(c.votersOutgoing, votes);
  if (a === 'lost' || b === 'lost') return 'lost';
  if (a === 'won' && b === 'won') return 'won';
  return 'pending';
}

/** Whether the members for which `active` holds form a quorum of `c`. */
export function jointQuorumActive(c: ConfigState, active: (id: NodeId) => boolean): boolean {
  const has = (voters: readonly NodeId[]): boolean => {
    if (voters.length === 0) return true;
    let n = 0;
    for (const id of voters) if (active(id)) n++;
    return n > voters.length >> 1;
  };
  return has(c.voters) && has(c.votersOutgoing);
}
