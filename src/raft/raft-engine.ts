/**
 * The Raft engine: a pure, synchronous state machine behind the ConsensusEngine contract
 * (src/consensus/types.ts). Messages, ticks and proposals go in; a Ready comes out. No I/O, no
 * clock; randomness (election timeouts) only from the injected Random.
 *
 * Shaped after etcd's raft: `step` handles terms and votes, then dispatches on the role
 * (stepLeader / stepCandidate / stepFollower); roles change only through becomeX().
 *
 * What is persisted when (the contract's order: sendBeforePersist, persist, install, messages,
 * apply, advance):
 * - Anything a message promises (a vote, an append acknowledgement, a snapshot chunk ack) goes in
 *   `messages`, in the same Ready as the hard state / entries / chunk it promises.
 * - A leader's appends, heartbeats, snapshot chunks, TimeoutNow and read answers go in
 *   `sendBeforePersist`: they claim nothing about the leader's disk (§10.2.1). The leader counts
 *   its own log toward commit only up to what advance() confirmed durable.
 * - A Ready that installs a snapshot persists a hard state whose commit does not move: the log
 *   store is reset only at the install step, after the hard state is durable, so a crash in
 *   between must not find a commit index pointing into the old log's unmatched suffix.
 *
 * Sends are lazy: proposals and acknowledgements mark the leader dirty and ready() sends one
 * batched append per follower, carrying every new entry and the latest commit index.
 */
import { assert, assertNever, unreachable } from '../core/assert.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, term as toTerm, type NodeId, type Term } from '../core/ids.js';
import {
  PENDING_READS_MAX,
  FORWARDED_PROPOSALS_MAX,
  RAFT_COMMITTED_BYTES_PER_READY_MAX,
  RAFT_COMMITTED_ENTRIES_PER_READY_MAX,
  RAFT_LEASE_MARGIN_PERCENT,
  RAFT_ENTRY_BYTES_MAX,
  RAFT_READ_TIMEOUT_ELECTIONS,
  RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX,
  RAFT_SNAPSHOT_CHUNKS_QUEUED_MAX,
  RAFT_SNAPSHOT_TIMEOUT_ELECTIONS,
} from '../core/limits.js';
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
import { decodeMessage as decodeRaftMessage, encodeMessage as encodeRaftMessage } from './codec.js';
import { snapshotChunkBytesOf, validateRaftConfig, type PlantedBug, type RaftConfig } from './config.js';
import {
  allVoters,
  applyConfigChange,
  configProblem,
  decodeConfigChange,
  decodeConfigEntry,
  encodeConfigChange,
  encodeConfigEntry,
  type ConfigEntry,
  isJoint,
  isLearner,
  isVoter,
  members,
} from './config-change.js';
import { RaftError } from './errors.js';
import { decodeHardState, encodeHardState, type HardState } from './hard-state.js';
import type {
  AppendMessage,
  AppendResponseMessage,
  HeartbeatMessage,
  HeartbeatResponseMessage,
  ProposeMessage,
  RaftMessage,
  ReadIndexMessage,
  ReadIndexResponseMessage,
  SnapshotMessage,
  SnapshotResponseMessage,
  VoteRequestMessage,
  VoteResponseMessage,
} from './messages.js';
import { Progress } from './progress.js';
import { jointQuorumActive, jointValue, jointVote } from './quorum.js';
import { RaftLog, TERM_UNKNOWN } from './raft-log.js';
import { LeaderReads, type PendingRead } from './read-index.js';
import { messageProblem } from './validate.js';

type State = 'follower' | 'pre-candidate' | 'candidate' | 'leader';
type CampaignKind = 'pre-vote' | 'election' | 'transfer';

/** A snapshot arriving from the leader, chunk by chunk. */
interface IncomingSnapshot {
  readonly meta: SnapshotMeta;
  readonly leader: NodeId;
  /** The offset the next chunk must start at (chunks accepted so far, queued or written). */
  nextOffset: number;
  /** The end of the chunks handed out in Readys (written by the time their acks go out). */
  handedOutOffset: number;
}

interface QueuedChunk {
  readonly chunk: SnapshotChunk;
  readonly leader: NodeId;
  readonly attempt: number;
}

interface ForwardedRead {
  readonly to: NodeId;
  readonly deadlineTick: number;
}

/** Counters of dropped messages, by reason. */
export interface RaftStats {
  readonly dropped: Readonly<Record<string, number>>;
  readonly droppedTotal: number;
}

const OK: StepResult = { type: 'ok' };
const NO_MESSAGES: readonly RaftMessage[] = Object.freeze([]);
const NO_ENTRIES: readonly Entry[] = Object.freeze([]);
const NO_READS: readonly ReadState[] = Object.freeze([]);
const NO_IDS: readonly number[] = Object.freeze([]);
const NO_BYTES = new Uint8Array(0);
const NO_CHUNK = { chunk: null, install: null } as const;

/** Bytes of the chunk at `offset`: the sending driver reads exactly this many. */
export function snapshotChunkLength(meta: SnapshotMeta, offset: number, chunkBytes: number): number {
  return Math.max(0, Math.min(chunkBytes, meta.sizeBytes - offset));
}

export class RaftEngine implements ConsensusEngine<RaftMessage> {
  readonly id: NodeId;
  readonly protocol = 'raft' as const;

  private readonly cfg: RaftConfig;
  private readonly random: Random;
  private readonly bug: PlantedBug | null;
  private readonly log: RaftLog;

  // Persistent (through the hard state).
  private term: Term;
  private vote: NodeId | null;

  // Volatile.
  private state: State = 'follower';
  private leader: NodeId | null = null;
  private config: ConfigState;
  private memberSet: Set<NodeId>;
  /** The newest durable snapshot: what a lagging follower is sent. */
  private snapshot: SnapshotMeta | null;
  /** Protocol-Aware Recovery: no voting or campaigning until the durable log reaches this index. */
  private repairUntil: number | null;
  /** While repairing: how far a leader has confirmed this member's log matches its own. */
  private confirmedIndex = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** This round's randomized election timeout, in [electionTicks, 2·electionTicks). */
  private electionTimeout: number;
  /** Ticks since construction: the clock of read deadlines. */
  private ticks = 0;

  private readonly votes = new Map<NodeId, boolean>();
  /** Leader only: every other member's replication progress. */
  private readonly progress = new Map<NodeId, Progress>();
  private transferee: NodeId | null = null;
  private transferElapsed = 0;
  private timeoutNowSent = false;
  /** The index of the newest config entry a leader appended; no new change until it is applied. */
  private pendingConfIndex = 0;
  /**
   * A leader that appended a config entry removing or demoting itself accepts nothing more: its
   * log must not grow past what the remaining voters hold, or once it steps down they could
   * need its vote (still in C_old,new, unaware the change committed) and never get it.
   */
  private leaving = false;
  private uncommittedBytes = 0;
  /** Leader: something may be sendable (new entries, commit moved, a read round). */
  private flushNeeded = false;

  private readonly reads = new LeaderReads();
  private readonly forwardedReads = new Map<number, ForwardedRead>();
  private forwardedProposals = 0;

