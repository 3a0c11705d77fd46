/**
 * Ballots. A ballot is (round, proposer) and is carried everywhere as one number so that it fits the
 * contract's `Entry.term`:
 *
 *   ballot = round × 2^PAXOS_BALLOT_ORDINAL_BITS + ordinal(proposer)
 *
 * The ordinal is a 16-bit hash of the member id, stable for the member's lifetime. Numbers order
 * ballots by round first, then by ordinal, so comparing numbers compares ballots.
 *
 * A hash can collide, so the ordinal alone does not make ballots unique. Uniqueness of *ownership*
 * comes from the acceptor instead: it remembers the member it promised a ballot number to and
 * grants the same number to no other member (see `ballotGrantable`). Two members can then not both
 * finish phase 1 with one number, because their phase-1 quorums intersect; so at most one member
 * ever issues phase-2 requests with a given number, which is all Paxos needs of a ballot. The hash
 * merely makes such ties rare, so duelling candidates usually have distinct numbers.
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import { utf8 } from '../core/bytes.js';
import { type NodeId, type Term, term } from '../core/ids.js';
import { PAXOS_BALLOT_ORDINAL_BITS } from '../core/limits.js';

/** A ballot number: `Term`-branded, so it can be stored as an entry's term. 0 means none. */
export type Ballot = Term;

const ORDINAL_SPAN = 2 ** PAXOS_BALLOT_ORDINAL_BITS;
/** The highest round whose ballot numbers are still safe integers. */
export const BALLOT_ROUND_MAX = Math.floor(Number.MAX_SAFE_INTEGER / ORDINAL_SPAN) - 1;

export const NO_BALLOT: Ballot = term(0);

/** Ordinals already computed: every message is checked against its sender's ordinal. */
const ordinals = new Map<NodeId, number>();
const ORDINAL_CACHE_MAX = 1024;

/** The member's ordinal: the low bits of CRC-32C of its id. */
export function ballotOrdinal(id: NodeId): number {
  let o = ordinals.get(id);
  if (o === undefined) {
    o = crc32c(utf8(id)) % ORDINAL_SPAN;
    // Bounded: peers could make up ids; the cache only saves work.
    if (ordinals.size >= ORDINAL_CACHE_MAX) ordinals.clear();
    ordinals.set(id, o);
  }
  return o;
}

export function makeBallot(round: number, id: NodeId): Ballot {
  assert(Number.isSafeInteger(round) && round >= 1 && round <= BALLOT_ROUND_MAX, `ballot round out of range: ${round}`);
  return term(round * ORDINAL_SPAN + ballotOrdinal(id));
}

export function ballotRound(b: Ballot): number {
  return Math.floor(b / ORDINAL_SPAN);
}

/** Whether `b` can have been issued by `id` (its low bits are `id`'s ordinal). */
export function ballotOwnedBy(b: Ballot, id: NodeId): boolean {
  return b > 0 && b % ORDINAL_SPAN === ballotOrdinal(id);
}

/** The smallest ballot of `id` above every ballot in `seen`. */
export function nextBallot(seen: Ballot, id: NodeId): Ballot {
  return makeBallot(ballotRound(seen) + 1, id);
}

/** What an acceptor has promised: a ballot number and the member it was promised to. */
export interface Promised {
  readonly ballot: Ballot;
  readonly node: NodeId | null;
}

/**
 * Whether an acceptor that promised `p` may promise or accept ballot `b` of member `from`:
 * a higher number, or the same number from the same member (a retry).
 */
export function ballotGrantable(p: Promised, b: Ballot, from: NodeId): boolean {
  return b > p.ballot || (b === p.ballot && p.node === from);
}
