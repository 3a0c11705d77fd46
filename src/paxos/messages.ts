/**
 * Multi-Paxos peer messages. Names follow "Paxos Made Simple": phase 1 is prepare/promise, phase 2
 * is accept/accepted; the rest is the machinery of a stable leader (heartbeats, catch-up, snapshot
 * transfer, forwarding, reads, leadership transfer). Every message names the ballot it belongs to.
 */
import type { Entry, EngineMessage, EntryKind, SnapshotChunk } from '../consensus/types.js';
import type { Ballot } from './ballot.js';
import type { ConfigEpoch } from './membership.js';
import type { NodeId } from '../core/ids.js';

interface Addressed {
  readonly from: NodeId;
  readonly to: NodeId;
}

/** Phase 1a for every slot from `fromSlot` on (one prepare covers all future slots). */
export interface PrepareMessage extends Addressed {
  readonly type: 'prepare';
  readonly ballot: Ballot;
  readonly fromSlot: number;
  /** Sent by a leadership-transfer target: acceptors ignore their recent leader's lease. */
  readonly transfer: boolean;
}

/** Phase 1b: the promise and the acceptor's accepted values from `fromSlot` up to `throughSlot`. */
export interface PromiseMessage extends Addressed {
  readonly type: 'promise';
  readonly ballot: Ballot;
  readonly fromSlot: number;
  /** Every accepted value in [fromSlot, throughSlot], at its accepted ballot (entry.term). */
  readonly entries: readonly Entry[];
  readonly throughSlot: number;
  /** Whether nothing is accepted after throughSlot (otherwise the candidate asks again from there). */
  readonly complete: boolean;
  /** Slots at or below this were compacted into a snapshot: their values cannot be reported. */
  readonly compactedThrough: number;
  readonly commit: number;
}

/** A refusal: the acceptor promised a higher ballot (or the same number to another member). */
export interface NackMessage extends Addressed {
  readonly type: 'nack';
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

/** Phase 2a for a run of slots, with the leader's commit index piggybacked. */
export interface AcceptMessage extends Addressed {
  readonly type: 'accept';
  readonly ballot: Ballot;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/** Phase 2b: the slots [fromSlot, throughSlot] of one accept are durable at `ballot`. */
export interface AcceptedMessage extends Addressed {
  readonly type: 'accepted';
  readonly ballot: Ballot;
  readonly fromSlot: number;
  readonly throughSlot: number;
  readonly commit: number;
}

export interface HeartbeatMessage extends Addressed {
  readonly type: 'heartbeat';
  readonly ballot: Ballot;
  readonly commit: number;
  /** Numbered rounds confirm read-index requests and leases. */
  readonly round: number;
}

export interface HeartbeatAckMessage extends Addressed {
  readonly type: 'heartbeat-ack';
  readonly ballot: Ballot;
  readonly round: number;
  /** The member's commit index after it took in the heartbeat's `leaderCommit`. */
  readonly commit: number;
  readonly leaderCommit: number;
}

/**
 * Catch-up: decided values for a lagging member, contiguous from its commit index + 1. From the
 * leader, or (ballot 0) from any member answering a `catchup` request.
 */
export interface DecidedMessage extends Addressed {
  readonly type: 'decided';
  readonly ballot: Ballot;
  readonly entries: readonly Entry[];
  /** The sender's commit index and its configurations (exact from configsValidFrom on). */
  readonly commit: number;
  readonly configs: readonly ConfigEpoch[];
  readonly configsValidFrom: number;
}

export interface DecidedAckMessage extends Addressed {
  readonly type: 'decided-ack';
  readonly ballot: Ballot;
  readonly commit: number;
}

/** One chunk of a snapshot; `configs` are the leader's configurations for the slots after it. */
export interface SnapshotMessage extends Addressed {
  readonly type: 'snapshot';
  readonly ballot: Ballot;
  readonly snapshotChunk: SnapshotChunk;
  readonly configs: readonly ConfigEpoch[];
  /** `configs` are exact for every slot from here on. */
  readonly configsValidFrom: number;
}

export interface SnapshotAckMessage extends Addressed {
  readonly type: 'snapshot-ack';
  readonly ballot: Ballot;
  readonly index: number;
  /** The next offset wanted; after the last chunk, the snapshot size. */
  readonly nextOffset: number;
  readonly ok: boolean;
}

/** Proposals a follower hands to its leader. */
export interface ForwardMessage extends Addressed {
  readonly type: 'forward';
  readonly kind: Exclude<EntryKind, 'empty'>;
  readonly data: readonly Uint8Array[];
}

export interface ReadIndexMessage extends Addressed {
  readonly type: 'read-index';
  readonly requestId: number;
}

export interface ReadIndexResponseMessage extends Addressed {
  readonly type: 'read-index-resp';
  readonly requestId: number;
  readonly index: number;
  readonly ok: boolean;
}

/** Leadership transfer: the target starts phase 1 at once. */
export interface TimeoutNowMessage extends Addressed {
  readonly type: 'timeout-now';
  readonly ballot: Ballot;
}

/**
 * A member that cannot take part in phase 1 until it learns decided values (it is repairing) asks
 * any peer for them when no leader is known.
 */
export interface CatchupMessage extends Addressed {
  readonly type: 'catchup';
  readonly commit: number;
}

export type PaxosMessage = (
  | CatchupMessage
  | PrepareMessage
  | PromiseMessage
  | NackMessage
  | AcceptMessage
  | AcceptedMessage
  | HeartbeatMessage
  | HeartbeatAckMessage
  | DecidedMessage
  | DecidedAckMessage
  | SnapshotMessage
  | SnapshotAckMessage
  | ForwardMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | TimeoutNowMessage
) &
  EngineMessage;

export type PaxosMessageType = PaxosMessage['type'];
