/**
 * FOR TESTS ONLY: several Raft engines on an in-memory network (like etcd's raft test network),
 * each with an in-memory durable store and a state machine that records what it applied.
 *
 * A Ready is carried out in the contract's order (sendBeforePersist, persist, install, messages,
 * apply, advance), optionally in two halves (`beginReady` / `completeReady`) so tests can step
 * other messages in between and crash a member with a Ready half done. A restart rebuilds the
 * engine from exactly what was persisted. The network can drop, cut, isolate, duplicate and
 * reorder; it watches the safety properties (one leader per term, state-machine safety, leader
 * completeness) and records violations instead of throwing, so tests can assert on them.
 */
import { assert } from '../core/assert.js';
import { ByteReader, ByteWriter, fromUtf8, utf8, concatBytes } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { logIndex, nodeIdFromBigInt, nodeIdToBigInt, term as toTerm, type NodeId } from '../core/ids.js';
import { SeededRandom } from '../env/random.js';
import type { ConfigState, DurableState, Entry, ReadState, Ready, SnapshotMeta } from '../consensus/types.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { defaultRaftConfig, snapshotChunkBytesOf, type RaftConfig } from './config.js';
import { decodeConfigEntry } from './config-change.js';
import type { RaftMessage } from './messages.js';
import { RaftEngine, snapshotChunkLength } from './raft-engine.js';

export function nodeId(n: number): NodeId {
  return nodeIdFromBigInt(BigInt(n));
}

/** The short decimal form of a test id ("0000000000000003" → "3"). */
export function shortId(id: NodeId): string {
  return nodeIdToBigInt(id).toString();
}

/** What one member has made durable. */
export class MemoryStorage {
  hardState: Uint8Array | null = null;
  snapshot: SnapshotMeta | null = null;
  snapshotData: Uint8Array | null = null;
  entries: Entry[] = [];
  private staging: Uint8Array[] = [];
  private stagingBytes = 0;
  /** Durable writes so far (one per Ready that persisted something). */
  syncs = 0;

  constructor(
    readonly initialConfig: ConfigState,
    public repairUntil: number | null = null,
  ) {}

  durable(): DurableState {
    return {
      hardState: this.hardState,
      snapshot: this.snapshot,
      entries: [...this.entries],
      initialConfig: this.initialConfig,
      repairUntil: this.repairUntil === null ? null : logIndex(this.repairUntil),
    };
  }

  persist(rd: Ready<RaftMessage>): void {
    if (rd.snapshotChunk !== null) {
      const c = rd.snapshotChunk;
      if (c.offset === 0) {
        this.staging = [];
        this.stagingBytes = 0;
      }
      assert(c.offset === this.stagingBytes, `chunk at ${c.offset}, staging holds ${this.stagingBytes}`);
      this.staging.push(c.data!);
      this.stagingBytes += c.data!.length;
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      assert(rd.entriesReplaceSuffix, 'raft replaces suffixes');
      this.entries = this.entries.filter((e) => e.index < first);
      const prev = this.entries.length > 0 ? this.entries[this.entries.length - 1]!.index : (this.snapshot?.index ?? 0);
      assert(prev === first - 1, `persisted log would have a hole: ${first} after ${prev}`);
      this.entries.push(...rd.entries);
    }
    if (rd.hardState !== null) this.hardState = rd.hardState;
    if (rd.snapshotChunk !== null || rd.entries.length > 0 || rd.hardState !== null) this.syncs++;
  }

  /** Completes a received snapshot: verify, move into place, reset the log. */
  install(meta: SnapshotMeta): Uint8Array {
    const data = concatBytes(this.staging);
    assert(data.length === meta.sizeBytes && crc32c(data) === meta.crc32c, 'received snapshot matches its meta');
    this.snapshot = meta;
    this.snapshotData = data;
    this.entries = [];
    this.staging = [];
    this.stagingBytes = 0;
    return data;
  }

  compact(meta: SnapshotMeta, data: Uint8Array): void {
    this.snapshot = meta;
    this.snapshotData = data;
    this.entries = this.entries.filter((e) => e.index > meta.index);
  }
}

/** Applies entries in order; its snapshot is the list of everything applied. */
export class RecordingStateMachine {
  applied: Entry[] = [];

  get appliedIndex(): number {
    return this.applied.length === 0 ? 0 : this.applied[this.applied.length - 1]!.index;
  }

  apply(e: Entry): void {
    assert(e.index === this.appliedIndex + 1, `applied ${e.index} after ${this.appliedIndex}`);
    this.applied.push(e);
  }

  snapshot(): Uint8Array {
    const w = new ByteWriter();
    w.varint(this.applied.length);
    for (const e of this.applied) w.u53(e.index).u53(e.term).u8(['normal', 'config', 'empty'].indexOf(e.kind)).bytes(e.data);
    return w.finish().slice();
  }

