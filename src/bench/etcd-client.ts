/**
 * A thin etcd v3 client for the tools: one gRPC channel (one HTTP/2 connection) to one endpoint,
 * with the calls `bulwark bench` and `bulwark chaos` make. No retries, no failover, no leader
 * discovery on purpose: a load generator must see every failure, and a fault-injection checker
 * must record each call's real outcome (a retry inside the client could apply a write twice, as
 * Jepsen found with etcd's Go client, etcd#18424).
 */
import { GrpcChannel, GrpcError, Status, type CallOptions, type ClientDuplex } from '../api/grpc/index.js';
import {
  ClusterService,
  Compare_CompareResult,
  Compare_CompareTarget,
  KVService,
  LeaseService,
  MaintenanceService,
  WatchService,
  type CompareInit,
  type LeaseKeepAliveRequestInit,
  type LeaseKeepAliveResponse,
  type Member,
  type RangeRequestInit,
  type RangeResponse,
  type RequestOpInit,
  type StatusResponse,
  type TxnResponse,
  type WatchRequestInit,
  type WatchResponse,
} from '../api/proto/generated/etcdserverpb.js';
import type { KeyValue } from '../api/proto/generated/mvccpb.js';
import { LockService } from '../api/proto/generated/v3lockpb.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bytes = (s: string): Uint8Array => encoder.encode(s);
export const text = (b: Uint8Array): string => decoder.decode(b);

/** The end of the range of every key starting with `prefix` (etcd's prefix convention). */
export function prefixEnd(prefix: string): Uint8Array {
  const b = Uint8Array.from(bytes(prefix));
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i]! < 0xff) {
      b[i]! += 1;
      return b.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]); // every key
}

export interface GetResult {
  readonly value: string | null;
  readonly modRevision: number;
  readonly createRevision: number;
  /** The store's revision when the read was served. */
  readonly revision: number;
}

/** One connection to one member. Calls are cheap: our own HTTP/2 and gRPC layer (src/api). */
export class EtcdConnection {
  readonly channel: GrpcChannel;

