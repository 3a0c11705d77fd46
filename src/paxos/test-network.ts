/**
 * An in-memory cluster of Paxos engines for tests and the core benchmark. Each member has an
 * in-memory durable store and a toy state machine (the list of executed entries); every Ready is
 * carried out in the contract's order (send-before-persist, persist, install, send, apply,
 * advance). Messages wait in a queue until delivered, so tests decide what arrives, when, and
 * whether at all (`drop`, `cut`, `isolate`, duplication and reordering).
 *
 * A crash loses nothing durable and everything else (the engine, queued messages to the member);
 * `restart` rebuilds the engine from the store alone.
 */
import { assert } from '../core/assert.js';
import { ByteReader, ByteWriter, bytesEqual, concatBytes } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { type NodeId, logIndex, nodeIdFromBigInt, term } from '../core/ids.js';
import { SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import { SeededRandom, type Random } from '../env/random.js';
import type { ConfigState, DurableState, Entry, EntryKind, ReadState, Ready, SnapshotMeta } from '../consensus/types.js';
import { type PaxosConfig, defaultPaxosConfig } from './config.js';
import { PaxosEngine } from './engine.js';
import { simpleConfig } from './membership.js';
import type { PaxosMessage } from './messages.js';

/** An executed entry as the toy state machine saw it. */
export interface Executed {
  readonly index: number;
  readonly kind: EntryKind;
  readonly data: Uint8Array;
}

/** What a member has on "disk". */
export class MemoryStore {
  hardState: Uint8Array | null = null;
  readonly entries = new Map<number, Entry>();
  snapshot: { meta: SnapshotMeta; bytes: Uint8Array } | null = null;
  staging: { meta: SnapshotMeta; bytes: Uint8Array[] } | null = null;
  /** Set by a test to simulate PAR: recovery dropped corrupt entries. */
  repairUntil: number | null = null;

  durable(initialConfig: ConfigState): DurableState {
    const entries = [...this.entries.values()].sort((a, b) => a.index - b.index);
    return { hardState: this.hardState, snapshot: this.snapshot?.meta ?? null, entries, initialConfig, repairUntil: this.repairUntil === null ? null : logIndex(this.repairUntil) };
  }
}

export interface Member {
  readonly id: NodeId;
  engine: PaxosEngine;
  readonly store: MemoryStore;
  /** The toy state machine: executed entries in order (after a snapshot, those after it). */
  executed: Executed[];
  appliedIndex: number;
  readonly readStates: ReadState[];
  readonly readsDropped: number[];
  up: boolean;
}

export interface NetworkOptions {
  readonly members: number;
  readonly learners?: number;
  readonly seed?: number;
  /** Overrides for every member's PaxosConfig. */
  readonly config?: Partial<Omit<PaxosConfig, 'id'>>;
  /** Per-member overrides (for planted bugs on one member). */
  readonly configFor?: (id: NodeId) => Partial<Omit<PaxosConfig, 'id'>>;
  /** The numbers of the voters' ids (default 1..members), e.g. to make two ballot ordinals collide. */
  readonly memberNumbers?: readonly number[];
  /** Pass every message through encodeMessage/decodeMessage (default true). */
  readonly wire?: boolean;
}

/** Member ids n1..nN as 16-hex-digit ids: 0000000000000001 … */
export function memberId(n: number): NodeId {
  return nodeIdFromBigInt(BigInt(n));
}

/** An accept event seen on some member's disk: (slot, ballot) → value and the acceptors. */
interface AcceptRecord {
  readonly kind: EntryKind;
  readonly data: Uint8Array;
  readonly acceptors: Set<NodeId>;
}

export class PaxosTestNetwork {
  readonly members = new Map<NodeId, Member>();
  readonly ids: NodeId[];
  readonly initialConfig: ConfigState;
  /** Messages sent and not yet delivered or dropped, in send order. */
  queue: PaxosMessage[] = [];
  readonly random: Random;
  private readonly cuts = new Set<string>();
  private readonly options: NetworkOptions;
  /** Every (slot, ballot) any member made durable, for the "one value chosen per slot" check. */
  readonly accepts = new Map<string, AcceptRecord>();
  /** Set when two values were accepted at one (slot, ballot). */
  ballotConflict: string | null = null;
  /** Total messages delivered. */
  delivered = 0;

  constructor(options: NetworkOptions) {
    this.options = options;
    this.random = new SeededRandom(options.seed ?? 1);
    const voters = (options.memberNumbers ?? Array.from({ length: options.members }, (_, i) => i + 1)).map(memberId);
    const learners = Array.from({ length: options.learners ?? 0 }, (_, i) => memberId(options.members + i + 1));
    this.ids = [...voters, ...learners];
    this.initialConfig = simpleConfig(voters, learners);
    for (const id of this.ids) this.addMember(id, this.initialConfig);
  }

  /** Adds a member (a fresh data directory) that starts from `initialConfig`. */
  addMember(id: NodeId, initialConfig: ConfigState = this.initialConfig): Member {
    const store = new MemoryStore();
    const m: Member = { id, engine: this.makeEngine(id, store, initialConfig), store, executed: [], appliedIndex: 0, readStates: [], readsDropped: [], up: true };
    this.members.set(id, m);
    if (!this.ids.includes(id)) this.ids.push(id);
    return m;
  }

  private makeEngine(id: NodeId, store: MemoryStore, initialConfig: ConfigState): PaxosEngine {
    const config: PaxosConfig = { ...defaultPaxosConfig(id), ...this.options.config, ...this.options.configFor?.(id), id };
    return new PaxosEngine(config, store.durable(initialConfig), this.random.fork());
  }

  member(id: NodeId): Member {
    const m = this.members.get(id);
    assert(m !== undefined, `no member ${id}`);
    return m;
  }

  engine(id: NodeId): PaxosEngine {
    return this.member(id).engine;
  }

  // ---------------------------------------------------------------------------------------------
  // Ready execution.

  /** Carries out every Ready of `id` until it has none. */
  process(id: NodeId): void {
    const m = this.member(id);
    if (!m.up) return;
    for (let guard = 0; m.engine.hasReady(); guard++) {
      assert(guard < 10_000, 'a member produced Readies without end');
      this.carryOut(m, m.engine.ready());
    }
  }

  private carryOut(m: Member, rd: Ready<PaxosMessage>): void {
    for (const msg of rd.sendBeforePersist) this.send(m, msg);
    const store = m.store;
    if (rd.snapshotChunk !== null) {
      const c = rd.snapshotChunk;
      assert(c.data !== null, 'a received chunk carries data');
      if (c.offset === 0) store.staging = { meta: c.meta, bytes: [] };
      store.staging!.bytes.push(c.data);
    }
    // As the driver does: a snapshot install resets the log store before this Ready's entries.
    if (rd.snapshotInstall !== null) store.entries.clear();
    for (const e of rd.entries) {
      if (rd.entriesReplaceSuffix) for (const k of [...store.entries.keys()]) if (k >= e.index) store.entries.delete(k);
      store.entries.set(e.index, e);
      this.recordAccept(m.id, e);
    }
    if (rd.hardState !== null) store.hardState = rd.hardState;
    if (rd.snapshotInstall !== null) this.install(m, rd.snapshotInstall);
    for (const msg of rd.messages) this.send(m, msg);
    for (const e of rd.committed) {
      if (e.index <= m.appliedIndex) continue; // replayed after a restart
      assert(e.index === m.appliedIndex + 1, `${m.id} applies slot ${e.index} after ${m.appliedIndex}`);
      m.executed.push({ index: e.index, kind: e.kind, data: e.data });
      m.appliedIndex = e.index;
    }
    m.readStates.push(...rd.readStates);
    m.readsDropped.push(...rd.readsDropped);
    m.engine.advance(rd);
  }

  private install(m: Member, meta: SnapshotMeta): void {
    const st = m.store.staging;
    assert(st !== null && st.meta.index === meta.index, 'install without a staged snapshot');
    const bytes = concatBytes(st.bytes);
    assert(bytes.length === meta.sizeBytes && crc32c(bytes) === meta.crc32c, 'staged snapshot fails verification');
    m.store.snapshot = { meta, bytes };
    m.store.staging = null;
    m.executed = decodeExecuted(bytes);
    m.appliedIndex = meta.index;
  }

  private recordAccept(id: NodeId, e: Entry): void {
    const key = `${e.index}/${e.term}`;
    const rec = this.accepts.get(key);
    if (rec === undefined) this.accepts.set(key, { kind: e.kind, data: e.data, acceptors: new Set([id]) });
    else {
      // One ballot proposes one value per slot (P2a's premise); only a broken proposer differs.
      if ((rec.kind !== e.kind || !bytesEqual(rec.data, e.data)) && this.ballotConflict === null) this.ballotConflict = `slot ${e.index}: two values proposed at ballot ${e.term}`;
      rec.acceptors.add(id);
    }
  }

  private send(from: Member, msg: PaxosMessage): void {
    let out = msg;
    if (msg.type === 'snapshot' && msg.snapshotChunk.data === null) {
      // The sending driver fills in the bytes.
      const snap = from.store.snapshot;
      assert(snap !== null && snap.meta.index === msg.snapshotChunk.meta.index, 'snapshot chunk for a snapshot the sender does not have');
      const c = msg.snapshotChunk;
      const data = snap.bytes.subarray(c.offset, Math.min(c.offset + SNAPSHOT_CHUNK_BYTES, snap.bytes.length));
      out = { ...msg, snapshotChunk: { ...c, data, crc32c: crc32c(data) } };
    }
    if (this.options.wire !== false) out = from.engine.decodeMessage(from.engine.encodeMessage(out));
    this.queue.push(out);
  }

  // ---------------------------------------------------------------------------------------------
  // Delivery and faults.

  private linkKey(a: NodeId, b: NodeId): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(this.linkKey(a, b));
  }

  /** Cuts every link of `id`. */
  isolate(id: NodeId): void {
    for (const other of this.ids) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cuts.clear();
  }

  /** Whether a message would arrive now (its link is up and its receiver running). */
  reachable(msg: PaxosMessage): boolean {
    const to = this.members.get(msg.to);
    return to !== undefined && to.up && !this.cuts.has(this.linkKey(msg.from, msg.to));
  }

  /** Delivers one queued message (by position); it is lost when its link is cut or its receiver down. */
  deliverAt(i: number): void {
    const [msg] = this.queue.splice(i, 1);
    assert(msg !== undefined, 'no message at that position');
    if (!this.reachable(msg)) return;
    this.delivered++;
    const to = this.member(msg.to);
    to.engine.step(msg);
    this.process(msg.to);
  }

  /**
   * Processes every member and delivers messages until nothing is left to do (or `maxMessages`
   * were delivered). Returns the number delivered.
   */
  stabilize(maxMessages = 1_000_000): number {
    let n = 0;
    for (const id of this.ids) this.process(id);
    while (this.queue.length > 0 && n < maxMessages) {
      this.deliverAt(0);
      n++;
    }
    return n;
  }

  /** Drops every queued message matching `pred` (default: all). */
  drop(pred: (m: PaxosMessage) => boolean = () => true): number {
    const before = this.queue.length;
    this.queue = this.queue.filter((m) => !pred(m));
    return before - this.queue.length;
  }

  /** Ticks every member that is up once, then processes them. */
  tickAll(times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const id of this.ids) {
        const m = this.member(id);
        if (!m.up) continue;
        m.engine.tick();
        this.process(id);
      }
    }
  }

  /** Ticks and stabilizes until `pred` holds; returns the ticks it took, or throws after `maxTicks`. */
  runUntil(pred: () => boolean, maxTicks = 500): number {
    for (let t = 0; t < maxTicks; t++) {
      this.stabilize();
      if (pred()) return t;
      this.tickAll();
    }
    this.stabilize();
    if (pred()) return maxTicks;
    throw new Error(`condition not reached within ${maxTicks} ticks`);
  }

  /** Runs until some member leads and every member that is up knows it; returns the leader. */
  electLeader(maxTicks = 500): NodeId {
    this.runUntil(() => this.leader() !== null, maxTicks);
    return this.leader()!;
  }

  /** The member that leads (the highest ballot among those that think they lead), or null. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestBallot = -1;
    for (const m of this.members.values()) {
      if (!m.up) continue;
      const s = m.engine.status();
      if (s.role === 'leader' && s.term > bestBallot) {
        best = m.id;
        bestBallot = s.term;
      }
    }
    return best;
  }

  /** Crashes a member: its engine and everything not durable are gone; messages to it are lost. */
  crash(id: NodeId): void {
    const m = this.member(id);
    m.up = false;
    this.queue = this.queue.filter((msg) => msg.to !== id && msg.from !== id);
  }

  /** Restarts a crashed member from its store alone. */
  restart(id: NodeId): void {
    const m = this.member(id);
    assert(!m.up, 'restart of a member that is up');
    m.engine = this.makeEngine(id, m.store, this.initialConfig);
    // The state machine restarts from its snapshot; the engine replays the decided log after it.
    m.executed = m.store.snapshot === null ? [] : decodeExecuted(m.store.snapshot.bytes);
    m.appliedIndex = m.store.snapshot?.meta.index ?? 0;
    m.up = true;
    this.process(id);
  }

  /** Takes a snapshot of the member's state machine and compacts its engine and store. */
  snapshot(id: NodeId): SnapshotMeta {
    const m = this.member(id);
    const bytes = encodeExecuted(m.executed);
    const index = m.appliedIndex;
    const entry = m.store.entries.get(index);
    const meta: SnapshotMeta = { index: logIndex(index), term: entry?.term ?? term(0), config: m.engine.status().config, sizeBytes: bytes.length, crc32c: crc32c(bytes) };
    m.store.snapshot = { meta, bytes };
    for (const k of [...m.store.entries.keys()]) if (k <= index) m.store.entries.delete(k);
    m.engine.compact(meta);
    return meta;
  }

  // ---------------------------------------------------------------------------------------------
  // Checks.

  /**
   * Paxos safety from the acceptors' disks: for every slot, at most one value was chosen, i.e.
   * accepted at one ballot by a phase-2 quorum of `config` (default: the initial voters).
   * Returns a description of the first violation, or null.
   */
  chosenConflict(voters: readonly NodeId[] = this.initialConfig.voters, phase2 = Math.floor(voters.length / 2) + 1): string | null {
    if (this.ballotConflict !== null) return this.ballotConflict;
    const chosen = new Map<number, AcceptRecord>();
    for (const [key, rec] of this.accepts) {
      const slot = Number(key.split('/')[0]);
      if ([...rec.acceptors].filter((a) => voters.includes(a)).length < phase2) continue;
      const prev = chosen.get(slot);
      if (prev !== undefined && (prev.kind !== rec.kind || !bytesEqual(prev.data, rec.data))) return `slot ${slot}: two different values chosen`;
      chosen.set(slot, rec);
    }
    return null;
  }

  /** Every member's executed sequence is a prefix of the longest one. Returns the first violation, or null. */
  executedConflict(): string | null {
    const longest = new Map<number, Executed>();
    for (const m of this.members.values()) {
      for (const e of m.executed) {
        const prev = longest.get(e.index);
        if (prev !== undefined && (prev.kind !== e.kind || !bytesEqual(prev.data, e.data))) return `slot ${e.index}: ${m.id} executed a different value`;
        longest.set(e.index, e);
      }
      for (let i = 1; i < m.executed.length; i++) if (m.executed[i]!.index !== m.executed[i - 1]!.index + 1) return `${m.id} executed out of order`;
    }
    return null;
  }

  /** The normal entries a member executed, as strings (for readable assertions). */
  commands(id: NodeId): string[] {
    return this.member(id).executed.filter((e) => e.kind === 'normal').map((e) => new TextDecoder().decode(e.data));
  }
}

/** Toy snapshot format: the executed entries. */
export function encodeExecuted(executed: readonly Executed[]): Uint8Array {
  const w = new ByteWriter();
  w.varint(executed.length);
  for (const e of executed) {
    w.u53(e.index);
    w.u8(e.kind === 'normal' ? 0 : e.kind === 'config' ? 1 : 2);
    w.bytes(e.data);
  }
  return w.finish().slice();
}

export function decodeExecuted(bytes: Uint8Array): Executed[] {
  const r = new ByteReader(bytes);
  const n = r.varint();
  const out: Executed[] = [];
  for (let i = 0; i < n; i++) {
    const index = r.u53();
    const k = r.u8();
    const kind: EntryKind = k === 0 ? 'normal' : k === 1 ? 'config' : 'empty';
    out.push({ index, kind, data: r.bytes(1 << 30).slice() });
  }
  return out;
}


