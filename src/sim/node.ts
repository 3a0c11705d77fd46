/**
 * A simulated member: the real driver and a consensus engine over simulated durable storage, with
 * the KV state machine, serving simulated clients. A crash drops everything volatile (engine,
 * driver, timers, buffered writes, pending requests) and keeps the medium, exactly what was synced;
 * a restart rebuilds the engine from it, as a real process would.
 */
import { clusterIdFromBigInt, type NodeId } from '../core/ids.js';
import type { Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import { Driver } from '../consensus/driver.js';
import type { ConfigState, ConsensusEngine, DurableState, EngineMessage, EngineStatus, Entry, SoftState } from '../consensus/types.js';
import type { LogStore, SnapshotStore } from '../consensus/storage.js';
import type { KvOutput } from '../check/history.js';
import type { EngineFactory, EngineTuning } from './engines.js';
import type { EventLoop } from './event-loop.js';
import { encodeCommand, KvStateMachine, type KvApplyResult, type KvCommand } from './kv-state-machine.js';
import { MemoryLogStore, MemoryMedium, MemorySnapshotStore, type IoScheduler } from './memory-storage.js';
import { NO_DISK_FAULTS, SimDisk, type SimDiskOptions } from './disk.js';
import type { StorageParams } from './params.js';
import { isStoragePlantedBug, openSimStorage, type UnacknowledgedOps } from './wal-storage.js';
import { SimRaidDevice } from './raid-device.js';
import type { SimStorageDevice } from './storage-device.js';
import { SimTransport, type SimNetwork } from './network.js';
import { isFatalStorageError } from '../wal/index.js';
import { exponential } from './random-util.js';
import { SimClock } from './sim-clock.js';

export type ClientRequest =
  | { readonly type: 'write'; readonly clientId: number; readonly seq: number; readonly input: KvCommand['input'] }
  | { readonly type: 'read'; readonly key: string };

export type ClientResponse =
  | { readonly type: 'ok'; readonly output: KvOutput }
  /** Not the leader: try `leader` (or anyone, when null). */
  | { readonly type: 'redirect'; readonly leader: NodeId | null }
  /** The request was dropped (lost leadership): try again. */
  | { readonly type: 'retry' };

export interface NodeParams {
  readonly tickMs: number;
  readonly engine: EngineTuning;
  readonly diskLatencyMsMin: number;
  readonly diskLatencyMsMean: number;
  /** Chance that one fsync fails (fatal: the member restarts). */
  readonly syncFailRate: number;
  /**
   * Chance that the process crashes while a sync is in flight (BUGGIFY-style: aims crashes at the
   * window where written-but-unsynced state exists, which random crash times rarely hit).
   */
  readonly crashInSyncRate: number;
  /**
   * Chance that the process dies right after applying an entry (like etcd's apply failpoints): a
   * leader that just committed and applied dies before anything newer spreads.
   */
  readonly crashAfterApplyRate: number;
  readonly snapshotEveryEntries: number;
  /** Snapshot chunk size asked of the engine (small, so transfers take several chunks). */
  readonly snapshotChunkBytes: number;
}

/** What the simulation's checkers hear from a member. */
export interface NodeObserver {
  onSoftState(node: SimNode, soft: SoftState): void;
  onApply(node: SimNode, entry: Entry): void;
  onFatal(node: SimNode, error: unknown): void;
  /** A crash injected at a chosen moment (a sync in flight, right after an apply); the simulation restarts it later. */
  onInjectedCrash(node: SimNode, when: string): void;
  /** Recovery lost something storage had acknowledged as durable (a storage bug). */
  onLostAcknowledged?(node: SimNode, what: string): void;
}

export interface SimNodeOptions {
  readonly id: NodeId;
  readonly loop: EventLoop;
  readonly network: SimNetwork;
  readonly factory: EngineFactory;
  readonly random: Random;
  readonly params: NodeParams;
  readonly observer: NodeObserver;
  readonly initialConfig: ConfigState;
  readonly plantedBug: string | null;
  readonly logger: Logger;
  /** Which storage the member runs; the in-memory stand-in when absent. */
  readonly storage?: StorageParams;
  /** The member's disk faults (from the fault atlas), when it runs the write-ahead log. */
  readonly diskFaults?: Pick<SimDiskOptions, 'faults' | 'corruptible' | 'corruptingFaultsPerLifeMax'>;
}

interface OpenedStores {
  readonly logStore: NodeLogStore;
  readonly snapshotStore: SnapshotStore;
  readonly durable: DurableState;
  readonly unacknowledged: () => UnacknowledgedOps;
}

/** The stores a member runs, and what the checkers need from the log store. */
type NodeLogStore = LogStore & { bufferedAppends(): readonly { readonly entries: readonly Entry[]; readonly replaceSuffix: boolean }[] };

interface Incarnation {
  readonly number: number;
  readonly clock: SimClock;
  readonly logStore: NodeLogStore;
  readonly snapshotStore: SnapshotStore;
  /** Operations handed to storage and not acknowledged yet (the write-ahead log's). */
  readonly unacknowledged: () => UnacknowledgedOps;
  readonly sm: KvStateMachine;
  readonly engine: ConsensusEngine<EngineMessage>;
  readonly driver: Driver<EngineMessage, KvApplyResult>;
  readonly transport: SimTransport<EngineMessage>;
  readonly writes: Map<string, ((r: ClientResponse) => void)[]>;
  readonly reads: Map<number, { key: string; reply: (r: ClientResponse) => void }>;
  nextReadId: number;
  alive: boolean;
}

export class SimNode {
  readonly id: NodeId;
  /** What survives crashes. */
  readonly medium = new MemoryMedium();
  /** The member's disk (or RAID volume) when it runs the write-ahead log; it outlives crashes, like the medium. */
  readonly disk: SimStorageDevice | null;
  private inc: Incarnation | null = null;
  private incarnations = 0;
  private params: NodeParams;
  private opening = false;
  /** What the last incarnation handed to storage without an acknowledgement when it crashed. */
  private unacknowledgedAtCrash: UnacknowledgedOps = [];

  /**
   * The index through which this member stands behind committed entries its storage may have lost:
   * the storage's repair point, or the engine's own mark in the acknowledged hard state.
   */
  durableRepairPoint(): number {
    const hs = this.medium.hardState;
    let engine = 0;
    if (hs !== null && this.o.factory.durableRepairPoint !== undefined) {
      try {
        engine = this.o.factory.durableRepairPoint(hs);
      } catch {
        engine = 0; // a hard state the engine cannot read vouches for nothing
      }
    }
    return Math.max(this.medium.repairUntil, engine);
  }

  constructor(private readonly o: SimNodeOptions) {
    this.id = o.id;
    this.params = o.params;
    const storage = o.storage;
    if (storage === undefined || storage.kind === 'memory') {
      this.disk = null;
      return;
    }
    const random = o.random.fork();
    if (storage.raid !== undefined) {
      this.disk = new SimRaidDevice({
        name: `node ${o.id.slice(-2)}`,
        loop: o.loop,
        random,
        raid: storage.raid,
        sectorBytes: storage.sectorBytes,
        faultIntensity: storage.faultIntensity,
        syncFailRate: o.params.syncFailRate,
        schedule: (fn) => o.loop.schedule(this.params.diskLatencyMsMin + exponential(random, this.params.diskLatencyMsMean), `disk ${o.id.slice(-2)}`, fn),
        onSync: () => this.maybeCrashInSync(random),
        logger: o.logger.child({ node: o.id.slice(-2) }),
      });
      return;
    }
    const faults = o.diskFaults?.faults ?? NO_DISK_FAULTS;
    this.disk = new SimDisk({
      name: `disk ${o.id.slice(-2)}`,
      random,
      sectorBytes: storage.sectorBytes,
      schedule: (fn) => o.loop.schedule(this.params.diskLatencyMsMin + exponential(random, this.params.diskLatencyMsMean), `disk ${o.id.slice(-2)}`, fn),
      faults: { ...faults, fsyncErrorProbability: o.params.syncFailRate },
      ...(o.diskFaults?.corruptible === undefined ? {} : { corruptible: o.diskFaults.corruptible }),
      ...(o.diskFaults?.corruptingFaultsPerLifeMax === undefined ? {} : { corruptingFaultsPerLifeMax: o.diskFaults.corruptingFaultsPerLifeMax }),
      onSync: () => this.maybeCrashInSync(random),
    });
  }

  /** Turns the member's disk faults off (the liveness phase). */
  healDisk(): void {
    this.disk?.setFaults(NO_DISK_FAULTS);
  }

  /** Changes fault rates for the next disk operations (the liveness phase turns faults off). */
  setParams(params: NodeParams): void {
    this.params = params;
  }

  get up(): boolean {
    return this.inc?.alive === true && this.inc.driver.running;
  }

  get incarnation(): number {
    return this.incarnations;
  }

  status(): EngineStatus | null {
    return this.up ? this.inc!.engine.status() : null;
  }

  get stateMachine(): KvStateMachine | null {
    return this.inc?.alive === true ? this.inc.sm : null;
  }

  /** Entries the driver has handed to storage, durable or not yet: the member's log as the checkers see it. */
  logEntry(index: number): Entry | null {
    const buffered = this.inc?.alive === true ? this.inc.logStore.bufferedAppends() : [];
    // Newest write first: it either holds the index or, replacing a suffix before it, erased it.
    for (let b = buffered.length - 1; b >= 0; b--) {
      const { entries, replaceSuffix } = buffered[b]!;
      const first = entries[0]!.index;
      const found = entries.find((e) => e.index === index);
      if (found !== undefined) return found;
      if (replaceSuffix && first <= index) return null;
    }
    return this.medium.entry(index);
  }

  /** An upper bound of the member's last log index (durable or buffered). */
  logLastIndex(): number {
    let last = this.medium.lastIndex;
    if (this.inc?.alive === true) for (const b of this.inc.logStore.bufferedAppends()) last = Math.max(last, b.entries[b.entries.length - 1]!.index);
    return last;
  }

  /** BUGGIFY: sometimes crash while a sync is in flight, where written-but-unsynced state exists. */
  private maybeCrashInSync(random: Random): void {
    const inc = this.inc;
    if (inc === null || !inc.alive || !random.chance(this.params.crashInSyncRate)) return;
    const at = exponential(random, this.params.diskLatencyMsMean + this.params.diskLatencyMsMin);
    this.o.loop.schedule(at, `crash-in-sync ${this.id.slice(-2)}`, () => {
      if (this.inc !== inc || !inc.alive) return;
      this.crash();
      this.o.observer.onInjectedCrash(this, 'in sync');
    });
  }

  /** The in-memory stand-in stores (opened synchronously, so runs without the WAL replay as before). */
  private openMemoryStorage(io: IoScheduler): OpenedStores {
    const logStore = new MemoryLogStore(this.medium, io);
    return { logStore, snapshotStore: new MemorySnapshotStore(this.medium, io), durable: this.medium.recover(this.o.initialConfig), unacknowledged: () => [] };
  }

  /** The write-ahead log and snapshot store over the member's SimDisk, recovered from what it holds. */
  private async openWalStorage(disk: SimStorageDevice, label: string): Promise<OpenedStores | null> {
    const bug = this.o.plantedBug;
    try {
      const st = await openSimStorage({
        disk: disk.mount(),
        medium: this.medium,
        unacknowledged: this.unacknowledgedAtCrash,
        clusterId: clusterIdFromBigInt(0x5157n),
        memberId: this.id,
        protocol: this.o.factory.kind === 'paxos' ? 'paxos' : 'raft',
        segmentBytes: this.o.storage!.segmentBytes,
        plantedBug: isStoragePlantedBug(bug) ? bug : null,
        logger: this.o.logger.child({ node: label }),
      });
      if (st.lostAcknowledged !== null) this.o.observer.onLostAcknowledged?.(this, st.lostAcknowledged);
      const leaked = disk.checkRecovery?.(st.report) ?? null;
      if (leaked !== null) this.o.observer.onLostAcknowledged?.(this, leaked);
      return { logStore: st.logStore, snapshotStore: st.snapshotStore, durable: { ...st.durable, initialConfig: this.o.initialConfig }, unacknowledged: st.unacknowledged };
    } catch (e) {
      // The disk failed while recovering (a fatal write): the process exits; it is restarted later.
      this.o.observer.onFatal(this, e);
      return null;
    }
  }

  async start(): Promise<void> {
    if (this.inc?.alive === true || this.opening) return;
    const number = ++this.incarnations;
    const label = `${this.id.slice(-2)}#${number}`;
    const random = this.o.random.fork();
    const clock = new SimClock(this.o.loop, label);
    const p = this.params;
    const io: IoScheduler = {
      defer: (fn) => {
        this.o.loop.schedule(this.params.diskLatencyMsMin + exponential(random, this.params.diskLatencyMsMean), `disk ${label}`, fn);
      },
      syncFails: () => {
        if (random.chance(this.params.crashInSyncRate)) {
          const at = exponential(random, this.params.diskLatencyMsMean + this.params.diskLatencyMsMin);
          this.o.loop.schedule(at, `crash-in-sync ${label}`, () => {
            if (this.inc !== inc || !inc.alive) return;
            this.crash();
            this.o.observer.onInjectedCrash(this, 'in sync');
          });
        }
        return random.chance(this.params.syncFailRate);
      },
    };
    let stores: OpenedStores | null;
    if (this.disk === null) stores = this.openMemoryStorage(io);
    else {
      this.opening = true;
      stores = await this.openWalStorage(this.disk, label).finally(() => {
        this.opening = false;
      });
    }
    if (stores === null) return;
    const { logStore, snapshotStore, durable, unacknowledged } = stores;
    const engineBug = isStoragePlantedBug(this.o.plantedBug) ? null : this.o.plantedBug;
    const chunkBytes = this.o.factory.snapshotChunkBytes(p.snapshotChunkBytes);
    const engine = this.o.factory.create({ id: this.id, durable, random: random.fork(), plantedBug: engineBug, tuning: p.engine, snapshotChunkBytes: chunkBytes });
    const transport = new SimTransport<EngineMessage>(this.o.network, this.id, engine);
    const sm = new KvStateMachine();
    const writes = new Map<string, ((r: ClientResponse) => void)[]>();
    const reads = new Map<number, { key: string; reply: (r: ClientResponse) => void }>();
    const inc: Incarnation = { number, clock, logStore, snapshotStore, unacknowledged, sm, engine, driver: null!, transport, writes, reads, nextReadId: 1, alive: true };
    const driver = new Driver<EngineMessage, KvApplyResult>({
      engine,
      logStore: logStore satisfies LogStore,
      snapshotStore: snapshotStore satisfies SnapshotStore,
      stateMachine: sm,
      transport,
      clock,
      logger: this.o.logger.child({ node: label }),
      tickMs: p.tickMs,
      snapshotEveryEntries: p.snapshotEveryEntries,
      snapshotChunkBytes: chunkBytes,
      snapshotsKeep: 2,
      // As the member does: a snapshot temp file that could not be written is not fatal.
      isFatalSnapshotError: isFatalStorageError,
      onFatal: (e) => {
        if (!inc.alive) return;
        this.o.observer.onFatal(this, e);
        this.crash();
      },
      hooks: {
        onSoftState: (soft) => {
          if (inc.alive) this.o.observer.onSoftState(this, soft);
        },
        onApply: (entry, result) => {
          if (!inc.alive) return;
          this.o.observer.onApply(this, entry);
          this.answerWrite(inc, result);
          if (random.chance(this.params.crashAfterApplyRate)) {
            this.o.loop.schedule(0, `crash-after-apply ${label}`, () => {
              if (this.inc !== inc || !inc.alive) return;
              this.crash();
              this.o.observer.onInjectedCrash(this, 'after apply');
            });
          }
        },
        onReadState: (rs) => {
          const r = inc.reads.get(rs.requestId);
          if (r === undefined || !inc.alive) return;
          inc.reads.delete(rs.requestId);
          r.reply({ type: 'ok', output: { type: 'get', value: inc.sm.get(r.key) } });
        },
        onReadDropped: (id) => {
          const r = inc.reads.get(id);
          if (r === undefined || !inc.alive) return;
          inc.reads.delete(id);
          r.reply({ type: 'retry' });
        },
      },
    });
    (inc as { driver: Driver<EngineMessage, KvApplyResult> }).driver = driver;
    this.inc = inc;
    try {
      await driver.start();
    } catch (e) {
      if (inc.alive) {
        this.o.observer.onFatal(this, e);
        this.crash();
      }
    }
  }

  /** The process dies: volatile state is gone, the medium keeps what was synced. */
  crash(): void {
    const inc = this.inc;
    if (inc === null || !inc.alive) return;
    inc.alive = false;
    inc.clock.kill();
    if (inc.logStore instanceof MemoryLogStore) inc.logStore.crash();
    if (inc.snapshotStore instanceof MemorySnapshotStore) inc.snapshotStore.crash();
    if (this.disk !== null) {
      this.unacknowledgedAtCrash = inc.unacknowledged();
      this.disk.crash();
    }
    inc.transport.close();
    inc.writes.clear();
    inc.reads.clear();
  }

  /** A client request arriving at this member. The reply may never come (crash, lost proposal). */
  handle(req: ClientRequest, reply: (r: ClientResponse) => void): void {
    const inc = this.inc;
    if (inc === null || !inc.alive || !inc.driver.running) return;
    switch (req.type) {
      case 'write': {
        const r = inc.driver.propose(encodeCommand({ clientId: req.clientId, seq: req.seq, input: req.input }));
        if (r.type === 'rejected') {
          reply({ type: 'redirect', leader: r.leader });
          return;
        }
        const key = `${req.clientId}:${req.seq}`;
        const waiting = inc.writes.get(key) ?? [];
        waiting.push(reply);
        inc.writes.set(key, waiting);
        return;
      }
      case 'read': {
        const id = inc.nextReadId++;
        inc.reads.set(id, { key: req.key, reply });
        const r = inc.driver.readIndex(id);
        if (r.type === 'rejected') {
          inc.reads.delete(id);
          reply({ type: 'redirect', leader: r.leader });
        }
        return;
      }
    }
  }

  private answerWrite(inc: Incarnation, result: KvApplyResult): void {
    if (result.type !== 'applied' && result.type !== 'duplicate') return;
    const key = `${result.clientId}:${result.seq}`;
    const waiting = inc.writes.get(key);
    if (waiting === undefined) return;
    inc.writes.delete(key);
    for (const reply of waiting) reply({ type: 'ok', output: result.output });
  }

  describe(): string {
    const s = this.status();
    return s === null ? `${this.id.slice(-2)} down` : `${this.id.slice(-2)} ${s.role} t${s.term} commit ${s.commitIndex} applied ${this.inc?.sm.appliedIndex ?? 0} last ${s.lastIndex}`;
  }
}