  private incoming: IncomingSnapshot | null = null;
  private chunkQueue: QueuedChunk[] = [];

  // The next Ready, being collected.
  private msgsNow: RaftMessage[] = [];
  private msgsAfterPersist: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private readsDropped: number[] = [];

  // What the last Ready handed out, to tell what changed.
  private hsTerm: number;
  private hsVote: NodeId | null;
  private hsCommit: number;
  private softLeader: NodeId | null = null;
  private softRole: Role = 'follower';
  private softTerm: number;
  private readyInFlight: Ready<RaftMessage> | null = null;

  private readonly dropped = new Map<string, number>();
  private droppedTotal = 0;

  private readonly matchOf = (id: NodeId): number => (id === this.id ? this.log.stableIndex : (this.progress.get(id)?.match ?? 0));
  private readonly readRoundOf = (id: NodeId): number =>
    id === this.id ? this.reads.round : (this.progress.get(id)?.readRoundAcked ?? 0);
  private readonly answerRead = (r: PendingRead): void => this.respondRead(r.requestId, r.from, r.index, false);
  private readonly dropRead = (r: PendingRead): void => this.respondRead(r.requestId, r.from, 0, true);

  constructor(config: RaftConfig, durable: DurableState, random: Random) {
    validateRaftConfig(config);
    this.cfg = config;
    this.id = config.id;
    this.random = random;
    this.bug = config.plantedBug ?? null;
    const hs = readHardState(durable.hardState);
    const snap = durable.snapshot;
    checkDurableEntries(durable.entries, snap);
    this.log = new RaftLog({ snapshotIndex: snap?.index ?? 0, snapshotTerm: snap?.term ?? 0, entries: durable.entries });
    if (this.log.lastTerm() > hs.term) {
      throw new RaftError('raft-corrupt-state', `log holds term ${this.log.lastTerm()} beyond the hard state's term ${hs.term}`);
    }
    this.term = hs.term;
    this.vote = hs.vote;
    if (durable.repairUntil === null) {
      // The commit index is a hint: never below the snapshot, never beyond what the log holds.
      this.log.commitTo(Math.min(Math.max(hs.commit, this.log.snapshotIndex), this.log.lastIndex()));
    }
    // After a damaged recovery the log's tail may be an older version than the hard state knew
    // (entries a later leader replaced), so neither the recorded commit index nor the tail is
    // trusted: only what a leader confirms (an accepted append, a snapshot) counts.
    this.config = snap?.config ?? durable.initialConfig;
    const problem = configProblem(this.config);
    if (problem !== null) throw new RaftError('raft-corrupt-state', `configuration: ${problem}`);
    this.memberSet = new Set(members(this.config));
    this.snapshot = snap;
    this.repairUntil = durable.repairUntil;
    this.confirmedIndex = this.log.snapshotIndex;
    this.hsTerm = hs.term;
    this.hsVote = hs.vote;
    this.hsCommit = hs.commit;
    this.softTerm = hs.term;
    this.electionTimeout = this.randomElectionTimeout();
    this.softRole = this.role();
  }

  // -------------------------------------------------------------------------------------------
  // The contract: inputs.

  tick(): void {
    this.ticks++;
    if (this.state === 'leader') this.tickLeader();
    else this.tickElection();
    this.expireForwardedReads();
  }

  step(m: RaftMessage): StepResult {
    const problem = this.messageProblem(m);
    if (problem !== null) return this.drop(problem);
    if (m.type === 'voteResponse') this.learnCommit(m.commit, m.commitTerm);
    if (m.term > this.term) {
      const ignored = this.onHigherTerm(m);
      if (ignored !== null) return ignored;
    } else if (m.term < this.term) {
      return this.onLowerTerm(m);
    }
    if (m.type === 'voteRequest') return this.onVoteRequest(m);
    switch (this.state) {
      case 'leader':
        return this.stepLeader(m);
      case 'candidate':
      case 'pre-candidate':
        return this.stepCandidate(m);
      case 'follower':
        return this.stepFollower(m);
      default:
        return assertNever(this.state, 'raft state');
    }
  }

  propose(data: Uint8Array): ProposeResult {
    if (data.length > RAFT_ENTRY_BYTES_MAX) unreachable(`proposal of ${data.length} bytes: check the request size first`);
    return this.proposeKind('normal', data);
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    if (this.state !== 'leader') return this.proposeKind('config', encodeConfigChange(change));
    if (this.transferee !== null) return this.rejected('transferring');
    if (!this.committedEntryInCurrentTerm() || this.log.applied < this.pendingConfIndex) return this.rejected('config-change-pending');
    const next = applyConfigChange(this.config, change);
    if (next.type === 'invalid') return this.rejected('invalid-config-change');
    const r = this.appendEntry('config', encodeConfigEntry({ change, config: next.config }));
    if (r.type === 'accepted') this.configAppended(r.index, next.config);
    return r;
  }

  private configAppended(index: number, next: ConfigState): void {
    this.pendingConfIndex = index;
    if (!isVoter(next, this.id)) this.leaving = true;
  }

  readIndex(requestId: number): ReadIndexResult {
    switch (this.state) {
      case 'leader':
        return this.leaderRead(requestId, null);
      case 'follower':
        return this.forwardRead(requestId);
      case 'candidate':
      case 'pre-candidate':
        return { type: 'rejected', reason: 'no-leader', leader: null };
      default:
        return assertNever(this.state, 'raft state');
    }
  }

  transferLeadership(to: NodeId): TransferResult {
    if (this.state !== 'leader') return { type: 'rejected', reason: 'not-leader' };
    if (to === this.id) return { type: 'rejected', reason: 'already-leader' };
    if (this.transferee !== null) return { type: 'rejected', reason: 'transferring' };
    const pr = this.progress.get(to);
    if (pr === undefined) return { type: 'rejected', reason: 'unknown-member' };
    if (!isVoter(this.config, to)) return { type: 'rejected', reason: 'learner' };
    this.transferee = to;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
    if (pr.match === this.log.lastIndex()) {
      this.sendTimeoutNow(to);
    } else {
      // Catch the target up now rather than at the next heartbeat; an empty append finds out
      // whether appends in flight to it were lost.
      if (pr.state === 'probe') pr.probeSent = false;
      this.maybeSendAppend(pr, true);
      this.flushNeeded = true;
    }
    return { type: 'started' };
  }

