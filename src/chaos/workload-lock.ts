/**
 * A lock with fencing tokens: clients contend for one of a few locks with etcd's lock service
 * (v3lockpb.Lock, held through a lease), read the lock key's create revision as their token, use
 * the protected resource twice while holding it (keeping the lease alive between), then unlock and
 * revoke the lease. The resource is in this process and refuses tokens below the highest it has
 * seen (check-lock.ts).
 */
import { GrpcError, Status } from '../api/grpc/index.js';
import { bytes, prefixEnd, text, type EtcdConnection } from '../bench/etcd-client.js';
import { CHAOS_LOCK_NAMES, CHAOS_LOCK_TTL_SECONDS } from '../core/limits.js';
import { checkLock, FencedResource, type LockInput, type LockOutput, type ResourceAccess } from './check-lock.js';
import type { RecordedOp } from './history.js';
import { endWrite, pause, type CheckOutcome, type ClientContext, type Workload } from './workload.js';

export class LockWorkload implements Workload {
  readonly name = 'lock';
  /** One protected resource per lock: tokens of different locks are not comparable. */
  private readonly resources = new Map<string, FencedResource>();

  private resource(lock: string): FencedResource {
    let r = this.resources.get(lock);
    if (r === undefined) this.resources.set(lock, (r = new FencedResource(lock)));
    return r;
  }

  async prepare(): Promise<void> {}

  async client(ctx: ClientContext): Promise<void> {
    const call = { deadlineMs: ctx.opTimeoutMs };
    while (!ctx.signal.aborted) {
      await ctx.throttle();
      const lock = `${ctx.keyPrefix}lock/${ctx.random.int(CHAOS_LOCK_NAMES)}`;
      const acquire = ctx.recorder.invoke<LockInput, LockOutput>(ctx.index, ctx.member, { type: 'acquire', lock });
      let lease: bigint;
      try {
        lease = (await ctx.conn.leaseGrant(CHAOS_LOCK_TTL_SECONDS, call)).id;
      } catch (e) {
        endWrite(acquire, e);
        continue;
      }
      let key: Uint8Array;
      try {
        // Waiting for a lock held by another client takes a while: a longer deadline.
        key = await this.lock(ctx.conn, lock, lease, ctx.opTimeoutMs * 3);
      } catch (e) {
        endWrite(acquire, e);
        await ctx.conn.leaseRevoke(lease, call).catch(() => {}); // whatever we may hold goes with it
        continue;
      }
      let token: number | null = null;
      let leaseAlive = true;
      try {
        const kv = await ctx.conn.get(text(key), call);
        token = kv.value === null ? null : kv.createRevision;
        if (token === null) leaseAlive = await keepAlive(ctx.conn, lease, ctx.opTimeoutMs);
      } catch {
        // We hold the lock (Lock returned) but cannot learn our token: count it in doubt.
        acquire.info('could not read the lock key after the grant');
        await ctx.conn.leaseRevoke(lease, call).catch(() => {});
        continue;
      }
      acquire.ok({ token, key: text(key), lease: lease.toString(16), leaseAlive });
      if (token !== null) {
        for (let use = 0; use < 2 && !ctx.signal.aborted; use++) {
          const h = ctx.recorder.invoke<LockInput, LockOutput>(ctx.index, ctx.member, { type: 'use', lock, token });
          h.ok(this.resource(lock).access({ client: ctx.index, token, atMs: ctx.recorder.clock.now() }));
          await pause(20 + ctx.random.int(80));
          if (use === 0) await keepAlive(ctx.conn, lease, ctx.opTimeoutMs).catch(() => false);
        }
      }
      const release = ctx.recorder.invoke<LockInput, LockOutput>(ctx.index, ctx.member, { type: 'release', lock, key: text(key) });
      try {
        if (this.api === 'service') await ctx.conn.unlock(key, call);
        else await ctx.conn.delete(text(key), call);
        release.ok({});
      } catch (e) {
        endWrite(release, e);
      }
      await ctx.conn.leaseRevoke(lease, call).catch(() => {});
    }
  }

  /** Which lock the store offers: its lock service, or (when it answers UNIMPLEMENTED) the lease+txn recipe. */
  private api: 'service' | 'txn' = 'service';
  private switched = false;

  private async lock(conn: EtcdConnection, name: string, lease: bigint, timeoutMs: number): Promise<Uint8Array> {
    if (this.api === 'service') {
      try {
        return (await conn.lock(name, lease, { deadlineMs: timeoutMs })).key;
      } catch (e) {
        if (!(e instanceof GrpcError && e.status === Status.UNIMPLEMENTED)) throw e;
        this.api = 'txn';
        this.switched = true;
      }
    }
    return lockWithTxn(conn, name, lease, timeoutMs);
  }

  async finish(): Promise<void> {}

  private log(): ResourceAccess[] {
    return [...this.resources.values()].flatMap((r) => r.log).sort((a, b) => a.atMs - b.atMs);
  }

  check(ops: readonly RecordedOp[]): CheckOutcome {
    const r = checkLock(ops, this.log());
    if (!this.switched) return r;
    return { ...r, notes: ['the store has no lock service (v3lockpb.Lock answered UNIMPLEMENTED): locks were taken with the lease+txn recipe', ...r.notes] };
  }

  extra(): unknown {
    return { resource: this.log() };
  }
}

/** One keep-alive on a short-lived stream: whether the lease is still alive. */
async function keepAlive(conn: EtcdConnection, lease: bigint, timeoutMs: number): Promise<boolean> {
  const s = conn.keepAliveStream({ deadlineMs: timeoutMs });
  try {
    await s.write({ ID: lease });
    for await (const r of s) return r.TTL > 0;
    return false;
  } finally {
    s.cancel();
  }
}

/**
 * The lock recipe etcd's client library uses (concurrency.Mutex), for stores without the lock
 * service: create `name/<lease>` under the lease if absent; the holder is the key with the lowest
 * create revision under `name/`; wait (polling, bounded) until that is ours.
 */
async function lockWithTxn(conn: EtcdConnection, name: string, lease: bigint, timeoutMs: number): Promise<Uint8Array> {
  const prefix = `${name}/`;
  const key = bytes(`${prefix}${lease.toString(16)}`);
  const deadline = Date.now() + timeoutMs;
  const call = { deadlineMs: timeoutMs };
  await conn.txn(
    [{ key, target: 1 /* CREATE */, result: 0 /* EQUAL */, targetUnion: { type: 'createRevision', value: 0 } }],
    [{ request: { type: 'requestPut', value: { key, value: new Uint8Array(0), lease } } }],
    [{ request: { type: 'requestRange', value: { key } } }],
    call,
  );
  for (;;) {
    const first = await conn.range({ key: bytes(prefix), rangeEnd: prefixEnd(prefix), sortOrder: 1 /* ASCEND */, sortTarget: 2 /* CREATE */, limit: 1 }, call);
    const owner = first.kvs[0];
    if (owner === undefined) throw new GrpcError(Status.ABORTED, 'our lock key is gone (lease expired)');
    if (text(owner.key) === text(key)) return key;
    if (Date.now() > deadline) throw new GrpcError(Status.DEADLINE_EXCEEDED, 'lock not acquired in time');
    await pause(50);
  }
}
