/**
 * Raft's hard state: what must survive a crash besides the log (§5.1, Figure 2: currentTerm,
 * votedFor; commit is kept too so a restart can apply what it knew committed without waiting).
 *
 *   u8 version, u53 term, u64 vote (0: none), u53 commit     (25 bytes)
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, nodeIdFromBigInt, nodeIdToBigInt, term, type LogIndex, type NodeId, type Term } from '../core/ids.js';

const HARD_STATE_VERSION = 1;

export interface HardState {
  readonly term: Term;
  readonly vote: NodeId | null;
  readonly commit: LogIndex;
}

export function encodeHardState(hs: HardState): Uint8Array {
  const w = new ByteWriter(25);
  w.u8(HARD_STATE_VERSION).u53(hs.term).u64(hs.vote === null ? 0n : nodeIdToBigInt(hs.vote)).u53(hs.commit);
  return w.finish();
}

/** Throws DecodeError on bytes that are not a hard state of this version. */
export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new ByteReader(bytes);
  const version = r.u8('hard state version');
  if (version !== HARD_STATE_VERSION) throw new DecodeError(`hard state version ${version} unknown`);
  const t = term(r.u53('term'));
  const v = r.u64('vote');
  const commit = logIndex(r.u53('commit'));
  r.done('hard state');
  return { term: t, vote: v === 0n ? null : nodeIdFromBigInt(v), commit };
}
