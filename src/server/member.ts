/**
 * One member of a Bulwark cluster at run time: the consensus driver running the engine over the
 * write-ahead log and snapshot store, the MVCC store it applies to, the peer transport, and the
 * requests waiting on them. The gRPC services and HTTP endpoints (server.ts) call into this.
 *
 * A write: `propose` tags the command with a request id (this member's id and a counter), hands it
 * to the engine (which forwards it to the leader when this member follows), and waits until an entry
 * with that id is applied here. A linearizable read: `readBarrier` asks the engine for a read index
 * and waits until this member has applied it; then the caller reads the local store.
 */
import { assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { logIndex, term as toTerm, type ClusterId, type LogIndex, type NodeId, type Term } from '../core/ids.js';
import { LESSOR_TICK_MS, PROPOSALS_PENDING_MAX, PUBLISH_RETRY_MS, READS_PENDING_MAX, REQUEST_TIMEOUT_MS_BASE, SNAPSHOTS_KEPT, WAL_PREALLOCATE_BYTES_DEFAULT } from '../core/limits.js';
import { Driver } from '../consensus/driver.js';
import type { ConfigChange, ConsensusEngine, EngineMessage, EngineStatus, Entry, ProposeResult, ReadState, RejectReason, SoftState } from '../consensus/types.js';
import type { Disk } from '../env/disk.js';
import type { Env } from '../env/env.js';
import type { Timer } from '../env/clock.js';
import { encodeCommand, type Op, type SessionTag } from '../kv/command.js';
import { KvError } from '../kv/errors.js';
import { KvStore } from '../kv/kv-store.js';
import { Lessor } from '../kv/lessor.js';
import type { MemberInfo } from '../kv/members.js';
import type { ApplyResult } from '../kv/results.js';
import { TcpTransport, parsePeerUrl, type PeerStats } from '../transport/tcp-transport.js';
import type { PeerAddress } from '../transport/peer-link.js';
import { isFatalStorageError, openStorage, type OpenedStorage } from '../wal/index.js';
import { encodeClusterDescription, resolveBootstrap, type Bootstrap } from './bootstrap.js';
import type { ServerConfig } from './config.js';
import { createEngine } from './engine-factory.js';
import { ServerError, type ServerErrorCode } from './errors.js';
import { MemberMetrics } from './member-metrics.js';
import { Waiters } from './waiters.js';
import { NO_FAILPOINTS, type Failpoints } from './failpoints.js';
import { ObservedLogStore } from './observed-log-store.js';

export interface MemberOptions {
  readonly config: ServerConfig;
  readonly env: Env;
  /** The data directory (a plain directory or a RAID volume). */
  readonly disk: Disk;
  /** Called when the member cannot go on (fsync failure, removed from the cluster): the process should exit. */
  readonly onFatal: (reason: string, error?: unknown) => void;
  readonly failpoints?: Failpoints;
}

export interface IndexWait {
  readonly index: LogIndex;
  readonly term: Term;
}

export class Member {
  readonly id: NodeId;
  readonly clusterId: ClusterId;
  readonly name: string;
  readonly protocol: 'raft' | 'paxos';
  readonly kv: KvStore;
  readonly metrics: MemberMetrics;
  readonly requestTimeoutMs: number;
  readonly startedAtMs: number;
  readonly storageReport: OpenedStorage['report'];

  private readonly engine: ConsensusEngine<EngineMessage>;
  private readonly driver: Driver<EngineMessage, ApplyResult>;
  readonly transport: TcpTransport<EngineMessage>;
  private readonly storage: OpenedStorage;
  /** The index the log had reached before recovery dropped damaged entries; null after a clean recovery. */
  private readonly storageRepairUntil: LogIndex | null;
  private readonly lessor = new Lessor();
  private readonly proposals: Waiters<number, ApplyResult>;
  private readonly reads: Waiters<number, void>;
  private readonly indexWaits = new Map<number, { term: Term; resolve: () => void; reject: (e: Error) => void }>();
  private counter: number;
  private readCounter = 0;
  private soft: SoftState = { leader: null, role: 'follower', term: toTerm(0) };
  /** Bumped whenever the leader changes; requests from an older epoch may have been lost. */
  private epoch = 0;
  private timers: Timer[] = [];
  private stopped = false;
  private readonly listeners = new Set<(soft: SoftState) => void>();

  private constructor(
    private readonly o: MemberOptions,
    bootstrap: Bootstrap,
    storage: OpenedStorage,
    rejoinRepair: LogIndex | null,
  ) {
    const { config, env } = o;
    this.id = bootstrap.memberId;
    this.clusterId = bootstrap.clusterId;
    this.name = config.name;
    this.protocol = bootstrap.protocol;
    this.storage = storage;
    this.storageReport = storage.report;
    this.storageRepairUntil = storage.durable.repairUntil;
    this.startedAtMs = env.clock.nowMs();
    this.requestTimeoutMs = REQUEST_TIMEOUT_MS_BASE + 2 * config.electionTimeoutMs;
    this.metrics = new MemberMetrics(this);
    this.proposals = new Waiters(env.clock, PROPOSALS_PENDING_MAX);
    this.reads = new Waiters(env.clock, READS_PENDING_MAX);
    // Request ids must not repeat across restarts (the log may replay old ones): start at random.
    this.counter = Math.floor(env.random.float() * 2 ** 46);

    const repairs = [storage.durable.repairUntil, rejoinRepair].filter((x): x is LogIndex => x !== null);
    const repairUntil = repairs.length === 0 ? null : logIndex(Math.max(...repairs));
    const durable = { ...storage.durable, initialConfig: bootstrap.config, repairUntil };
    const bundle = createEngine({ protocol: this.protocol, id: this.id, config, durable, random: env.random.fork() });
    this.engine = bundle.engine;
    this.kv = new KvStore({
      quotaBytes: config.quotaBackendBytes,
      leaseTtlMinSec: Math.max(1, Math.ceil((1.5 * config.electionTimeoutMs) / 1000)),
      txnOpsMax: config.maxTxnOps,
      decodeConfigChange: bundle.decodeConfigChange,
      onLeaseEvent: (e) => this.lessor.observe(e, env.clock.nowMs()),
      members: bootstrap.members,
    });
    this.transport = new TcpTransport<EngineMessage>({
      clusterId: this.clusterId,
      id: this.id,
      protocol: this.protocol,
      listen: config.listenPeerUrls.map(parsePeerUrl),
      peers: this.peerAddresses(bootstrap.members),
      encode: (m) => this.engine.encodeMessage(m),
      decode: (b) => this.engine.decodeMessage(b),
      isBulk: (m) => m.snapshotChunk !== undefined,
      clock: env.clock,
      random: env.random.fork(),
      logger: env.logger.child({ component: 'transport' }),
      isKnownMember: (id) => this.kv.memberList().some((m) => m.id === id),
      onUnreachable: (peer) => this.engine.reportUnreachable(peer),
      onRttMs: (peer, ms) => this.metrics.peerRtt(peer, ms),
      describeCluster: () => {
        const st = this.engine.status();
        return encodeClusterDescription({ clusterId: this.clusterId, protocol: this.protocol, members: this.kv.memberList(), config: st.config, commitIndex: st.commitIndex });
      },
    });
    this.driver = new Driver<EngineMessage, ApplyResult>({
      engine: this.engine,
      logStore: new ObservedLogStore(storage.log, env.clock, o.failpoints ?? NO_FAILPOINTS, (s) => this.metrics.walFsync.observe(s)),
      snapshotStore: storage.snapshots,
      stateMachine: this.kv,
      transport: this.transport,
      clock: env.clock,
      logger: env.logger.child({ component: 'driver' }),
      tickMs: bundle.tickMs,
      tickCatchUpMax: bundle.tickCatchUpMax,
      snapshotEveryEntries: config.snapshotCount,
      snapshotEveryBytes: config.snapshotBytes,
      isFatalSnapshotError: isFatalStorageError,
      snapshotsKeep: SNAPSHOTS_KEPT,
      onFatal: (e) => this.fatal('the consensus loop stopped on a storage failure', e),
      hooks: {
        onApply: (entry, result) => this.onApply(entry, result),
        onReadState: (rs) => this.onReadState(rs),
        onReadDropped: (id) => this.reads.reject(id, new ServerError('leader-changed')),
        onSoftState: (s) => this.onSoftState(s),
      },
    });
  }

  /** Opens the data directory, recovers, and builds the member (not yet serving). */
  static async open(o: MemberOptions): Promise<Member> {
    const logger = o.env.logger;
    const { bootstrap, fresh, rejoinRepairUntil } = await resolveBootstrap(o.config, o.disk, logger);
    const storage = await openStorage(o.disk, {
      identity: { clusterId: bootstrap.clusterId, memberId: bootstrap.memberId, protocol: bootstrap.protocol },
      create: fresh,
      logger,
      // One durable write per batch instead of a write and an fdatasync, into blocks written ahead
      // of time (docs/benchmarks.md, "Per-batch cost" and "What is slower than etcd"). Not on a
      // RAID volume: its writes go through its stripe cache and journal, where one large write of
      // zeros would hold up the batches behind it, and its member files are not the WAL's file.
      wal: { dsync: true, preallocateBytes: o.config.raid === 0 ? WAL_PREALLOCATE_BYTES_DEFAULT : 0 },
    });
    const r = storage.report;
    logger.info('storage recovered', {
      dataDir: o.disk.name,
      row: r.row,
      action: r.action,
      snapshot: storage.durable.snapshot?.index ?? null,
      entries: storage.durable.entries.length,
      repairUntil: storage.durable.repairUntil,
      alarm: r.alarm,
    });
    if (r.alarm === 'CORRUPT') logger.error('damaged data found on disk: this member will not vote until it is repaired from its peers', { row: r.row });
    return new Member(o, bootstrap, storage, rejoinRepairUntil);
  }

  async start(): Promise<PeerAddress[]> {
    const bound = await this.transport.start();
    await this.driver.start();
    this.transport.setPeers(this.peerAddresses(this.kv.memberList()));
    this.every(LESSOR_TICK_MS, () => this.lessorTick());
    this.every(PUBLISH_RETRY_MS, () => this.publishAttributes());
    this.every(PUBLISH_RETRY_MS, () => this.raiseStorageAlarm());
    this.o.env.logger.info('member started', { name: this.name, id: this.id, cluster: this.clusterId, protocol: this.protocol, peers: bound.map((a) => `${a.host}:${a.port}`) });
    return bound;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.metrics.stop();
    const stopped = () => new ServerError('stopped');
    this.proposals.rejectAll(stopped);
    this.reads.rejectAll(stopped);
    for (const w of this.indexWaits.values()) w.reject(stopped());
    this.indexWaits.clear();
    await this.driver.stop();
    await this.transport.close();
    await this.storage.log.close();
  }

  // -------------------------------------------------------------------------------------------
  // What the API layer uses.

  get leader(): NodeId | null {
    return this.soft.leader;
  }

  get term(): Term {
    return this.soft.term;
  }

  get isLeader(): boolean {
    return this.soft.role === 'leader';
  }

  get isLearner(): boolean {
    // Asked on every request; a leader's status() lists every peer's progress, and a leader is
    // never a learner.
    if (this.soft.role === 'leader') return false;
    return this.engine.status().config.learners.includes(this.id);
  }

  status(): EngineStatus {
    return this.engine.status();
  }

  driverCounters(): Driver<EngineMessage, ApplyResult>['counters'] {
    return this.driver.counters;
  }

  peerStats(): PeerStats[] {
    return this.transport.peerStats();
  }

  onLeaderChange(fn: (soft: SoftState) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Proposes a command and resolves with its result once applied on this member. Rejects with a
   * ServerError (no leader, timeout, too many requests, ...) or, for an invalid op, a KvError.
   */
  async propose(op: Op, session: SessionTag | null = null, timeoutMs = this.requestTimeoutMs): Promise<ApplyResult> {
    this.assertServing();
    if (this.proposals.full) throw TOO_MANY_REQUESTS;
    const counter = ++this.counter;
    const data = encodeCommand({ requestId: { member: this.id, counter }, session, op });
    if (data.length > this.o.config.maxRequestBytes) throw new KvError('request-too-large', `${data.length} bytes`);
    const waiting = this.proposals.wait(counter, timeoutMs, () => new ServerError('timeout'), this.epoch);
    const r = this.driver.propose(data);
    if (r.type === 'rejected') {
      this.proposals.reject(counter, rejection(r.reason));
    }
    this.metrics.proposalsPending.set(this.proposals.size);
    try {
      return await waiting;
    } catch (e) {
      if (e instanceof ServerError && e.code !== 'too-many-requests') this.metrics.proposalsFailed.inc();
      throw e;
    }
  }

  /** Resolves when a read of the local store is linearizable (ReadIndex, Raft §6.4). */
  async readBarrier(timeoutMs = this.requestTimeoutMs): Promise<void> {
    this.assertServing();
    if (this.o.config.unsafePlantedBug === 'stale-reads') return; // TESTING ONLY: serve reads locally.
    if (this.reads.full) throw TOO_MANY_REQUESTS;
    const id = ++this.readCounter;
    const waiting = this.reads.wait(id, timeoutMs, () => new ServerError('timeout'), this.epoch);
    const r = this.driver.readIndex(id);
    if (r.type === 'rejected') this.reads.reject(id, rejection(r.reason));
    try {
      await waiting;
    } catch (e) {
      this.metrics.readIndexesFailed.inc();
      throw e;
    }
  }

  /** Proposes a membership change and resolves once it is applied here. */
  async changeMembership(change: ConfigChange, timeoutMs = this.requestTimeoutMs): Promise<void> {
    this.assertServing();
    // A change is refused while the previous one is still being applied, or until a new leader has
    // committed an entry of its term: both clear within a few heartbeats, so wait rather than fail.
    const deadline = this.o.env.clock.nowMs() + timeoutMs;
    for (;;) {
      const r = this.driver.proposeConfigChange(change);
      const retry = r.type === 'rejected' && r.reason === 'config-change-pending' && this.o.env.clock.nowMs() < deadline;
      if (!retry) return this.waitProposed(r, Math.max(1, deadline - this.o.env.clock.nowMs()));
      await this.o.env.clock.sleep(this.o.config.heartbeatIntervalMs);
    }
  }

  /** Starts a leadership transfer and resolves when `to` leads (or rejects). */
  async transferLeadership(to: NodeId, timeoutMs = this.requestTimeoutMs): Promise<void> {
    this.assertServing();
    const r = this.driver.transferLeadership(to);
    if (r.type === 'rejected') {
      switch (r.reason) {
        case 'already-leader':
          return;
        case 'not-leader':
          throw new ServerError('not-leader');
        case 'unknown-member':
        case 'learner':
          throw new ServerError('bad-transferee');
        case 'transferring':
          throw new ServerError('leader-changed', 'a transfer is already in progress');
        default:
          return assertNever(r.reason);
      }
    }
    await new Promise<void>((resolve, reject) => {
      const timer = this.o.env.clock.setTimeout(() => {
        off();
        reject(new ServerError('timeout', `leadership did not move to ${to}`));
      }, timeoutMs);
      const off = this.onLeaderChange((s) => {
        if (s.leader === to) {
          timer.cancel();
          off();
          resolve();
        }
      });
    });
  }

  /** Renews a lease on the leader's lessor; TTL 0 when the lease does not exist (etcd's answer). */
  async renewLease(id: bigint): Promise<{ ttlSec: number }> {
    this.assertServing();
    const r = this.lessor.renew(id as Parameters<Lessor['renew']>[0], this.o.env.clock.nowMs());
    switch (r.type) {
      case 'not-found':
        return { ttlSec: 0 };
      case 'not-leader':
        throw new ServerError(this.isLeader ? 'leader-changed' : 'not-leader');
      case 'renewed':
        if (r.awaitCheckpoint) await this.proposeCheckpoints();
        return { ttlSec: r.ttlSec };
      default:
        return assertNever(r);
    }
  }

  /** The leader's view of a lease's remaining TTL in seconds, or null when this is not the primary lessor. */
  leaseTtlSec(id: bigint): number | null {
    if (!this.lessor.isPrimary) return null;
    return this.lessor.ttlSec(id as Parameters<Lessor['ttlSec']>[0], this.o.env.clock.nowMs());
  }

  get lessorIsPrimary(): boolean {
    return this.lessor.isPrimary;
  }

  memberInfo(id: NodeId): MemberInfo | undefined {
    return this.kv.memberList().find((m) => m.id === id);
  }

  // -------------------------------------------------------------------------------------------
  // Consensus hooks.

  private onApply(entry: Entry, result: ApplyResult): void {
    this.metrics.applied(entry);
    const rid = result.requestId;
    if (rid !== null && rid.member === this.id) this.proposals.resolve(rid.counter, result);
    if (entry.kind === 'config' || result.outcome.type === 'members') this.onConfigApplied();
    const w = this.indexWaits.get(entry.index);
    if (w !== undefined) {
      this.indexWaits.delete(entry.index);
      if (w.term === entry.term) w.resolve();
      else w.reject(new ServerError('leader-changed', 'the proposal was overwritten by a new leader'));
    }
    // The lessor takes over once this leader applied an entry of its own term: every expiry an
    // earlier leader proposed is applied or gone by then.
    if (this.soft.role === 'leader' && entry.term === this.soft.term && !this.lessor.isPrimary) {
      this.lessor.promote(this.o.env.clock.nowMs(), this.kv.leaseList(), this.o.config.electionTimeoutMs);
    }
  }

  private onReadState(rs: ReadState): void {
    this.reads.resolve(rs.requestId, undefined);
  }

  private onSoftState(s: SoftState): void {
    const prev = this.soft;
    this.soft = s;
    if (s.leader !== prev.leader) {
      this.epoch++;
      this.metrics.leaderChanged(s.leader);
      this.o.env.logger.info('leader changed', { leader: s.leader, term: s.term, role: s.role });
      // Requests handed to the old leader may be lost: let their clients retry now.
      if (prev.leader !== null) {
        const err = () => new ServerError('leader-changed');
        this.proposals.rejectOlderThan(this.epoch, err);
        this.reads.rejectOlderThan(this.epoch, err);
      }
    }
    if (s.role !== 'leader' && this.lessor.isPrimary) this.lessor.demote();
    for (const fn of this.listeners) fn(s);
  }

  private onConfigApplied(): void {
    // The engine adopts the new configuration when this Ready is advanced, just after this hook:
    // look at the result once the loop has moved on.
    this.o.env.clock.setTimeout(() => {
      if (this.stopped) return;
      const members = this.kv.memberList();
      this.transport.setPeers(this.peerAddresses(members));
      if (!members.some((m) => m.id === this.id)) this.fatal('this member was removed from the cluster');
    }, 0);
  }

  // -------------------------------------------------------------------------------------------
  // Background work.

  private every(ms: number, fn: () => void): void {
    this.timers.push(this.o.env.clock.setInterval(fn, ms));
  }

  private lessorTick(): void {
    if (!this.lessor.isPrimary || this.stopped) return;
    const now = this.o.env.clock.nowMs();
    const expired = this.lessor.expired(now);
    if (expired.length > 0) this.background(this.propose({ type: 'lease-expire', ids: expired }), 'lease expiry');
    const checkpoints = this.lessor.checkpoints(now);
    if (checkpoints.length > 0) this.background(this.propose({ type: 'lease-checkpoint', checkpoints }), 'lease checkpoint');
  }

  private async proposeCheckpoints(): Promise<void> {
    const checkpoints = this.lessor.checkpoints(this.o.env.clock.nowMs());
    if (checkpoints.length > 0) await this.propose({ type: 'lease-checkpoint', checkpoints });
  }

  /** Makes the cluster's member table hold this member's name and client URLs (etcd's publish). */
  private publishAttributes(): void {
    if (this.stopped || this.soft.leader === null) return;
    const me = this.memberInfo(this.id);
    const urls = this.o.config.advertiseClientUrls;
    if (me !== undefined && me.name === this.name && sameList(me.clientUrls, urls)) return;
    if (this.publishing) return;
    this.publishing = true;
    this.propose({ type: 'member-update', id: this.id, name: this.name, peerUrls: null, clientUrls: [...urls] })
      .catch((e: unknown) => this.o.env.logger.debug('publishing member attributes failed; will retry', { error: errorMessage(e) }))
      .finally(() => {
        this.publishing = false;
      });
  }
  private publishing = false;

  /**
   * After recovery found damaged data: raise the CORRUPT alarm for this member (once a leader can
   * put it in the log), and clear it again once this member has applied past its repair point.
   * The damage was detected and quarantined, and the member took the lost part from its peers'
   * copies, so nothing diverged: an alarm that, as in etcd, stops every key operation of the
   * cluster must not stay up waiting for an operator after the member has healed itself. The
   * episode stays in the log (error when found, warn when repaired) and in
   * `bulwark_storage_repairs_total`. An alarm this process did not raise is left to the operator.
   */
  private raiseStorageAlarm(): void {
    if (this.stopped || this.storageReport.alarm !== 'CORRUPT' || this.soft.leader === null || this.alarmProposing) return;
    const active = this.kv.alarmList().some((a) => a.member === this.id && a.alarm === 'corrupt');
    if (this.storageAlarmState === 'pending') {
      if (active) {
        this.storageAlarmState = 'raised';
        return;
      }
      this.proposeStorageAlarm('activate', 'raised');
      return;
    }
    if (this.storageAlarmState === 'raised' && this.storageRepaired()) {
      if (!active) {
        this.storageAlarmState = 'cleared';
        return;
      }
      this.proposeStorageAlarm('deactivate', 'cleared');
    }
  }

  private proposeStorageAlarm(action: 'activate' | 'deactivate', next: 'raised' | 'cleared'): void {
    this.alarmProposing = true;
    this.propose({ type: 'alarm', action, member: this.id, alarm: 'corrupt' })
      .then(() => {
        this.storageAlarmState = next;
        if (next === 'cleared') {
          this.storageRepairs++;
          this.o.env.logger.warn('damaged data repaired from peers; CORRUPT alarm cleared', { repairedUntil: this.storageRepairUntil });
        }
      })
      .catch(() => undefined)
      .finally(() => {
        this.alarmProposing = false;
      });
  }

  /** This member has applied past the index its damaged log had reached (or no repair point was set). */
  private storageRepaired(): boolean {
    return this.storageRepairUntil === null || this.kv.appliedIndex >= this.storageRepairUntil;
  }

  private alarmProposing = false;
  /** pending: damage found, alarm not yet in the log; raised: alarm active; cleared: repaired and cleared. */
  private storageAlarmState: 'pending' | 'raised' | 'cleared' = 'pending';
  /** Damage episodes repaired from peers by this process (bulwark_storage_repairs_total). */
  storageRepairs = 0;

  /**
   * Status `errors` for damage recovery found on this member's disk, until it is repaired. The
   * CORRUPT alarm goes through the log, so a damaged member that cannot reach a leader (it does not
   * vote, so it may be what is missing for one) says so here, where an operator looks first.
   */
  storageDamageErrors(): string[] {
    if (this.storageReport.alarm !== 'CORRUPT') return [];
    const until = this.storageRepairUntil;
    const applied = this.kv.appliedIndex;
    if (until !== null && applied < until) {
      return [`CORRUPT: damaged data found on disk and quarantined; repairing from peers up to index ${until} (applied ${applied}); not voting until then`];
    }
    return this.storageAlarmState === 'pending' ? ['CORRUPT: damaged data found on disk and quarantined; raising the CORRUPT alarm'] : [];
  }

  private background(p: Promise<unknown>, what: string): void {
    p.catch((e: unknown) => this.o.env.logger.debug(`${what} proposal failed; will retry`, { error: errorMessage(e) }));
  }

  // -------------------------------------------------------------------------------------------

  private async waitProposed(r: ProposeResult, timeoutMs: number): Promise<void> {
    switch (r.type) {
      case 'rejected':
        throw rejection(r.reason);
      case 'forwarded':
        throw new ServerError('not-leader');
      case 'accepted':
        return new Promise<void>((resolve, reject) => {
          const timer = this.o.env.clock.setTimeout(() => {
            this.indexWaits.delete(r.index);
            reject(new ServerError('timeout'));
          }, timeoutMs);
          this.indexWaits.set(r.index, {
            term: r.term,
            resolve: () => {
              timer.cancel();
              resolve();
            },
            reject: (e) => {
              timer.cancel();
              reject(e);
            },
          });
        });
      default:
        return assertNever(r);
    }
  }

  private peerAddresses(members: readonly MemberInfo[]): Map<NodeId, PeerAddress[]> {
    const out = new Map<NodeId, PeerAddress[]>();
    for (const m of members) {
      if (m.id === this.id) continue;
      const addrs: PeerAddress[] = [];
      for (const u of m.peerUrls) {
        try {
          addrs.push(parsePeerUrl(u));
        } catch {
          this.o.env.logger.warn('ignoring a peer URL that does not parse', { member: m.id, url: u });
        }
      }
      out.set(m.id, addrs);
    }
    return out;
  }

  private assertServing(): void {
    if (this.stopped || !this.driver.running) throw new ServerError('stopped');
  }

  private fatal(reason: string, error?: unknown): void {
    if (this.stopped) return;
    this.o.env.logger.error(reason, error === undefined ? {} : { error: errorMessage(error) });
    this.o.onFatal(reason, error);
  }
}

/**
 * The refusal of an overloaded member, made once: under a flood it is thrown for every request
 * beyond the bound, and building an error (with its stack) each time took a quarter of the CPU.
 */
const TOO_MANY_REQUESTS = new ServerError('too-many-requests');

function rejection(reason: RejectReason): ServerError {
  const map: Record<RejectReason, ServerErrorCode> = {
    'no-leader': 'no-leader',
    'not-leader': 'not-leader',
    learner: 'learner',
    transferring: 'leader-changed',
    'too-many-uncommitted': 'too-many-requests',
    'config-change-pending': 'config-change-pending',
    'invalid-config-change': 'invalid-argument',
  };
  return new ServerError(map[reason], reason);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

