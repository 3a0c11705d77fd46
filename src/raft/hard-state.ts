/**
 * Raft's hard state: what must survive a crash besides the log (§5.1, Figure 2: currentTerm,
 * votedFor; commit is kept too so a restart can apply what it knew committed without waiting).
 *
 *   u8 version, u53 term, u64 vote (0: none), u53 commit     (25 bytes)
 */
import { ByteReader } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, nodeIdFromBigInt, term, type LogIndex, type NodeId, type Term } from '../core/ids.js';
import { readU53 } from './codec.js';

const HARD_STATE_VERSION = 1;

export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

const HARD_STATE_BYTES = 25;
const TWO_32 = 0x1_0000_0000;
/** The vote rarely changes between hard states: keep its parsed halves. */
let cachedVote: NodeId | null = null;
let cachedVoteLo = 0;
let cachedVoteHi = 0;

export function encodeHardState(hs: HardState): Uint8Array {
  // Written on nearly every Ready, so by hand: no DataView, no BigInt (ByteWriter's u53/u64 format).
  const out = new Uint8Array(HARD_STATE_BYTES);
  out[0] = HARD_STATE_VERSION;
  putU32(out, 1, hs.term % TWO_32);
  putU32(out, 5, Math.floor(hs.term / TWO_32));
  if (hs.vote !== null) {
    if (hs.vote !== cachedVote) {
      cachedVote = hs.vote;
      cachedVoteLo = parseInt(hs.vote.slice(8), 16);
      cachedVoteHi = parseInt(hs.vote.slice(0, 8), 16);
    }
    putU32(out, 9, cachedVoteLo);
    putU32(out, 13, cachedVoteHi);
  }
  putU32(out, 17, hs.commit % TWO_32);
  putU32(out, 21, Math.floor(hs.commit / TWO_32));
  return out;
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

/** Throws DecodeError on bytes that are not a hard state of this version. */
export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new ByteReader(bytes);
  const version = r.u8('hard state version');
  if (version !== HARD_STATE_VERSION) throw new DecodeError(`hard state version ${version} unknown`);
  const t = term(readU53(r, 'term'));
  const lo = r.u32('vote');
  const hi = r.u32('vote');
  const vote = lo === 0 && hi === 0 ? null : nodeIdFromBigInt((BigInt(hi) << 32n) | BigInt(lo));
  const commit = logIndex(readU53(r, 'commit'));
  r.done('hard state');
  return { term: t, vote, commit };
}
