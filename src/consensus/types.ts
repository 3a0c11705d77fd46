/**
 * The consensus contract. Raft (src/raft) and Multi-Paxos (src/paxos) are pure, synchronous state
 * machines behind this one interface: no I/O, no clock, no randomness of their own (a Random is
 * injected). Messages and ticks go in; a Ready comes out saying what to persist, send and apply.
 *
 * The driver (driver.ts) is the only code that carries out a Ready, always in this order:
 *
 *   1. send `ready.sendBeforePersist` (leader appends and heartbeats: they claim nothing about the
 *      sender's disk, so they may go out while the local fsync runs, Raft §10.2.1);
 *   2. persist `ready.snapshotChunk`, `ready.entries`, then `ready.hardState`, with one sync;
 *   3. install `ready.snapshotInstall` (restore the state machine from the received snapshot);
 *   4. send `ready.messages` (votes, acks: these promise the data of step 2 is durable);
 *   5. apply `ready.committed` to the state machine, in order, and deliver `ready.readStates`;
 *   6. call `advance(ready)`.
 *
 * An engine never hands out a second Ready before the first is advanced.
 */
import type { LogIndex, NodeId, Term } from '../core/ids.js';
import type { PeerMessage } from '../env/transport.js';

/** What an entry carries. `config` entries hold an encoded ConfigChange; `empty` is a leader's no-op. */
export type EntryKind = 'normal' | 'config' | 'empty';

export interface Entry {
  readonly index: LogIndex;
  /** The Raft term, or the Paxos ballot encoded as a number, under which the entry was proposed. */
  readonly term: Term;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** Cluster membership as the engine sees it. In a joint configuration both voter sets decide. */
export interface ConfigState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Non-empty only in a joint configuration: the old voters (C_old of C_old,new). */
  readonly votersOutgoing: readonly NodeId[];
  /** Learners to be added when a joint configuration is left (voters being demoted). */
  readonly learnersNext: readonly NodeId[];
  /** Whether the engine proposes leaving a joint configuration by itself once it is committed. */
  readonly autoLeave: boolean;
}

export type ConfigChangeOp =
  | { readonly type: 'add-voter'; readonly node: NodeId }
  | { readonly type: 'add-learner'; readonly node: NodeId }
  | { readonly type: 'remove'; readonly node: NodeId };

/**
 * A membership change. One op is a simple change; several ops (or `joint: true`) go through joint
 * consensus. `context` is opaque to the engine: the server puts the member's name and URLs there
 * and reads them back when the entry is applied.
 */
export interface ConfigChange {
  readonly ops: readonly ConfigChangeOp[];
  readonly joint?: boolean;
  readonly context: Uint8Array;
}

/** Describes a snapshot file: the state machine after applying every entry up to `index`. */
export interface SnapshotMeta {
  readonly index: LogIndex;
  readonly term: Term;
  readonly config: ConfigState;
  /** Size and CRC-32C of the snapshot file's bytes, checked after a transfer and on load. */
  readonly sizeBytes: number;
  readonly crc32c: number;
}

/**
 * A piece of a snapshot travelling to a lagging member. The engine decides offsets and flow; the
 * driver reads the bytes from the snapshot store on the sending side (`data` is null in the
 * message the engine emits) and writes them on the receiving side.
 */
export interface SnapshotChunk {
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array | null;
  /** CRC-32C of `data`, filled in by the sending driver together with `data`. */
  readonly crc32c: number;
  readonly last: boolean;
}

