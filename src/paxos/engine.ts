/**
 * The Multi-Paxos engine: a pure, synchronous state machine behind the consensus contract
 * (src/consensus/types.ts). Every member is an acceptor and a learner; one distinguished proposer,
 * the leader, runs phase 1 once for all future slots and then only phase 2 (Lamport, "Paxos Made
 * Simple" §3; van Renesse & Altinbuken, "Paxos Made Moderately Complex", the leader with scouts and
 * commanders). Where Raft elects only an up-to-date candidate, a Paxos leader may be behind: it
 * learns in phase 1 what a quorum accepted and re-proposes it (Howard & Mortier 2020).
 *
 * Invariants (checked by the tests in engine.test.ts and property.test.ts):
 * - An acceptor never promises or accepts below its promise (P1a), and nothing it says in a
 *   Promise or Accepted goes out before the state it describes is durable (`ready.messages`).
 * - A leader proposes, in each slot at or after its phase-1 slot, the highest-ballot value a phase-1
 *   quorum reported, or a no-op (P2c); so once a value is chosen every higher ballot proposes it.
 * - A log entry at a slot ≤ commit holds the decided value, at a ballot at which it was chosen.
 * - Entries are executed (ready.committed) strictly in slot order; a gap blocks.
 */
import { assert, assertNever } from '../core/assert.js';
import { bytesEqual } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { type NodeId, logIndex, term } from '../core/ids.js';
import { FORWARDED_PROPOSALS_MAX, MEMBERS_MAX, PAXOS_ALPHA_SLOTS, PAXOS_COMMIT_PERSIST_STRIDE_SLOTS, PAXOS_CATCHUP_TIMEOUT_HEARTBEATS, PAXOS_PROMISE_ENTRIES_MAX, PAXOS_RETRANSMIT_HEARTBEATS, PENDING_READS_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type {
  ConfigChange,
  ConfigState,
  ConsensusEngine,
  DurableState,
  EngineStatus,
  Entry,
  EntryKind,
  PeerProgress,
  ProposeResult,
  ReadIndexResult,
  ReadState,
  Ready,
  Role,
  SnapshotChunk,
  SnapshotMeta,
  SoftState,
  StepResult,
  TransferResult,
} from '../consensus/types.js';
import { type Ballot, NO_BALLOT, type Promised, ballotGrantable, ballotOwnedBy, nextBallot } from './ballot.js';
import { decodeConfigChange, decodeHardState, decodePaxosMessage, encodeConfigChange, encodeHardState, encodePaxosMessage } from './codec.js';
import { type PaxosConfig, type QuorumSizes, quorumSizes, validatePaxosConfig } from './config.js';
import { PaxosError } from './errors.js';
import { ConfigHistory, configChangeProblem, isMember, isVoter } from './membership.js';
import { SlotLog } from './slot-log.js';
import { fitsResetWith } from '../consensus/storage.js';
import type {
  AcceptMessage,
  CatchupMessage,
  AcceptedMessage,
  DecidedAckMessage,
  DecidedMessage,
  ForwardMessage,
  HeartbeatAckMessage,
  HeartbeatMessage,
  NackMessage,
  PaxosMessage,
  PrepareMessage,
  PromiseMessage,
  ReadIndexMessage,
  ReadIndexResponseMessage,
  SnapshotAckMessage,
  SnapshotMessage,
  TimeoutNowMessage,
} from './messages.js';

/** What the leader knows of one peer. */
interface Peer {
  /** The next slot to send an accept for. */
  next: number;
  /** Accept messages sent and not yet answered. */
  inflight: number;
  /** The tick of the last Accepted from this peer (or of the last reset). */
  lastAcceptedTick: number;
  /** The peer's commit index, as it last reported it. */
  commit: number;
  /** Heard from since the last check-quorum round. */
  recentActive: boolean;
  /** A catch-up or snapshot chunk is outstanding until this tick. */
  catchupUntilTick: number;
  /** Snapshot transfer under way: the snapshot and the next offset to send. */
  snapshot: { meta: SnapshotMeta; offset: number } | null;
  /** The highest heartbeat round this peer acknowledged. */
  ackedRound: number;
  /** The commit index last sent to this peer (on an accept or a heartbeat). */
  commitSent: number;
}

/** A read waiting for a heartbeat round to confirm the leader's ballot at a quorum. */
interface PendingRead {
  readonly round: number;
  readonly index: number;
  readonly requestId: number;
  /** The member that asked (null: this member). */
  readonly origin: NodeId | null;
}

interface Leadership {
  readonly ballot: Ballot;
  /** The next slot to assign to a proposal. */
  nextSlot: number;
  /** Members that accepted each open slot (commit, nextSlot) at `ballot`, this member included once durable. */
  readonly acks: Map<number, NodeId[]>;
  readonly peers: Map<NodeId, Peer>;
  /** Heartbeat rounds: the current round and the tick each recent round was sent. */
  round: number;
  readonly roundTick: Map<number, number>;
  readonly reads: PendingRead[];
  /** Bytes of proposals not yet decided. */
  uncommittedBytes: number;
  transfer: { to: NodeId; elapsedTicks: number; sent: boolean } | null;
  checkQuorumElapsedTicks: number;
  /** The highest round acknowledged by a phase-2 quorum (lease and read confirmation). */
  confirmedRound: number;
  /** The tick the commit index last moved (or the last retransmission for a stalled slot). */
  commitAdvancedTick: number;
  /** Proposals arrived since the last Ready: accepts go out in one batch when the Ready is built. */
  acceptsPending: boolean;
}

interface PromiseReport {
  /** The slot the next Promise from this acceptor must start at. */
  nextFrom: number;
  complete: boolean;
  usable: boolean;
}

interface Phase1 {
  readonly ballot: Ballot;
  readonly fromSlot: number;
  readonly transfer: boolean;
  readonly reports: Map<NodeId, PromiseReport>;
  /** The highest-ballot value reported for each slot. */
  readonly recovered: Map<number, Entry>;
  readonly asked: Set<NodeId>;
}

/** A snapshot arriving from the leader. */
interface Receiving {
  readonly meta: SnapshotMeta;
  nextOffset: number;
  /** Who sends it: the leader, or (ballot NO_BALLOT) a member serving a catch-up request. */
  readonly from: NodeId;
  /** The tick the last chunk arrived. */
  lastTick: number;
}

/** A snapshot this member (not leading) sends to a member that asked to catch up. */
interface Serving {
  readonly meta: SnapshotMeta;
  offset: number;
  /** Given up unless acknowledged by this tick. */
  untilTick: number;
}

const EMPTY = new Uint8Array(0);
/** `configsValidFrom` of a member that has not learned its cluster's configurations yet. */
const CONFIGS_UNKNOWN = Number.MAX_SAFE_INTEGER;

export class PaxosEngine implements ConsensusEngine<PaxosMessage> {
  readonly id: NodeId;
  readonly protocol = 'paxos' as const;

  private readonly cfg: PaxosConfig;
  private readonly random: Random;

  // Durable state (as last handed out for persisting).
  private promised: Promised;
  /** Accepted and decided values by slot, for slots after the snapshot. Includes unpersisted ones. */
  private readonly log = new SlotLog();
  private lastSlot: number;
  private snapshot: SnapshotMeta | null;
  private commit: number;
  private repairUntil: number;
  private reportGapUntil: number;
  /**
   * Recovery found damage (DurableState.repairUntil), and the hard state it returned may be older
   * than the last one this acceptor wrote: the promise may be lower than one it gave before the
   * crash. Until it promises a fresh ballot (see `onPrepare`) it vouches for no ballot: it stores
   * no phase-2 value, sends no `accepted`, and its heartbeat acknowledgements confirm no round.
   * Durable, so a crash before the fresh promise does not end it. See docs/paxos.md.
   */
  private promiseLost: boolean;
  private configs: ConfigHistory;

  // Volatile state.
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  private leaderBallot: Ballot = NO_BALLOT;
  /** The highest ballot seen anywhere: a new campaign goes above it. */
  private maxSeen: Ballot;
  private ticks = 0;
  private electionElapsedTicks = 0;
  private electionTimeoutTicks = 0;
  private heartbeatElapsedTicks = 0;
  /** The tick this member last heard from the leader it follows (leader stickiness and leases). */
  private leaderContactTick = Number.NEGATIVE_INFINITY;
  private forwardedThisTick = 0;
  private phase1: Phase1 | null = null;
  private lead: Leadership | null = null;
  private receiving: Receiving | null = null;
  /** Snapshots sent to members that asked to catch up, by member (at most MEMBERS_MAX). */
  private readonly serving = new Map<NodeId, Serving>();
  /** A fully received snapshot waiting for its mark to be durable (see beginInstall). */
  private installing: { readonly m: SnapshotMessage; readonly gapBefore: number; mark: Ready<PaxosMessage> | null } | null = null;
  /** Forwarded read requests waiting for the leader's answer. */
  private readonly forwardedReads = new Map<number, number>();
  /** Counts of dropped messages by reason (a fixed set of strings), for metrics and tests. */
  readonly dropped = new Map<string, number>();

  // The next Ready under construction.
  /** Entries to persist with the next Ready, in the order stored (a slot may repeat). */
  private unstable: Entry[] = [];
  /** Whether `unstable` is in strictly increasing slot order (then it needs no sorting). */
  private unstableInOrder = true;
  private readonly quorumCache: QuorumSizes[] = [];
  private hardStateDirty = false;
  /** The commit index last written in a hard state (see PAXOS_COMMIT_PERSIST_STRIDE_SLOTS). */
  private persistedCommit = 0;
  private msgsBefore: PaxosMessage[] = [];
  private msgsAfter: PaxosMessage[] = [];
  private snapshotChunkOut: SnapshotChunk | null = null;
  private snapshotInstallOut: SnapshotMeta | null = null;
  private readStatesOut: ReadState[] = [];
  private readsDroppedOut: number[] = [];
  private lastSoft: SoftState;
  /** The highest slot handed out in `committed`. */
  private handedOut: number;
  private applied: number;
  private inFlight: Ready<PaxosMessage> | null = null;

  constructor(config: PaxosConfig, durable: DurableState, random: Random) {
    validatePaxosConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.random = random;
    this.snapshot = durable.snapshot;
    const snapIndex = durable.snapshot?.index ?? 0;

    let hs;
    try {
      hs = durable.hardState === null ? null : decodeHardState(durable.hardState);
    } catch (e) {
      if (e instanceof DecodeError) throw new PaxosError('bad-hard-state', `cannot start the Multi-Paxos engine: ${e.message}`, { cause: e });
      throw e;
    }
    this.log.deleteThrough(snapIndex);
    this.lastSlot = snapIndex;
    for (const e of durable.entries) {
      assert(e.index > snapIndex, `durable entry ${e.index} at or below the snapshot ${snapIndex}`);
      this.log.set(e.index, e);
      if (e.index > this.lastSlot) this.lastSlot = e.index;
    }
    this.promised = this.cfg.plantedBug === 'forget-promise-on-restart' ? { ballot: NO_BALLOT, node: null } : (hs?.promised ?? { ballot: NO_BALLOT, node: null });
    this.maxSeen = this.promised.ballot;
    this.repairUntil = Math.max(hs?.repairUntil ?? 0, durable.repairUntil ?? 0);
    this.reportGapUntil = hs?.reportGapUntil ?? 0;
    this.promiseLost = this.cfg.plantedBug !== 'accept-after-lost-promise' && (durable.repairUntil !== null || hs?.promiseLost === true);

    // The commit index cannot pass a missing entry (a snapshot install that did not finish). After
    // damage (a fresh durable.repairUntil) it vouches for nothing past the snapshot: recovery may
    // have returned an older value of a slot whose later acceptance was lost, so the decided values
    // are learned again from the leader, whose catch-up replaces what differs (onDecided).
    let commit = snapIndex;
    const hsCommit = durable.repairUntil !== null ? snapIndex : (hs?.commit ?? 0);
    while (commit < hsCommit && this.log.has(commit + 1)) commit++;
    if (commit < hsCommit) this.reportGapUntil = Math.max(this.reportGapUntil, hsCommit);
    this.commit = commit;
    this.persistedCommit = commit;
    if (this.repairUntil <= commit) this.repairUntil = 0;
    if (this.reportGapUntil <= commit) this.reportGapUntil = 0;

    // A member joining a running cluster starts with no voters: it knows no configuration until
    // the leader tells it (catch-up or snapshot), and it runs no phase 1 before that.
    const joining = hs === null && durable.snapshot === null && durable.initialConfig.voters.length === 0;
    this.configs =
      hs !== null
        ? new ConfigHistory(hs.configs, hs.configsValidFrom)
        : new ConfigHistory([{ effectiveSlot: 1, config: durable.snapshot?.config ?? durable.initialConfig }], joining ? CONFIGS_UNKNOWN : snapIndex + 1);
    // Flexible quorums are validated up front (a member joining with no configuration yet waits to learn one).
    if (this.configs.validFrom !== CONFIGS_UNKNOWN) for (const e of this.configs.all) if (e.config.voters.length > 0) quorumSizes(this.cfg, e.config.voters.length);
    // Re-execute config entries between the snapshot and the commit index (idempotent).
    for (let s = snapIndex + 1; s <= this.commit; s++) this.executeConfig(s, this.log.get(s)!);

    this.handedOut = snapIndex;
    this.applied = snapIndex;
    this.role = !isVoter(this.configs.at(this.commit + 1), this.id) && isMember(this.configs.newest.config, this.id) ? 'learner' : 'follower';
    this.resetElectionTimeout();
    this.lastSoft = this.softState();
    if (this.repairUntil !== (hs?.repairUntil ?? 0) || this.promiseLost !== (hs?.promiseLost ?? false)) this.hardStateDirty = true;
  }

  // ---------------------------------------------------------------------------------------------
  // The contract: inputs.

  tick(): void {
    this.ticks++;
    this.forwardedThisTick = 0;
    if (this.ticks % this.cfg.electionTicks === 0) {
      this.expireForwardedReads();
      for (const [node, sv] of this.serving) if (this.ticks > sv.untilTick) this.serving.delete(node);
    }
    if (this.lead !== null) {
      this.tickLeader(this.lead);
      return;
    }
    this.electionElapsedTicks++;
    if (this.electionElapsedTicks >= this.electionTimeoutTicks) {
      this.electionElapsedTicks = 0;
      // A campaign that went nowhere: perhaps this member missed decisions (even its own removal).
      if (this.phase1 !== null) this.askForCatchup();
      if (this.promotable()) this.campaign(false);
      else {
        if (this.phase1 !== null) this.becomeFollower(null, NO_BALLOT);
        this.resetElectionTimeout();
        if (this.leader !== null && this.ticks - this.leaderContactTick >= this.cfg.electionTicks) this.becomeFollower(null, NO_BALLOT);
        if (this.leader === null && (this.repairing() || this.reportGapUntil > 0)) this.askForCatchup();
      }
    }
  }

  step(msg: PaxosMessage): StepResult {
    const problem = this.invalid(msg);
    if (problem !== null) return this.drop(problem);
    const seenBefore = this.maxSeen;
    this.noteBallot(msg);
    if (this.lead !== null) this.touchPeer(this.lead, msg.from);
    switch (msg.type) {
      case 'prepare':
        return this.onPrepare(msg, seenBefore);
      case 'promise':
        return this.onPromise(msg);
      case 'nack':
        return this.onNack(msg);
      case 'accept':
        return this.onAccept(msg);
      case 'accepted':
        return this.onAccepted(msg);
      case 'heartbeat':
        return this.onHeartbeat(msg);
      case 'heartbeat-ack':
        return this.onHeartbeatAck(msg);
      case 'decided':
        return this.onDecided(msg);
      case 'decided-ack':
        return this.onDecidedAck(msg);
      case 'snapshot':
        return this.onSnapshot(msg);
      case 'snapshot-ack':
        return this.onSnapshotAck(msg);
      case 'forward':
        return this.onForward(msg);
      case 'read-index':
        return this.onReadIndex(msg);
      case 'read-index-resp':
        return this.onReadIndexResponse(msg);
      case 'timeout-now':
        return this.onTimeoutNow(msg);
      case 'catchup':
        return this.onCatchup(msg);
      default:
        return assertNever(msg, 'paxos message');
    }
  }

  propose(data: Uint8Array): ProposeResult {
    return this.proposeKind('normal', data);
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    if (this.lead !== null) {
      const pending = this.configChangePending(this.lead);
      if (pending) return { type: 'rejected', reason: 'config-change-pending', leader: this.id };
      if (configChangeProblem(this.configs.newest.config, change, this.cfg) !== null) return { type: 'rejected', reason: 'invalid-config-change', leader: this.id };
    }
    return this.proposeKind('config', encodeConfigChange(change));
  }

  readIndex(requestId: number): ReadIndexResult {
    const lead = this.lead;
    if (lead !== null) {
      if (lead.reads.length >= PENDING_READS_MAX) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.id };
      this.leaderRead(lead, requestId, null);
      return { type: 'pending' };
    }
    if (this.leader === null) return { type: 'rejected', reason: 'no-leader', leader: null };
    if (this.forwardedReads.size >= PENDING_READS_MAX) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.leader };
    this.forwardedReads.set(requestId, this.ticks);
    this.send({ type: 'read-index', from: this.id, to: this.leader, requestId }, 'before');
    return { type: 'pending' };
  }

  transferLeadership(to: NodeId): TransferResult {
    const lead = this.lead;
    if (lead === null) return { type: 'rejected', reason: 'not-leader' };
    if (to === this.id) return { type: 'rejected', reason: 'already-leader' };
    if (lead.transfer !== null) return { type: 'rejected', reason: 'transferring' };
    const config = this.configs.at(lead.nextSlot);
    if (!isMember(config, to)) return { type: 'rejected', reason: 'unknown-member' };
    if (!isVoter(config, to)) return { type: 'rejected', reason: 'learner' };
    lead.transfer = { to, elapsedTicks: 0, sent: false };
    this.maybeSendTimeoutNow(lead);
    return { type: 'started' };
  }

  compact(meta: SnapshotMeta): void {
    assert(meta.index <= this.applied, `compact(${meta.index}) beyond the applied index ${this.applied}`);
    if (this.snapshot !== null && meta.index <= this.snapshot.index) return;
    this.log.deleteThrough(meta.index);
    this.snapshot = meta;
    this.lastSlot = Math.max(this.lastSlot, meta.index);
    this.configs.prune(meta.index, this.commit);
    this.hardStateDirty = true;
  }

  reportUnreachable(to: NodeId): void {
    const peer = this.lead?.peers.get(to);
    if (peer === undefined) return;
    // Resend from the first open slot once the peer is back; catch-up restarts at once too.
    peer.inflight = 0;
    peer.catchupUntilTick = 0;
    peer.next = this.firstUnackedSlot(this.lead!, to);
  }

  // ---------------------------------------------------------------------------------------------
  // The contract: the Ready cycle.

  hasReady(): boolean {
    if (this.inFlight !== null) return false;
    return (
      this.lead?.acceptsPending === true ||
      this.unstable.length > 0 ||
      this.hardStateDirty ||
      this.msgsBefore.length > 0 ||
      this.msgsAfter.length > 0 ||
      this.snapshotChunkOut !== null ||
      this.snapshotInstallOut !== null ||
      this.readStatesOut.length > 0 ||
      this.readsDroppedOut.length > 0 ||
      this.handedOut < this.commit ||
      this.lastSoft.leader !== this.leader ||
      this.lastSoft.role !== this.role ||
      this.lastSoft.term !== this.currentBallot()
    );
  }

  ready(): Ready<PaxosMessage> {
    assert(this.inFlight === null, 'ready() called again before advance()');
    if (this.lead !== null) {
      if (this.lead.acceptsPending) {
        this.lead.acceptsPending = false;
        this.leaderSendAccepts(this.lead);
      }
      this.leaderSendCommit(this.lead);
    }
    const soft = this.softState();
    const install = this.snapshotInstallOut;
    const entries = this.unstableInOrder ? this.unstable : dedupeBySlot(this.unstable);
    const committed: Entry[] = [];
    if (install !== null) this.handedOut = Math.max(this.handedOut, install.index);
    for (let s = this.handedOut + 1; s <= this.commit; s++) {
      const e = this.log.get(s);
      assert(e !== undefined, `decided slot ${s} missing from the log`);
      committed.push(e);
    }
    const rd: Ready<PaxosMessage> = {
      soft: softEqual(soft, this.lastSoft) ? null : soft,
      sendBeforePersist: this.msgsBefore,
      snapshotChunk: this.snapshotChunkOut,
      snapshotInstall: install,
      entries,
      entriesReplaceSuffix: false,
      hardState: this.hardStateDirty ? this.encodeHardState() : null,
      messages: this.msgsAfter,
      committed,
      readStates: this.readStatesOut,
      readsDropped: this.readsDroppedOut,
    };
    this.lastSoft = soft;
    this.handedOut = this.commit;
    this.unstable = [];
    this.unstableInOrder = true;
    this.hardStateDirty = false;
    this.msgsBefore = [];
    this.msgsAfter = [];
    this.snapshotChunkOut = null;
    this.snapshotInstallOut = null;
    this.readStatesOut = [];
    this.readsDroppedOut = [];
    if (this.installing !== null && this.installing.mark === null && rd.hardState !== null) this.installing.mark = rd;
    this.inFlight = rd;
    return rd;
  }

  advance(rd: Ready<PaxosMessage>): void {
    assert(this.inFlight === rd, 'advance() with a Ready that is not the one in flight');
    this.inFlight = null;
    if (rd.snapshotInstall !== null) this.applied = Math.max(this.applied, rd.snapshotInstall.index);
    if (rd.committed.length > 0) this.applied = Math.max(this.applied, rd.committed[rd.committed.length - 1]!.index);
    if (this.installing !== null && this.installing.mark === rd) this.completeInstall();
    const lead = this.lead;
    if (lead === null) return;
    // The leader's own acceptances count once durable.
    let any = false;
    for (const e of rd.entries) {
      const acks = lead.acks.get(e.index);
      if (acks !== undefined && e.term === lead.ballot && this.log.get(e.index)?.term === lead.ballot) {
        if (!acks.includes(this.id)) acks.push(this.id);
        any = true;
      }
    }
    if (any) this.leaderAdvanceCommit(lead);
    this.releaseReads(lead);
  }

  status(): EngineStatus {
    const progress: PeerProgress[] = [];
    const lead = this.lead;
    if (lead !== null) {
      const config = this.configs.at(lead.nextSlot);
      for (const [node, p] of lead.peers) {
        let match = p.commit;
        while (lead.acks.get(match + 1)?.includes(node) === true) match++;
        progress.push({
          node,
          match: logIndex(match),
          next: logIndex(p.next),
          state: p.snapshot !== null ? 'snapshot' : p.inflight > 0 ? 'replicate' : 'probe',
          recentActive: p.recentActive,
          isLearner: !isVoter(config, node),
        });
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.currentBallot(),
      leader: this.leader,
      commitIndex: logIndex(this.commit),
      appliedIndex: logIndex(this.applied),
      lastIndex: logIndex(this.lastSlot),
      firstIndex: logIndex((this.snapshot?.index ?? 0) + 1),
      config: this.configs.newest.config,
      progress,
    };
  }

  encodeMessage(msg: PaxosMessage): Uint8Array {
    return encodePaxosMessage(msg);
  }

  decodeMessage(bytes: Uint8Array): PaxosMessage {
    return decodePaxosMessage(bytes);
  }

  /** The configuration governing slot `slot` (α-window); for tests and the status page. */
  configAt(slot: number): ConfigState {
    return this.configs.at(slot);
  }

  /** Phase-1 and phase-2 quorum sizes of the configuration governing the next open slot. */
  quorums(): QuorumSizes {
    return this.quorumsFor(this.configs.at(this.commit + 1).voters.length);
  }

  // ---------------------------------------------------------------------------------------------
  // Proposals.

  private proposeKind(kind: Exclude<EntryKind, 'empty'>, data: Uint8Array): ProposeResult {
    const lead = this.lead;
    if (lead === null) {
      if (this.role === 'learner' && this.leader === null) return { type: 'rejected', reason: 'learner', leader: null };
      if (this.leader === null) return { type: 'rejected', reason: 'no-leader', leader: null };
      if (this.forwardedThisTick >= FORWARDED_PROPOSALS_MAX) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.leader };
      this.forwardedThisTick++;
      this.send({ type: 'forward', from: this.id, to: this.leader, kind, data: [data] }, 'before');
      return { type: 'forwarded', to: this.leader };
    }
    if (lead.transfer !== null) return { type: 'rejected', reason: 'transferring', leader: this.id };
    if (lead.uncommittedBytes + data.length > this.cfg.uncommittedBytesMax) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.id };
    const slot = this.leaderAppend(lead, kind, data);
    // Batching: every proposal made before the next Ready goes out in the same accept messages.
    lead.acceptsPending = true;
    return { type: 'accepted', index: logIndex(slot), term: lead.ballot };
  }

  private configChangePending(lead: Leadership): boolean {
    // One change at a time: the last one must be decided and in force for the next open slot.
    if (this.configs.newest.effectiveSlot > this.commit + 1) return true;
    for (let s = this.commit + 1; s < lead.nextSlot; s++) if (this.log.get(s)?.kind === 'config') return true;
    return false;
  }

  /** Assigns the next slot to a value and accepts it locally (durable with the next Ready). */
  private leaderAppend(lead: Leadership, kind: EntryKind, data: Uint8Array): number {
    const slot = lead.nextSlot++;
    this.storeEntry({ index: logIndex(slot), term: lead.ballot, kind, data });
    lead.acks.set(slot, []);
    lead.uncommittedBytes += data.length;
    return slot;
  }

  // ---------------------------------------------------------------------------------------------
  // Validation and bookkeeping.

  private invalid(msg: PaxosMessage): string | null {
    if (msg.to !== this.id) return 'addressed to another member';
    if (msg.from === this.id) return 'from this member';
    switch (msg.type) {
      case 'decided':
      case 'snapshot':
        // NO_BALLOT: decided values (or a snapshot of them) served by a member that does not lead.
        if (msg.ballot !== NO_BALLOT && !ballotOwnedBy(msg.ballot, msg.from)) return `${msg.type}: ballot not owned by its sender`;
        break;
      case 'prepare':
      case 'accept':
      case 'heartbeat':
      case 'timeout-now':
        if (!ballotOwnedBy(msg.ballot, msg.from)) return `${msg.type}: ballot not owned by its sender`;
        break;
      case 'promise':
      case 'nack':
      case 'accepted':
      case 'heartbeat-ack':
      case 'decided-ack':
      case 'snapshot-ack':
        if (msg.ballot > 0 && !ballotOwnedBy(msg.ballot, this.id)) return `${msg.type}: answers a ballot that is not ours`;
        break;
      case 'forward':
      case 'read-index':
      case 'read-index-resp':
      case 'catchup':
        break;
      default:
        return assertNever(msg, 'paxos message');
    }
    if (msg.type === 'accept' && msg.entries.some((e) => e.data.length > this.cfg.messageBytesMax)) return 'accept: entry larger than a message';
    if (msg.type === 'snapshot' && msg.snapshotChunk.data === null) return 'snapshot: chunk without data';
    return null;
  }

  private drop(reason: string): StepResult {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    return { type: 'dropped', reason };
  }

  private noteBallot(msg: PaxosMessage): void {
    if ('ballot' in msg && msg.ballot > this.maxSeen) this.maxSeen = msg.ballot;
    if (msg.type === 'nack' && msg.promised > this.maxSeen) this.maxSeen = msg.promised;
  }

  private touchPeer(lead: Leadership, from: NodeId): void {
    const p = lead.peers.get(from);
    if (p !== undefined) p.recentActive = true;
  }

  private send(msg: PaxosMessage, when: 'before' | 'after'): void {
    if (when === 'before') this.msgsBefore.push(msg);
    else this.msgsAfter.push(msg);
  }

  private storeEntry(e: Entry): void {
    this.log.set(e.index, e);
    const last = this.unstable[this.unstable.length - 1];
    if (last !== undefined && last.index >= e.index) this.unstableInOrder = false;
    this.unstable.push(e);
    if (e.index > this.lastSlot) this.lastSlot = e.index;
  }

  private encodeHardState(): Uint8Array {
    // The planted bug leaves the promise out, as an acceptor that never made it durable.
    const promised = this.cfg.plantedBug === 'forget-promise-on-restart' ? { ballot: NO_BALLOT, node: null } : this.promised;
    this.persistedCommit = this.commit;
    return encodeHardState({
      promised,
      commit: this.commit,
      repairUntil: this.repairUntil,
      reportGapUntil: this.reportGapUntil,
      configs: this.configs.all,
      configsValidFrom: this.configs.validFrom,
      promiseLost: this.promiseLost,
    });
  }

  private setPromised(ballot: Ballot, node: NodeId): void {
    if (ballot === this.promised.ballot && node === this.promised.node) return;
    assert(ballot >= this.promised.ballot, 'a promise never goes down');
    this.promised = { ballot, node };
    this.hardStateDirty = true;
  }

  private currentBallot(): Ballot {
    return this.lead?.ballot ?? this.phase1?.ballot ?? this.leaderBallot;
  }

  private softState(): SoftState {
    return { leader: this.leader, role: this.role, term: this.currentBallot() };
  }

  /** May this member run phase 1: a voter for the open slots, with a faithful log and known configurations. */
  private promotable(): boolean {
    return this.configs.validFrom <= this.commit + 1 && isVoter(this.configs.at(this.commit + 1), this.id) && !this.repairing() && this.reportGapUntil === 0;
  }

  private repairing(): boolean {
    return this.repairUntil > 0;
  }

  private resetElectionTimeout(): void {
    this.electionTimeoutTicks = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  private snapshotIndex(): number {
    return this.snapshot?.index ?? 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Roles.

  /** Follows `leader` at `ballot` (or no one); ends any candidacy or leadership of our own. */
  private becomeFollower(leader: NodeId | null, ballot: Ballot): void {
    if (this.lead !== null) this.endLeadership();
    this.phase1 = null;
    this.role = isVoter(this.configs.at(this.commit + 1), this.id) || !isMember(this.configs.newest.config, this.id) ? 'follower' : 'learner';
    if (leader !== this.leader) this.dropForwardedReads();
    this.leader = leader;
    this.leaderBallot = ballot;
  }

  private endLeadership(): void {
    const lead = this.lead!;
    for (const r of lead.reads) {
      if (r.origin === null) this.readsDroppedOut.push(r.requestId);
      else this.send({ type: 'read-index-resp', from: this.id, to: r.origin, requestId: r.requestId, index: 0, ok: false }, 'before');
    }
    this.lead = null;
  }

  /** A forwarded read whose answer was lost is given up after two election timeouts. */
  private expireForwardedReads(): void {
    for (const [id, since] of this.forwardedReads) {
      if (this.ticks - since < 2 * this.cfg.electionTicks) continue;
      this.forwardedReads.delete(id);
      this.readsDroppedOut.push(id);
    }
  }

  private dropForwardedReads(): void {
    for (const id of this.forwardedReads.keys()) this.readsDroppedOut.push(id);
    this.forwardedReads.clear();
  }

  /** Phase 1 (Paxos Made Simple §2.2, "Phase 1 (a)"), once for every slot after the commit index. */
  private campaign(transfer: boolean): void {
    const ballot = nextBallot(this.maxSeen, this.id);
    this.maxSeen = ballot;
    if (this.lead !== null) this.endLeadership();
    this.role = 'candidate';
    this.leader = null;
    this.dropForwardedReads();
    this.setPromised(ballot, this.id);
    // A ballot above every one seen since the restart is a fresh promise (see onPrepare).
    this.promiseLost = false;
    this.electionElapsedTicks = 0;
    this.resetElectionTimeout();
    const fromSlot = this.commit + 1;
    const p1: Phase1 = { ballot, fromSlot, transfer, reports: new Map(), recovered: new Map(), asked: new Set([this.id]) };
    this.phase1 = p1;
    // This member's own report: everything it accepted from fromSlot on. Its promise is durable
    // with this Ready's hard state, before any other member's promise can arrive.
    for (const e of this.log.from(fromSlot)) this.mergeRecovered(p1, e);
    p1.reports.set(this.id, { nextFrom: Number.MAX_SAFE_INTEGER, complete: true, usable: true });
    this.phase1AskMore(p1);
    this.phase1MaybeDone(p1);
  }

  private mergeRecovered(p1: Phase1, e: Entry): void {
    const cur = p1.recovered.get(e.index);
    if (cur === undefined || e.term > cur.term) p1.recovered.set(e.index, e);
  }

  /** The configurations phase 1 must satisfy: those of every slot it recovers, plus α beyond. */
  private phase1Configs(p1: Phase1): ConfigState[] {
    const history = this.configs.clone();
    let maxSlot = p1.fromSlot - 1;
    const slots = [...p1.recovered.keys()].sort((a, b) => a - b);
    for (const s of slots) {
      const e = p1.recovered.get(s)!;
      if (e.kind === 'config') this.tryExecuteConfig(history, s, e);
      maxSlot = Math.max(maxSlot, s);
    }
    return history.between(p1.fromSlot, maxSlot + PAXOS_ALPHA_SLOTS);
  }

  private phase1AskMore(p1: Phase1): void {
    for (const config of this.phase1Configs(p1)) {
      for (const v of config.voters) {
        if (p1.asked.has(v)) continue;
        p1.asked.add(v);
        p1.reports.set(v, { nextFrom: p1.fromSlot, complete: false, usable: true });
        this.send({ type: 'prepare', from: this.id, to: v, ballot: p1.ballot, fromSlot: p1.fromSlot, transfer: p1.transfer }, 'after');
      }
    }
  }

  private phase1MaybeDone(p1: Phase1): void {
    const full = new Set<NodeId>();
    for (const [node, r] of p1.reports) if (r.complete && r.usable) full.add(node);
    for (const config of this.phase1Configs(p1)) {
      const { phase1 } = this.quorumsFor(config.voters.length);
      if (config.voters.filter((v) => full.has(v)).length < phase1) return;
    }
    this.becomeLeader(p1);
  }

  /**
   * Phase 1 is done: re-propose, at our ballot, the highest-ballot value reported in every open
   * slot, and a no-op in every gap (Paxos Made Simple §3: "fill the gaps with no-op commands").
   */
  private becomeLeader(p1: Phase1): void {
    this.phase1 = null;
    this.role = 'leader';
    this.leader = this.id;
    this.leaderBallot = p1.ballot;
    const lead: Leadership = {
      ballot: p1.ballot,
      nextSlot: this.commit + 1,
      acks: new Map(),
      peers: new Map(),
      round: 0,
      roundTick: new Map(),
      reads: [],
      uncommittedBytes: 0,
      transfer: null,
      checkQuorumElapsedTicks: 0,
      confirmedRound: 0,
      commitAdvancedTick: this.ticks,
      acceptsPending: false,
    };
    this.lead = lead;
    let recovered = p1.recovered;
    if (this.cfg.plantedBug === 'skip-phase1-on-takeover') {
      // The planted bug: trust only our own log, as if phase 1 had told us nothing.
      recovered = new Map([...this.log.from(this.commit + 1)].map((e) => [e.index, e]));
    }
    let maxSlot = this.commit;
    for (const s of recovered.keys()) maxSlot = Math.max(maxSlot, s);
    for (let s = this.commit + 1; s <= maxSlot; s++) {
      const found = recovered.get(s);
      this.leaderAppend(lead, found?.kind ?? 'empty', found?.data ?? EMPTY);
    }
    this.syncPeers(lead);
    this.heartbeatElapsedTicks = 0;
    this.broadcastHeartbeat(lead);
    this.leaderSendAccepts(lead);
  }

  /** Keeps a Peer for every member of every configuration of an open or future slot. */
  private syncPeers(lead: Leadership): void {
    const wanted = new Set<NodeId>();
    for (const c of this.configs.between(this.commit + 1, lead.nextSlot + PAXOS_ALPHA_SLOTS)) {
      for (const v of c.voters) wanted.add(v);
      for (const l of c.learners) wanted.add(l);
    }
    wanted.delete(this.id);
    for (const node of wanted) {
      if (!lead.peers.has(node)) {
        lead.peers.set(node, { next: this.commit + 1, inflight: 0, lastAcceptedTick: this.ticks, commit: 0, recentActive: true, catchupUntilTick: 0, snapshot: null, ackedRound: 0, commitSent: 0 });
      }
    }
    for (const node of [...lead.peers.keys()]) if (!wanted.has(node)) lead.peers.delete(node);
  }

  // ---------------------------------------------------------------------------------------------
  // Acceptor: phase 1.

  /** `seenBefore`: the highest ballot this member knew before this message (maxSeen). */
  private onPrepare(m: PrepareMessage, seenBefore: Ballot): StepResult {
    if (this.repairing() || this.reportGapUntil > 0) return this.drop('prepare: repairing, cannot report accepted values');
    // Leader stickiness: a member that recently heard from a live leader promises no one else,
    // so a partitioned member cannot depose a healthy leader (and leases stay sound).
    const leaderAlive = this.leader !== null && this.leader !== m.from && this.ticks - this.leaderContactTick < this.cfg.electionTicks;
    if (!m.transfer && (leaderAlive || (this.lead !== null && m.from !== this.id && this.leaseHeld(this.lead)))) return this.drop('prepare: a live leader is known');
    if (!ballotGrantable(this.promised, m.ballot, m.from)) {
      this.send({ type: 'nack', from: this.id, to: m.from, ballot: m.ballot, promised: this.promised.ballot }, 'before');
      return { type: 'ok' };
    }
    if (this.promiseLost) {
      // Only a ballot above every ballot seen since the restart is fresh: one seen already may be
      // a delayed prepare of a phase 1 that finished before the crash, against a promise we lost.
      // Refuse it with a higher number, so the candidate tries again above everything we know.
      if (m.ballot <= seenBefore) {
        this.send({ type: 'nack', from: this.id, to: m.from, ballot: m.ballot, promised: term(Math.max(seenBefore, m.ballot + 1)) }, 'before');
        return { type: 'ok' };
      }
      this.promiseLost = false; // durable with the promise below, in the same hard state
    }
    if (this.lead !== null || this.phase1 !== null || this.leader !== m.from) this.becomeFollower(null, NO_BALLOT);
    this.setPromised(m.ballot, m.from);
    this.electionElapsedTicks = 0;
    // Every accepted value from fromSlot on, bounded; the candidate asks again for the rest.
    const compactedThrough = this.snapshotIndex();
    const entries: Entry[] = [];
    let through = Math.max(m.fromSlot - 1, compactedThrough);
    let complete = true;
    for (let s = through + 1; s <= this.lastSlot; s++) {
      const e = this.log.get(s);
      if (e === undefined) continue;
      if (entries.length >= PAXOS_PROMISE_ENTRIES_MAX) {
        complete = false;
        break;
      }
      entries.push(e);
      through = s;
    }
    if (complete) through = Math.max(through, this.lastSlot);
    const reply: PromiseMessage = { type: 'promise', from: this.id, to: m.from, ballot: m.ballot, fromSlot: m.fromSlot, entries, throughSlot: through, complete, compactedThrough, commit: this.commit };
    // The planted bug answers before the promise is durable.
    this.send(reply, this.cfg.plantedBug === 'forget-promise-on-restart' ? 'before' : 'after');
    return { type: 'ok' };
  }

  private onPromise(m: PromiseMessage): StepResult {
    const p1 = this.phase1;
    if (p1 === null || m.ballot !== p1.ballot) return this.drop('promise: not campaigning at that ballot');
    const report = p1.reports.get(m.from);
    if (report === undefined || report.complete || m.fromSlot !== report.nextFrom) return this.drop('promise: stale or duplicate');
    if (m.compactedThrough >= p1.fromSlot) {
      // The acceptor compacted slots we have not decided: its report cannot cover them, and we are
      // too far behind to lead. Back off; a member with a longer log will win.
      report.usable = false;
      report.complete = true;
      this.electionElapsedTicks = -this.random.int(this.cfg.electionTicks);
      // It has decided more than we have: catch up from it (by snapshot), in case no member
      // that could lead is ahead of us.
      this.send({ type: 'catchup', from: this.id, to: m.from, commit: this.commit }, 'before');
      return { type: 'ok' };
    }
    for (const e of m.entries) this.mergeRecovered(p1, e);
    if (m.complete) report.complete = true;
    else {
      report.nextFrom = m.throughSlot + 1;
      this.send({ type: 'prepare', from: this.id, to: m.from, ballot: p1.ballot, fromSlot: report.nextFrom, transfer: p1.transfer }, 'after');
    }
    this.phase1AskMore(p1);
    this.phase1MaybeDone(p1);
    return { type: 'ok' };
  }

  private onNack(m: NackMessage): StepResult {
    const mine = this.lead?.ballot ?? this.phase1?.ballot;
    if (mine === undefined || m.ballot !== mine || m.promised <= mine) return this.drop('nack: stale');
    // Preempted by a higher ballot: step back and wait a random while before trying again, so two
    // proposers do not keep preempting each other (Paxos Made Simple §2.4, progress).
    this.becomeFollower(null, NO_BALLOT);
    this.electionElapsedTicks = -this.random.int(this.cfg.electionTicks);
    this.resetElectionTimeout();
    return { type: 'ok' };
  }

  // ---------------------------------------------------------------------------------------------
  // Acceptor: phase 2, heartbeats, catch-up.

  /** A message from a proposer at `ballot`: accept its leadership when the promise allows. */
  private followLeader(from: NodeId, ballot: Ballot): boolean {
    if (!ballotGrantable(this.promised, ballot, from)) {
      this.send({ type: 'nack', from: this.id, to: from, ballot, promised: this.promised.ballot }, 'before');
      return false;
    }
    this.setPromised(ballot, from);
    if (this.leader !== from || this.leaderBallot !== ballot || this.lead !== null || this.phase1 !== null) this.becomeFollower(from, ballot);
    this.leaderContactTick = this.ticks;
    this.electionElapsedTicks = 0;
    return true;
  }

  /**
   * While the promise may be lost, a leader's message is followed (it may repair us) but vouched
   * for by nothing. A repaired member asks the leader for a fresh phase 1 with a nack above its
   * ballot: the leader steps back and campaigns above everything it has seen, which is fresh here.
   */
  private whilePromiseLost(from: NodeId, ballot: Ballot): void {
    if (!this.repairing()) this.send({ type: 'nack', from: this.id, to: from, ballot, promised: term(ballot + 1) }, 'before');
  }

  private onAccept(m: AcceptMessage): StepResult {
    if (!this.followLeader(m.from, m.ballot)) return { type: 'ok' };
    if (this.promiseLost) {
      this.advanceCommitFrom(m.ballot, m.commit);
      this.whilePromiseLost(m.from, m.ballot);
      return { type: 'ok' };
    }
    // A repairing member refuses the slots it lost and acknowledges the run after them.
    let firstAcked = m.entries.length > 0 ? m.entries[0]!.index : 0;
    for (const e of m.entries) {
      if (e.index <= this.commit || e.index <= this.snapshotIndex()) continue; // decided here already
      if (e.index <= this.repairUntil) {
        firstAcked = e.index + 1;
        continue;
      }
      this.storeEntry(e);
    }
    this.advanceCommitFrom(m.ballot, m.commit);
    const last = m.entries.length > 0 ? m.entries[m.entries.length - 1]!.index : 0;
    if (m.entries.length > 0 && firstAcked <= last) {
      const reply: AcceptedMessage = { type: 'accepted', from: this.id, to: m.from, ballot: m.ballot, fromSlot: firstAcked, throughSlot: last, commit: this.commit };
      this.send(reply, 'after');
    }
    return { type: 'ok' };
  }

  private onHeartbeat(m: HeartbeatMessage): StepResult {
    if (!this.followLeader(m.from, m.ballot)) return { type: 'ok' };
    this.advanceCommitFrom(m.ballot, m.commit);
    if (this.promiseLost) this.whilePromiseLost(m.from, m.ballot);
    // Round 0 confirms no read round (rounds start at 1) but still drives the leader's catch-up.
    const round = this.promiseLost ? 0 : m.round;
    this.send({ type: 'heartbeat-ack', from: this.id, to: m.from, ballot: m.ballot, round, commit: this.commit, leaderCommit: m.commit }, 'after');
    return { type: 'ok' };
  }

  /**
   * Learns decided slots from the leader's commit index: a slot up to it is decided with the value
   * this member accepted at the leader's ballot, since a leader proposes one value per slot.
   */
  private advanceCommitFrom(ballot: Ballot, leaderCommit: number): void {
    let advanced = false;
    while (this.commit < leaderCommit) {
      const e = this.log.get(this.commit + 1);
      if (e === undefined || e.term !== ballot) break;
      this.decide(this.commit + 1, e);
      advanced = true;
    }
    if (advanced) this.afterCommitAdvanced();
  }

  /** Catch-up (decided values are true whoever sends them, so no ballot check is needed for them). */
  private onDecided(m: DecidedMessage): StepResult {
    if (this.lead !== null) return this.drop('decided: this member leads');
    if (m.ballot !== NO_BALLOT && ballotGrantable(this.promised, m.ballot, m.from) && this.lead === null) {
      if (this.leader !== m.from) this.becomeFollower(m.from, m.ballot);
      this.leaderContactTick = this.ticks;
      this.electionElapsedTicks = 0;
    }
    let advanced = false;
    for (const e of m.entries) {
      if (e.index <= this.commit) continue;
      if (e.index !== this.commit + 1) break;
      const cur = this.log.get(e.index);
      // Keep an entry accepted at a higher ballot: it holds the same value (P2b) and a higher
      // ballot only strengthens what this acceptor reports in phase 1.
      if (cur === undefined || cur.term < e.term || !bytesEqual(cur.data, e.data) || cur.kind !== e.kind) this.storeEntry(e);
      this.decide(e.index, this.log.get(e.index)!);
      advanced = true;
    }
    // Caught up with the sender: take its configurations, which are exact for the slots after its
    // commit index. A member that joined a running cluster knows no configuration of its own
    // (its log starts where the bootstrap configuration is long gone); this is where it learns it.
    if (this.commit === m.commit && m.configsValidFrom <= m.commit + 1) {
      this.configs = new ConfigHistory(m.configs, m.configsValidFrom);
      this.hardStateDirty = true;
    }
    if (advanced) this.afterCommitAdvanced();
    if (m.ballot === NO_BALLOT) return { type: 'ok' };
    this.send({ type: 'decided-ack', from: this.id, to: m.from, ballot: m.ballot, commit: this.commit }, 'after');
    return { type: 'ok' };
  }

  /** Slot `slot` is decided with `e` and the slots before it are too. */
  private decide(slot: number, e: Entry): void {
    assert(slot === this.commit + 1, 'decided in slot order');
    this.commit = slot;
    if (this.commit - this.persistedCommit >= PAXOS_COMMIT_PERSIST_STRIDE_SLOTS) this.hardStateDirty = true;
    this.executeConfig(slot, e);
  }

  private executeConfig(slot: number, e: Entry): void {
    // Without a known starting configuration, executing changes would only invent one.
    if (e.kind !== 'config' || this.configs.validFrom === CONFIGS_UNKNOWN) return;
    if (this.tryExecuteConfig(this.configs, slot, e)) this.hardStateDirty = true;
  }

  /** Applies a config entry to `history`; a malformed one is a no-op on every member alike. */
  private tryExecuteConfig(history: ConfigHistory, slot: number, e: Entry): boolean {
    let change: ConfigChange;
    try {
      change = decodeConfigChange(e.data);
    } catch (err) {
      if (err instanceof DecodeError) return false;
      throw err;
    }
    const before = history.all.length;
    history.executed(slot, change);
    return history.all.length !== before;
  }

  private afterCommitAdvanced(): void {
    this.configs.prune(this.snapshotIndex(), this.commit);
    if (this.repairUntil > 0 && this.commit >= this.repairUntil) {
      this.repairUntil = 0;
      this.hardStateDirty = true;
    }
    if (this.reportGapUntil > 0 && this.commit >= this.reportGapUntil) {
      this.reportGapUntil = 0;
      this.hardStateDirty = true;
    }
    if (this.phase1 !== null && !this.promotable()) this.becomeFollower(null, NO_BALLOT);
    if (this.lead === null && this.phase1 === null) {
      const voter = isVoter(this.configs.at(this.commit + 1), this.id);
      if (this.role === 'learner' && voter) this.role = 'follower';
      else if (this.role === 'follower' && !voter && isMember(this.configs.newest.config, this.id)) this.role = 'learner';
    }
  }

  private onSnapshot(m: SnapshotMessage): StepResult {
    if (this.lead !== null) return this.drop('snapshot: this member leads');
    if (this.installing !== null) return this.drop('snapshot: an install is under way');
    const fromLeader = m.ballot !== NO_BALLOT;
    if (fromLeader && ballotGrantable(this.promised, m.ballot, m.from)) {
      if (this.leader !== m.from) this.becomeFollower(m.from, m.ballot);
      this.leaderContactTick = this.ticks;
      this.electionElapsedTicks = 0;
    }
    const chunk = m.snapshotChunk;
    const meta = chunk.meta;
    if (meta.index <= this.commit) {
      this.snapshotAck(m, meta.sizeBytes, true);
      return { type: 'ok' };
    }
    if (chunk.offset === 0) {
      // The leader's transfer wins; a served one does not cut into another live transfer.
      const busy = this.receiving !== null && this.receiving.from !== m.from && this.ticks - this.receiving.lastTick < this.cfg.electionTicks;
      if (busy && !fromLeader) return this.drop('snapshot: receiving another snapshot');
      this.receiving = { meta, nextOffset: 0, from: m.from, lastTick: this.ticks };
    }
    const rcv = this.receiving;
    if (rcv === null || rcv.from !== m.from || rcv.meta.index !== meta.index || rcv.meta.crc32c !== meta.crc32c || chunk.offset !== rcv.nextOffset) {
      this.snapshotAck(m, rcv !== null && rcv.from === m.from && rcv.meta.index === meta.index ? rcv.nextOffset : 0, false);
      return { type: 'ok' };
    }
    if (this.snapshotChunkOut !== null) return this.drop('snapshot: a chunk is already being written');
    rcv.nextOffset += chunk.data!.length;
    rcv.lastTick = this.ticks;
    if (!chunk.last) {
      this.snapshotChunkOut = chunk;
      this.snapshotAck(m, rcv.nextOffset, true);
      return { type: 'ok' };
    }
    this.receiving = null;
    if (rcv.nextOffset !== meta.sizeBytes) {
      this.snapshotAck(m, 0, false);
      return { type: 'ok' };
    }
    this.beginInstall(m);
    return { type: 'ok' };
  }

  private snapshotAck(m: SnapshotMessage, nextOffset: number, ok: boolean): void {
    this.send({ type: 'snapshot-ack', from: this.id, to: m.from, ballot: m.ballot, index: m.snapshotChunk.meta.index, nextOffset, ok }, 'after');
  }

  /**
   * A received snapshot replaces the decided prefix of the log. An acceptor must never forget an
   * accepted value, so the values accepted after the snapshot are written again in the same durable
   * step as the log reset (LogStore.resetWith, one WAL batch): the install is one Ready.
   *
   * When those values are too many for one batch (fitsResetWith), installing takes two Readies: the
   * first makes durable a mark (reportGapUntil) saying the log may lack them; once it is durable,
   * the second installs and writes them again. A crash in between leaves a member that promises
   * nothing until it has caught up, never one that forgot; two such members can stall a phase-1
   * quorum until one catches up, which is why the mark is kept for that case only.
   */
  private beginInstall(m: SnapshotMessage): void {
    const meta = m.snapshotChunk.meta;
    if (fitsResetWith(this.log.from(meta.index + 1))) {
      this.install(m, this.reportGapUntil);
      return;
    }
    this.installing = { m, gapBefore: this.reportGapUntil, mark: null };
    this.reportGapUntil = Math.max(this.reportGapUntil, this.lastSlot);
    this.hardStateDirty = true;
  }

  /** The mark is durable: install (see beginInstall). */
  private completeInstall(): void {
    const { m, gapBefore } = this.installing!;
    this.installing = null;
    this.install(m, gapBefore);
  }

  /** Installs a received snapshot; `gapBefore` is the gap mark from before the install began. */
  private install(m: SnapshotMessage, gapBefore: number): void {
    const meta = m.snapshotChunk.meta;
    if (meta.index <= this.commit) {
      // Caught up some other way meanwhile: the snapshot is no longer needed.
      this.reportGapUntil = gapBefore > this.commit ? gapBefore : 0;
      this.hardStateDirty = true;
      this.snapshotAck(m, meta.sizeBytes, true);
      return;
    }
    this.log.deleteThrough(meta.index);
    this.unstable = [...this.log.values()];
    this.unstableInOrder = true;
    // The configurations come from the leader; when they are not exact back to the snapshot, the
    // member must catch up to where they are before it may run or answer phase 1.
    let gap = gapBefore;
    if (m.configsValidFrom > meta.index + 1) gap = Math.max(gap, m.configsValidFrom - 1);
    this.reportGapUntil = gap > meta.index ? gap : 0;
    this.snapshot = meta;
    this.commit = meta.index;
    this.lastSlot = Math.max(this.lastSlot, meta.index);
    this.configs = new ConfigHistory(m.configs, Math.max(m.configsValidFrom, meta.index + 1));
    this.snapshotChunkOut = m.snapshotChunk;
    this.snapshotInstallOut = meta;
    this.hardStateDirty = true;
    this.snapshotAck(m, meta.sizeBytes, true);
    this.afterCommitAdvanced();
  }

  /** A repairing member with no leader asks every voter for the decided values it lacks. */
  private askForCatchup(): void {
    for (const v of this.configs.newest.config.voters) if (v !== this.id) this.send({ type: 'catchup', from: this.id, to: v, commit: this.commit }, 'before');
  }

  /**
   * Any member serves decided values: from its log, or, when it compacted them, its snapshot. A
   * member that does not lead must serve snapshots too: when every member that could lead is
   * behind the others' compaction point, no phase 1 can complete until one of them catches up.
   */
  private onCatchup(m: CatchupMessage): StepResult {
    if (m.commit >= this.commit) return this.drop('catchup: nothing newer here');
    if (m.commit + 1 <= this.snapshotIndex()) {
      const peer = this.lead?.peers.get(m.from);
      if (this.lead !== null && peer !== undefined) {
        peer.commit = m.commit;
        this.catchUp(this.lead, m.from, peer);
        return { type: 'ok' };
      }
      return this.serveSnapshot(m.from);
    }
    this.sendDecidedFrom(m.from, m.commit);
    return { type: 'ok' };
  }

  /** Decided values after `commit`, one bounded batch, as a non-leader (NO_BALLOT). */
  private sendDecidedFrom(to: NodeId, commit: number): void {
    if (commit < this.snapshotIndex()) return; // compacted since: the member asks again
    const entries: Entry[] = [];
    let bytes = 0;
    for (let s = commit + 1; s <= this.commit && entries.length < this.cfg.entriesPerMessageMax; s++) {
      const e = this.log.get(s)!;
      if (entries.length > 0 && bytes + e.data.length > this.cfg.messageBytesMax) break;
      entries.push(e);
      bytes += e.data.length;
    }
    if (entries.length > 0) this.send(this.decidedMessage(to, NO_BALLOT, entries), 'before');
  }

  private serveSnapshot(to: NodeId): StepResult {
    const meta = this.snapshot;
    if (meta === null || this.lead !== null) return this.drop('catchup: compacted here');
    const cur = this.serving.get(to);
    if (cur !== undefined && cur.meta.index === meta.index && this.ticks <= cur.untilTick) return { type: 'ok' }; // under way
    if (cur === undefined && this.serving.size >= MEMBERS_MAX) return this.drop('catchup: serving too many snapshots');
    const sv: Serving = { meta, offset: 0, untilTick: 0 };
    this.serving.set(to, sv);
    this.sendServedChunk(to, sv);
    return { type: 'ok' };
  }

  private sendServedChunk(to: NodeId, sv: Serving): void {
    const length = Math.min(SNAPSHOT_CHUNK_BYTES, sv.meta.sizeBytes - sv.offset);
    const chunk: SnapshotChunk = { meta: sv.meta, offset: sv.offset, data: null, crc32c: 0, last: sv.offset + length >= sv.meta.sizeBytes };
    sv.untilTick = this.ticks + this.cfg.heartbeatTicks * PAXOS_CATCHUP_TIMEOUT_HEARTBEATS;
    this.send({ type: 'snapshot', from: this.id, to, ballot: NO_BALLOT, snapshotChunk: chunk, configs: this.configs.all, configsValidFrom: this.configs.validFrom }, 'before');
  }

  private onServedSnapshotAck(m: SnapshotAckMessage): StepResult {
    const sv = this.serving.get(m.from);
    if (sv === undefined || sv.meta.index !== m.index) return this.drop('snapshot-ack: no transfer');
    if (m.ok && m.nextOffset >= sv.meta.sizeBytes) {
      this.serving.delete(m.from);
      this.sendDecidedFrom(m.from, m.index);
      return { type: 'ok' };
    }
    sv.offset = m.ok ? m.nextOffset : Math.min(m.nextOffset, sv.offset);
    this.sendServedChunk(m.from, sv);
    return { type: 'ok' };
  }

  private onTimeoutNow(m: TimeoutNowMessage): StepResult {
    if (!this.promotable()) return this.drop('timeout-now: not promotable');
    if (this.leader !== m.from) return this.drop('timeout-now: not from our leader');
    this.campaign(true);
    return { type: 'ok' };
  }

  // ---------------------------------------------------------------------------------------------
  // Forwarded requests.

  private onForward(m: ForwardMessage): StepResult {
    const lead = this.lead;
    // Not passed on again: a stale view could send proposals round in a circle.
    if (lead === null) return this.drop('forward: not the leader');
    for (const d of m.data) {
      if (m.kind === 'config') this.proposeConfigChange(decodeConfigChangeOrNull(d) ?? { ops: [], context: EMPTY });
      else this.proposeKind('normal', d);
    }
    return { type: 'ok' };
  }

  private onReadIndex(m: ReadIndexMessage): StepResult {
    const lead = this.lead;
    if (lead === null || lead.reads.length >= PENDING_READS_MAX) {
      this.send({ type: 'read-index-resp', from: this.id, to: m.from, requestId: m.requestId, index: 0, ok: false }, 'before');
      return { type: 'ok' };
    }
    this.leaderRead(lead, m.requestId, m.from);
    return { type: 'ok' };
  }

  private onReadIndexResponse(m: ReadIndexResponseMessage): StepResult {
    if (!this.forwardedReads.delete(m.requestId)) return this.drop('read-index-resp: unknown request');
    if (m.ok) this.readStatesOut.push({ requestId: m.requestId, index: logIndex(m.index) });
    else this.readsDroppedOut.push(m.requestId);
    return { type: 'ok' };
  }

  // ---------------------------------------------------------------------------------------------
  // Leader.

  private tickLeader(lead: Leadership): void {
    this.heartbeatElapsedTicks++;
    if (this.heartbeatElapsedTicks >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsedTicks = 0;
      this.broadcastHeartbeat(lead);
      this.retransmit(lead);
    }
    lead.checkQuorumElapsedTicks++;
    if (lead.checkQuorumElapsedTicks >= this.cfg.electionTicks) {
      lead.checkQuorumElapsedTicks = 0;
      if (this.cfg.checkQuorum && !this.quorumActive(lead)) {
        // Check quorum: a leader that cannot hear from a phase-2 quorum steps down, so clients
        // go to a member that can make progress.
        this.becomeFollower(null, NO_BALLOT);
        return;
      }
      for (const p of lead.peers.values()) p.recentActive = false;
    }
    if (lead.transfer !== null) {
      lead.transfer.elapsedTicks++;
      if (lead.transfer.elapsedTicks >= this.cfg.electionTicks) lead.transfer = null;
      else this.maybeSendTimeoutNow(lead);
    }
    // A leader removed by a configuration now in force steps down.
    if (!isVoter(this.configs.at(this.commit + 1), this.id)) this.becomeFollower(null, NO_BALLOT);
  }

  private quorumActive(lead: Leadership): boolean {
    const active = new Set<NodeId>([this.id]);
    for (const [node, p] of lead.peers) if (p.recentActive) active.add(node);
    return this.phase2QuorumIn(this.configs.at(this.commit + 1), (v) => active.has(v));
  }

  private phase2QuorumIn(config: ConfigState, isIn: (v: NodeId) => boolean): boolean {
    const { phase2 } = this.quorumsFor(config.voters.length);
    let n = 0;
    for (const v of config.voters) if (isIn(v) && ++n >= phase2) return true;
    return false;
  }

  /** Quorum sizes by voter count (they depend on nothing else), validated once per count. */
  private quorumsFor(voters: number): QuorumSizes {
    let q = this.quorumCache[voters];
    if (q === undefined) {
      q = quorumSizes(this.cfg, voters);
      this.quorumCache[voters] = q;
    }
    return q;
  }

  private broadcastHeartbeat(lead: Leadership): void {
    lead.round++;
    lead.roundTick.set(lead.round, this.ticks);
    lead.roundTick.delete(lead.round - PAXOS_CATCHUP_TIMEOUT_HEARTBEATS * 4);
    for (const node of lead.peers.keys()) {
      this.send({ type: 'heartbeat', from: this.id, to: node, ballot: lead.ballot, commit: this.commit, round: lead.round }, 'before');
      lead.peers.get(node)!.commitSent = this.commit;
    }
    this.confirmRounds(lead);
  }

  /** Sends accepts to every peer whose pipeline has room, within the α-window. */
  private leaderSendAccepts(lead: Leadership): void {
    for (const [node, peer] of lead.peers) this.sendAcceptsTo(lead, node, peer);
  }

  private sendAcceptsTo(lead: Leadership, node: NodeId, peer: Peer): void {
    const windowEnd = Math.min(lead.nextSlot - 1, this.commit + PAXOS_ALPHA_SLOTS);
    if (peer.next <= this.commit) peer.next = this.commit + 1;
    while (peer.inflight < this.cfg.inflightMessagesMax && peer.next <= windowEnd) {
      const entries: Entry[] = [];
      let bytes = 0;
      for (let s = peer.next; s <= windowEnd && entries.length < this.cfg.entriesPerMessageMax; s++) {
        const e = this.log.get(s)!;
        if (entries.length > 0 && bytes + e.data.length > this.cfg.messageBytesMax) break;
        entries.push(e);
        bytes += e.data.length;
      }
      peer.next = entries[entries.length - 1]!.index + 1;
      if (peer.inflight === 0) peer.lastAcceptedTick = this.ticks;
      peer.inflight++;
      // Accepts claim nothing about our own disk, so they go out while it writes (Raft §10.2.1).
      this.send({ type: 'accept', from: this.id, to: node, ballot: lead.ballot, entries, commit: this.commit }, 'before');
      peer.commitSent = this.commit;
    }
  }

  /**
   * Tells every peer that has not heard it yet that the commit index moved, with an accept of no
   * slots (no reply expected), when no accept of this Ready carries it. Without it a follower
   * would apply, and answer the client who wrote through it, only at the next heartbeat.
   */
  private leaderSendCommit(lead: Leadership): void {
    for (const [node, peer] of lead.peers) {
      if (peer.commitSent >= this.commit) continue;
      peer.commitSent = this.commit;
      this.send({ type: 'accept', from: this.id, to: node, ballot: lead.ballot, entries: [], commit: this.commit }, 'before');
    }
  }

  /**
   * Resends open slots lost on the way: to a peer that has not answered for a while, and, when
   * the commit index has stalled, to every peer that has not accepted the first open slot.
   */
  private retransmit(lead: Leadership): void {
    const staleTicks = this.cfg.heartbeatTicks * PAXOS_RETRANSMIT_HEARTBEATS;
    const stalled = lead.nextSlot > this.commit + 1 && this.ticks - lead.commitAdvancedTick >= staleTicks;
    for (const [node, peer] of lead.peers) {
      const silent = peer.inflight > 0 && this.ticks - peer.lastAcceptedTick >= staleTicks;
      const missing = stalled && lead.acks.get(this.commit + 1)?.includes(node) !== true;
      if (silent || missing) {
        peer.inflight = 0;
        peer.next = this.firstUnackedSlot(lead, node);
        this.sendAcceptsTo(lead, node, peer);
      }
    }
    if (stalled) lead.commitAdvancedTick = this.ticks;
  }

  private firstUnackedSlot(lead: Leadership, node: NodeId): number {
    let s = this.commit + 1;
    while (s < lead.nextSlot && lead.acks.get(s)?.includes(node) === true) s++;
    return s;
  }

  private onAccepted(m: AcceptedMessage): StepResult {
    const lead = this.lead;
    if (lead === null || m.ballot !== lead.ballot) return this.drop('accepted: not leading at that ballot');
    const peer = lead.peers.get(m.from);
    if (peer !== undefined) {
      if (peer.inflight > 0) peer.inflight--;
      peer.lastAcceptedTick = this.ticks;
      peer.commit = Math.max(peer.commit, m.commit);
    }
    for (let s = Math.max(m.fromSlot, this.commit + 1); s <= m.throughSlot; s++) {
      const acks = lead.acks.get(s);
      if (acks !== undefined && !acks.includes(m.from)) acks.push(m.from);
    }
    this.leaderAdvanceCommit(lead);
    if (peer !== undefined && this.lead === lead) this.sendAcceptsTo(lead, m.from, peer);
    return { type: 'ok' };
  }

  /** A slot is chosen once a phase-2 quorum of its configuration accepted it at our ballot. */
  private leaderAdvanceCommit(lead: Leadership): void {
    let advanced = false;
    while (this.commit + 1 < lead.nextSlot) {
      const slot = this.commit + 1;
      const acks = lead.acks.get(slot);
      assert(acks !== undefined, `open slot ${slot} without an ack set`);
      if (!this.phase2QuorumIn(this.configs.at(slot), (v) => acks.includes(v))) break;
      const e = this.log.get(slot)!;
      lead.acks.delete(slot);
      lead.uncommittedBytes -= e.data.length;
      this.decide(slot, e);
      advanced = true;
      if (e.kind === 'config') this.afterConfigDecided(lead, slot);
    }
    if (!advanced) return;
    lead.commitAdvancedTick = this.ticks;
    this.afterCommitAdvanced();
    if (this.lead !== lead) return;
    this.syncPeers(lead);
    this.leaderSendAccepts(lead);
  }

  /** Fills the α-window behind a decided config entry with no-ops, so the change takes effect soon. */
  private afterConfigDecided(lead: Leadership, slot: number): void {
    const effective = slot + PAXOS_ALPHA_SLOTS;
    while (lead.nextSlot < effective) this.leaderAppend(lead, 'empty', EMPTY);
  }

  private onHeartbeatAck(m: HeartbeatAckMessage): StepResult {
    const lead = this.lead;
    if (lead === null || m.ballot !== lead.ballot) return this.drop('heartbeat-ack: not leading at that ballot');
    const peer = lead.peers.get(m.from);
    if (peer === undefined) return this.drop('heartbeat-ack: not a member');
    // The latest report, not the highest: a restarted member may have gone back.
    peer.commit = m.commit;
    peer.ackedRound = Math.max(peer.ackedRound, m.round);
    this.confirmRounds(lead);
    // The peer could not learn everything up to our commit index from its own accepted values:
    // it misses decided slots. Send them (or a snapshot).
    if (m.commit < m.leaderCommit) this.catchUp(lead, m.from, peer);
    this.maybeSendTimeoutNow(lead);
    return { type: 'ok' };
  }

  private onDecidedAck(m: DecidedAckMessage): StepResult {
    const lead = this.lead;
    if (lead === null || m.ballot !== lead.ballot) return this.drop('decided-ack: not leading at that ballot');
    const peer = lead.peers.get(m.from);
    if (peer === undefined) return this.drop('decided-ack: not a member');
    const progressed = m.commit > peer.commit;
    peer.commit = m.commit;
    // Stream the next batch at once while the member makes progress; otherwise wait for the
    // catch-up timeout, so a member that cannot use what we send is not flooded.
    if (progressed) peer.catchupUntilTick = 0;
    if (peer.commit < this.commit) this.catchUp(lead, m.from, peer);
    return { type: 'ok' };
  }

  /** Sends decided values from the peer's commit index on, or the snapshot when they are compacted. */
  private catchUp(lead: Leadership, node: NodeId, peer: Peer): void {
    if (this.ticks < peer.catchupUntilTick) return;
    const timeoutTicks = this.cfg.heartbeatTicks * PAXOS_CATCHUP_TIMEOUT_HEARTBEATS;
    if (peer.commit + 1 <= this.snapshotIndex()) {
      const meta = this.snapshot!;
      if (peer.snapshot === null || peer.snapshot.meta.index !== meta.index) peer.snapshot = { meta, offset: 0 };
      this.sendSnapshotChunk(lead, node, peer);
      peer.catchupUntilTick = this.ticks + timeoutTicks;
      return;
    }
    const entries: Entry[] = [];
    let bytes = 0;
    for (let s = peer.commit + 1; s <= this.commit && entries.length < this.cfg.entriesPerMessageMax; s++) {
      const e = this.log.get(s)!;
      if (entries.length > 0 && bytes + e.data.length > this.cfg.messageBytesMax) break;
      entries.push(e);
      bytes += e.data.length;
    }
    if (entries.length === 0) return;
    peer.catchupUntilTick = this.ticks + timeoutTicks;
    this.send(this.decidedMessage(node, lead.ballot, entries), 'before');
  }

  private decidedMessage(to: NodeId, ballot: Ballot, entries: Entry[]): PaxosMessage {
    return { type: 'decided', from: this.id, to, ballot, entries, commit: this.commit, configs: this.configs.all, configsValidFrom: this.configs.validFrom };
  }

  private sendSnapshotChunk(lead: Leadership, node: NodeId, peer: Peer): void {
    const s = peer.snapshot!;
    const length = Math.min(SNAPSHOT_CHUNK_BYTES, s.meta.sizeBytes - s.offset);
    const chunk: SnapshotChunk = { meta: s.meta, offset: s.offset, data: null, crc32c: 0, last: s.offset + length >= s.meta.sizeBytes };
    const configs = this.configs.all;
    this.send({ type: 'snapshot', from: this.id, to: node, ballot: lead.ballot, snapshotChunk: chunk, configs, configsValidFrom: this.configs.validFrom }, 'before');
  }

  private onSnapshotAck(m: SnapshotAckMessage): StepResult {
    if (m.ballot === NO_BALLOT) return this.onServedSnapshotAck(m);
    const lead = this.lead;
    if (lead === null || m.ballot !== lead.ballot) return this.drop('snapshot-ack: not leading at that ballot');
    const peer = lead.peers.get(m.from);
    if (peer === undefined || peer.snapshot === null || peer.snapshot.meta.index !== m.index) return this.drop('snapshot-ack: no transfer');
    peer.catchupUntilTick = 0;
    if (m.nextOffset >= peer.snapshot.meta.sizeBytes && m.ok) {
      peer.commit = Math.max(peer.commit, m.index);
      peer.snapshot = null;
      peer.next = Math.max(peer.next, m.index + 1);
      if (peer.commit < this.commit) this.catchUp(lead, m.from, peer);
      return { type: 'ok' };
    }
    peer.snapshot.offset = m.ok ? m.nextOffset : Math.min(m.nextOffset, peer.snapshot.offset);
    this.sendSnapshotChunk(lead, m.from, peer);
    peer.catchupUntilTick = this.ticks + this.cfg.heartbeatTicks * PAXOS_CATCHUP_TIMEOUT_HEARTBEATS;
    return { type: 'ok' };
  }

  private maybeSendTimeoutNow(lead: Leadership): void {
    const t = lead.transfer;
    if (t === null) return;
    const peer = lead.peers.get(t.to);
    if (peer === undefined) {
      lead.transfer = null;
      return;
    }
    // The target must hold everything decided, or its phase 1 would re-propose a long tail.
    if (peer.commit < this.commit) {
      this.catchUp(lead, t.to, peer);
      return;
    }
    if (t.sent) return;
    t.sent = true;
    this.send({ type: 'timeout-now', from: this.id, to: t.to, ballot: lead.ballot }, 'before');
  }

  // ---------------------------------------------------------------------------------------------
  // Reads.

  /**
   * A read index: the highest slot this leader has issued. Every value chosen before the read
   * arrived is at or below it (phase 1 recovered every earlier choice). The read is released once
   * a phase-2 quorum acknowledges a heartbeat round sent after it arrived: then no higher ballot
   * had yet been promised by that quorum, so no other leader can have decided anything newer.
   */
  private leaderRead(lead: Leadership, requestId: number, origin: NodeId | null): void {
    const index = lead.nextSlot - 1;
    // No lease while a transfer is under way: the target's prepare overrides leader stickiness.
    if (this.cfg.leaseReads && lead.transfer === null && this.leaseHeld(lead)) {
      this.answerRead({ round: 0, index, requestId, origin });
      return;
    }
    lead.reads.push({ round: lead.round + 1, index, requestId, origin });
    this.heartbeatElapsedTicks = 0;
    this.broadcastHeartbeat(lead);
  }

  private answerRead(r: PendingRead): void {
    if (r.origin === null) this.readStatesOut.push({ requestId: r.requestId, index: logIndex(r.index) });
    else this.send({ type: 'read-index-resp', from: this.id, to: r.origin, requestId: r.requestId, index: r.index, ok: true }, 'before');
  }

  /** Finds the highest heartbeat round a phase-2 quorum acknowledged, and releases the reads it confirms. */
  private confirmRounds(lead: Leadership): void {
    const configs = this.configs.between(this.commit + 1, lead.nextSlot);
    const rounds = [...lead.peers.values()].map((p) => p.ackedRound).concat([lead.round]);
    const candidates = [...new Set(rounds)].sort((a, b) => b - a);
    for (const r of candidates) {
      if (r <= lead.confirmedRound) break;
      const who = new Set<NodeId>([this.id]);
      for (const [node, p] of lead.peers) if (p.ackedRound >= r) who.add(node);
      if (configs.every((c) => this.phase2QuorumIn(c, (v) => who.has(v)))) {
        lead.confirmedRound = r;
        break;
      }
    }
    this.releaseReads(lead);
  }

  private releaseReads(lead: Leadership): void {
    while (lead.reads.length > 0 && lead.reads[0]!.round <= lead.confirmedRound) this.answerRead(lead.reads.shift()!);
  }

  /**
   * A lease: a phase-2 quorum acknowledged a round sent less than electionTicks − 1 ticks ago, and
   * those acceptors promise no one else for electionTicks after hearing from us (leader
   * stickiness). Trusts that tick rates do not drift apart by more than a tick per lease.
   */
  private leaseHeld(lead: Leadership): boolean {
    const sent = lead.roundTick.get(lead.confirmedRound);
    return sent !== undefined && this.ticks - sent < this.cfg.electionTicks - 1;
  }
}

function decodeConfigChangeOrNull(data: Uint8Array): ConfigChange | null {
  try {
    return decodeConfigChange(data);
  } catch (e) {
    if (e instanceof DecodeError) return null;
    throw e;
  }
}

/** The last entry stored for each slot, in slot order. */
function dedupeBySlot(entries: readonly Entry[]): Entry[] {
  const bySlot = new Map<number, Entry>();
  for (const e of entries) bySlot.set(e.index, e);
  return [...bySlot.values()].sort((a, b) => a.index - b.index);
}

function softEqual(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role && a.term === b.term;
}

