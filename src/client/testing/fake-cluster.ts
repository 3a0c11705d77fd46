/**
 * An in-memory cluster that speaks just enough of the etcd API (and Bulwark's session protocol) to
 * test the client's failover logic deterministically: members that are down or stuck, a leader
 * that moves, faults injected per call (a refused connection, a response lost after the write was
 * applied, a "no leader" answer), exactly-once sessions that can be switched off to look like etcd.
 * It is a test double, not an etcd model: one store shared by all members, no history reads.
 */
import { GrpcError } from '../../api/grpc/errors.js';
import type { ClientDuplex, ClientReadable } from '../../api/grpc/client.js';
import { Metadata } from '../../api/grpc/metadata.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from '../../api/grpc/method.js';
import { Status, type StatusCode } from '../../api/grpc/status.js';
import type {
  CompareInit,
  DeleteRangeRequestInit,
  PutRequestInit,
  RangeRequestInit,
  RequestOpInit,
  ResponseHeader,
  TxnRequestInit,
  WatchRequestInit,
  WatchResponse,
} from '../../api/proto/generated/etcdserverpb.js';
import type { Event, KeyValue } from '../../api/proto/generated/mvccpb.js';
import type { Connection, ConnectionCallOptions, Connector } from '../connector.js';
import { parseSessionTag, SESSION_METADATA_KEY } from '../session-protocol.js';

export type Fault =
  /** The connection is refused: the request provably never reached the member. */
  | { readonly type: 'refuse' }
  /** The member applies the request, then the connection drops before the answer. */
  | { readonly type: 'lose-response' }
  /** The connection drops before the member reads the request (the client cannot tell from lose-response). */
  | { readonly type: 'lose-request' }
  /** The member answers with this status without applying anything. */
  | { readonly type: 'status'; readonly status: StatusCode; readonly message: string }
  /** The member never answers (until the call is aborted). */
  | { readonly type: 'hang' };

export interface FakeMember {
  readonly endpoint: string;
  readonly id: bigint;
  down: boolean;
  /** Stuck: connections stay up but nothing is answered until `unpause` (then stream requests are answered, as a SIGCONT'd process would). */
  paused: boolean;
  readonly backlog: (() => void)[];
}

interface StoredKv {
  key: Uint8Array;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: bigint;
}

const CLUSTER_ID = 0x1234n;
const latin1 = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('latin1');

function serverStatus(status: StatusCode, message: string): GrpcError {
  return new GrpcError(status, message, ['grpc-status', String(status), 'grpc-message', message]);
}

function transport(message: string, cause?: unknown): GrpcError {
  return new GrpcError(Status.UNAVAILABLE, message, [], cause === undefined ? undefined : { cause });
}

/** A queue-backed stream for the fake's streaming calls. */
class FakeStream<Res> implements ClientReadable<Res> {
  private readonly queue: Res[] = [];
  private done: { error: unknown } | null = null;
  private wake: (() => void) | null = null;
  readonly headers = Promise.resolve(new Metadata([]));
  onCancel: (() => void) | null = null;

  push(r: Res): void {
    if (this.done !== null) return;
    this.queue.push(r);
    this.notify();
  }

  fail(error: unknown): void {
    if (this.done !== null) return;
    this.done = { error };
    this.notify();
  }

  end(): void {
    if (this.done !== null) return;
    this.done = { error: undefined };
    this.notify();
  }

  get finished(): boolean {
    return this.done !== null;
  }