  restore(data: Uint8Array): void {
    const r = new ByteReader(data);
    const n = r.varint();
    const out: Entry[] = [];
    for (let i = 0; i < n; i++) {
      const index = logIndex(r.u53());
      const t = toTerm(r.u53());
      const kind = (['normal', 'config', 'empty'] as const)[r.u8()]!;
      out.push({ index, term: t, kind, data: r.bytes(1 << 30).slice() });
    }
    this.applied = out;
  }

  /** The data of applied normal entries, as strings. */
  values(): string[] {
    return this.applied.filter((e) => e.kind === 'normal').map((e) => fromUtf8(e.data));
  }
}

export class TestNode {
  engine: RaftEngine;
  readonly sm = new RecordingStateMachine();
  inFlight: Ready<RaftMessage> | null = null;
  readStates: ReadState[] = [];
  readsDropped: number[] = [];
  crashed = false;

  constructor(
    readonly id: NodeId,
    readonly config: RaftConfig,
    readonly storage: MemoryStorage,
    readonly random: SeededRandom,
  ) {
    this.engine = new RaftEngine(config, storage.durable(), random);
  }

  restart(): void {
    this.engine = new RaftEngine(this.config, this.storage.durable(), this.random);
    this.sm.applied = [];
    if (this.storage.snapshotData !== null) this.sm.restore(this.storage.snapshotData);
    this.inFlight = null;
    this.crashed = false;
  }
}

export interface NetworkOptions {
  /** Voters: ids 1..voters. */
  readonly voters: number;
  /** Learners: the next ids after the voters. */
  readonly learners?: number;
  readonly seed?: number;
  /** Adjusts each member's configuration. */
  readonly configure?: (c: RaftConfig) => RaftConfig;
  /** Encode and decode every message on the way (default true). */
  readonly codec?: boolean;
}

export interface Delivery {
  readonly msg: RaftMessage;
  /** 'ok', the reason the engine dropped it, or 'lost' when the network did. */
  readonly outcome: string;
}

export class TestNetwork {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages in flight, oldest first. */
  queue: RaftMessage[] = [];
  /** Directed links that lose everything: "from>to". */
  private readonly cutLinks = new Set<string>();
  /** Extra filter: return false to lose a message. */
  filter: ((m: RaftMessage) => boolean) | null = null;
  /** Sees every Ready as it is taken. */
  onReady: ((id: NodeId, rd: Ready<RaftMessage>) => void) | null = null;
  readonly violations: string[] = [];
  readonly leadersByTerm = new Map<number, NodeId>();
  /** Every entry applied anywhere, by index: state-machine safety compares against it. */
  readonly appliedByIndex = new Map<number, Entry>();
  /** Counters of what happened, to tell a test that its faults were exercised. */
  readonly counts = { installs: 0, chunks: 0, reads: 0, readsDropped: 0, crashes: 0, restarts: 0, compactions: 0 };
  private readonly codec: boolean;
  private readonly seed: number;
  private readonly configure: (c: RaftConfig) => RaftConfig;

  constructor(options: NetworkOptions) {
    this.codec = options.codec ?? true;
    this.seed = options.seed ?? 1;
    this.configure = options.configure ?? ((c) => c);
    const voters = range(1, options.voters).map(nodeId);
    const learners = range(options.voters + 1, options.voters + (options.learners ?? 0)).map(nodeId);
    const initial: ConfigState = { voters, learners, votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of [...voters, ...learners]) this.addNode(id, initial);
  }

  /** Adds a member that starts from `initialConfig` (an empty one for a member joining later). */
  addNode(id: NodeId, initialConfig: ConfigState): TestNode {
    assert(!this.nodes.has(id), `node ${shortId(id)} exists`);
    const config = this.configure(defaultRaftConfig(id));
    const node = new TestNode(id, config, new MemoryStorage(initialConfig), new SeededRandom(this.seed * 1000 + Number(nodeIdToBigInt(id))));
    this.nodes.set(id, node);
    return node;
  }

  node(id: NodeId | number): TestNode {
    const n = this.nodes.get(typeof id === 'number' ? nodeId(id) : id);
    assert(n !== undefined, `no node ${String(id)}`);
    return n;
  }

  engine(id: NodeId | number): RaftEngine {
    return this.node(id).engine;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort();
  }

  // -------------------------------------------------------------------------------------------
  // Driving.

  tick(id: NodeId | number, times = 1): void {
    const n = this.node(id);
    for (let i = 0; i < times && !n.crashed; i++) {
      n.engine.tick();
      this.processReady(n.id);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.ids()) this.tick(id);
  }

