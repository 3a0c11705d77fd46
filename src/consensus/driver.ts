/**
 * The driver: the one loop that carries out an engine's Ready, in the order written at the top of
 * types.ts. It owns the tick timer, feeds incoming messages to the engine, and keeps the engine's
 * promises true: nothing that claims durability is sent before the sync that makes it durable, and
 * nothing is applied before it is durable locally.
 *
 * Group commit falls out of the loop's shape: while a sync is in flight the engine keeps accepting
 * proposals and messages, and everything that arrived goes out in the next Ready with one sync.
 *
 * A failed write or sync is fatal (fsyncgate: after a failed fsync the kernel may have dropped the
 * dirty pages, so a retry can "succeed" over lost data). The driver stops and calls `onFatal`; the
 * member must restart and recover from disk.
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import type { LogIndex, Term } from '../core/ids.js';
import { errorMessage } from '../core/errors.js';
import { logIndex, term } from '../core/ids.js';
import { SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { Transport } from '../env/transport.js';
import { ConsensusError } from './errors.js';
import type { LogStore, SnapshotSource, SnapshotStore, StateMachine } from './storage.js';
import type {
  ConfigChange,
  ConsensusEngine,
  EngineMessage,
  EngineStatus,
  Entry,
  ProposeResult,
  ReadIndexResult,
  ReadState,
  Ready,
  SnapshotChunk,
  SnapshotMeta,
  SoftState,
  TransferResult,
} from './types.js';
import type { NodeId } from '../core/ids.js';

export interface DriverHooks<R> {
  /** An entry was applied; `result` is what the state machine returned. */
  readonly onApply?: (entry: Entry, result: R) => void;
  /** A read request may now be served: its read index is applied. */
  readonly onReadState?: (readState: ReadState) => void;
  /** A read request will not be answered: tell the client to retry. */
  readonly onReadDropped?: (requestId: number) => void;
  readonly onSoftState?: (soft: SoftState) => void;
}

export interface DriverOptions<M extends EngineMessage, R> {
  readonly engine: ConsensusEngine<M>;
  readonly logStore: LogStore;
  readonly snapshotStore: SnapshotStore;
  readonly stateMachine: StateMachine<R>;
  readonly transport: Transport<M>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Milliseconds per engine tick. */
  readonly tickMs: number;
  /**
   * When the clock shows the driver more than a tick behind (the process was paused, or the event
   * loop blocked), deliver up to this many missed ticks before the next input, so the engine's idea
   * of time — leases, check-quorum — does not stand still across the pause. 0 (the default) ticks
   * once per timer firing, whatever the clock says.
   */
  readonly tickCatchUpMax?: number;
  /** Take a snapshot after this many entries applied since the last one; 0 never. */
  readonly snapshotEveryEntries: number;
  /**
   * Also take one after this many bytes of entry data applied since the last one, so a log of large
   * entries is compacted (and replayed on restart) within a bounded size; 0 or absent never.
   */
  readonly snapshotEveryBytes?: number;
  /**
   * Whether a failed automatic snapshot save must stop the member. Absent: every failure is fatal.
   * The member passes the store's own rule (isFatalStorageError): a failed fsync, rename or directory
   * fsync is fatal; ENOSPC writing the temp file only means the snapshot is not taken this time.
   */
  readonly isFatalSnapshotError?: (error: unknown) => boolean;
  /** Snapshots kept on disk after a new one is saved. */
  readonly snapshotsKeep: number;
  /**
   * Bytes of each snapshot chunk the engine cuts (the engine's own setting; SNAPSHOT_CHUNK_BYTES by
   * default). The sending side reads exactly min(this, bytes left) at each chunk's offset.
   */
  readonly snapshotChunkBytes?: number;
  /** Called once when a write or sync fails; the driver has stopped and the member must restart. */
  readonly onFatal: (error: unknown) => void;
  readonly hooks?: DriverHooks<R>;
}

export interface DriverCounters {
  readies: number;
  fsyncs: number;
  entriesPersisted: number;
  entriesPerSyncMax: number;
  messagesSent: number;
  messagesReceived: number;
  /** Messages the engine refused, by the reason it gave. */
  messagesDropped: Record<string, number>;
  entriesApplied: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  snapshotChunksSent: number;
  snapshotChunksReceived: number;
  readStatesDelivered: number;
  readsDropped: number;
  /** Ticks delivered late because the clock showed the driver behind (a paused process). */
  ticksCaughtUp: number;
  /** Hard states written without a sync of their own (commit-only changes). */
  hardStatesDeferred: number;
  /** Automatic snapshots that failed without stopping the member (isFatalSnapshotError said no). */
  snapshotsFailed: number;
}