  compact(meta: SnapshotMeta): void {
    if (meta.index <= this.log.snapshotIndex) return;
    if (meta.index > this.log.applied) unreachable(`compact(${meta.index}) beyond applied ${this.log.applied}`);
    if (this.log.term(meta.index) !== meta.term) unreachable(`compact(${meta.index}): term ${meta.term} does not match the log`);
    this.log.compact(meta.index);
    this.snapshot = meta;
    // Transfers move to the new snapshot, so the driver need keep only the newest one. (A
    // transfer slower than the snapshot interval would restart forever: snapshot less often.)
    if (this.state !== 'leader') return;
    for (const pr of this.progress.values()) {
      if (pr.state !== 'snapshot') continue;
      pr.becomeSnapshot(meta);
      this.sendChunks(pr);
    }
  }

  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (this.state === 'leader' && pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  // -------------------------------------------------------------------------------------------
  // The contract: Ready.

  hasReady(): boolean {
    if (this.readyInFlight !== null) return false;
    return (
      (this.state === 'leader' && this.flushNeeded) ||
      this.msgsNow.length > 0 ||
      this.msgsAfterPersist.length > 0 ||
      this.chunkQueue.length > 0 ||
      this.log.hasUnstable() ||
      this.log.hasCommittedToApply() ||
      this.readStates.length > 0 ||
      this.readsDropped.length > 0 ||
      this.term !== this.hsTerm ||
      this.vote !== this.hsVote ||
      this.log.committed !== this.hsCommit ||
      this.softChanged()
    );
  }

  ready(): Ready<RaftMessage> {
    assert(this.readyInFlight === null, 'ready() before the previous Ready was advanced');
    if (this.state === 'leader') this.flush();
    const { chunk, install } = this.takeChunk();
    const entries = this.log.takeUnstable();
    const hsTermBefore = this.hsTerm;
    const hsVoteBefore = this.hsVote;
    const hardState = this.takeHardState(install !== null);
    // Term and vote must be durable before anything is sent on their strength; the commit index
    // alone may be lost in a crash (it is relearned from the leader), so it waits for the next sync.
    const hardStateMustSync = hardState === null || install !== null || this.hsTerm !== hsTermBefore || this.hsVote !== hsVoteBefore;
    const committed = this.log.takeCommitted(RAFT_COMMITTED_ENTRIES_PER_READY_MAX, RAFT_COMMITTED_BYTES_PER_READY_MAX);
    const rd: Ready<RaftMessage> = {
      soft: this.takeSoft(),
      sendBeforePersist: this.msgsNow.length > 0 ? this.msgsNow : NO_MESSAGES,
      snapshotChunk: chunk,
      snapshotInstall: install,
      entries: entries.length > 0 ? entries : NO_ENTRIES,
      entriesReplaceSuffix: true,
      hardState,
      hardStateMustSync,
      messages: this.msgsAfterPersist.length > 0 ? this.msgsAfterPersist : NO_MESSAGES,
      committed: committed.length > 0 ? committed : NO_ENTRIES,
      readStates: this.readStates.length > 0 ? this.readStates : NO_READS,
      readsDropped: this.readsDropped.length > 0 ? this.readsDropped : NO_IDS,
    };
    if (this.msgsNow.length > 0) this.msgsNow = [];
    if (this.msgsAfterPersist.length > 0) this.msgsAfterPersist = [];
    if (this.readStates.length > 0) this.readStates = [];
    if (this.readsDropped.length > 0) this.readsDropped = [];
    this.forwardedProposals = 0;
    this.readyInFlight = rd;
    return rd;
  }

  advance(rd: Ready<RaftMessage>): void {
    assert(rd === this.readyInFlight, 'advance() of a Ready that is not the one in flight');
    this.readyInFlight = null;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!;
      this.log.stableTo(last.index, last.term);
    }
    if (rd.committed.length > 0) this.applyCommitted(rd.committed);
    if (this.repairUntil !== null && this.confirmedIndex >= this.repairUntil && this.log.stableIndex >= this.repairUntil) this.repairUntil = null;
    if (this.state === 'leader') {
      this.maybeCommit();
      this.maybeAutoLeave();
    }
  }

  status(): EngineStatus {
    const progress: PeerProgress[] = [];
    if (this.state === 'leader') {
      progress.push({
        node: this.id,
        match: logIndex(this.log.stableIndex),
        next: logIndex(this.log.lastIndex() + 1),
        state: 'replicate',
        recentActive: true,
        isLearner: false,
      });
      for (const pr of this.progress.values()) {
        progress.push({
          node: pr.id,
          match: logIndex(pr.match),
          next: logIndex(pr.next),
          state: pr.state,
          recentActive: pr.recentActive,
          isLearner: pr.isLearner,
        });
      }
      progress.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    }
    return {
      id: this.id,
      role: this.role(),
      term: this.term,
      leader: this.leader,
      commitIndex: logIndex(this.log.committed),
      appliedIndex: logIndex(this.log.applied),
      lastIndex: logIndex(this.log.lastIndex()),
      firstIndex: logIndex(this.log.firstIndex()),
      config: this.config,
      progress,
    };
  }

  stats(): RaftStats {
    return { dropped: Object.fromEntries(this.dropped), droppedTotal: this.droppedTotal };
  }

  /** A read-only view of the in-memory log, for tests and checkers. */
  logView(): { readonly firstIndex: number; readonly lastIndex: number; entry(index: number): Entry | undefined; term(index: number): number } {
    const log = this.log;
    return {
      firstIndex: log.firstIndex(),
      lastIndex: log.lastIndex(),
      entry: (i) => log.entry(i),
      term: (i) => log.term(i),
    };
  }

  encodeMessage(msg: RaftMessage): Uint8Array {
    return encodeRaftMessage(msg);
  }

  decodeMessage(bytes: Uint8Array): RaftMessage {
    return decodeRaftMessage(bytes);
  }

  // -------------------------------------------------------------------------------------------
  // Roles.

  private role(): Role {
    if (this.state === 'follower' && isLearner(this.config, this.id)) return 'learner';
    return this.state;
  }

  private reset(t: Term): void {
    if (t !== this.term) {
      this.term = t;
      this.vote = null;
    }
    if (this.state === 'leader') {
      this.reads.drain(this.dropRead);
      this.progress.clear();
    }
    this.leader = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.electionTimeout = this.randomElectionTimeout();
    this.votes.clear();
    this.abortTransfer();
    this.leaving = false;
    this.uncommittedBytes = 0;
    this.flushNeeded = false;
  }

  private becomeFollower(t: Term, leader: NodeId | null): void {
    const leaderChanged = t !== this.term || leader !== this.leader;
    this.reset(t);
    this.state = 'follower';
    this.leader = leader;
    if (leaderChanged) this.dropForwardedReads();
    if (this.incoming !== null && this.incoming.leader !== leader) this.dropIncomingSnapshot();
  }

  private becomePreCandidate(): void {
    assert(this.state !== 'leader', 'a leader does not pre-campaign');
    // Neither term nor vote move: a pre-vote disturbs nobody (dissertation §9.6).
    this.state = 'pre-candidate';
    this.votes.clear();
    this.leader = null;
    this.electionTimeout = this.randomElectionTimeout();
    this.dropForwardedReads();
  }

  private becomeCandidate(): void {
    assert(this.state !== 'leader', 'a leader does not campaign');
    this.reset(toTerm(this.term + 1));
    this.vote = this.id;
    this.state = 'candidate';
    this.dropForwardedReads();
  }