  /** Carries out every Ready the member has, in the contract's order. */
  processReady(id: NodeId): void {
    const n = this.node(id);
    for (let guard = 0; !n.crashed && n.inFlight === null && n.engine.hasReady(); guard++) {
      assert(guard < 10_000, 'processReady does not settle');
      this.beginReady(id);
      this.completeReady(id);
    }
  }

  /** First half of a Ready: take it and send what may go before persisting. */
  beginReady(id: NodeId): boolean {
    const n = this.node(id);
    if (n.crashed || n.inFlight !== null || !n.engine.hasReady()) return false;
    const rd = n.engine.ready();
    this.onReady?.(id, rd);
    n.inFlight = rd;
    for (const m of rd.sendBeforePersist) this.send(n, m);
    this.observeSoft(n, rd);
    return true;
  }

  /** Second half: persist, install, send the rest, apply, advance. */
  completeReady(id: NodeId): void {
    const n = this.node(id);
    const rd = n.inFlight;
    if (rd === null || n.crashed) return;
    n.storage.persist(rd);
    if (rd.snapshotChunk !== null) this.counts.chunks++;
    if (rd.snapshotInstall !== null) {
      this.counts.installs++;
      const data = n.storage.install(rd.snapshotInstall);
      n.sm.restore(data);
      for (const e of n.sm.applied) this.observeApplied(n, e);
    }
    for (const m of rd.messages) this.send(n, m);
    for (const e of rd.committed) {
      n.sm.apply(e);
      this.observeApplied(n, e);
    }
    n.readStates.push(...rd.readStates);
    n.readsDropped.push(...rd.readsDropped);
    this.counts.reads += rd.readStates.length;
    this.counts.readsDropped += rd.readsDropped.length;
    n.inFlight = null;
    n.engine.advance(rd);
  }

  /** Delivers one message now, then lets the recipient act on it. */
  deliverOne(m: RaftMessage): string {
    const to = this.nodes.get(m.to);
    if (to === undefined || to.crashed) return 'lost';
    const r = to.engine.step(m);
    this.processReady(to.id);
    return r.type === 'ok' ? 'ok' : r.reason;
  }

  /** Delivers queued messages, and the ones they cause, until none is left (or `max` went). */
  deliver(max = 100_000): Delivery[] {
    const out: Delivery[] = [];
    for (let i = 0; this.queue.length > 0; i++) {
      assert(i < max, 'deliver does not settle');
      const m = this.queue.shift()!;
      out.push({ msg: m, outcome: this.deliverOne(m) });
    }
    return out;
  }

  /** Sends every pending Ready and delivers until the network is quiet. */
  stabilize(): void {
    for (const id of this.ids()) this.processReady(id);
    this.deliver();
  }

  // -------------------------------------------------------------------------------------------
  // Faults.

  cut(a: NodeId | number, b: NodeId | number): void {
    const x = this.node(a).id;
    const y = this.node(b).id;
    this.cutLinks.add(`${x}>${y}`);
    this.cutLinks.add(`${y}>${x}`);
    // What is in flight on the link is lost with it.
    this.queue = this.queue.filter((m) => !((m.from === x && m.to === y) || (m.from === y && m.to === x)));
  }