/** Every engine message is addressed and may carry a snapshot chunk. */
export interface EngineMessage extends PeerMessage {
  readonly type: string;
  readonly snapshotChunk?: SnapshotChunk;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader' | 'learner';

/** Volatile state the application wants to know about; not persisted. */
export interface SoftState {
  readonly leader: NodeId | null;
  readonly role: Role;
  readonly term: Term;
}

/** The answer to a readIndex request: once `index` is applied, a read with `requestId` is linearizable. */
export interface ReadState {
  readonly requestId: number;
  readonly index: LogIndex;
}

export interface Ready<M extends EngineMessage> {
  /** Present when the soft state changed since the last Ready. */
  readonly soft: SoftState | null;
  /** Messages that may be sent at once, in parallel with persisting this Ready (leader appends). */
  readonly sendBeforePersist: readonly M[];
  /** A chunk of an incoming snapshot to write to the staging file. Durable before `messages` go. */
  readonly snapshotChunk: SnapshotChunk | null;
  /** A fully received snapshot to install before `entries` are persisted and `committed` applied. */
  readonly snapshotInstall: SnapshotMeta | null;
  /**
   * Entries to persist. With `entriesReplaceSuffix` (Raft) the persisted log after this write ends
   * at the last of them: stored entries at or after the first index are replaced. Without it
   * (Paxos) each entry replaces only the entry of its own index.
   */
  readonly entries: readonly Entry[];
  readonly entriesReplaceSuffix: boolean;
  /** Encoded hard state (Raft: term, vote, commit; Paxos: promised ballot), durable after entries. */
  readonly hardState: Uint8Array | null;
  /** Messages to send only after everything above is durable. */
  readonly messages: readonly M[];
  /** Entries known committed, to apply in order. Never ahead of what is durable locally. */
  readonly committed: readonly Entry[];
  /** Read requests confirmed by a quorum. */
  readonly readStates: readonly ReadState[];
  /** Requests that will not be answered (lost leadership, bounds): reply "retry" to the client. */
  readonly readsDropped: readonly number[];
}

export type ProposeResult =
  | { readonly type: 'accepted'; readonly index: LogIndex; readonly term: Term }
  | { readonly type: 'forwarded'; readonly to: NodeId }
  | { readonly type: 'rejected'; readonly reason: RejectReason; readonly leader: NodeId | null };

export type RejectReason =
  | 'no-leader'
  | 'not-leader'
  | 'learner'
  | 'transferring'
  | 'too-many-uncommitted'
  | 'config-change-pending'
  | 'invalid-config-change';

export type ReadIndexResult =
  | { readonly type: 'pending' }
  | { readonly type: 'rejected'; readonly reason: RejectReason; readonly leader: NodeId | null };

export type TransferResult =
  | { readonly type: 'started' }
  | { readonly type: 'rejected'; readonly reason: 'not-leader' | 'unknown-member' | 'learner' | 'already-leader' | 'transferring' };

/** Why a message was dropped by `step`; counted by the driver, never fatal. */
export type StepResult = { readonly type: 'ok' } | { readonly type: 'dropped'; readonly reason: string };

export interface PeerProgress {
  readonly node: NodeId;
  readonly match: LogIndex;
  readonly next: LogIndex;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly recentActive: boolean;
  readonly isLearner: boolean;
}

export interface EngineStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: Term;
  readonly leader: NodeId | null;
  readonly commitIndex: LogIndex;
  readonly appliedIndex: LogIndex;
  readonly lastIndex: LogIndex;
  readonly firstIndex: LogIndex;
  readonly config: ConfigState;
  /** On a leader: each peer's replication progress. */
  readonly progress: readonly PeerProgress[];
}

/** What an engine is rebuilt from after a restart: exactly what was durable. */
export interface DurableState {
  readonly hardState: Uint8Array | null;
  readonly snapshot: SnapshotMeta | null;
  /** Entries after the snapshot, in index order (a Paxos log may have gaps). */
  readonly entries: readonly Entry[];
  /** The configuration to start with when there is neither snapshot nor config entry (bootstrap). */
  readonly initialConfig: ConfigState;
  /**
   * Set when recovery found committed entries corrupted and dropped them (Protocol-Aware Recovery):
   * the log once reached this index. Until the log again reaches it (from the leader, or by a
   * snapshot covering it) the member must not vote, pre-vote or campaign, because its log no longer
   * holds what its earlier votes and acknowledgements promised. Nor may it trust the hard state's
   * commit index or the log's tail: recovery may have returned an older version of the tail (entries
   * a later leader replaced), so only what a leader confirms is applied. Null after a clean recovery.
   */
  readonly repairUntil: LogIndex | null;
}

export interface ConsensusEngine<M extends EngineMessage> {
  readonly id: NodeId;
  /** Which protocol: stored in the data directory, checked at start and in the peer handshake. */
  readonly protocol: 'raft' | 'paxos';

  /** One unit of logical time. */
  tick(): void;
  /** A message from a peer. Invalid or impossible messages are dropped and reported, never thrown. */
  step(msg: M): StepResult;
  /** A client command. On a follower it is forwarded to the leader when one is known. */
  propose(data: Uint8Array): ProposeResult;
  proposeConfigChange(change: ConfigChange): ProposeResult;
  /** Asks for a linearizable read point; the answer comes in a later Ready's readStates. */
  readIndex(requestId: number): ReadIndexResult;
  transferLeadership(to: NodeId): TransferResult;
  /** A durable snapshot now covers the log up to meta.index: the engine may forget that prefix. */
  compact(meta: SnapshotMeta): void;
  /** The transport could not reach `to`: the engine may slow down or probe. */
  reportUnreachable(to: NodeId): void;

  hasReady(): boolean;
  ready(): Ready<M>;
  /** Says the Ready was carried out: durable, sent, applied. */
  advance(ready: Ready<M>): void;

  status(): EngineStatus;

  /** Peer wire format: the transport frames and checksums the bytes. Decoding validates shape. */
  encodeMessage(msg: M): Uint8Array;
  decodeMessage(bytes: Uint8Array): M;
}

/** Shared configuration for both engines. */
export interface EngineConfig {
  readonly id: NodeId;
  /** Ticks between leader heartbeats. */
  readonly heartbeatTicks: number;
  /** Base election timeout in ticks; the actual timeout is drawn from [t, 2t). */
  readonly electionTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Lease-based reads: off by default, they trust bounded clock drift. */
  readonly leaseReads: boolean;
  readonly entriesPerMessageMax: number;
  readonly messageBytesMax: number;
  readonly inflightMessagesMax: number;
  readonly uncommittedBytesMax: number;
}