type DriverState = 'created' | 'running' | 'stopping' | 'stopped' | 'failed';

export class Driver<M extends EngineMessage, R> {
  readonly counters: DriverCounters = {
    readies: 0,
    fsyncs: 0,
    entriesPersisted: 0,
    entriesPerSyncMax: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: {},
    entriesApplied: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    snapshotChunksSent: 0,
    snapshotChunksReceived: 0,
    readStatesDelivered: 0,
    readsDropped: 0,
    ticksCaughtUp: 0,
    hardStatesDeferred: 0,
    snapshotsFailed: 0,
  };

  private state: DriverState = 'created';
  private ticker: Timer | null = null;
  /** When ticking started, and ticks delivered since (see tickCatchUpMax). */
  private tickEpochMs = 0;
  private ticksDelivered = 0;
  private pumping = false;
  private pumpDone: Promise<void> = Promise.resolve();
  private snapshotTask: Promise<void> | null = null;
  /** From the start of an automatic snapshot until its compaction is done (or it failed). */
  private snapshotBusy = false;
  private pendingCompaction: SnapshotMeta | null = null;
  /** Read states whose index is not applied yet, in arrival order. */
  private readonly pendingReads: ReadState[] = [];
  /** Index of the last snapshot made or installed; the next automatic one counts from here. */
  private snapshotIndex: LogIndex = logIndex(0);
  /**
   * The applied index at the last snapshot started, made or installed, and the bytes of entry data
   * applied since: the automatic triggers count from here (after a failed save, a full interval).
   */
  private triggerIndex = 0;
  private bytesSinceTrigger = 0;
  private appliedTerm: Term = term(0);
  /** The highest index durable in the local log; committed entries never pass it. */
  private durableLastIndex: LogIndex = logIndex(0);
  /** The meta of the last received snapshot made durable by finishReceive. */
  private receivedSnapshot: SnapshotMeta | null = null;

  private readonly chunkBytes: number;

  constructor(private readonly o: DriverOptions<M, R>) {
    assert(o.tickMs > 0, 'tickMs must be positive');
    this.chunkBytes = o.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES;
    assert(this.chunkBytes > 0, 'snapshotChunkBytes must be positive');
    assert(o.snapshotEveryEntries >= 0 && (o.snapshotEveryBytes ?? 0) >= 0 && o.snapshotsKeep >= 1, 'snapshot options out of range');
  }

  /**
   * Restores the state machine from the newest snapshot if it is behind it, then starts ticking and
   * listening. The engine must have been built from the same durable state.
   */
  async start(): Promise<void> {
    assert(this.state === 'created', 'a driver starts once');
    const latest = this.o.snapshotStore.latest();
    if (latest !== null) {
      this.snapshotIndex = latest.index;
      this.triggerIndex = latest.index;
      if (this.o.stateMachine.appliedIndex < latest.index) await this.restoreStateMachine(latest);
      this.appliedTerm = latest.term;
    }
    this.durableLastIndex = this.o.engine.status().lastIndex;
    this.state = 'running';
    this.o.transport.onMessage((m) => this.receive(m));
    this.tickEpochMs = this.o.clock.nowMs();
    this.ticksDelivered = 0;
    this.ticker = this.o.clock.setInterval(() => this.tick(), this.o.tickMs);
    this.kick();
  }