  isolate(id: NodeId | number): void {
    for (const other of this.ids()) if (other !== this.node(id).id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
    this.filter = null;
  }

  /** Loses every message in flight. */
  dropAll(): void {
    this.queue = [];
  }

  crash(id: NodeId | number): void {
    const n = this.node(id);
    n.crashed = true;
    n.inFlight = null;
    this.counts.crashes++;
  }

  restart(id: NodeId | number): void {
    this.node(id).restart();
    this.counts.restarts++;
  }

  /** The application takes a snapshot at its applied index and tells the engine. */
  compact(id: NodeId | number): SnapshotMeta | null {
    const n = this.node(id);
    const index = n.sm.appliedIndex;
    if (index === 0 || index <= (n.storage.snapshot?.index ?? 0)) return null;
    const data = n.sm.snapshot();
    const t = n.engine.logView().term(index);
    const meta: SnapshotMeta = {
      index: logIndex(index),
      term: toTerm(t),
      config: n.engine.status().config,
      sizeBytes: data.length,
      crc32c: crc32c(data),
    };
    n.engine.compact(meta);
    n.storage.compact(meta, data);
    this.counts.compactions++;
    return meta;
  }

  /** Ticks one member until its election timeout fires (it becomes a (pre-)candidate). */
  campaign(id: NodeId | number): void {
    const e = this.engine(id);
    for (let i = 0; i < 1000; i++) {
      const role = e.status().role;
      if (role !== 'follower' && role !== 'learner') return;
      this.tick(id);
    }
    throw new Error(`${String(id)} never campaigned`);
  }

  /** Makes `id` campaign (as often as needed) and delivers everything until it leads. */
  elect(id: NodeId | number): void {
    for (let i = 0; i < 1000; i++) {
      this.stabilize();
      if (this.engine(id).status().role === 'leader') return;
      this.tick(id);
    }
    throw new Error(`${String(id)} was not elected`);
  }

  /** The member that believes it leads in the highest term, if any. */
  leader(): TestNode | null {
    let best: TestNode | null = null;
    for (const n of this.nodes.values()) {
      if (n.crashed) continue;
      const s = n.engine.status();
      if (s.role === 'leader' && (best === null || s.term > best.engine.status().term)) best = n;
    }
    return best;
  }

  propose(id: NodeId | number, data: string): ReturnType<RaftEngine['propose']> {
    const n = this.node(id);
    const r = n.engine.propose(utf8(data));
    this.processReady(n.id);
    return r;
  }

  // -------------------------------------------------------------------------------------------
  // Inside.

  private send(from: TestNode, m: RaftMessage): void {
    if (this.cutLinks.has(`${m.from}>${m.to}`)) return;
    let msg = m;
    if (msg.type === 'snapshot' && msg.snapshotChunk.data === null) {
      const filled = fillChunk(from, msg);
      if (filled === null) return;
      msg = filled;
    }
    if (this.filter !== null && !this.filter(msg)) return;
    this.queue.push(this.codec ? decodeMessage(encodeMessage(msg)) : msg);
  }

  private observeSoft(n: TestNode, rd: Ready<RaftMessage>): void {
    if (rd.soft === null || rd.soft.role !== 'leader') return;
    const t = rd.soft.term;
    const prior = this.leadersByTerm.get(t);
    if (prior !== undefined && prior !== n.id) {
      this.violations.push(`election safety: ${shortId(prior)} and ${shortId(n.id)} both lead term ${t}`);
    }
    this.leadersByTerm.set(t, n.id);
    // Leader completeness (§5.4): every entry applied anywhere is in the new leader's log.
    const log = n.engine.logView();
    for (const [index, e] of this.appliedByIndex) {
      if (index < log.firstIndex) continue;
      if (log.term(index) !== e.term) {
        this.violations.push(`leader completeness: leader ${shortId(n.id)} of term ${t} lacks applied entry ${index}/${e.term}`);
        break;
      }
    }
  }

  private observeApplied(n: TestNode, e: Entry): void {
    const prior = this.appliedByIndex.get(e.index);
    if (prior === undefined) {
      this.appliedByIndex.set(e.index, e);
      return;
    }
    if (prior.term !== e.term || prior.kind !== e.kind || !sameBytes(prior.data, e.data)) {
      this.violations.push(`state-machine safety: ${shortId(n.id)} applied ${e.index}/${e.term} where ${prior.index}/${prior.term} was applied`);
    }
  }

  /** Log matching (§5.3): two logs with an entry of the same index and term agree up to it. */
  checkLogMatching(): void {
    const ids = this.ids().filter((id) => !this.node(id).crashed);
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = this.engine(ids[i]!).logView();
        const b = this.engine(ids[j]!).logView();
        const lo = Math.max(a.firstIndex, b.firstIndex);
        const hi = Math.min(a.lastIndex, b.lastIndex);
        let agreeFrom = -1;
        for (let k = hi; k >= lo; k--) {
          if (a.term(k) === b.term(k)) {
            agreeFrom = k;
            break;
          }
        }
        for (let k = lo; k <= agreeFrom; k++) {
          const x = a.entry(k)!;
          const y = b.entry(k)!;
          if (x.term !== y.term || !sameBytes(x.data, y.data)) {
            this.violations.push(`log matching: ${shortId(ids[i]!)} and ${shortId(ids[j]!)} agree at ${agreeFrom} but differ at ${k}`);
            return;
          }
        }
      }
    }
  }
}

function fillChunk(from: TestNode, m: Extract<RaftMessage, { type: 'snapshot' }>): RaftMessage | null {
  const c = m.snapshotChunk;
  const data = from.storage.snapshotData;
  const meta = from.storage.snapshot;
  if (data === null || meta === null || meta.index !== c.meta.index || meta.term !== c.meta.term) return null;
  const length = snapshotChunkLength(c.meta, c.offset, snapshotChunkBytesOf(from.config));
  const piece = data.slice(c.offset, c.offset + length);
  return { ...m, snapshotChunk: { ...c, data: piece, crc32c: crc32c(piece) } };
}


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let i = lo; i <= hi; i++) out.push(i);
  return out;
}

/** The change carried by a config entry, for printing. */
export function describeConfigEntry(e: Entry): string {
  const { change } = decodeConfigEntry(e.data);
  if (change.ops.length === 0) return 'leave-joint';
  return change.ops.map((op) => `${op.type} ${shortId(op.node)}`).join(', ') + (change.joint === true ? ' (joint)' : '');
}
