/**
 * Raft's peer messages: a discriminated union on `type`. Every message is addressed (`from`, `to`)
 * and carries the sender's `term`, except that a granted pre-vote answers with the term the
 * pre-candidate asked about (it has not moved to that term yet).
 */
import type { LogIndex, NodeId, Term } from '../core/ids.js';
import type { Entry, SnapshotChunk } from '../consensus/types.js';

interface Addressed {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

/** AppendEntries (§5.3). `entries` may be empty: a probe, or a commit update. */
export interface AppendMessage extends Addressed {
  readonly type: 'append';
  readonly prevIndex: LogIndex;
  readonly prevTerm: Term;
  readonly entries: readonly Entry[];
  readonly commit: LogIndex;
}

/**
 * The answer to an append. Accepted: `index` is the last index now known to match the leader.
 * Rejected: `index` is the rejected prevIndex, and the hint says where to retry: `hintTerm` is the
 * follower's term at prevIndex and `hintIndex` the first index of that term in its log, or, when
 * the follower's log is shorter than prevIndex, `hintTerm` is 0 and `hintIndex` its last index.
 */
export interface AppendResponseMessage extends Addressed {
  readonly type: 'appendResponse';
  readonly index: LogIndex;
  readonly reject: boolean;
  readonly hintIndex: LogIndex;
  readonly hintTerm: Term;
}

/** Keeps followers from campaigning. `commit` is clipped to the follower's match; `round` confirms reads. */
export interface HeartbeatMessage extends Addressed {
  readonly type: 'heartbeat';
  readonly commit: LogIndex;
  readonly round: number;
}

export interface HeartbeatResponseMessage extends Addressed {
  readonly type: 'heartbeatResponse';
  readonly round: number;
}

/**
 * RequestVote (§5.2) or a pre-vote (dissertation §9.6, `preVote`: asks about `term` without
 * anyone moving to it). `transfer` marks a campaign caused by leadership transfer, which members
 * that recently heard from the leader must not ignore.
 */
export interface VoteRequestMessage extends Addressed {
  readonly type: 'voteRequest';
  readonly preVote: boolean;
  readonly transfer: boolean;
  readonly lastIndex: LogIndex;
  readonly lastTerm: Term;
}

/**
 * The answer to a vote request. It also says how far the voter knows the log is committed
 * (`commit`, and the term of that entry): a candidate whose log holds that entry may take the
 * commit index over (by log matching its prefix is the committed one). This is how members of a
 * new configuration that did not hear the change commit before its leader stepped down (removed)
 * learn it from the removed members, instead of waiting for their votes forever.
 */
export interface VoteResponseMessage extends Addressed {
  readonly type: 'voteResponse';
  readonly preVote: boolean;
  readonly granted: boolean;
  readonly commit: LogIndex;
  readonly commitTerm: Term;
}

/**
 * One chunk of a snapshot. The engine emits it with `data: null`; the sending driver fills `data`
 * and `crc32c` from the snapshot store. `attempt` numbers the leader's restarts of the transfer.
 */
export interface SnapshotMessage extends Addressed {
  readonly type: 'snapshot';
  readonly snapshotChunk: SnapshotChunk;
  readonly attempt: number;
}

/**
 * Acknowledges chunks of the snapshot at `index`: the follower's staging file now holds
 * `[0, nextOffset)`. `reject` says a chunk did not follow on (the leader resumes from nextOffset);
 * `done` that the follower's log now reaches `index` (installed, or it was not needed).
 */
export interface SnapshotResponseMessage extends Addressed {
  readonly type: 'snapshotResponse';
  readonly index: LogIndex;
  readonly attempt: number;
  readonly nextOffset: number;
  readonly reject: boolean;
  readonly done: boolean;
}

/** Leadership transfer (dissertation §3.10): campaign now, without waiting for a timeout. */
export interface TimeoutNowMessage extends Addressed {
  readonly type: 'timeoutNow';
}

/** A follower asks its leader for a read index (dissertation §6.4). */
export interface ReadIndexMessage extends Addressed {
  readonly type: 'readIndex';
  readonly requestId: number;
}

/** The leader's answer: once `index` is applied, the read is linearizable. `reject`: ask again. */
export interface ReadIndexResponseMessage extends Addressed {
  readonly type: 'readIndexResponse';
  readonly requestId: number;
  readonly index: LogIndex;
  readonly reject: boolean;
}

/** A proposal forwarded by a follower or learner to the leader. `config` data is an encoded ConfigChange. */
export interface ProposeMessage extends Addressed {
  readonly type: 'propose';
  readonly kind: 'normal' | 'config';
  readonly data: Uint8Array;
}

export type RaftMessage =
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | VoteRequestMessage
  | VoteResponseMessage
  | SnapshotMessage
  | SnapshotResponseMessage
  | TimeoutNowMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | ProposeMessage;

export type RaftMessageType = RaftMessage['type'];

export const RAFT_MESSAGE_TYPES: readonly RaftMessageType[] = [
  'append',
  'appendResponse',
  'heartbeat',
  'heartbeatResponse',
  'voteRequest',
  'voteResponse',
  'snapshot',
  'snapshotResponse',
  'timeoutNow',
  'readIndex',
  'readIndexResponse',
  'propose',
];
