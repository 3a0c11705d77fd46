/**
 * The building blocks of etcd's server-side Lock and Election services (etcd runs its clientv3
 * `concurrency` package inside the server; we do the same steps against the local member):
 *
 * - a session lease: the request's lease, or when it is 0 a fresh lease of 60 s that nobody keeps
 *   alive (etcd's server "orphans" the session, so such a lock or candidacy ends with the lease);
 * - a key per holder, `<prefix><lease id in hex>`, created with the lease, whose create revision
 *   orders the waiters (the oldest holds the lock or leads) and serves as the fencing token;
 * - waitDeletes: wait until every key under the prefix created before ours is deleted.
 *
 * Reads after a write are local: the write was applied on this member before `write` returned.
 */
import { GrpcError, Status, type ServerCall } from '../../api/grpc/index.js';
import type { ResponseHeaderInit } from '../../api/proto/generated/etcdserverpb.js';
import { leaseId } from '../../core/ids.js';
import { CONCURRENCY_SESSION_TTL_SEC } from '../../core/limits.js';
import { compare, deleteRangeOp, prefixEnd, putOp, rangeOp, txnOp, type RangeOp } from '../../kv/command.js';
import { KvError } from '../../kv/errors.js';
import type { KeyValue } from '../../kv/record.js';
import type { RangeResult, TxnResult } from '../../kv/results.js';
import { watchRequest, type WatchEvent } from '../../kv/watch-types.js';
import type { WatchStream } from '../../kv/watch-stream.js';
import { ServerError } from '../errors.js';
import type { ServiceContext } from './context.js';

const enc = new TextEncoder();

/** etcd's lock and election servers return client-library errors, which reach gRPC as UNKNOWN. */
export function asClientError(e: unknown): unknown {
  if (e instanceof KvError) return new GrpcError(Status.UNKNOWN, e.message);
  return e;
}

/** The lease a lock or a campaign is held with: the given one, or a new 60 s lease. */
export async function sessionLease(ctx: ServiceContext, call: ServerCall, lease: bigint): Promise<bigint> {
  if (lease !== 0n) return lease;
  const res = await ctx.write({ type: 'lease-grant', id: leaseId(0n), ttlSec: CONCURRENCY_SESSION_TTL_SEC }, call);
  if (res.outcome.type !== 'lease-grant') throw new ServerError('invalid-argument', 'unexpected lease grant outcome');
  return res.outcome.id;
}

/** `<prefix><lease in lowercase hex>` (Go's %x of the lease id). */
export function holderKey(prefix: Uint8Array, lease: bigint): Uint8Array {
  const hex = enc.encode(BigInt.asUintN(64, lease).toString(16));
  const out = new Uint8Array(prefix.length + hex.length);
  out.set(prefix);
  out.set(hex, prefix.length);
  return out;
}

export function withSlash(name: Uint8Array): Uint8Array {
  const out = new Uint8Array(name.length + 1);
  out.set(name);
  out[name.length] = 0x2f;
  return out;
}

/** The key under the prefix created first (WithFirstCreate) or last before maxCreateRev (WithLastCreate). */
export function ownerQuery(prefix: Uint8Array, o: { last: boolean; maxCreateRevision?: number }): RangeOp {
  return rangeOp(prefix, {
    rangeEnd: prefixEnd(prefix),
    sortOrder: o.last ? 'descend' : 'ascend',
    sortTarget: 'create',
    limit: 1,
    maxCreateRevision: o.maxCreateRevision ?? 0,
  });
}

/**
 * Creates the holder key if it does not exist (txn: create_revision == 0 → put, else get) and
 * reads the current owner in the same transaction. Returns the key's create revision.
 */
