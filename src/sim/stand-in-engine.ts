/**
 * A deliberately small Raft used as a stand-in engine: it let the simulator and the driver be built
 * and tested before the real engine (src/raft) existed, and it stays as a second, independent
 * engine that the simulator's tests run, so a simulator bug cannot hide behind an engine bug.
 *
 * Election with randomized timeouts and the §5.4.1 up-to-date check, replication with simple
 * retransmission, commit by quorum match on an entry of the current term (§5.4.2), ReadIndex on the
 * leader with one heartbeat round (§6.4), snapshots sent in chunks. No pre-vote, check-quorum,
 * leadership transfer, membership changes or forwarding: followers reject proposals and reads with
 * a leader hint. Test-only planted bugs mirror the real engine's.
 */
import { assert } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, term, type LogIndex, type NodeId, type Term } from '../core/ids.js';
import { SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import type { Random } from '../env/random.js';
import type {
  ConfigState,
  ConsensusEngine,
  DurableState,
  EngineConfig,
  EngineMessage,
  EngineStatus,
  Entry,
  EntryKind,
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

export type StandInPlantedBug = 'stale-read-without-quorum' | 'commit-earlier-term-by-count' | 'vote-without-persist' | 'skip-up-to-date-check';

export interface StandInConfig extends EngineConfig {
  /** Test only: a deliberate bug, to prove the simulator's checkers catch it. */
  readonly plantedBug?: StandInPlantedBug;
}

export type StandInMessage =
  | (EngineMessage & { readonly type: 'vote'; readonly term: Term; readonly lastIndex: LogIndex; readonly lastTerm: Term })
  | (EngineMessage & { readonly type: 'vote-resp'; readonly term: Term; readonly granted: boolean })
  | (EngineMessage & {
      readonly type: 'append';
      readonly term: Term;
      readonly prevIndex: LogIndex;
      readonly prevTerm: Term;
      readonly entries: readonly Entry[];
      readonly commit: LogIndex;
      readonly readCtx: number;
    })
  | (EngineMessage & { readonly type: 'append-resp'; readonly term: Term; readonly success: boolean; readonly index: LogIndex; readonly readCtx: number })
  | (EngineMessage & { readonly type: 'snap'; readonly term: Term; readonly snapshotChunk: SnapshotChunk })
  | (EngineMessage & { readonly type: 'snap-resp'; readonly term: Term; readonly nextOffset: number; readonly done: boolean; readonly index: LogIndex });

interface Peer {
  match: number;
  next: number;
  /** Highest read context this peer acknowledged in the current term. */
  readAck: number;
  /** Set while the peer is being sent a snapshot: the offset it asked for next. */
  snapOffset: number | null;
}

interface PendingRead {
  readonly requestId: number;
  readonly index: LogIndex;
  readonly ctx: number;
}

export class StandInEngine implements ConsensusEngine<StandInMessage> {
  readonly id: NodeId;
  readonly protocol = 'raft' as const;

  private term = 0;
  private vote: NodeId | null = null;
  /**
   * Protocol-Aware Recovery (DurableState.repairUntil): storage lost committed entries, so until the
   * log reaches this index again this member neither votes nor campaigns. 0 when whole.
   */
  private repairUntil = 0;
  private commit = 0;
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  /** The log after the snapshot: entries[i] has index snapIndex + 1 + i. */
  private entries: Entry[] = [];
  private snap: SnapshotMeta | null;
  private snapIndex = 0;
  private snapTerm = 0;
  /** Last index made durable (advanced). */
  private stable = 0;
  private applied = 0;
  private readonly voters: readonly NodeId[];
  private readonly config: ConfigState;
  private peers = new Map<NodeId, Peer>();
  private votes = new Set<NodeId>();
  private elapsed = 0;
  private timeout = 0;
  private readCtx = 0;
  private pendingReads: PendingRead[] = [];
  private waitingReads: number[] = [];
  /** A snapshot being received: its meta and the next offset expected. */
  private receiving: { meta: SnapshotMeta; nextOffset: number } | null = null;

  // What the next Ready carries.
  private early: StandInMessage[] = [];
  private late: StandInMessage[] = [];
  private unstableFrom = Infinity;
  private hardDirty = false;
  private lastSoft: SoftState;
  private readStates: ReadState[] = [];
  private readsDropped: number[] = [];
  private chunkOut: SnapshotChunk | null = null;
  private install: SnapshotMeta | null = null;
  private outstanding: Ready<StandInMessage> | null = null;

  constructor(
    private readonly cfg: StandInConfig,
    durable: DurableState,
    private readonly random: Random,
  ) {
    this.id = cfg.id;
    this.snap = durable.snapshot;
    this.config = durable.snapshot?.config ?? durable.initialConfig;
    this.voters = this.config.voters;
    if (durable.snapshot !== null) {
      this.snapIndex = durable.snapshot.index;
      this.snapTerm = durable.snapshot.term;
    }
    if (durable.hardState !== null) {
      const r = new ByteReader(durable.hardState);
      this.term = r.u53();
      const v = r.string(64);
      this.vote = v === '' ? null : (v as NodeId);
      this.commit = r.u53();
    }
    this.entries = durable.entries.filter((e) => e.index > this.snapIndex);
    this.stable = this.lastIndex();
    // After storage found damage the hard state may be newer than the log: never commit past it.
    this.commit = Math.min(Math.max(this.commit, this.snapIndex), this.lastIndex());
    this.repairUntil = durable.repairUntil ?? 0;
    // Nor trust the recorded commit index at all then: recovery may have come back with an older
    // version of the log's suffix (entries a later leader had replaced), and the commit index was
    // written for the newer one. Apply only what a leader confirms against the log (its append's
    // prevIndex/prevTerm check truncates a stale suffix first).
    if (this.repairUntil !== 0) this.commit = this.snapIndex;
    this.applied = this.snapIndex;
    this.lastSoft = { leader: null, role: 'follower', term: term(this.term) };
    this.resetTimeout();
  }

  // ---- log helpers

  private lastIndex(): number {
    return this.snapIndex + this.entries.length;
  }

  private termAt(index: number): number | null {
    if (index === this.snapIndex) return this.snapTerm;
    if (index < this.snapIndex || index > this.lastIndex()) return null;
    return this.entries[index - this.snapIndex - 1]!.term;
  }

  private slice(from: number, to: number): Entry[] {
    return this.entries.slice(from - this.snapIndex - 1, to - this.snapIndex);
  }

  private appendLocal(es: readonly Entry[]): void {
    if (es.length === 0) return;
    const first = es[0]!.index;
    assert(first <= this.lastIndex() + 1 && first > this.snapIndex, 'appends continue the log');
    this.entries.length = first - this.snapIndex - 1;
    this.entries.push(...es);
    this.unstableFrom = Math.min(this.unstableFrom, first);
    this.stable = Math.min(this.stable, first - 1);
  }

  private quorum(): number {
    return Math.floor(this.voters.length / 2) + 1;
  }

  private resetTimeout(): void {
    this.elapsed = 0;
    this.timeout = this.cfg.electionTicks + this.random.int(this.cfg.electionTicks);
  }

  // ---- roles

  private becomeFollower(t: number, leader: NodeId | null): void {
    if (t > this.term) {
      this.term = t;
      this.vote = null;
      this.hardDirty = true;
    }
    if (this.role === 'leader') this.dropReads();
    this.role = 'follower';
    this.leader = leader;
    this.resetTimeout();
  }

  /** Whether the log is whole again (or never was damaged); clears the repair mark once it is. */
  private repaired(): boolean {
    if (this.repairUntil !== 0 && (this.lastIndex() >= this.repairUntil || this.snapIndex >= this.repairUntil)) this.repairUntil = 0;
    return this.repairUntil === 0;
  }

  private campaign(): void {
    if (!this.voters.includes(this.id) || !this.repaired()) return;
    this.dropReads();
    this.role = 'candidate';
    this.leader = null;
    this.term++;
    this.vote = this.id;
    this.hardDirty = true;
    this.votes = new Set([this.id]);
    this.resetTimeout();
    if (this.votes.size >= this.quorum()) return this.becomeLeader();
    for (const p of this.voters) {
      if (p === this.id) continue;
      // The vote request claims our own vote is durable: sent after persist.
      this.late.push({ type: 'vote', from: this.id, to: p, term: term(this.term), lastIndex: logIndex(this.lastIndex()), lastTerm: term(this.termAt(this.lastIndex()) ?? 0) });
    }
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.leader = this.id;
    this.peers = new Map();
    for (const p of this.voters) if (p !== this.id) this.peers.set(p, { match: 0, next: this.lastIndex() + 1, readAck: 0, snapOffset: null });
    this.appendLocal([{ index: logIndex(this.lastIndex() + 1), term: term(this.term), kind: 'empty', data: new Uint8Array(0) }]);
    this.broadcast(0);
  }

  private dropReads(): void {
    for (const r of this.pendingReads) this.readsDropped.push(r.requestId);
    this.readsDropped.push(...this.waitingReads);
    this.pendingReads = [];
    this.waitingReads = [];
  }

  // ---- the contract

  tick(): void {
    if (this.role === 'leader') {
      if (++this.elapsed >= this.cfg.heartbeatTicks) {
        this.elapsed = 0;
        this.broadcast(this.readCtx);
      }
      return;
    }
    if (++this.elapsed >= this.timeout) this.campaign();
  }

  propose(data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { type: 'rejected', reason: this.leader === null ? 'no-leader' : 'not-leader', leader: this.leader };
    const index = this.lastIndex() + 1;
    this.appendLocal([{ index: logIndex(index), term: term(this.term), kind: 'normal' as EntryKind, data: data.slice() }]);
    this.broadcast(this.readCtx);
    return { type: 'accepted', index: logIndex(index), term: term(this.term) };
  }

  proposeConfigChange(): ProposeResult {
    return { type: 'rejected', reason: 'invalid-config-change', leader: this.leader };
  }

  readIndex(requestId: number): ReadIndexResult {
    if (this.role !== 'leader') return { type: 'rejected', reason: this.leader === null ? 'no-leader' : 'not-leader', leader: this.leader };
    if (this.cfg.plantedBug === 'stale-read-without-quorum') {
      this.readStates.push({ requestId, index: logIndex(this.commit) });
      return { type: 'pending' };
    }
    if (this.termAt(this.commit) !== this.term) this.waitingReads.push(requestId);
    else this.startRead(requestId);
    return { type: 'pending' };
  }

  private startRead(requestId: number): void {
    this.pendingReads.push({ requestId, index: logIndex(this.commit), ctx: ++this.readCtx });
    this.broadcast(this.readCtx);
    this.releaseReads();
  }

  transferLeadership(): TransferResult {
    return { type: 'rejected', reason: 'not-leader' };
  }

  compact(meta: SnapshotMeta): void {
    if (meta.index <= this.snapIndex || meta.index > this.stable) return;
    this.entries = this.entries.slice(meta.index - this.snapIndex);
    this.snapIndex = meta.index;
    this.snapTerm = meta.term;
    this.snap = meta;
  }

  reportUnreachable(): void {}

  step(m: StandInMessage): StepResult {
    if (m.to !== this.id) return { type: 'dropped', reason: 'wrong-recipient' };
    if (!this.voters.includes(m.from) || m.from === this.id) return { type: 'dropped', reason: 'unknown-sender' };
    if (m.term > this.term) this.becomeFollower(m.term, m.type === 'append' || m.type === 'snap' ? m.from : null);
    if (m.term < this.term) {
      // Tell a stale leader or candidate about the newer term.
      if (m.type === 'append' || m.type === 'vote') this.late.push({ type: 'append-resp', from: this.id, to: m.from, term: term(this.term), success: false, index: logIndex(0), readCtx: 0 });
      return { type: 'dropped', reason: 'stale-term' };
    }
    switch (m.type) {
      case 'vote':
        return this.onVote(m);
      case 'vote-resp':
        if (this.role === 'candidate' && m.granted) {
          this.votes.add(m.from);
          if (this.votes.size >= this.quorum()) this.becomeLeader();
        }
        return { type: 'ok' };
      case 'append':
        return this.onAppend(m);
      case 'append-resp':
        return this.onAppendResp(m);
      case 'snap':
        return this.onSnap(m);
      case 'snap-resp':
        return this.onSnapResp(m);
    }
  }

  private onVote(m: Extract<StandInMessage, { type: 'vote' }>): StepResult {
    const myLastTerm = this.termAt(this.lastIndex()) ?? 0;
    const upToDate = m.lastTerm > myLastTerm || (m.lastTerm === myLastTerm && m.lastIndex >= this.lastIndex()) || this.cfg.plantedBug === 'skip-up-to-date-check';
    const grant = (this.vote === null || this.vote === m.from) && upToDate && this.role !== 'leader' && this.repaired();
    if (grant) {
      this.vote = m.from;
      this.hardDirty = true;
      this.resetTimeout();
    }
    // The grant promises the vote is durable, so it goes after the sync (unless the bug is planted).
    (this.cfg.plantedBug === 'vote-without-persist' ? this.early : this.late).push({ type: 'vote-resp', from: this.id, to: m.from, term: term(this.term), granted: grant });
    return { type: 'ok' };
  }

  private onAppend(m: Extract<StandInMessage, { type: 'append' }>): StepResult {
    if (this.role !== 'follower') this.becomeFollower(this.term, m.from);
    this.leader = m.from;
    this.elapsed = 0;
    const reply = (success: boolean, index: number): void => {
      this.late.push({ type: 'append-resp', from: this.id, to: m.from, term: term(this.term), success, index: logIndex(index), readCtx: m.readCtx });
    };
    if (m.prevIndex < this.snapIndex) {
      reply(true, this.snapIndex);
      return { type: 'ok' };
    }
    if (this.termAt(m.prevIndex) !== m.prevTerm) {
      reply(false, Math.min(this.lastIndex(), m.prevIndex - 1));
      return { type: 'ok' };
    }
    for (let k = 0; k < m.entries.length; k++) {
      if (m.entries[k]!.index !== m.prevIndex + 1 + k) return { type: 'dropped', reason: 'non-contiguous-entries' };
    }
    // Skip entries we already hold; truncate at the first conflict.
    let k = 0;
    while (k < m.entries.length && this.termAt(m.entries[k]!.index) === m.entries[k]!.term) k++;
    if (k < m.entries.length) {
      assert(m.entries[k]!.index > this.commit, 'a committed entry never conflicts');
      this.appendLocal(m.entries.slice(k));
    }
    const lastNew = m.prevIndex + m.entries.length;
    const commit = Math.min(m.commit, lastNew);
    if (commit > this.commit) {
      this.commit = commit;
      this.hardDirty = true;
    }
    reply(true, lastNew);
    return { type: 'ok' };
  }

  private onAppendResp(m: Extract<StandInMessage, { type: 'append-resp' }>): StepResult {
    const p = this.peers.get(m.from);
    if (this.role !== 'leader' || p === undefined) return { type: 'dropped', reason: 'not-leader' };
    p.readAck = Math.max(p.readAck, m.readCtx);
    if (m.success) {
      p.match = Math.max(p.match, m.index);
      p.next = Math.max(p.next, p.match + 1);
      this.maybeCommit();
    } else {
      p.next = Math.max(1, Math.min(p.next - 1, m.index + 1));
      this.sendTo(m.from, p, this.readCtx);
    }
    this.releaseReads();
    return { type: 'ok' };
  }

  private onSnap(m: Extract<StandInMessage, { type: 'snap' }>): StepResult {
    if (this.role !== 'follower') this.becomeFollower(this.term, m.from);
    this.leader = m.from;
    this.elapsed = 0;
    const c = m.snapshotChunk;
    const reply = (nextOffset: number, done: boolean): void => {
      this.late.push({ type: 'snap-resp', from: this.id, to: m.from, term: term(this.term), nextOffset, done, index: logIndex(done ? c.meta.index : 0) });
    };
    if (c.data === null || crc32c(c.data) !== c.crc32c) return { type: 'dropped', reason: 'bad-chunk' };
    if (c.meta.index <= this.commit) {
      reply(c.meta.sizeBytes, true);
      return { type: 'ok' };
    }
    if (c.offset === 0) this.receiving = { meta: c.meta, nextOffset: 0 };
    const r = this.receiving;
    if (r === null || r.meta.index !== c.meta.index || r.meta.term !== c.meta.term || r.nextOffset !== c.offset || this.chunkOut !== null) {
      reply(r !== null && r.meta.index === c.meta.index && r.meta.term === c.meta.term ? r.nextOffset : 0, false);
      return { type: 'ok' };
    }
    r.nextOffset += c.data.length;
    this.chunkOut = c;
    if (c.last) {
      assert(r.nextOffset === c.meta.sizeBytes, 'the last chunk completes the snapshot');
      this.receiving = null;
      this.install = c.meta;
      this.entries = [];
      this.snapIndex = c.meta.index;
      this.snapTerm = c.meta.term;
      this.snap = c.meta;
      this.stable = c.meta.index;
      this.unstableFrom = Infinity;
      this.commit = c.meta.index;
      this.applied = c.meta.index;
      this.hardDirty = true;
    }
    reply(r.nextOffset, c.last);
    return { type: 'ok' };
  }

  private onSnapResp(m: Extract<StandInMessage, { type: 'snap-resp' }>): StepResult {
    const p = this.peers.get(m.from);
    if (this.role !== 'leader' || p === undefined || p.snapOffset === null) return { type: 'dropped', reason: 'unexpected-snapshot-ack' };
    if (m.done) {
      p.snapOffset = null;
      p.match = Math.max(p.match, m.index);
      p.next = p.match + 1;
      this.maybeCommit();
      this.sendTo(m.from, p, this.readCtx);
    } else {
      p.snapOffset = m.nextOffset;
      this.sendTo(m.from, p, this.readCtx);
    }
    return { type: 'ok' };
  }

  private maybeCommit(): void {
    for (let n = this.lastIndex(); n > this.commit; n--) {
      const t = this.termAt(n);
      if (t !== this.term && this.cfg.plantedBug !== 'commit-earlier-term-by-count') break;
      let count = this.stable >= n ? 1 : 0;
      for (const p of this.peers.values()) if (p.match >= n) count++;
      if (count >= this.quorum()) {
        this.commit = n;
        this.hardDirty = true;
        if (this.termAt(this.commit) === this.term) {
          const waiting = this.waitingReads;
          this.waitingReads = [];
          for (const id of waiting) this.startRead(id);
        }
        return;
      }
    }
  }

  private releaseReads(): void {
    if (this.role !== 'leader') return;
    let released = 0;
    for (const r of this.pendingReads) {
      let acks = 1;
      for (const p of this.peers.values()) if (p.readAck >= r.ctx) acks++;
      if (acks < this.quorum()) break;
      this.readStates.push({ requestId: r.requestId, index: r.index });
      released++;
    }
    this.pendingReads.splice(0, released);
  }

  private broadcast(ctx: number): void {
    for (const [id, p] of this.peers) this.sendTo(id, p, ctx);
  }

  private sendTo(to: NodeId, p: Peer, ctx: number): void {
    if (p.next <= this.snapIndex || p.snapOffset !== null) {
      const meta = this.snap;
      assert(meta !== null, 'a compacted log has a snapshot');
      const offset = p.snapOffset ?? 0;
      p.snapOffset = offset;
      const last = offset + SNAPSHOT_CHUNK_BYTES >= meta.sizeBytes;
      this.early.push({ type: 'snap', from: this.id, to, term: term(this.term), snapshotChunk: { meta, offset, data: null, crc32c: 0, last } });
      return;
    }
    const prevIndex = p.next - 1;
    const to_ = Math.min(this.lastIndex(), prevIndex + this.cfg.entriesPerMessageMax);
    const entries = this.slice(p.next, to_);
    this.early.push({
      type: 'append',
      from: this.id,
      to,
      term: term(this.term),
      prevIndex: logIndex(prevIndex),
      prevTerm: term(this.termAt(prevIndex) ?? 0),
      entries,
      commit: logIndex(Math.min(this.commit, p.match)),
      readCtx: ctx,
    });
    p.next = to_ + 1;
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const soft = this.softState();
    return (
      this.early.length > 0 ||
      this.late.length > 0 ||
      this.unstableFrom !== Infinity ||
      this.hardDirty ||
      this.readStates.length > 0 ||
      this.readsDropped.length > 0 ||
      this.chunkOut !== null ||
      Math.min(this.commit, this.stable) > this.applied ||
      soft.role !== this.lastSoft.role ||
      soft.term !== this.lastSoft.term ||
      soft.leader !== this.lastSoft.leader
    );
  }

  private softState(): SoftState {
    return { leader: this.leader, role: this.role, term: term(this.term) };
  }

  ready(): Ready<StandInMessage> {
    assert(this.outstanding === null, 'no second Ready before advance');
    const soft = this.softState();
    const softChanged = soft.role !== this.lastSoft.role || soft.term !== this.lastSoft.term || soft.leader !== this.lastSoft.leader;
    this.lastSoft = soft;
    const entries = this.unstableFrom === Infinity ? [] : this.slice(this.unstableFrom, this.lastIndex());
    const applyTo = Math.min(this.commit, this.stable);
    const committed = applyTo > this.applied ? this.slice(this.applied + 1, applyTo) : [];
    const rd: Ready<StandInMessage> = {
      soft: softChanged ? soft : null,
      sendBeforePersist: this.early,
      snapshotChunk: this.chunkOut,
      snapshotInstall: this.install,
      entries,
      entriesReplaceSuffix: true,
      hardState: this.hardDirty ? new ByteWriter(32).u53(this.term).string(this.vote ?? '').u53(this.commit).finish().slice() : null,
      messages: this.late,
      committed,
      readStates: this.readStates,
      readsDropped: this.readsDropped,
    };
    this.early = [];
    this.late = [];
    this.unstableFrom = Infinity;
    this.hardDirty = false;
    this.readStates = [];
    this.readsDropped = [];
    this.chunkOut = null;
    this.install = null;
    this.applied = applyTo > this.applied ? applyTo : this.applied;
    this.outstanding = rd;
    return rd;
  }

  advance(rd: Ready<StandInMessage>): void {
    assert(rd === this.outstanding, 'advance the Ready handed out');
    this.outstanding = null;
    if (rd.entries.length > 0) {
      const last = rd.entries[rd.entries.length - 1]!.index;
      // Entries appended since the Ready may have replaced part of it: only a still-matching prefix is durable.
      if (this.unstableFrom > last && this.termAt(last) === rd.entries[rd.entries.length - 1]!.term) this.stable = Math.max(this.stable, last);
      else if (this.unstableFrom !== Infinity) this.stable = Math.max(this.stable, Math.min(last, this.unstableFrom - 1));
    }
    if (this.role === 'leader') this.maybeCommit();
  }

  status(): EngineStatus {
    return {
      id: this.id,
      role: this.role,
      term: term(this.term),
      leader: this.leader,
      commitIndex: logIndex(this.commit),
      appliedIndex: logIndex(this.applied),
      lastIndex: logIndex(this.lastIndex()),
      firstIndex: logIndex(this.snapIndex + 1),
      config: this.config,
      progress: [...this.peers].map(([node, p]) => ({ node, match: logIndex(p.match), next: logIndex(p.next), state: p.snapOffset !== null ? 'snapshot' : 'replicate', recentActive: true, isLearner: false })),
    };
  }

  encodeMessage(m: StandInMessage): Uint8Array {
    return encodeStandIn(m);
  }

  decodeMessage(bytes: Uint8Array): StandInMessage {
    return decodeStandIn(bytes);
  }
}

// ---- codec

const TYPES = ['vote', 'vote-resp', 'append', 'append-resp', 'snap', 'snap-resp'] as const;
const KINDS: readonly EntryKind[] = ['normal', 'config', 'empty'];

function encodeStandIn(m: StandInMessage): Uint8Array {
  const w = new ByteWriter(64).u8(TYPES.indexOf(m.type)).string(m.from).string(m.to).u53(m.term);
  switch (m.type) {
    case 'vote':
      w.u53(m.lastIndex).u53(m.lastTerm);
      break;
    case 'vote-resp':
      w.bool(m.granted);
      break;
    case 'append':
      w.u53(m.prevIndex).u53(m.prevTerm).u53(m.commit).u53(m.readCtx).varint(m.entries.length);
      for (const e of m.entries) w.u53(e.index).u53(e.term).u8(KINDS.indexOf(e.kind)).bytes(e.data);
      break;
    case 'append-resp':
      w.bool(m.success).u53(m.index).u53(m.readCtx);
      break;
    case 'snap': {
      const c = m.snapshotChunk;
      const meta = c.meta;
      w.u53(meta.index).u53(meta.term).u53(meta.sizeBytes).u32(meta.crc32c).varint(meta.config.voters.length);
      for (const v of meta.config.voters) w.string(v);
      w.u53(c.offset).bytes(c.data ?? new Uint8Array(0)).u32(c.crc32c).bool(c.last);
      break;
    }
    case 'snap-resp':
      w.u53(m.nextOffset).bool(m.done).u53(m.index);
      break;
  }
  return w.finish().slice();
}

function decodeStandIn(bytes: Uint8Array): StandInMessage {
  const r = new ByteReader(bytes);
  const type = TYPES[r.u8('type')];
  if (type === undefined) throw new DecodeError('unknown stand-in message type');
  const from = r.string(64, 'from') as NodeId;
  const to = r.string(64, 'to') as NodeId;
  const t = term(r.u53('term'));
  let m: StandInMessage;
  switch (type) {
    case 'vote':
      m = { type, from, to, term: t, lastIndex: logIndex(r.u53()), lastTerm: term(r.u53()) };
      break;
    case 'vote-resp':
      m = { type, from, to, term: t, granted: r.bool() };
      break;
    case 'append': {
      const prevIndex = logIndex(r.u53());
      const prevTerm = term(r.u53());
      const commit = logIndex(r.u53());
      const readCtx = r.u53();
      const n = r.varint('entries');
      if (n > 100_000) throw new DecodeError('too many entries');
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) {
        const index = logIndex(r.u53());
        const et = term(r.u53());
        const kind = KINDS[r.u8('kind')];
        if (kind === undefined) throw new DecodeError('unknown entry kind');
        entries.push({ index, term: et, kind, data: r.bytes(1 << 24).slice() });
      }
      m = { type, from, to, term: t, prevIndex, prevTerm, commit, readCtx, entries };
      break;
    }
    case 'append-resp':
      m = { type, from, to, term: t, success: r.bool(), index: logIndex(r.u53()), readCtx: r.u53() };
      break;
    case 'snap': {
      const index = logIndex(r.u53());
      const st = term(r.u53());
      const sizeBytes = r.u53();
      const crc = r.u32();
      const voters: NodeId[] = [];
      for (let n = r.varint('voters'); n > 0; n--) voters.push(r.string(64) as NodeId);
      const meta: SnapshotMeta = { index, term: st, sizeBytes, crc32c: crc, config: { voters, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false } };
      const offset = r.u53();
      const data = r.bytes(SNAPSHOT_CHUNK_BYTES).slice();
      m = { type, from, to, term: t, snapshotChunk: { meta, offset, data, crc32c: r.u32(), last: r.bool() } };
      break;
    }
    case 'snap-resp':
      m = { type, from, to, term: t, nextOffset: r.u53(), done: r.bool(), index: logIndex(r.u53()) };
      break;
  }
  r.done('stand-in message');
  return m;
}
