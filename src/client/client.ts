/**
 * The failover client: the etcd v3 API (KV, Watch, Lease, Cluster, Maintenance, Lock, Election)
 * over a list of endpoints, surviving member crashes and leader changes. See docs/client.md.
 *
 *   const client = createClient({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379'] });
 *   await client.put('greeting', 'hello');
 *   const v = await client.getString('greeting');
 *   for await (const item of client.watch('config/', { prefix: true })) { ... }
 *   await client.close();
 *
 * The core takes its Clock, Random and Connector from the caller (node-client.ts wires the real
 * ones), so it runs unchanged inside the simulator.
 */
import { assert } from '../core/assert.js';
import { nodeIdToBigInt, parseNodeId, type LeaseId, type NodeId } from '../core/ids.js';
import {
  CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT,
  CLIENT_BACKOFF_MS_MAX,
  CLIENT_BACKOFF_MS_MIN,
  CLIENT_CALL_TIMEOUT_MS_DEFAULT,
  CLIENT_RETRY_BUDGET_BUCKETS,
  CLIENT_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT,
  CLIENT_RETRY_BUDGET_PERCENT_DEFAULT,
  CLIENT_RETRY_BUDGET_WINDOW_MS,
  CLIENT_STATUS_TIMEOUT_MS,
} from '../core/limits.js';
import type { Clock } from '../env/clock.js';
import { nullLogger, type Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import type { ClientReadable } from '../api/grpc/client.js';
import type { MetadataInit } from '../api/grpc/metadata.js';
import {
  AlarmRequest_AlarmAction,
  AlarmType,
  ClusterService,
  KVService,
  LeaseService,
  MaintenanceService,
  type AlarmResponse,
  type CompactionResponse,
  type DeleteRangeResponse,
  type HashKVResponse,
  type LeaseLeasesResponse,
  type LeaseGrantResponse,
  type LeaseTimeToLiveResponse,
  type LeaseKeepAliveResponse,
  type MemberAddResponse,
  type MemberListResponse,
  type MemberPromoteResponse,
  type MemberRemoveResponse,
  type MemberUpdateResponse,
  type MoveLeaderResponse,
  type PutResponse,
  type RangeResponse,
  type SnapshotResponse,
  type StatusResponse,
  type TxnRequestInit,
  type RangeRequestInit,
  type PutRequestInit,
  type DeleteRangeRequestInit,
  type TxnResponse,
  type DefragmentResponse,
} from '../api/proto/generated/etcdserverpb.js';
import { ElectionService, type CampaignResponse, type LeaderKeyInit, type LeaderResponse, type ProclaimResponse, type ResignResponse } from '../api/proto/generated/v3electionpb.js';
import { LockService, type LockResponse, type UnlockResponse } from '../api/proto/generated/v3lockpb.js';
import { CallRunner, type CallOptions, type ExactlyOnce } from './call-runner.js';
import { SessionService } from './session-protocol.js';
import type { Connector } from './connector.js';
import { EndpointPool, normalizeEndpoint, type EndpointInfo } from './endpoint-pool.js';
import { ClientError } from './errors.js';
import { EventHub, type ClientEventListener } from './events.js';
import { deleteRequest, putRequest, rangeRequest, text, toBytes, type Bytes, type DeleteOptions, type GetOptions, type PutOptions } from './kv.js';
import { LeaderTracker } from './leader-tracker.js';
import { LeaseManager, type GrantOptions, type Lease } from './lease.js';
import { RetryBudget } from './retry-budget.js';
import { TxnBuilder, txnWrites } from './txn.js';
import { WatchManager, type WatchOptions, type Watcher } from './watch.js';

export interface ClientCoreOptions {
  /** Members' client endpoints: "host:port" or "http://host:port". */
  readonly endpoints: readonly string[];
  readonly connector: Connector;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger?: Logger;
  /** Default deadline of a call, retries included (ms). */
  readonly callTimeoutMs?: number;
  /** Longest wait for one attempt before another member is tried (ms). */
  readonly attemptTimeoutMs?: number;
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  readonly retryBudget?: { readonly percent?: number; readonly minPerSecond?: number };
  /**
   * Exactly-once writes through client sessions: 'auto' (default) uses them when the server has
   * them (Bulwark) and falls back to etcd's at-most-once retries otherwise; 'require' fails writes
   * against a server without them; 'off' never opens a session.
   */
  readonly exactlyOnce?: ExactlyOnce;
  /** Ask members to refuse requests while they have no leader (etcd's `hasleader` metadata), so the client moves on at once. Default true. */
  readonly requireLeader?: boolean;
  /** Extra metadata on every call (an auth token: `{ token }`). */
  readonly metadata?: MetadataInit;
}

export type MemberRef = NodeId | bigint | string;

/** Options of a write call. `idempotent`: the caller knows repeating this write is harmless (a compare-guarded create), so it may be retried after an ambiguous failure. */
export type WriteOptions = CallOptions & { readonly idempotent?: boolean };

function memberIdOf(ref: MemberRef): bigint {
  if (typeof ref === 'bigint') return ref;
  const id = parseNodeId(ref);
  if (id === null) throw new ClientError('invalid-argument', `bad member id "${ref}" (expected hex)`);
  return nodeIdToBigInt(id);
}

export class BulwarkClient {
  readonly events: EventHub;
  private readonly pool: EndpointPool;
  private readonly tracker = new LeaderTracker();
  private readonly runner: CallRunner;
  private readonly watches: WatchManager;
  private readonly leases: LeaseManager;
  private readonly closeController = new AbortController();
  private readonly clock: Clock;
  private readonly random: Random;

  constructor(o: ClientCoreOptions) {
    if (o.endpoints.length === 0) throw new ClientError('invalid-argument', 'at least one endpoint is needed');
    const logger = o.logger ?? nullLogger;
    this.clock = o.clock;
    this.random = o.random.fork();
    this.events = new EventHub(logger);
    this.pool = new EndpointPool(o.endpoints, o.connector, o.clock, o.random, this.events);
    const backoff = { minMs: o.backoff?.minMs ?? CLIENT_BACKOFF_MS_MIN, maxMs: o.backoff?.maxMs ?? CLIENT_BACKOFF_MS_MAX };
    const metadata: MetadataInit = { ...(o.requireLeader === false ? {} : { hasleader: 'true' }), ...o.metadata };
    const closed = this.closeController.signal;
    this.runner = new CallRunner({
      pool: this.pool,
      tracker: this.tracker,
      budget: new RetryBudget({
        percent: o.retryBudget?.percent ?? CLIENT_RETRY_BUDGET_PERCENT_DEFAULT,
        minPerSecond: o.retryBudget?.minPerSecond ?? CLIENT_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT,
        windowMs: CLIENT_RETRY_BUDGET_WINDOW_MS,
        buckets: CLIENT_RETRY_BUDGET_BUCKETS,
      }),
      clock: o.clock,
      random: o.random,
      events: this.events,
      logger,
      backoff,
      callTimeoutMs: o.callTimeoutMs ?? CLIENT_CALL_TIMEOUT_MS_DEFAULT,
      attemptTimeoutMs: o.attemptTimeoutMs ?? CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT,
      exactlyOnce: o.exactlyOnce ?? 'auto',
      metadata,
      closed,
    });
    const deps = { pool: this.pool, runner: this.runner, clock: o.clock, random: o.random, events: this.events, logger, backoff, metadata, closed };
    this.watches = new WatchManager(deps);
    this.leases = new LeaseManager(deps);
  }

  /** Subscribes to client events (connections, leadership, leases, watches); returns the unsubscribe function. */
  on(listener: ClientEventListener): () => void {
    return this.events.on(listener);
  }

  get endpoints(): string[] {
    return this.pool.endpoints;
  }

  /** Each endpoint's health as the client sees it, and the member behind it once known. */
  endpointInfo(): EndpointInfo[] {
    return this.pool.info();
  }

  /** The leader the client believes in: member id, its endpoint if it is one of ours, and the term. */
  leader(): { readonly id: NodeId | null; readonly endpoint: string | null; readonly term: number } {
    return { id: this.tracker.leader, endpoint: this.runner.leaderEndpoint(), term: this.tracker.term };
  }

  /** Asks every endpoint for its status now and updates the leader. */
  async refreshLeader(): Promise<void> {
    await this.runner.discoverLeader();
  }

  /** The exactly-once session: 'unknown' until the first write, then 'open' (Bulwark) or 'unsupported' (etcd). */
  session(): { readonly type: 'unknown' | 'unsupported' } | { readonly type: 'open'; readonly clientId: number } {
    return this.runner.session.mode;
  }

  // ---- KV -----------------------------------------------------------------------------------

  get(key: Bytes, options: GetOptions & CallOptions = {}): Promise<RangeResponse> {
    return this.runner.unary(KVService.Range, rangeRequest(key, options), { route: { type: options.serializable === true ? 'any' : 'leader' }, write: false }, options);
  }

  /** A Range in etcd's request form (tools that build requests themselves). */
  kvRange(request: RangeRequestInit, options: CallOptions = {}): Promise<RangeResponse> {
    return this.runner.unary(KVService.Range, request, { route: { type: request.serializable === true ? 'any' : 'leader' }, write: false }, options);
  }

  /** A Put in etcd's request form. */
  kvPut(request: PutRequestInit, options: WriteOptions = {}): Promise<PutResponse> {
    return this.runner.unary(KVService.Put, request, { route: { type: 'leader' }, write: true, idempotent: options.idempotent === true }, options);
  }

  /** A DeleteRange in etcd's request form. */
  kvDelete(request: DeleteRangeRequestInit, options: WriteOptions = {}): Promise<DeleteRangeResponse> {
    return this.runner.unary(KVService.DeleteRange, request, { route: { type: 'leader' }, write: true, idempotent: options.idempotent === true }, options);
  }

  /** The value of one key as text, or undefined when it does not exist. */
  async getString(key: Bytes, options: Omit<GetOptions, 'prefix' | 'fromKey' | 'end'> & CallOptions = {}): Promise<string | undefined> {
    const r = await this.get(key, options);
    const kv = r.kvs[0];
    return kv === undefined ? undefined : text(kv.value);
  }

  put(key: Bytes, value: Bytes, options: PutOptions & WriteOptions = {}): Promise<PutResponse> {
    return this.runner.unary(KVService.Put, putRequest(key, value, options), { route: { type: 'leader' }, write: true, idempotent: options.idempotent === true }, options);
  }

  delete(key: Bytes, options: DeleteOptions & WriteOptions = {}): Promise<DeleteRangeResponse> {
    return this.runner.unary(KVService.DeleteRange, deleteRequest(key, options), { route: { type: 'leader' }, write: true, idempotent: options.idempotent === true }, options);
  }

  /** A transaction builder: `.if(...).then(...).else(...).commit()`. */
  txn(): TxnBuilder {
    return new TxnBuilder((request, options) => this.commitTxn(request, options));
  }

  commitTxn(request: TxnRequestInit, options: WriteOptions = {}): Promise<TxnResponse> {
    const write = txnWrites(request);
    return this.runner.unary(KVService.Txn, request, { route: { type: 'leader' }, write, idempotent: options.idempotent === true }, options);
  }

  compact(revision: number, options: CallOptions & { physical?: boolean } = {}): Promise<CompactionResponse> {
    return this.runner.unary(KVService.Compact, { revision, physical: options.physical }, { route: { type: 'leader' }, write: true }, options);
  }

  // ---- Watch --------------------------------------------------------------------------------

  /** Watches a key or range; iterate it with `for await`. It resumes across member failures. */
  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    return this.watches.watch(key, options);
  }

  // ---- Leases -------------------------------------------------------------------------------

  /** Grants a lease of `ttlSeconds` and keeps it alive (unless `keepAlive: false`). */
  lease(ttlSeconds: number, options: GrantOptions = {}): Promise<Lease> {
    return this.leases.grant(ttlSeconds, options);
  }

  /** LeaseGrant without keep-alive (the id is chosen here unless given, so a retry is safe). */
  leaseGrant(ttlSeconds: number, options: CallOptions & { id?: LeaseId | bigint } = {}): Promise<LeaseGrantResponse> {
    return this.leases.grantRaw(ttlSeconds, options);
  }

  /** Keeps alive a lease granted elsewhere. */
  keepAlive(id: LeaseId | bigint, ttlSeconds: number): Lease {
    return this.leases.adopt(id, ttlSeconds);
  }

  leaseRevoke(id: LeaseId | bigint, options: CallOptions = {}): Promise<unknown> {
    return this.runner.unary(LeaseService.LeaseRevoke, { ID: BigInt(id) }, { route: { type: 'leader' }, write: true }, options);
  }

  leaseTimeToLive(id: LeaseId | bigint, options: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return this.leases.timeToLive(id, options);
  }

  leaseKeepAliveOnce(id: LeaseId | bigint, options: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    return this.leases.keepAliveOnce(id, options);
  }

  leaseList(options: CallOptions = {}): Promise<LeaseLeasesResponse> {
    return this.runner.unary(LeaseService.LeaseLeases, {}, { route: { type: 'leader' }, write: false }, options);
  }

  // ---- Cluster ------------------------------------------------------------------------------

  memberList(options: CallOptions & { linearizable?: boolean } = {}): Promise<MemberListResponse> {
    return this.runner.unary(ClusterService.MemberList, { linearizable: options.linearizable }, { route: { type: options.linearizable === true ? 'leader' : 'any' }, write: false }, options);
  }

  memberAdd(peerUrls: readonly string[], options: CallOptions & { learner?: boolean } = {}): Promise<MemberAddResponse> {
    return this.runner.unary(ClusterService.MemberAdd, { peerURLs: peerUrls, isLearner: options.learner }, { route: { type: 'leader' }, write: true, idempotent: false }, options);
  }

  memberRemove(id: MemberRef, options: CallOptions = {}): Promise<MemberRemoveResponse> {
    return this.runner.unary(ClusterService.MemberRemove, { ID: memberIdOf(id) }, { route: { type: 'leader' }, write: true }, options);
  }

  memberUpdate(id: MemberRef, peerUrls: readonly string[], options: CallOptions = {}): Promise<MemberUpdateResponse> {
    return this.runner.unary(ClusterService.MemberUpdate, { ID: memberIdOf(id), peerURLs: peerUrls }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
  }

  memberPromote(id: MemberRef, options: CallOptions = {}): Promise<MemberPromoteResponse> {
    return this.runner.unary(ClusterService.MemberPromote, { ID: memberIdOf(id) }, { route: { type: 'leader' }, write: true }, options);
  }

  // ---- Maintenance --------------------------------------------------------------------------

  /** Status of one member (by endpoint; default: the leader or any). */
  status(endpoint?: string, options: CallOptions = {}): Promise<StatusResponse> {
    const route = endpoint === undefined ? ({ type: 'leader' } as const) : ({ type: 'endpoint', endpoint: this.known(endpoint) } as const);
    return this.runner.unary(MaintenanceService.Status, {}, { route, write: false }, { timeoutMs: CLIENT_STATUS_TIMEOUT_MS * 2, ...options });
  }

  alarmList(options: CallOptions = {}): Promise<AlarmResponse> {
    return this.runner.unary(MaintenanceService.Alarm, { action: AlarmRequest_AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, { route: { type: 'leader' }, write: false }, options);
  }

  /** Disarms every alarm (or the given one of the given member). */
  async alarmDisarm(options: CallOptions & { memberId?: MemberRef; alarm?: number } = {}): Promise<AlarmResponse> {
    if (options.memberId !== undefined && options.alarm !== undefined) {
      return this.runner.unary(MaintenanceService.Alarm, { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: memberIdOf(options.memberId), alarm: options.alarm }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
    }
    const list = await this.alarmList(options);
    let last: AlarmResponse = list;
    for (const a of list.alarms) {
      last = await this.runner.unary(MaintenanceService.Alarm, { action: AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberID, alarm: a.alarm }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
    }
    return { ...last, alarms: list.alarms };
  }

  hashKV(endpoint: string, revision = 0, options: CallOptions = {}): Promise<HashKVResponse> {
    return this.runner.unary(MaintenanceService.HashKV, { revision }, { route: { type: 'endpoint', endpoint: this.known(endpoint) }, write: false }, options);
  }

  defragment(endpoint: string, options: CallOptions = {}): Promise<DefragmentResponse> {
    return this.runner.unary(MaintenanceService.Defragment, {}, { route: { type: 'endpoint', endpoint: this.known(endpoint) }, write: false, idempotent: true }, options);
  }

  /**
   * The member's whole state as a stream of chunks (Maintenance.Snapshot). Not retried: a
   * snapshot that fails half way must be started again by the caller.
   */
  snapshot(endpoint: string, options: { signal?: AbortSignal } = {}): ClientReadable<SnapshotResponse> {
    this.runner.throwIfStopped(options.signal);
    const conn = this.pool.connection(this.known(endpoint));
    return conn.stream(MaintenanceService.Snapshot, {}, options.signal === undefined ? {} : { signal: options.signal });
  }

  /**
   * Transfers leadership to `target`. The request goes to the current leader (found by a Status
   * round), or to `endpoint` when given (it must be the leader's). Returns the old leader's id too.
   */
  async moveLeader(target: MemberRef, options: CallOptions & { endpoint?: string } = {}): Promise<{ response: MoveLeaderResponse; from: bigint }> {
    const route = options.endpoint === undefined ? ({ type: 'leader' } as const) : ({ type: 'endpoint', endpoint: this.known(options.endpoint) } as const);
    if (options.endpoint === undefined) await this.runner.discoverLeader();
    const from = this.tracker.leader;
    const response = await this.runner.unary(MaintenanceService.MoveLeader, { targetID: memberIdOf(target) }, { route, write: true, idempotent: true, strictLeader: options.endpoint === undefined }, options);
    this.runner.leaderLost();
    return { response, from: from === null ? 0n : nodeIdToBigInt(from) };
  }

  // ---- Lock and Election services (server-side recipes; see recipes/ for client-side ones) ---

  /** Acquires the named lock on the server, held until unlock or until `lease` ends. Waits as long as it takes unless `timeoutMs` is given. */
  lock(name: Bytes, lease: LeaseId | bigint, options: CallOptions = {}): Promise<LockResponse> {
    return this.runner.unary(LockService.Lock, { name: toBytes(name), lease: BigInt(lease) }, { route: { type: 'leader' }, write: true, idempotent: true, attemptTimeoutMs: Infinity }, { timeoutMs: Infinity, ...options });
  }

  unlock(key: Bytes, options: CallOptions = {}): Promise<UnlockResponse> {
    return this.runner.unary(LockService.Unlock, { key: toBytes(key) }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
  }

  campaign(name: Bytes, lease: LeaseId | bigint, value: Bytes, options: CallOptions = {}): Promise<CampaignResponse> {
    return this.runner.unary(ElectionService.Campaign, { name: toBytes(name), lease: BigInt(lease), value: toBytes(value) }, { route: { type: 'leader' }, write: true, idempotent: true, attemptTimeoutMs: Infinity }, { timeoutMs: Infinity, ...options });
  }

  proclaim(leader: LeaderKeyInit, value: Bytes, options: CallOptions = {}): Promise<ProclaimResponse> {
    return this.runner.unary(ElectionService.Proclaim, { leader, value: toBytes(value) }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
  }

  electionLeader(name: Bytes, options: CallOptions = {}): Promise<LeaderResponse> {
    return this.runner.unary(ElectionService.Leader, { name: toBytes(name) }, { route: { type: 'leader' }, write: false }, options);
  }

  resign(leader: LeaderKeyInit, options: CallOptions = {}): Promise<ResignResponse> {
    return this.runner.unary(ElectionService.Resign, { leader }, { route: { type: 'leader' }, write: true, idempotent: true }, options);
  }

  /** The election's leader now and at every change (the Observe stream, reopened on failure). */
  async *observe(name: Bytes, options: { signal?: AbortSignal } = {}): AsyncGenerator<LeaderResponse> {
    let lastRevision = 0;
    for (let failures = 0; ; ) {
      this.runner.throwIfStopped(options.signal);
      const endpoint = this.pool.pick({ type: 'any' }, new Set(), null);
      const s = this.pool.connection(endpoint).stream(ElectionService.Observe, { name: toBytes(name) }, options.signal === undefined ? {} : { signal: options.signal });
      try {
        for await (const r of s) {
          failures = 0;
          const rev = r.kv?.modRevision ?? 0;
          if (rev !== 0 && rev <= lastRevision) continue;
          lastRevision = rev;
          yield r;
        }
      } catch (e) {
        if (options.signal?.aborted === true || this.closeController.signal.aborted) throw new ClientError('cancelled', 'observe cancelled', { cause: e });
        this.pool.failed(endpoint, e instanceof Error ? e.message : String(e));
      } finally {
        s.cancel();
      }
      failures++;
      await this.runner.sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)), options.signal);
    }
  }

  // ---- Lifecycle ----------------------------------------------------------------------------

  /**
   * Stops keep-alives and watches, closes the exactly-once session (so the server can forget it at
   * once) and every connection. Leases are not revoked.
   */
  async close(): Promise<void> {
    if (this.closeController.signal.aborted) return;
    const mode = this.runner.session.mode;
    if (mode.type === 'open') {
      await this.runner
        .unary(SessionService.Close, { clientId: mode.clientId }, { route: { type: 'leader' }, write: true, idempotent: true }, { timeoutMs: CLIENT_STATUS_TIMEOUT_MS })
        .catch(() => {});
    }
    this.closeController.abort();
    this.watches.shutdown();
    this.leases.shutdown();
    this.runner.close();
    this.pool.close();
  }

  /** The clock the client runs on (recipes wait on it). */
  get clockSource(): Clock {
    return this.clock;
  }

  /** A random 64-bit id in hex, from the client's random source (unique keys for recipes). */
  newId(): string {
    return this.random.uint64().toString(16).padStart(16, '0');
  }

  private known(endpoint: string): string {
    const e = normalizeEndpoint(endpoint);
    if (!this.pool.has(e)) this.pool.add(e);
    assert(this.pool.has(e), 'endpoint added');
    return e;
  }
}