export async function enqueueHolder(
  ctx: ServiceContext,
  call: ServerCall,
  o: { key: Uint8Array; value: Uint8Array; lease: bigint; prefix: Uint8Array },
): Promise<{ myRevision: number; owner: KeyValue | null; existing: KeyValue | null; header: ResponseHeaderInit }> {
  const owner = ownerQuery(o.prefix, { last: false });
  const t = txnOp(
    [compare(o.key, 'equal', { type: 'create', revision: 0 })],
    [putOp(o.key, o.value, { lease: leaseId(o.lease) }), owner],
    [rangeOp(o.key), owner],
  );
  const res = await ctx.write(t, call);
  const r = res.outcome as TxnResult;
  const existing = r.succeeded ? null : ((r.responses[0] as RangeResult).kvs[0] ?? null);
  const myRevision = existing === null ? res.revision : existing.createRevision;
  const ownerKv = (r.responses[1] as RangeResult).kvs[0] ?? null;
  return { myRevision, owner: ownerKv, existing, header: ctx.header(res.revision) };
}

/** Waits until every key under `prefix` created at or below `maxCreateRevision` is gone. */
export async function waitDeletes(ctx: ServiceContext, call: ServerCall, prefix: Uint8Array, maxCreateRevision: number): Promise<ResponseHeaderInit> {
  for (;;) {
    await ctx.read(false, call);
    const r = ctx.member.kv.range(ownerQuery(prefix, { last: true, maxCreateRevision }));
    const header = ctx.header();
    const last = r.kvs[0];
    if (last === undefined) return header;
    await waitDelete(ctx, call, last.key, Number(header.revision));
  }
}

/** Waits for a DELETE of `key` at or after `fromRevision`. */
async function waitDelete(ctx: ServiceContext, call: ServerCall, key: Uint8Array, fromRevision: number): Promise<void> {
  const w = new LocalWatch(ctx, watchRequest(key, { startRevision: fromRevision }));
  try {
    for (;;) {
      const events = await w.next(call.signal);
      if (events.some((e) => e.type === 'delete')) return;
    }
  } finally {
    w.close();
  }
}

export async function deleteKey(ctx: ServiceContext, call: ServerCall, key: Uint8Array): Promise<ResponseHeaderInit> {
  const res = await ctx.write(deleteRangeOp(key), call);
  return ctx.header(res.revision);
}

/** Deletes a holder key for a call that is over (its deadline and cancellation no longer apply). */
export function releaseInBackground(ctx: ServiceContext, key: Uint8Array): void {
  ctx.member.propose(deleteRangeOp(key)).catch(() => undefined);
}

/**
 * One watcher on the member's own store, consumed in-process: `next()` resolves with the events
 * of the next revision(s). A watcher that falls behind the compaction ends with an error.
 */
export class LocalWatch {
  private readonly stream: WatchStream;
  private wake: (() => void) | null = null;
  private closed = false;

  constructor(
    private readonly ctx: ServiceContext,
    req: ReturnType<typeof watchRequest>,
  ) {
    this.stream = ctx.member.kv.openWatchStream();
    this.stream.onReadable = () => {
      const w = this.wake;
      this.wake = null;
      w?.();
    };
    this.stream.create(req);
  }

  /** The events of the next response, with the revision for its header. */
  async nextWithRevision(signal: AbortSignal): Promise<{ events: readonly WatchEvent[]; revision: number }> {
    for (;;) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new GrpcError(Status.CANCELLED, 'context canceled');
      if (this.closed) throw new ServerError('stopped');
      const r = this.stream.next();
      if (r !== null) {
        switch (r.type) {
          case 'events':
            return { events: r.events, revision: r.revision };
          case 'canceled':
            throw r.compactRevision > 0 ? new KvError('compacted') : new ServerError('stopped');
          case 'create-refused':
            throw new GrpcError(Status.UNAVAILABLE, r.reason);
          case 'created':
          case 'progress':
            continue;
        }
      }
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done);
        // History replay is pulled in steps: come back soon rather than wait for a signal.
        if (this.stream.catchingUp) setImmediate(done);
      });
    }
  }

  async next(signal: AbortSignal): Promise<readonly WatchEvent[]> {
    return (await this.nextWithRevision(signal)).events;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  get member(): ServiceContext['member'] {
    return this.ctx.member;
  }
}