  private becomeLeader(): void {
    assert(this.state === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.state = 'leader';
    this.leader = this.id;
    this.dropIncomingSnapshot();
    const next = this.log.lastIndex() + 1;
    for (const id of this.memberSet) {
      if (id === this.id) continue;
      this.progress.set(id, new Progress(id, { next, isLearner: isLearner(this.config, id), inflightMax: this.cfg.inflightMessagesMax }));
    }
    // The no-op commits the entries of earlier terms (§5.4.2) and opens reads and config changes.
    this.appendEntry('empty', NO_BYTES);
    this.pendingConfIndex = this.log.lastIndex();
  }

  private randomElectionTimeout(): number {
    return this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  // -------------------------------------------------------------------------------------------
  // Ticks.

  private tickElection(): void {
    this.electionElapsed++;
    // A member that may not campaign keeps counting, so its leader lease runs out too.
    if (this.electionElapsed < this.electionTimeout || !this.promotable()) return;
    this.electionElapsed = 0;
    this.campaign(this.cfg.preVote ? 'pre-vote' : 'election');
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.transferee !== null && ++this.transferElapsed >= this.cfg.electionTicks) this.abortTransfer();
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const pr of this.progress.values()) pr.recentActive = false;
      }
    }
    this.tickSnapshotTransfers();
    this.reads.expire(this.ticks, this.dropRead);
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /**
   * The leader lease (leaseReads): a quorum of voters answered this leader within the last
   * electionTicks − margin ticks. A follower that heard from the leader grants no vote for
   * electionTicks (vote-in-lease) from when it heard, which is before the leader heard back; the
   * margin covers that reply's flight and clock-rate drift between members. Check-quorum alone is
   * not enough: its window is reset at each boundary, so a leader paused for longer than an
   * election timeout would, once the driver delivers the missed ticks, pass the first boundary on
   * the activity it saw before the pause while a successor already serves writes. Without a valid
   * lease a read takes the ReadIndex path.
   */
  private leaseValid(): boolean {
    const lease = this.cfg.electionTicks - Math.max(1, Math.ceil(this.cfg.electionTicks * RAFT_LEASE_MARGIN_PERCENT / 100));
    if (lease <= 0) return false;
    return jointQuorumActive(this.config, (id) => id === this.id || this.ticks - (this.progress.get(id)?.lastHeardTick ?? Number.NEGATIVE_INFINITY) < lease);
  }

  private quorumActive(): boolean {
    return jointQuorumActive(this.config, (id) => id === this.id || this.progress.get(id)?.recentActive === true);
  }

  private tickSnapshotTransfers(): void {
    const timeoutTicks = this.cfg.electionTicks * RAFT_SNAPSHOT_TIMEOUT_ELECTIONS;
    for (const pr of this.progress.values()) {
      const t = pr.transfer;
      if (pr.state !== 'snapshot' || t === null) continue;
      if (++t.idleTicks < timeoutTicks) continue;
      pr.restartTransfer(t.ackedOffset);
      this.sendChunks(pr);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Elections (§5.2, pre-vote §9.6, disruptive servers §4.2.3).

  /** May campaign: a voter, not repairing, and no config change committed but not yet applied. */
  private promotable(): boolean {
    return isVoter(this.config, this.id) && this.repairUntil === null && !this.hasUnappliedConfig();
  }

  /**
   * May grant votes: not while repairing (its log no longer backs its earlier promises). A learner
   * does grant a vote when asked, as etcd's does: only a candidate that counts it as a voter asks,
   * which happens when the candidate applied the learner's promotion and the learner has not yet;
   * refusing could leave the new configuration without a quorum for good. (Voting never endangers
   * safety; learners never campaign and never count toward a quorum they are not part of.)
   */
  private mayVote(): boolean {
    return this.repairUntil === null;
  }

  private hasUnappliedConfig(): boolean {
    const hi = Math.min(this.log.committed, this.log.lastIndex());
    for (let i = Math.max(this.log.applied + 1, this.log.firstIndex()); i <= hi; i++) {
      if (this.log.entry(i)!.kind === 'config') return true;
    }
    return false;
  }

  private campaign(kind: CampaignKind): void {
    if (kind === 'pre-vote') this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = toTerm(kind === 'pre-vote' ? this.term + 1 : this.term);
    this.votes.set(this.id, true);
    if (jointVote(this.config, this.votes) === 'won') {
      if (kind === 'pre-vote') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = logIndex(this.log.lastIndex());
    const lastTerm = toTerm(this.log.lastTerm());
    for (const to of allVoters(this.config)) {
      if (to === this.id) continue;
      this.msgsAfterPersist.push({
        type: 'voteRequest',
        from: this.id,
        to,
        term: voteTerm,
        preVote: kind === 'pre-vote',
        transfer: kind === 'transfer',
        lastIndex,
        lastTerm,
      });
    }
  }

  /**
   * Another member knows the log is committed up to (index, t). If our log holds that entry, log
   * matching makes our prefix the committed one: commit it (whatever the terms of the messages).
   */
  private learnCommit(index: number, t: number): void {
    if (this.state === 'leader' || index <= this.log.committed || !this.log.matchTerm(index, t)) return;
    this.log.commitTo(index);
  }

  /**
   * Heard from a live leader within the minimum election timeout (a leader counts itself). Only
   * with check-quorum: without it a leader that lost its quorum never steps down, and honouring
   * its lease would keep the rest of the cluster from electing anyone, forever.
   */
  private inLease(): boolean {
    return this.cfg.checkQuorum && this.leader !== null && this.electionElapsed < this.cfg.electionTicks;
  }

  private onHigherTerm(m: RaftMessage): StepResult | null {
    if (m.type === 'voteRequest') {
      // Disruptive servers (dissertation §4.2.3): ignore a vote request while a leader is known to
      // be alive, unless leadership transfer asked for the election.
      if (!m.transfer && this.inLease()) return this.drop('vote-in-lease');
      if (m.preVote) return null;
    }
    // A granted pre-vote carries the term asked about; nobody moved to it yet.
    if (m.type === 'voteResponse' && m.preVote && m.granted) return null;
    const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot';
    const elapsed = this.electionElapsed;
    this.becomeFollower(m.term, fromLeader ? m.from : null);
    // §5.2: only a leader's message or a granted vote resets the election timer, not a new term;
    // otherwise a member with a short timeout and a stale log could keep everyone else waiting.
    if (!fromLeader) this.electionElapsed = elapsed;
    return null;
  }

  private onLowerTerm(m: RaftMessage): StepResult {
    if (m.type === 'append' || m.type === 'heartbeat') {
      // A deposed leader (perhaps one that pre-vote or the lease kept from hearing of the new
      // term): tell it the term so it steps down (§5.1: a stale request is answered with ours).
      this.msgsAfterPersist.push(this.appendResponse(m.from, 0, false, 0, 0));
    } else if (m.type === 'voteRequest' && m.preVote) {
      this.msgsAfterPersist.push(this.voteResponse(m, this.term, false));
    }
    return this.drop('stale-term');
  }

  private onVoteRequest(m: VoteRequestMessage): StepResult {
    const canVote = this.vote === m.from || (this.vote === null && this.leader === null) || (m.preVote && m.term > this.term);
    // §5.4.1: only a candidate whose log holds every committed entry may win.
    const upToDate = this.bug === 'skip-up-to-date-check' || this.log.isUpToDate(m.lastIndex, m.lastTerm);
    if (!(canVote && upToDate && this.mayVote())) {
      this.msgsAfterPersist.push(this.voteResponse(m, this.term, false));
      return OK;
    }
    const grant = this.voteResponse(m, m.term, true);
    if (!m.preVote) {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
    // The vote is in this Ready's hard state; the grant goes out once that is durable.
    if (this.bug === 'vote-without-persist') this.msgsNow.push(grant);
    else this.msgsAfterPersist.push(grant);
    return OK;
  }

  private onVoteResponse(m: VoteResponseMessage): StepResult {
    if (m.preVote !== (this.state === 'pre-candidate')) return this.drop('stale-vote');
    if (!this.votes.has(m.from)) this.votes.set(m.from, m.granted);
    const outcome = jointVote(this.config, this.votes);
    switch (outcome) {
      case 'won':
        if (this.state === 'pre-candidate') this.campaign('election');
        else this.becomeLeader();
        return OK;
      case 'lost':
        this.becomeFollower(this.term, null);
        return OK;
      case 'pending':
        return OK;
      default:
        return assertNever(outcome, 'vote outcome');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Role dispatch.

  private stepFollower(m: RaftMessage): StepResult {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        if (this.leader === null) this.leader = m.from;
        else if (this.leader !== m.from) return this.drop('conflicting-leader');
        this.electionElapsed = 0;
        if (m.type === 'append') return this.onAppend(m);
        if (m.type === 'heartbeat') return this.onHeartbeat(m);
        return this.onSnapshotChunk(m);
      case 'timeoutNow':
        if (m.from !== this.leader) return this.drop('timeout-now-not-from-leader');
        if (!this.promotable()) return this.drop('timeout-now-not-promotable');
        this.campaign('transfer');
        return OK;
      case 'readIndexResponse':
        return this.onReadIndexResponse(m);
      case 'propose':
      case 'readIndex':
        return this.drop('not-leader');
      case 'appendResponse':
      case 'heartbeatResponse':
      case 'snapshotResponse':
      case 'voteResponse':
        return this.drop('stale-response');
      case 'voteRequest':
        return this.onVoteRequest(m);
      default:
        return assertNever(m, 'raft message');
    }
  }

  private stepCandidate(m: RaftMessage): StepResult {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // A leader of our term exists (§5.2): return to follower.
        this.becomeFollower(this.term, m.from);
        return this.stepFollower(m);
      case 'voteResponse':
        return this.onVoteResponse(m);
      case 'propose':
      case 'readIndex':
        return this.drop('no-leader');
      case 'timeoutNow':
      case 'readIndexResponse':
      case 'appendResponse':
      case 'heartbeatResponse':
      case 'snapshotResponse':
        return this.drop('stale-response');
      case 'voteRequest':
        return this.onVoteRequest(m);
      default:
        return assertNever(m, 'raft message');
    }
  }

  private stepLeader(m: RaftMessage): StepResult {
    switch (m.type) {
      case 'appendResponse':
        return this.onAppendResponse(m);
      case 'heartbeatResponse':
        return this.onHeartbeatResponse(m);
      case 'snapshotResponse':
        return this.onSnapshotResponse(m);
      case 'propose':
        return this.onForwardedProposal(m);
      case 'readIndex':
        return this.onReadIndexRequest(m);
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        return this.drop('conflicting-leader');
      case 'timeoutNow':
      case 'voteResponse':
      case 'readIndexResponse':
        return this.drop('stale-response');
      case 'voteRequest':
        return this.onVoteRequest(m);
      default:
        return assertNever(m, 'raft message');
    }
  }

  // -------------------------------------------------------------------------------------------
  // Follower: replication (§5.3) and snapshots.

  private onAppend(m: AppendMessage): StepResult {
    const committed = this.log.committed;
    if (m.prevIndex < committed) {
      this.msgsAfterPersist.push(this.appendResponse(m.from, committed, false, 0, 0));
      return OK;
    }
    const skipCheck = this.bug === 'skip-prev-term-check' && m.prevIndex >= this.log.firstIndex() - 1 && m.prevIndex <= this.log.lastIndex();
    if (skipCheck || this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const lastNew = m.prevIndex + m.entries.length;
      this.log.appendFromLeader(m.entries);
      this.log.commitTo(Math.min(m.commit, lastNew));
      if (this.repairUntil !== null) this.confirmedIndex = Math.max(this.confirmedIndex, lastNew);
      this.msgsAfterPersist.push(this.appendResponse(m.from, lastNew, false, 0, 0));
      return OK;
    }
    // The conflict hint: our term at prevIndex and where that term starts, or where our log ends.
    const last = this.log.lastIndex();
    if (m.prevIndex > last) {
      this.msgsAfterPersist.push(this.appendResponse(m.from, m.prevIndex, true, last, 0));
    } else {
      const t = this.log.term(m.prevIndex);
      const first = this.log.firstIndexWithTermAtLeast(t, committed + 1, m.prevIndex);
      this.msgsAfterPersist.push(this.appendResponse(m.from, m.prevIndex, true, first, t));
    }
    return OK;
  }

  private onHeartbeat(m: HeartbeatMessage): StepResult {
    // The leader clipped commit to our match, so our log up to it is the leader's — unless our
    // disk lost or rolled back what we acknowledged: then only what a leader confirmed counts.
    const last = this.repairUntil === null ? this.log.lastIndex() : Math.min(this.log.lastIndex(), this.confirmedIndex);
    this.log.commitTo(Math.min(m.commit, last));
    if (m.commit > last) {
      // The leader believes we hold more than we do (our disk lost acknowledged entries): say
      // where our log ends, as a rejection would.
      this.msgsAfterPersist.push(this.appendResponse(m.from, m.commit, true, last, 0));
    }
    this.msgsAfterPersist.push({ type: 'heartbeatResponse', from: this.id, to: m.from, term: this.term, round: m.round });
    return OK;
  }

  private onSnapshotChunk(m: SnapshotMessage): StepResult {
    const c = m.snapshotChunk;
    const meta = c.meta;
    if (meta.index <= this.log.committed || (c.offset === 0 && this.log.matchTerm(meta.index, meta.term))) {
      // Nothing to install: our log already reaches the snapshot.
      if (meta.index > this.log.committed) this.log.commitTo(meta.index);
      this.msgsAfterPersist.push(this.snapshotResponse(m, meta.sizeBytes, { reject: false, done: true }));
      return OK;
    }
    if (c.offset === 0) {
      this.dropIncomingSnapshot();
      this.incoming = { meta, leader: m.from, nextOffset: 0, handedOutOffset: 0 };
    }
    const inc = this.incoming;
    if (inc === null || inc.leader !== m.from || !sameSnapshot(inc.meta, meta)) {
      this.msgsAfterPersist.push(this.snapshotResponse(m, 0, { reject: true, done: false }));
      return this.drop('chunk-of-unknown-transfer');
    }
    if (c.offset < inc.nextOffset) {
      // A resend after a lost ack: say again how far we are.
      this.msgsAfterPersist.push(this.snapshotResponse(m, inc.handedOutOffset, { reject: false, done: false }));
      return this.drop('duplicate-chunk');
    }
    if (c.offset > inc.nextOffset) {
      this.msgsAfterPersist.push(this.snapshotResponse(m, inc.nextOffset, { reject: true, done: false }));
      return this.drop('chunk-out-of-order');
    }
    if (this.chunkQueue.length >= RAFT_SNAPSHOT_CHUNKS_QUEUED_MAX) return this.drop('chunk-queue-full');
    inc.nextOffset += c.data!.length;
    this.chunkQueue.push({ chunk: c, leader: m.from, attempt: m.attempt });
    return OK;
  }

  /** Hands out the next accepted chunk with its ack; the last one also installs the snapshot. */
  private takeChunk(): { readonly chunk: SnapshotChunk | null; readonly install: SnapshotMeta | null } {
    const q = this.chunkQueue.shift();
    if (q === undefined) return NO_CHUNK;
    const c = q.chunk;
    const end = c.offset + c.data!.length;
    if (this.incoming !== null) this.incoming.handedOutOffset = end;
    let install: SnapshotMeta | null = null;
    if (c.last) {
      this.incoming = null;
      if (this.log.matchTerm(c.meta.index, c.meta.term)) {
        // Entries arrived meanwhile and reach the snapshot: keep them (they may be acknowledged).
        if (c.meta.index > this.log.committed) this.log.commitTo(c.meta.index);
      } else if (c.meta.index > this.log.committed) {
        this.installSnapshot(c.meta);
        install = c.meta;
      }
    }
    this.msgsAfterPersist.push({
      type: 'snapshotResponse',
      from: this.id,
      to: q.leader,
      term: this.term,
      index: c.meta.index,
      attempt: q.attempt,
      nextOffset: end,
      reject: false,
      done: c.last,
    });
    return { chunk: c, install };
  }

  private installSnapshot(meta: SnapshotMeta): void {
    this.log.restore(meta);
    this.snapshot = meta;
    this.setConfig(meta.config);
    this.confirmedIndex = Math.max(this.confirmedIndex, meta.index);
    if (this.repairUntil !== null && meta.index >= this.repairUntil) this.repairUntil = null;
  }

  private dropIncomingSnapshot(): void {
    this.incoming = null;
    this.chunkQueue = [];
  }

  // -------------------------------------------------------------------------------------------
  // Leader: replication, commit (§5.3, §5.4.2), snapshots.

  private onAppendResponse(m: AppendResponseMessage): StepResult {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return this.drop('unknown-sender');
    pr.recentActive = true;
    pr.lastHeardTick = this.ticks;
    const last = this.log.lastIndex();
    if (m.reject) {
      const followerLast = m.hintTerm === 0 ? m.hintIndex : null;
      if (pr.maybeDecrTo(m.index, Math.min(this.hintNext(m), last + 1), followerLast)) this.flushNeeded = true;
      return OK;
    }
    if (m.index > last) return this.drop('impossible-index');
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
      return OK;
    }
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) pr.becomeProbe();
    else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);
    this.maybeCommit();
    this.flushNeeded = true;
    if (m.from === this.transferee && !this.timeoutNowSent && pr.match === last) this.sendTimeoutNow(m.from);
    return OK;
  }

  /** Where to retry after a rejection: skip the follower's whole conflicting term at once. */
  private hintNext(m: AppendResponseMessage): number {
    if (m.hintTerm === 0) return m.hintIndex + 1;
    const j = this.log.lastIndexWithTermAtMost(m.hintTerm, m.index);
    if (j >= 0 && this.log.term(j) === m.hintTerm) return j + 1;
    return m.hintIndex;
  }

  private onHeartbeatResponse(m: HeartbeatResponseMessage): StepResult {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return this.drop('unknown-sender');
    pr.recentActive = true;
    pr.lastHeardTick = this.ticks;
    pr.probeSent = false;
    // A full window a heartbeat later may hold a lost append: let one more go to find out.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.maybeSendAppend(pr, true);
    if (m.round > pr.readRoundAcked) {
      pr.readRoundAcked = Math.min(m.round, this.reads.round);
      this.confirmReads();
    }
    return OK;
  }

  private onSnapshotResponse(m: SnapshotResponseMessage): StepResult {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return this.drop('unknown-sender');
    pr.recentActive = true;
    pr.lastHeardTick = this.ticks;
    if (m.done) {
      if (m.index > this.log.lastIndex()) return this.drop('impossible-index');
      pr.maybeUpdate(m.index);
      if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) pr.becomeProbe();
      this.maybeCommit();
      this.flushNeeded = true;
      return OK;
    }
    const t = pr.transfer;
    if (pr.state !== 'snapshot' || t === null || m.attempt !== t.attempt || m.index !== t.meta.index) return this.drop('stale-response');
    t.idleTicks = 0;
    if (m.reject) {
      if (m.nextOffset > t.meta.sizeBytes) return this.drop('impossible-offset');
      pr.restartTransfer(m.nextOffset);
    } else {
      t.ackedOffset = Math.max(t.ackedOffset, Math.min(m.nextOffset, t.sentOffset));
    }
    this.sendChunks(pr);
    return OK;
  }

  private maybeCommit(): void {
    if (this.state !== 'leader') return;
    const index = jointValue(this.config, this.matchOf);
    if (!(index > this.log.committed) || index === Infinity) return;
    // Figure 8: count replicas only for an entry of the current term.
    if (this.bug !== 'commit-earlier-term-by-count' && this.log.term(index) !== this.term) return;
    this.log.commitTo(index);
    this.flushNeeded = true;
    if (this.reads.hasDeferred() && this.committedEntryInCurrentTerm()) this.reads.undefer(this.log.committed);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Sends what each follower can take now: batched appends, commit updates, a read round. */
  private flush(): void {
    this.flushNeeded = false;
    if (this.reads.roundNeeded) {
      this.reads.startRound();
      this.broadcastHeartbeat();
      this.confirmReads();
    }
    const last = this.log.lastIndex();
    for (const pr of this.progress.values()) {
      let sendIfEmpty = pr.commitSent < this.log.committed;
      while (this.maybeSendAppend(pr, sendIfEmpty)) {
        sendIfEmpty = false;
        if (pr.state !== 'replicate' || pr.next > last) break;
      }
    }
  }

  /** Sends one append to `pr` if its state allows; returns whether a message went out. */
  private maybeSendAppend(pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prev = pr.next - 1;
    const last = this.log.lastIndex();
    if (prev > last) unreachable(`next ${pr.next} of ${pr.id} beyond the log (${last})`);
    const prevTerm = this.log.term(prev);
    if (prevTerm === TERM_UNKNOWN) return this.startSnapshot(pr);
    const entries = pr.next <= last ? this.log.slice(pr.next, last, this.cfg.entriesPerMessageMax, this.cfg.messageBytesMax) : NO_ENTRIES;
    if (entries.length === 0 && !sendIfEmpty) return false;
    pr.sentAppend(prev + entries.length, entries.length);
    pr.commitSent = this.log.committed;
    this.msgsNow.push({
      type: 'append',
      from: this.id,
      to: pr.id,
      term: this.term,
      prevIndex: logIndex(prev),
      prevTerm: toTerm(prevTerm),
      entries,
      commit: logIndex(this.log.committed),
    });
    return true;
  }

  private startSnapshot(pr: Progress): boolean {
    // A member we have not heard from lately would only waste the transfer.
    if (!pr.recentActive) return false;
    assert(this.snapshot !== null && this.snapshot.index === this.log.snapshotIndex, 'a compacted log has its snapshot');
    pr.becomeSnapshot(this.snapshot);
    this.sendChunks(pr);
    return true;
  }

  private sendChunks(pr: Progress): void {
    const t = pr.transfer;
    assert(t !== null, 'chunks without a transfer');
    const chunkBytes = snapshotChunkBytesOf(this.cfg);
    const windowBytes = chunkBytes * RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX;
    while (!t.lastSent && t.sentOffset - t.ackedOffset < windowBytes) {
      const length = snapshotChunkLength(t.meta, t.sentOffset, chunkBytes);
      const last = t.sentOffset + length >= t.meta.sizeBytes;
      this.msgsNow.push({
        type: 'snapshot',
        from: this.id,
        to: pr.id,
        term: this.term,
        attempt: t.attempt,
        snapshotChunk: { meta: t.meta, offset: t.sentOffset, data: null, crc32c: 0, last },
      });
      t.sentOffset += length;
      t.lastSent = last;
    }
  }

  private broadcastHeartbeat(): void {
    const commit = this.log.committed;
    const round = this.reads.round;
    for (const pr of this.progress.values()) {
      this.msgsNow.push({
        type: 'heartbeat',
        from: this.id,
        to: pr.id,
        term: this.term,
        commit: logIndex(Math.min(pr.match, commit)),
        round,
      });
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.timeoutNowSent = true;
    this.msgsNow.push({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private abortTransfer(): void {
    this.transferee = null;
    this.transferElapsed = 0;
    this.timeoutNowSent = false;
  }

  // -------------------------------------------------------------------------------------------
  // Proposals.

  private proposeKind(kind: 'normal' | 'config', data: Uint8Array): ProposeResult {
    switch (this.state) {
      case 'leader':
        return this.appendEntry(kind, data);
      case 'follower':
        if (this.leader === null) return this.rejected('no-leader');
        if (this.forwardedProposals >= FORWARDED_PROPOSALS_MAX) return this.rejected('too-many-uncommitted');
        this.forwardedProposals++;
        this.msgsNow.push({ type: 'propose', from: this.id, to: this.leader, term: this.term, kind, data });
        return { type: 'forwarded', to: this.leader };
      case 'candidate':
      case 'pre-candidate':
        return this.rejected('no-leader');
      default:
        return assertNever(this.state, 'raft state');
    }
  }

  /** Leader: appends one entry of the current term to the log. */
  private appendEntry(kind: EntryKind, data: Uint8Array): ProposeResult {
    assert(this.state === 'leader', 'only a leader appends');
    if (this.transferee !== null || this.leaving) return this.rejected('transferring');
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + data.length > this.cfg.uncommittedBytesMax) {
      return this.rejected('too-many-uncommitted');
    }
    const index = logIndex(this.log.lastIndex() + 1);
    this.log.append({ index, term: this.term, kind, data });
    this.uncommittedBytes += data.length;
    this.flushNeeded = true;
    return { type: 'accepted', index, term: this.term };
  }

  private rejected(reason: Extract<ProposeResult, { type: 'rejected' }>['reason']): ProposeResult {
    return { type: 'rejected', reason, leader: this.leader };
  }

  private onForwardedProposal(m: ProposeMessage): StepResult {
    let r: ProposeResult;
    if (m.kind === 'normal') {
      r = this.appendEntry('normal', m.data);
    } else {
      let change: ConfigChange;
      try {
        change = decodeConfigChange(m.data);
      } catch (e) {
        if (e instanceof DecodeError) return this.drop('bad-config-change');
        throw e;
      }
      r = this.proposeConfigChange(change);
    }
    return r.type === 'rejected' ? this.drop(`proposal-${r.reason}`) : OK;
  }

  // -------------------------------------------------------------------------------------------
  // Linearizable reads (dissertation §6.4).

  private leaderRead(requestId: number, from: NodeId | null): ReadIndexResult {
    if (this.bug === 'stale-read-without-quorum') {
      this.respondRead(requestId, from, this.log.committed, false);
      return { type: 'pending' };
    }
    if (this.reads.size >= PENDING_READS_MAX) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.id };
    const read: PendingRead = { requestId, from, index: 0, round: 0, deadlineTick: this.ticks + this.readTimeoutTicks() };
    if (!this.committedEntryInCurrentTerm()) {
      // Until our no-op commits, our commit index may be behind the cluster's.
      this.reads.defer(read);
      return { type: 'pending' };
    }
    read.index = this.log.committed;
    if (this.cfg.leaseReads && this.leaseValid()) {
      this.respondRead(requestId, from, read.index, false);
      return { type: 'pending' };
    }
    this.reads.add(read);
    this.flushNeeded = true;
    return { type: 'pending' };
  }

  private confirmReads(): void {
    if (this.reads.size === 0) return;
    this.reads.release(jointValue(this.config, this.readRoundOf), this.answerRead);
  }

  private respondRead(requestId: number, from: NodeId | null, index: number, reject: boolean): void {
    if (from === null) {
      if (reject) this.readsDropped.push(requestId);
      else this.readStates.push({ requestId, index: logIndex(index) });
      return;
    }
    const msg: ReadIndexResponseMessage = {
      type: 'readIndexResponse',
      from: this.id,
      to: from,
      term: this.term,
      requestId,
      index: logIndex(index),
      reject,
    };
    if (this.state === 'leader') this.msgsNow.push(msg);
    else this.msgsAfterPersist.push(msg);
  }

  private onReadIndexRequest(m: ReadIndexMessage): StepResult {
    const r = this.leaderRead(m.requestId, m.from);
    if (r.type === 'rejected') this.respondRead(m.requestId, m.from, 0, true);
    return OK;
  }

  private forwardRead(requestId: number): ReadIndexResult {
    if (this.leader === null) return { type: 'rejected', reason: 'no-leader', leader: null };
    if (this.forwardedReads.size >= PENDING_READS_MAX) return { type: 'rejected', reason: 'too-many-uncommitted', leader: this.leader };
    this.forwardedReads.set(requestId, { to: this.leader, deadlineTick: this.ticks + this.readTimeoutTicks() });
    this.msgsNow.push({ type: 'readIndex', from: this.id, to: this.leader, term: this.term, requestId });
    return { type: 'pending' };
  }

  private onReadIndexResponse(m: ReadIndexResponseMessage): StepResult {
    const f = this.forwardedReads.get(m.requestId);
    if (f === undefined || f.to !== m.from) return this.drop('unknown-read');
    this.forwardedReads.delete(m.requestId);
    if (m.reject) this.readsDropped.push(m.requestId);
    else this.readStates.push({ requestId: m.requestId, index: m.index });
    return OK;
  }

  private readTimeoutTicks(): number {
    return this.cfg.electionTicks * RAFT_READ_TIMEOUT_ELECTIONS;
  }

  private expireForwardedReads(): void {
    if (this.forwardedReads.size === 0) return;
    for (const [requestId, f] of this.forwardedReads) {
      if (f.deadlineTick >= this.ticks) continue;
      this.forwardedReads.delete(requestId);
      this.readsDropped.push(requestId);
    }
  }

  private dropForwardedReads(): void {
    if (this.forwardedReads.size === 0) return;
    for (const requestId of this.forwardedReads.keys()) this.readsDropped.push(requestId);
    this.forwardedReads.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Applying: configuration changes take effect when applied (as etcd does).

  private applyCommitted(entries: readonly Entry[]): void {
    let bytes = 0;
    for (const e of entries) {
      bytes += e.data.length;
      if (e.kind === 'config') this.applyConfigEntry(e);
    }
    this.log.appliedTo(entries[entries.length - 1]!.index);
    if (this.state === 'leader') this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  private applyConfigEntry(e: Entry): void {
    let entry: ConfigEntry;
    try {
      entry = decodeConfigEntry(e.data);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.drop('undecodable-config-entry');
      return;
    }
    // Every member skips an unsound configuration alike, so configurations stay in agreement.
    if (configProblem(entry.config) !== null || entry.config.voters.length === 0) {
      this.drop('unsound-config-entry');
      return;
    }
    this.setConfig(entry.config);
  }

  private setConfig(c: ConfigState): void {
    this.config = c;
    this.memberSet = new Set(members(c));
    if (this.state === 'leader') this.syncProgress();
    else if ((this.state === 'candidate' || this.state === 'pre-candidate') && !isVoter(c, this.id)) this.becomeFollower(this.term, null);
  }

  private syncProgress(): void {
    const next = this.log.lastIndex() + 1;
    for (const id of this.memberSet) {
      if (id === this.id) continue;
      const pr = this.progress.get(id);
      if (pr !== undefined) {
        pr.isLearner = isLearner(this.config, id);
        continue;
      }
      const added = new Progress(id, { next, isLearner: isLearner(this.config, id), inflightMax: this.cfg.inflightMessagesMax });
      // A new member must not count against check-quorum before it had a chance to answer.
      added.recentActive = true;
      this.progress.set(id, added);
    }
    for (const id of this.progress.keys()) if (!this.memberSet.has(id)) this.progress.delete(id);
    if (!isVoter(this.config, this.id)) {
      // Removed or demoted, and the change is committed: step down (dissertation §4.2.2).
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.transferee !== null && !isVoter(this.config, this.transferee)) this.abortTransfer();
    this.maybeCommit();
    this.flushNeeded = true;
  }

  private maybeAutoLeave(): void {
    if (!isJoint(this.config) || !this.config.autoLeave || this.log.applied < this.pendingConfIndex) return;
    if (this.transferee !== null) return;
    const change: ConfigChange = { ops: [], context: NO_BYTES };
    const next = applyConfigChange(this.config, change);
    assert(next.type === 'ok', 'a joint configuration can always be left');
    const r = this.appendEntry('config', encodeConfigEntry({ change, config: next.config }));
    if (r.type === 'accepted') this.configAppended(r.index, next.config);
  }

  // -------------------------------------------------------------------------------------------
  // Helpers.

  private messageProblem(m: RaftMessage): string | null {
    if (m.to !== this.id) return 'wrong-recipient';
    if (m.from === this.id) return 'from-self';
    const shape = messageProblem(m);
    if (shape !== null) return shape;
    // The leader or a candidate of a configuration we have not applied yet may be unknown to us
    // (added while we lagged, or we just joined); turning them away could leave that
    // configuration without a quorum. Anything else from a stranger is dropped.
    const mayBeNewMember = m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot' || m.type === 'voteRequest';
    if (!mayBeNewMember && !this.memberSet.has(m.from)) return 'unknown-sender';
    return null;
  }

  private drop(reason: string): StepResult {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
    this.droppedTotal++;
    return { type: 'dropped', reason };
  }

  private appendResponse(to: NodeId, index: number, reject: boolean, hintIndex: number, hintTerm: number): AppendResponseMessage {
    return {
      type: 'appendResponse',
      from: this.id,
      to,
      term: this.term,
      index: logIndex(index),
      reject,
      hintIndex: logIndex(hintIndex),
      hintTerm: toTerm(hintTerm),
    };
  }

  private voteResponse(m: VoteRequestMessage, t: Term, granted: boolean): VoteResponseMessage {
    const commit = this.log.committed;
    return {
      type: 'voteResponse',
      from: this.id,
      to: m.from,
      term: t,
      preVote: m.preVote,
      granted,
      commit: logIndex(commit),
      commitTerm: toTerm(Math.max(0, this.log.term(commit))),
    };
  }

  private snapshotResponse(m: SnapshotMessage, nextOffset: number, o: { readonly reject: boolean; readonly done: boolean }): SnapshotResponseMessage {
    return {
      type: 'snapshotResponse',
      from: this.id,
      to: m.from,
      term: this.term,
      index: m.snapshotChunk.meta.index,
      attempt: m.attempt,
      nextOffset,
      reject: o.reject,
      done: o.done,
    };
  }

  private takeHardState(installing: boolean): Uint8Array | null {
    // See the header: a Ready that installs a snapshot does not move the durable commit index.
    const commit = installing ? Math.min(this.log.committed, this.hsCommit) : this.log.committed;
    if (this.term === this.hsTerm && this.vote === this.hsVote && commit === this.hsCommit) return null;
    this.hsTerm = this.term;
    this.hsVote = this.vote;
    this.hsCommit = commit;
    return encodeHardState({ term: this.term, vote: this.vote, commit: logIndex(commit) });
  }

  private softChanged(): boolean {
    return this.leader !== this.softLeader || this.role() !== this.softRole || this.term !== this.softTerm;
  }

  private takeSoft(): SoftState | null {
    if (!this.softChanged()) return null;
    this.softLeader = this.leader;
    this.softRole = this.role();
    this.softTerm = this.term;
    return { leader: this.leader, role: this.softRole, term: this.term };
  }
}

function sameSnapshot(a: SnapshotMeta, b: SnapshotMeta): boolean {
  return a.index === b.index && a.term === b.term && a.sizeBytes === b.sizeBytes && a.crc32c === b.crc32c;
}

function readHardState(bytes: Uint8Array | null): HardState {
  if (bytes === null) return { term: toTerm(0), vote: null, commit: logIndex(0) };
  try {
    return decodeHardState(bytes);
  } catch (e) {
    throw new RaftError('raft-corrupt-state', `hard state does not decode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** The durable log must follow on from the snapshot, without holes, terms never decreasing. */
function checkDurableEntries(entries: readonly Entry[], snap: SnapshotMeta | null): void {
  let expected = (snap?.index ?? 0) + 1;
  let lastTerm = snap?.term ?? 0;
  for (const e of entries) {
    if (e.index <= (snap?.index ?? 0)) continue;
    if (e.index !== expected) throw new RaftError('raft-corrupt-state', `log entry ${e.index} where ${expected} was expected`);
    if (!(e.term >= lastTerm && e.term >= 1)) throw new RaftError('raft-corrupt-state', `log entry ${e.index} has term ${e.term} after ${lastTerm}`);
    expected++;
    lastTerm = e.term;
  }
}