  cancel(): void {
    this.fail(new GrpcError(Status.CANCELLED, 'cancelled by the client'));
    this.onCancel?.();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Res> {
    while (true) {
      const r = this.queue.shift();
      if (r !== undefined) {
        yield r;
        continue;
      }
      if (this.done !== null) {
        if (this.done.error !== undefined) throw this.done.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

interface WatchState {
  readonly stream: FakeStream<WatchResponse>;
  readonly member: FakeMember;
  readonly watchers: Map<bigint, { key: string; end: string | null; prevKv: boolean }>;
  nextId: bigint;
}

export class FakeCluster implements Connector {
  readonly members: FakeMember[];
  leaderIndex = 0;
  term = 1;
  /** Bulwark's exactly-once sessions (false: behave like etcd, which does not know them). */
  sessions: boolean;
  revision = 1;
  compactRevision = 0;
  /** Writes applied (each Put, DeleteRange, write Txn counts once). */
  appliedWrites = 0;
  /** Decides a fault for each call: return undefined for none. */
  faultFor: (endpoint: string, path: string) => Fault | undefined = () => undefined;
  /** Calls seen, in order, as "endpoint path". */
  readonly calls: string[] = [];
  private readonly kvs = new Map<string, StoredKv>();
  private readonly history: { revision: number; event: Event }[] = [];
  private readonly leases = new Map<bigint, { ttl: number; keys: Set<string> }>();
  private nextLeaseId = 0x100n;
  private nextSessionId = 1;
  private readonly kept = new Map<number, Map<number, unknown>>();
  private readonly watchStates = new Set<WatchState>();
  private readonly keepAliveStreams = new Set<{ stream: FakeStream<unknown>; member: FakeMember }>();

  constructor(o: { size: number; sessions?: boolean }) {
    this.members = Array.from({ length: o.size }, (_, i) => ({ endpoint: `fake${i + 1}:2379`, id: BigInt(0xa0 + i), down: false, paused: false, backlog: [] }));
    this.sessions = o.sessions ?? true;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  get leader(): FakeMember | null {
    return this.leaderIndex < 0 ? null : this.members[this.leaderIndex]!;
  }

  /** Makes member `i` the leader in a new term (-1: no leader). */
  elect(i: number): void {
    this.leaderIndex = i;
    this.term++;
  }

  /** Takes a member down: its streams fail, new connections are refused. */
  crash(i: number): void {
    const m = this.members[i]!;
    m.down = true;
    for (const w of this.watchStates) if (w.member === m) w.stream.fail(transport('connection closed'));
    for (const k of this.keepAliveStreams) if (k.member === m) k.stream.fail(transport('connection closed'));
  }

  pause(i: number): void {
    this.members[i]!.paused = true;
  }

  unpause(i: number): void {
    const m = this.members[i]!;
    m.paused = false;
    for (const f of m.backlog.splice(0)) f();
  }

  restart(i: number): void {
    this.members[i]!.down = false;
    this.members[i]!.paused = false;
  }

  value(key: string): string | undefined {
    const kv = this.kvs.get(key);
    return kv === undefined ? undefined : Buffer.from(kv.value).toString();
  }

  /** A put by some other client, applied at once. */
  write(key: string, value: string): void {
    this.appliedWrites++;
    this.put(this.members[0]!, { key: Buffer.from(key), value: Buffer.from(value) }, ++this.revision);
  }

  /** Compacts history up to `revision`. */
  compact(revision: number): void {
    this.compactRevision = revision;
    while (this.history.length > 0 && this.history[0]!.revision <= revision) this.history.shift();
  }

  /** Expires a lease as the leader would. */
  expireLease(id: bigint): void {
    const l = this.leases.get(id);
    if (l === undefined) return;
    this.leases.delete(id);
    for (const k of l.keys) this.deleteKey(k, ++this.revision);
  }

  hasLease(id: bigint): boolean {
    return this.leases.has(id);
  }

  connect(endpoint: string): Connection {
    const member = this.members.find((m) => m.endpoint === endpoint);
    if (member === undefined) throw new Error(`no fake member ${endpoint}`);
    return {
      endpoint,
      call: <M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions) => this.unary(member, method.path, request, options) as Promise<ResponseOf<M>>,
      stream: <M extends AnyMethod>(method: M, _request: RequestInitOf<M>, _options: ConnectionCallOptions) => {
        const s = new FakeStream<ResponseOf<M>>();
        s.fail(serverStatus(Status.UNIMPLEMENTED, `fake: ${method.path} not implemented`));
        return s;
      },
      duplex: <M extends AnyMethod>(method: M, options: ConnectionCallOptions) => this.duplex(member, method.path, options) as unknown as ClientDuplex<RequestInitOf<M>, ResponseOf<M>>,
      neverSent: (e: unknown) => e instanceof GrpcError && e.cause === 'refused',
      close: () => {},
    };
  }

  private header(member: FakeMember): ResponseHeader {
    return { clusterId: CLUSTER_ID, memberId: member.id, revision: this.revision, raftTerm: this.term };
  }

  private async unary(member: FakeMember, path: string, request: unknown, options: ConnectionCallOptions): Promise<unknown> {
    this.calls.push(`${member.endpoint} ${path}`);
    await Promise.resolve();
    if (member.down) throw transport(`connect to ${member.endpoint} failed: ECONNREFUSED`, 'refused');
    const fault = this.faultFor(member.endpoint, path);
    if (member.paused || fault?.type === 'hang') return this.hang(options);
    if (fault?.type === 'refuse') throw transport(`connect to ${member.endpoint} failed: ECONNREFUSED`, 'refused');
    if (fault?.type === 'lose-request') throw transport('connection closed');
    if (fault?.type === 'status') throw serverStatus(fault.status, fault.message);
    const requireLeader = options.metadata?.['hasleader'] === 'true';
    if (this.leader === null && requireLeader && path !== '/etcdserverpb.Maintenance/Status') throw serverStatus(Status.UNAVAILABLE, 'etcdserver: no leader');
    const result = this.handle(member, path, request, options);
    if (fault?.type === 'lose-response') throw transport('connection closed');
    return result;
  }

  private hang(options: ConnectionCallOptions): Promise<never> {
    return new Promise((_, reject) => {
      const signal = options.signal;
      if (signal === undefined) return;
      if (signal.aborted) reject(new GrpcError(Status.CANCELLED, 'cancelled by the client'));
      signal.addEventListener('abort', () => reject(new GrpcError(Status.CANCELLED, 'cancelled by the client')), { once: true });
    });
  }

  private handle(member: FakeMember, path: string, request: unknown, options: ConnectionCallOptions): unknown {
    const tagText = options.metadata?.[SESSION_METADATA_KEY];
    const tag = this.sessions && typeof tagText === 'string' ? parseSessionTag(tagText) : null;
    if (tag !== null) {
      const kept = this.kept.get(tag.clientId);
      if (kept === undefined) throw serverStatus(Status.FAILED_PRECONDITION, 'bulwark: client session expired or unknown');
      for (const seq of [...kept.keys()]) if (seq < tag.lowestUnacked) kept.delete(seq);
      if (kept.has(tag.seq)) return kept.get(tag.seq);
      const result = this.apply(member, path, request);
      kept.set(tag.seq, result);
      return result;
    }
    return this.apply(member, path, request);
  }

  /** Forgets every session (as a server whose session table was reset). */
  expireSessions(): void {
    this.kept.clear();
  }

  private apply(member: FakeMember, path: string, request: unknown): unknown {
    const h = (): ResponseHeader => this.header(member);
    switch (path) {
      case '/bulwark.v1.Session/Open': {
        if (!this.sessions) throw serverStatus(Status.UNIMPLEMENTED, 'unknown service bulwark.v1.Session');
        const id = this.nextSessionId++;
        this.kept.set(id, new Map());
        return { header: h(), clientId: id };
      }
      case '/etcdserverpb.Maintenance/Status':
        return { header: h(), version: 'fake', dbSize: 0, leader: this.leader?.id ?? 0n, raftIndex: this.revision, raftTerm: this.term, raftAppliedIndex: this.revision, errors: [], dbSizeInUse: 0, isLearner: false };
      case '/etcdserverpb.KV/Range':
        return this.range(member, request as RangeRequestInit);
      case '/etcdserverpb.KV/Put':
        this.appliedWrites++;
        return this.put(member, request as PutRequestInit, ++this.revision);
      case '/etcdserverpb.KV/DeleteRange':
        this.appliedWrites++;
        return this.deleteRange(member, request as DeleteRangeRequestInit, this.revision + 1);
      case '/etcdserverpb.KV/Txn':
        return this.txn(member, request as TxnRequestInit);
      case '/etcdserverpb.Lease/LeaseGrant': {
        const r = request as { TTL?: number; ID?: bigint };
        const id = r.ID !== undefined && r.ID !== 0n ? r.ID : this.nextLeaseId++;
        if (this.leases.has(id)) throw serverStatus(Status.FAILED_PRECONDITION, 'etcdserver: lease already exists');
        this.leases.set(id, { ttl: r.TTL ?? 0, keys: new Set() });
        return { header: h(), ID: id, TTL: r.TTL ?? 0, error: '' };
      }
      case '/etcdserverpb.Lease/LeaseRevoke': {
        const id = (request as { ID?: bigint }).ID ?? 0n;
        if (!this.leases.has(id)) throw serverStatus(Status.NOT_FOUND, 'etcdserver: requested lease not found');
        this.expireLease(id);
        return { header: h() };
      }
      case '/etcdserverpb.Lease/LeaseTimeToLive': {
        const id = (request as { ID?: bigint }).ID ?? 0n;
        const l = this.leases.get(id);
        return { header: h(), ID: id, TTL: l === undefined ? -1 : l.ttl, grantedTTL: l?.ttl ?? 0, keys: [] };
      }
      case '/etcdserverpb.Cluster/MemberList':
        return { header: h(), members: this.members.map((m) => ({ ID: m.id, name: m.endpoint, peerURLs: [], clientURLs: [`http://${m.endpoint}`], isLearner: false })) };
      default:
        throw serverStatus(Status.UNIMPLEMENTED, `fake: ${path} not implemented`);
    }
  }

  private inRange(k: string, key: string, end: string | null): boolean {
    if (end === null) return k === key;
    if (end === '\0') return k >= key;
    return k >= key && k < end;
  }

  private range(member: FakeMember, r: RangeRequestInit): unknown {
    if (r.revision !== undefined && r.revision > 0 && r.revision <= this.compactRevision) throw serverStatus(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
    const key = latin1(r.key);
    const end = r.rangeEnd === undefined || r.rangeEnd.length === 0 ? null : latin1(r.rangeEnd);
    const all = [...this.kvs.entries()].filter(([k]) => this.inRange(k, key, end)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
    const limited = r.limit !== undefined && r.limit > 0 ? all.slice(0, r.limit) : all;
    return { header: this.header(member), kvs: r.countOnly === true ? [] : limited.map((v) => ({ ...v })), more: limited.length < all.length, count: all.length };
  }

  private put(member: FakeMember, r: PutRequestInit, revision: number): unknown {
    const key = latin1(r.key);
    const prev = this.kvs.get(key);
    const lease = r.lease ?? 0n;
    if (lease !== 0n && !this.leases.has(lease)) throw serverStatus(Status.NOT_FOUND, 'etcdserver: requested lease not found');
    const kv: StoredKv = { key: Uint8Array.from(r.key ?? []), value: Uint8Array.from(r.value ?? []), createRevision: prev?.createRevision ?? revision, modRevision: revision, version: (prev?.version ?? 0) + 1, lease };
    this.kvs.set(key, kv);
    if (lease !== 0n) this.leases.get(lease)!.keys.add(key);
    this.record(revision, { type: 0, kv: { ...kv }, prevKv: prev === undefined ? undefined : { ...prev } });
    return { header: { ...this.header(member), revision }, prevKv: r.prevKv === true && prev !== undefined ? { ...prev } : undefined };
  }

  private deleteRange(member: FakeMember, r: DeleteRangeRequestInit, revision: number): unknown {
    const key = latin1(r.key);
    const end = r.rangeEnd === undefined || r.rangeEnd.length === 0 ? null : latin1(r.rangeEnd);
    const doomed = [...this.kvs.keys()].filter((k) => this.inRange(k, key, end));
    const prevKvs = doomed.map((k) => ({ ...this.kvs.get(k)! }));
    if (doomed.length > 0) {
      this.revision = revision;
      for (const k of doomed) this.deleteKey(k, revision);
    }
    return { header: this.header(member), deleted: doomed.length, prevKvs: r.prevKv === true ? prevKvs : [] };
  }

  private deleteKey(k: string, revision: number): void {
    const prev = this.kvs.get(k);
    if (prev === undefined) return;
    this.kvs.delete(k);
    this.record(revision, { type: 1, kv: { key: prev.key, value: new Uint8Array(0), createRevision: 0, modRevision: revision, version: 0, lease: 0n }, prevKv: { ...prev } });
  }

  private compare(c: CompareInit): boolean {
    const kv = this.kvs.get(latin1(c.key));
    const u = c.targetUnion;
    let cmp: number;
    switch (u?.type) {
      case 'value': {
        if (kv === undefined) return false;
        const a = latin1(kv.value);
        const b = latin1(u.value);
        cmp = a < b ? -1 : a > b ? 1 : 0;
        break;
      }
      case 'version':
        cmp = (kv?.version ?? 0) - u.value;
        break;
      case 'createRevision':
        cmp = (kv?.createRevision ?? 0) - u.value;
        break;
      case 'modRevision':
        cmp = (kv?.modRevision ?? 0) - u.value;
        break;
      case 'lease':
        cmp = Number((kv?.lease ?? 0n) - u.value);
        break;
      default:
        cmp = 0;
    }
    switch (c.result ?? 0) {
      case 0:
        return cmp === 0;
      case 1:
        return cmp > 0;
      case 2:
        return cmp < 0;
      default:
        return cmp !== 0;
    }
  }

  private txn(member: FakeMember, t: TxnRequestInit): unknown {
    const ok = (t.compare ?? []).every((c) => this.compare(c));
    const ops: readonly RequestOpInit[] = (ok ? t.success : t.failure) ?? [];
    const writes = ops.some((o) => o.request?.type === 'requestPut' || o.request?.type === 'requestDeleteRange');
    const revision = writes ? this.revision + 1 : this.revision;
    if (writes) this.appliedWrites++;
    const responses = ops.map((o) => {
      const r = o.request;
      switch (r?.type) {
        case 'requestRange':
          return { response: { type: 'responseRange', value: this.range(member, r.value) } };
        case 'requestPut':
          return { response: { type: 'responsePut', value: this.put(member, r.value, revision) } };
        case 'requestDeleteRange':
          return { response: { type: 'responseDeleteRange', value: this.deleteRange(member, r.value, revision) } };
        default:
          throw serverStatus(Status.UNIMPLEMENTED, 'fake: nested txn');
      }
    });
    this.revision = revision;
    return { header: this.header(member), succeeded: ok, responses };
  }

  private record(revision: number, event: Event): void {
    this.revision = Math.max(this.revision, revision);
    this.history.push({ revision, event });
    for (const w of this.watchStates) {
      if (w.member.down) continue;
      for (const [id, spec] of w.watchers) {
        if (!this.inRange(latin1(event.kv!.key), spec.key, spec.end)) continue;
        const response = this.watchResponse(w.member, { watchId: id, events: [spec.prevKv ? event : { ...event, prevKv: undefined }] });
        if (w.member.paused) w.member.backlog.push(() => w.stream.push(response));
        else w.stream.push(response);
      }
    }
  }

  private watchResponse(member: FakeMember, o: Partial<WatchResponse>): WatchResponse {
    return { header: this.header(member), watchId: 0n, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [], ...o };
  }

  private duplex(member: FakeMember, path: string, options: ConnectionCallOptions): ClientDuplex<unknown, unknown> {
    this.calls.push(`${member.endpoint} ${path}`);
    const stream = new FakeStream<unknown>();
    if (member.down) stream.fail(transport(`connect to ${member.endpoint} failed: ECONNREFUSED`, 'refused'));
    if (path === '/etcdserverpb.Watch/Watch') {
      const state: WatchState = { stream: stream as FakeStream<WatchResponse>, member, watchers: new Map(), nextId: 0n };
      if (!member.down) this.watchStates.add(state);
      stream.onCancel = () => this.watchStates.delete(state);
      return this.duplexOf(member, stream, (req) => this.watchRequest(state, req as WatchRequestInit));
    }
    if (path === '/etcdserverpb.Lease/LeaseKeepAlive') {
      const entry = { stream, member };
      if (!member.down) this.keepAliveStreams.add(entry);
      stream.onCancel = () => this.keepAliveStreams.delete(entry);
      return this.duplexOf(member, stream, (req) => {
        if (member.down) return;
        const id = (req as { ID?: bigint }).ID ?? 0n;
        const l = this.leases.get(id);
        stream.push({ header: this.header(member), ID: id, TTL: l === undefined ? 0 : l.ttl });
      });
    }
    void options;
    stream.fail(serverStatus(Status.UNIMPLEMENTED, `fake: ${path} not implemented`));
    return this.duplexOf(member, stream, () => {});
  }

  private duplexOf(member: FakeMember, stream: FakeStream<unknown>, onWrite: (req: unknown) => void): ClientDuplex<unknown, unknown> {
    return {
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
      headers: stream.headers,
      cancel: () => stream.cancel(),
      end: () => {},
      write: async (m: unknown) => {
        if (stream.finished) throw new GrpcError(Status.CANCELLED, 'the call is over');
        if (member.paused) member.backlog.push(() => !stream.finished && onWrite(m));
        else onWrite(m);
      },
    };
  }

  private watchRequest(state: WatchState, req: WatchRequestInit): void {
    if (state.member.down) return;
    const u = req.requestUnion;
    if (u?.type === 'createRequest') {
      const c = u.value;
      const id = c.watchId !== undefined && c.watchId !== 0n ? c.watchId : state.nextId++;
      const start = c.startRevision ?? 0;
      if (start > 0 && start <= this.compactRevision) {
        state.stream.push(this.watchResponse(state.member, { watchId: id, created: true, canceled: true, compactRevision: this.compactRevision }));
        return;
      }
      const spec = { key: latin1(c.key), end: c.rangeEnd === undefined || c.rangeEnd.length === 0 ? null : latin1(c.rangeEnd), prevKv: c.prevKv === true };
      state.stream.push(this.watchResponse(state.member, { watchId: id, created: true }));
      if (start > 0) {
        for (const h of this.history) {
          if (h.revision >= start && this.inRange(latin1(h.event.kv!.key), spec.key, spec.end)) state.stream.push(this.watchResponse(state.member, { watchId: id, events: [h.event] }));
        }
      }
      state.watchers.set(id, spec);
    } else if (u?.type === 'cancelRequest') {
      const id = u.value.watchId ?? 0n;
      if (state.watchers.delete(id)) state.stream.push(this.watchResponse(state.member, { watchId: id, canceled: true }));
    } else if (u?.type === 'progressRequest') {
      state.stream.push(this.watchResponse(state.member, { watchId: -1n }));
    }
  }
}

export type { KeyValue };