  /** Stops ticking and listening, lets the Ready in progress finish, and waits for a snapshot being saved. */
  async stop(): Promise<void> {
    if (this.state === 'running') this.state = 'stopping';
    this.ticker?.cancel();
    this.ticker = null;
    await this.pumpDone;
    await this.snapshotTask;
    if (this.state === 'stopping') this.state = 'stopped';
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  status(): EngineStatus {
    return this.o.engine.status();
  }

  propose(data: Uint8Array): ProposeResult {
    this.assertRunning();
    this.catchUpTicks();
    const r = this.o.engine.propose(data);
    this.kick();
    return r;
  }

  proposeConfigChange(change: ConfigChange): ProposeResult {
    this.assertRunning();
    this.catchUpTicks();
    const r = this.o.engine.proposeConfigChange(change);
    this.kick();
    return r;
  }

  readIndex(requestId: number): ReadIndexResult {
    this.assertRunning();
    this.catchUpTicks();
    const r = this.o.engine.readIndex(requestId);
    this.kick();
    return r;
  }

  transferLeadership(to: NodeId): TransferResult {
    this.assertRunning();
    this.catchUpTicks();
    const r = this.o.engine.transferLeadership(to);
    this.kick();
    return r;
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw new ConsensusError('stopped', `the consensus driver is ${this.state}`);
  }

  private tick(): void {
    if (this.state !== 'running') return;
    this.o.engine.tick();
    this.ticksDelivered++;
    this.catchUpTicks();
    this.kick();
  }

  /** Delivers the ticks the clock says were missed, when more than one was (see tickCatchUpMax). */
  private catchUpTicks(): void {
    const max = this.o.tickCatchUpMax ?? 0;
    if (max === 0) return;
    const owed = Math.floor((this.o.clock.nowMs() - this.tickEpochMs) / this.o.tickMs) - this.ticksDelivered;
    if (owed < 2) return;
    const n = Math.min(owed, max);
    for (let i = 0; i < n; i++) this.o.engine.tick();
    this.counters.ticksCaughtUp += n;
    // Ticks beyond the bound are forgiven: the engine has seen enough time pass to act on it.
    this.ticksDelivered += owed;
  }

  private receive(m: M): void {
    if (this.state !== 'running') return;
    this.catchUpTicks();
    this.counters.messagesReceived++;
    const r = this.o.engine.step(m);
    if (r.type === 'dropped') this.counters.messagesDropped[r.reason] = (this.counters.messagesDropped[r.reason] ?? 0) + 1;
    this.kick();
  }

  /** Starts the loop unless it is already running; it drains every Ready, then goes idle. */
  private kick(): void {
    if (this.state !== 'running' || this.pumping) return;
    this.pumping = true;
    this.pumpDone = this.pump();
  }

  private async pump(): Promise<void> {
    try {
      while (this.state === 'running') {
        const compaction = this.pendingCompaction;
        if (compaction !== null) {
          this.pendingCompaction = null;
          await this.compact(compaction);
          continue;
        }
        if (!this.o.engine.hasReady()) break;
        const rd = this.o.engine.ready();
        this.counters.readies++;
        await this.carryOut(rd);
        if (this.failed) return;
        this.o.engine.advance(rd);
        this.maybeSnapshot();
      }
    } catch (e) {
      this.fail(e);
    } finally {
      // Cleared synchronously with the last hasReady() check, so a kick() never goes missing.
      this.pumping = false;
    }
  }

  private async carryOut(rd: Ready<M>): Promise<void> {
    if (rd.soft !== null) this.o.hooks?.onSoftState?.(rd.soft);
    // 1. Leader appends: they promise nothing about this member's disk.
    await this.sendAll(rd.sendBeforePersist);
    // 2. Persist: snapshot chunk, entries, hard state, one sync.
    await this.persist(rd);
    // 3. Install a received snapshot.
    if (rd.snapshotInstall !== null) await this.install(rd.snapshotInstall);
    // 4. Messages that promise step 2 is durable.
    await this.sendAll(rd.messages);
    // 5. Apply and release reads.
    this.apply(rd.committed);
    for (const rs of rd.readStates) this.pendingReads.push(rs);
    this.releaseReads();
    for (const id of rd.readsDropped) {
      this.counters.readsDropped++;
      this.o.hooks?.onReadDropped?.(id);
    }
  }

  private async persist(rd: Ready<M>): Promise<void> {
    const chunk = rd.snapshotChunk;
    if (chunk !== null) {
      assert(chunk.data !== null && chunk.data.length > 0 || chunk.meta.sizeBytes === 0, 'a received snapshot chunk carries its data');
      this.counters.snapshotChunksReceived++;
      await this.o.snapshotStore.receiveChunk(chunk);
      if (chunk.last) {
        await this.o.snapshotStore.finishReceive(chunk.meta);
        this.receivedSnapshot = chunk.meta;
      }
    }
    if (rd.snapshotInstall !== null) {
      const meta = rd.snapshotInstall;
      assert(this.receivedSnapshot !== null && this.receivedSnapshot.index === meta.index && this.receivedSnapshot.term === meta.term, 'a snapshot is installed only after it was received in full');
      // The reset, the entries kept above the snapshot and the hard state in one durable step:
      // a crash between them would leave a Paxos acceptor that forgot values it accepted.
      await this.o.logStore.resetWith(meta.index, rd.entries, rd.hardState);
      this.counters.fsyncs++;
      this.counters.entriesPersisted += rd.entries.length;
      this.counters.entriesPerSyncMax = Math.max(this.counters.entriesPerSyncMax, rd.entries.length);
      this.durableLastIndex = logIndex(rd.entries.reduce<number>((max, e) => Math.max(max, e.index), meta.index));
      return;
    }
    const entries = rd.entries;
    for (let i = 1; i < entries.length; i++) {
      assert(!rd.entriesReplaceSuffix || entries[i]!.index === entries[i - 1]!.index + 1, 'a log suffix is contiguous');
    }
    if (entries.length > 0) this.o.logStore.append(entries, rd.entriesReplaceSuffix);
    if (rd.hardState !== null) this.o.logStore.setHardState(rd.hardState);
    // A commit-only hard state rides along with the next sync: nothing sent or applied depends on
    // it being durable, and it saved one fsync per write on every member.
    const hardStateMustSync = rd.hardState !== null && rd.hardStateMustSync !== false;
    if (rd.hardState !== null && !hardStateMustSync) this.counters.hardStatesDeferred++;
    if (entries.length > 0 || hardStateMustSync) {
      await this.o.logStore.sync();
      this.counters.fsyncs++;
      this.counters.entriesPersisted += entries.length;
      this.counters.entriesPerSyncMax = Math.max(this.counters.entriesPerSyncMax, entries.length);
      if (entries.length > 0) {
        const last = entries[entries.length - 1]!.index;
        this.durableLastIndex = rd.entriesReplaceSuffix ? last : logIndex(Math.max(this.durableLastIndex, last));
      }
    }
  }

  private async install(meta: SnapshotMeta): Promise<void> {
    await this.restoreStateMachine(meta);
    this.snapshotIndex = meta.index;
    this.triggerIndex = meta.index;
    this.bytesSinceTrigger = 0;
    this.appliedTerm = meta.term;
    this.counters.snapshotsInstalled++;
    // Reads waiting for an index the snapshot covers can go now.
    this.releaseReads();
  }

  private async restoreStateMachine(meta: SnapshotMeta): Promise<void> {
    const sink = this.o.stateMachine.restore(meta.index);
    try {
      for (let offset = 0; offset < meta.sizeBytes; ) {
        const data = await this.o.snapshotStore.read(meta, offset, Math.min(this.chunkBytes, meta.sizeBytes - offset));
        assert(data.length > 0, 'a snapshot read returns data before its end');
        sink.write(data);
        offset += data.length;
      }
      sink.finish();
    } catch (e) {
      throw new ConsensusError('snapshot-restore-failed', `restoring the state machine from snapshot ${meta.index}: ${errorMessage(e)}`, { cause: e });
    }
    assert(this.o.stateMachine.appliedIndex === meta.index, 'a restored state machine is at the snapshot index');
  }

  private apply(committed: readonly Entry[]): void {
    const sm = this.o.stateMachine;
    for (const e of committed) {
      assert(e.index === sm.appliedIndex + 1, `committed entries apply in order: got ${e.index} after ${sm.appliedIndex}`);
      assert(e.index <= this.durableLastIndex, `entry ${e.index} is committed before it is durable locally (durable up to ${this.durableLastIndex})`);
      const result = sm.apply(e);
      this.appliedTerm = e.term;
      this.bytesSinceTrigger += e.data.length;
      this.counters.entriesApplied++;
      this.o.hooks?.onApply?.(e, result);
    }
  }

  private releaseReads(): void {
    const applied = this.o.stateMachine.appliedIndex;
    let kept = 0;
    for (const rs of this.pendingReads) {
      if (rs.index <= applied) {
        this.counters.readStatesDelivered++;
        this.o.hooks?.onReadState?.(rs);
      } else {
        this.pendingReads[kept++] = rs;
      }
    }
    this.pendingReads.length = kept;
  }

  /**
   * Sends messages in order. Only a snapshot chunk needs an await (its bytes are read from the
   * snapshot store); everything else goes out without yielding, one microtask less per message.
   */
  private async sendAll(ms: readonly M[]): Promise<void> {
    for (const m of ms) {
      const c = m.snapshotChunk;
      if (c !== undefined && c.data === null) await this.sendChunk(m, c);
      else this.sendNow(m);
    }
  }

  private sendNow(m: M): void {
    if (this.state === 'failed') return;
    this.counters.messagesSent++;
    this.o.transport.send(m);
  }

  /** Sends a snapshot chunk, first filling its bytes from the snapshot store. */
  private async sendChunk(m: M, c: SnapshotChunk): Promise<void> {
    let data: Uint8Array;
    try {
      data = await this.o.snapshotStore.read(c.meta, c.offset, Math.min(this.chunkBytes, c.meta.sizeBytes - c.offset));
    } catch (e) {
      // Not our durability at stake: the engine resends after a timeout. Count and move on.
      this.o.logger.warn('cannot read snapshot to send', { index: c.meta.index, offset: c.offset, error: errorMessage(e) });
      this.counters.messagesDropped['snapshot-read-failed'] = (this.counters.messagesDropped['snapshot-read-failed'] ?? 0) + 1;
      return;
    }
    this.counters.snapshotChunksSent++;
    this.sendNow({ ...m, snapshotChunk: { ...c, data, crc32c: crc32c(data) } });
  }

  /** Starts an automatic snapshot when enough entries or bytes were applied since the last one. */
  private maybeSnapshot(): void {
    const entries = this.o.snapshotEveryEntries;
    const bytes = this.o.snapshotEveryBytes ?? 0;
    const sm = this.o.stateMachine;
    if (this.snapshotBusy || sm.appliedIndex <= this.snapshotIndex) return;
    const due = (entries > 0 && sm.appliedIndex - this.triggerIndex >= entries) || (bytes > 0 && this.bytesSinceTrigger >= bytes);
    if (!due) return;
    this.snapshotBusy = true;
    const source = sm.snapshot();
    assert(source.index === sm.appliedIndex, 'a snapshot source is taken at the applied index');
    this.triggerIndex = source.index;
    this.bytesSinceTrigger = 0;
    const meta = { index: source.index, term: this.appliedTerm, config: this.o.engine.status().config };
    this.snapshotTask = this.saveSnapshot(source, meta).finally(() => {
      this.snapshotTask = null;
    });
  }

  private async saveSnapshot(source: SnapshotSource, meta: Omit<SnapshotMeta, 'sizeBytes' | 'crc32c'>): Promise<void> {
    try {
      const saved = await this.o.snapshotStore.save(meta, yieldEach(source.chunks()));
      this.counters.snapshotsTaken++;
      if (this.state !== 'running') {
        this.snapshotBusy = false;
        return;
      }
      this.pendingCompaction = saved;
      this.kick();
    } catch (e) {
      this.snapshotBusy = false;
      if (this.o.isFatalSnapshotError?.(e) === false) {
        // Nothing was promised or replaced: the log stays as it is, the next try a full interval on.
        this.counters.snapshotsFailed++;
        this.o.logger.warn('automatic snapshot not taken', { index: meta.index, error: errorMessage(e) });
        return;
      }
      this.fail(e);
    }
  }

  /** Runs inside the loop, between Readies, so the engine is never compacted mid-Ready. */
  private async compact(meta: SnapshotMeta): Promise<void> {
    try {
      if (meta.index <= this.snapshotIndex) return; // a newer snapshot was installed meanwhile
      this.snapshotIndex = meta.index;
      this.o.engine.compact(meta);
      await this.o.logStore.compact(meta.index);
      await this.o.snapshotStore.prune(this.o.snapshotsKeep);
    } finally {
      this.snapshotBusy = false;
    }
  }

  private fail(e: unknown): void {
    if (this.state === 'failed') return;
    this.state = 'failed';
    this.ticker?.cancel();
    this.ticker = null;
    this.o.logger.error('consensus driver stopped on a fatal error', { error: errorMessage(e) });
    this.o.onFatal(e);
  }
}

/** Hands chunks over one at a time, so the loop runs between the writes of a large snapshot. */
async function* yieldEach(chunks: Iterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for (const c of chunks) yield c;
}