  constructor(readonly endpoint: string, options: { readonly connectTimeoutMs?: number } = {}) {
    this.channel = new GrpcChannel(endpoint, options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs });
  }

  close(): void {
    this.channel.close();
  }

  put(key: Uint8Array, value: Uint8Array, o: CallOptions & { readonly lease?: bigint } = {}): Promise<{ revision: number }> {
    return this.channel.call(KVService.Put, { key, value, lease: o.lease }, o).then((r) => ({ revision: r.header?.revision ?? 0 }));
  }

  range(request: RangeRequestInit, o?: CallOptions): Promise<RangeResponse> {
    return this.channel.call(KVService.Range, request, o);
  }

  async get(key: string, o: CallOptions & { readonly serializable?: boolean } = {}): Promise<GetResult> {
    const r = await this.channel.call(KVService.Range, { key: bytes(key), serializable: o.serializable ?? false }, o);
    const kv = r.kvs[0];
    return {
      value: kv === undefined ? null : text(kv.value),
      modRevision: kv?.modRevision ?? 0,
      createRevision: kv?.createRevision ?? 0,
      revision: r.header?.revision ?? 0,
    };
  }

  /** Every key-value under a prefix, in key order. */
  async getPrefix(prefix: string, o: CallOptions & { readonly serializable?: boolean; readonly keysOnly?: boolean } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.channel.call(KVService.Range, { key: bytes(prefix), rangeEnd: prefixEnd(prefix), serializable: o.serializable ?? false, keysOnly: o.keysOnly ?? false }, o);
    return { kvs: r.kvs, revision: r.header?.revision ?? 0 };
  }

  delete(key: string, o?: CallOptions): Promise<{ deleted: number; revision: number }> {
    return this.channel.call(KVService.DeleteRange, { key: bytes(key) }, o).then((r) => ({ deleted: r.deleted, revision: r.header?.revision ?? 0 }));
  }

  txn(compare: readonly CompareInit[], success: readonly RequestOpInit[], failure: readonly RequestOpInit[], o?: CallOptions): Promise<TxnResponse> {
    return this.channel.call(KVService.Txn, { compare: [...compare], success: [...success], failure: [...failure] }, o);
  }

  /**
   * Compare-and-set: writes `value` if the key holds `expected` (null: the key does not exist).
   * On failure the response carries the current value (a range in the failure branch).
   */
  async cas(key: string, expected: string | null, value: string, o?: CallOptions): Promise<{ ok: boolean; revision: number }> {
    const k = bytes(key);
    const compare: CompareInit =
      expected === null
        ? { key: k, target: Compare_CompareTarget.CREATE, result: Compare_CompareResult.EQUAL, targetUnion: { type: 'createRevision', value: 0 } }
        : { key: k, target: Compare_CompareTarget.VALUE, result: Compare_CompareResult.EQUAL, targetUnion: { type: 'value', value: bytes(expected) } };
    const r = await this.txn([compare], [{ request: { type: 'requestPut', value: { key: k, value: bytes(value) } } }], [], o);
    return { ok: r.succeeded, revision: r.header?.revision ?? 0 };
  }

  /** Writes `value` if the key's mod revision is still `modRevision` (0: the key does not exist). */
  async putIfModRevision(key: string, modRevision: number, value: string, o?: CallOptions): Promise<{ ok: boolean; current: GetResult }> {
    const k = bytes(key);
    const r = await this.txn(
      [{ key: k, target: Compare_CompareTarget.MOD, result: Compare_CompareResult.EQUAL, targetUnion: { type: 'modRevision', value: modRevision } }],
      [{ request: { type: 'requestPut', value: { key: k, value: bytes(value) } } }],
      [{ request: { type: 'requestRange', value: { key: k } } }],
      o,
    );
    const revision = r.header?.revision ?? 0;
    if (r.succeeded) return { ok: true, current: { value, modRevision: revision, createRevision: 0, revision } };
    const first = r.responses[0]?.response;
    const kv = first?.type === 'responseRange' ? first.value.kvs[0] : undefined;
    return {
      ok: false,
      current: { value: kv === undefined ? null : text(kv.value), modRevision: kv?.modRevision ?? 0, createRevision: kv?.createRevision ?? 0, revision },
    };
  }

  leaseGrant(ttlSeconds: number, o?: CallOptions): Promise<{ id: bigint; ttl: number }> {
    return this.channel.call(LeaseService.LeaseGrant, { TTL: ttlSeconds }, o).then((r) => {
      if (r.error !== '') throw new GrpcError(Status.UNKNOWN, r.error);
      return { id: r.ID, ttl: r.TTL };
    });
  }

  leaseRevoke(id: bigint, o?: CallOptions): Promise<void> {
    return this.channel.call(LeaseService.LeaseRevoke, { ID: id }, o).then(() => undefined);
  }

  /** A LeaseKeepAlive stream: write { ID } and read { ID, TTL } back (TTL 0: the lease is gone). */
  keepAliveStream(o?: CallOptions): ClientDuplex<LeaseKeepAliveRequestInit, LeaseKeepAliveResponse> {
    return this.channel.duplex(LeaseService.LeaseKeepAlive, o);
  }

  /** A Watch stream: write create/cancel requests, read responses. */
  watchStream(o?: CallOptions): ClientDuplex<WatchRequestInit, WatchResponse> {
    return this.channel.duplex(WatchService.Watch, o);
  }

  /** v3lockpb.Lock: waits until `name` is ours (held while `lease` lives); returns the ownership key. */
  lock(name: string, lease: bigint, o?: CallOptions): Promise<{ key: Uint8Array; revision: number }> {
    return this.channel.call(LockService.Lock, { name: bytes(name), lease }, o).then((r) => ({ key: r.key, revision: r.header?.revision ?? 0 }));
  }

  unlock(key: Uint8Array, o?: CallOptions): Promise<void> {
    return this.channel.call(LockService.Unlock, { key }, o).then(() => undefined);
  }

  status(o?: CallOptions): Promise<StatusResponse> {
    return this.channel.call(MaintenanceService.Status, {}, o);
  }

  moveLeader(targetId: bigint, o?: CallOptions): Promise<void> {
    return this.channel.call(MaintenanceService.MoveLeader, { targetID: targetId }, o).then(() => undefined);
  }

  memberList(o?: CallOptions): Promise<Member[]> {
    return this.channel.call(ClusterService.MemberList, {}, o).then((r) => r.members);
  }

  memberAdd(peerUrls: readonly string[], o?: CallOptions): Promise<{ member: Member | undefined; members: Member[] }> {
    return this.channel.call(ClusterService.MemberAdd, { peerURLs: [...peerUrls] }, o).then((r) => ({ member: r.member, members: r.members }));
  }

  memberRemove(id: bigint, o?: CallOptions): Promise<Member[]> {
    return this.channel.call(ClusterService.MemberRemove, { ID: id }, o).then((r) => r.members);
  }
}

/** Whether a failed call certainly did not run on the server (so a write failed rather than being in doubt). */
export function certainlyNotApplied(e: unknown): boolean {
  if (!(e instanceof GrpcError)) return false;
  switch (e.status) {
    // Refused before the server looked at it.
    case Status.INVALID_ARGUMENT:
    case Status.FAILED_PRECONDITION:
    case Status.PERMISSION_DENIED:
    case Status.UNAUTHENTICATED:
    case Status.UNIMPLEMENTED:
    case Status.RESOURCE_EXHAUSTED:
    case Status.OUT_OF_RANGE:
      return true;
    case Status.UNAVAILABLE:
      // The connection could not be made: nothing was sent. Any other UNAVAILABLE (a lost
      // connection, "etcdserver: request timed out", "leader changed") may have been applied.
      return /^connect to \S+ (failed|timed out)/.test(e.details);
    default:
      return false;
  }
}

export function errorText(e: unknown): string {
  if (e instanceof GrpcError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
