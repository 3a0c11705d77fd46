/**
 * A distributed mutex with a fencing token (etcd's concurrency.Mutex algorithm).
 *
 * Each contender creates `<prefix>/<lease id>` under its session lease; contenders are ordered by
 * the revision that created their key, and each waits only for the key just before its own to be
 * deleted (no thundering herd). The holder's fencing token is that creation revision: it grows
 * with every new holder, so a resource that remembers the highest token it has seen can refuse a
 * holder whose lease expired while it was paused (Kleppmann's fencing; Jepsen found etcd's lock
 * unsafe without it). For state kept in the same cluster, guard writes with `isOwner()` instead.
 */
import type { CompareInit } from '../../api/proto/generated/etcdserverpb.js';
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import { Compare, Op } from '../txn.js';
import type { Session } from './session.js';
import { waitDelete } from './wait.js';

/**
 * Waits until no key under `prefix` was created before `revision` (`maxCreateRevision`), i.e. until
 * every contender ahead has gone. Returns when the caller is first in line.
 */
export async function waitPredecessors(client: BulwarkClient, prefix: string, revision: number, o: { session?: Session; signal?: AbortSignal } = {}): Promise<void> {
  while (true) {
    const r = await client.get(prefix, { prefix: true, maxCreateRevision: revision - 1, sort: { target: 'create', order: 'descend' }, limit: 1 });
    const last = r.kvs[0];
    if (last === undefined) return;
    await waitDelete(client, last.key, r.header?.revision ?? 0, o);
  }
}

/** Creates `key` under the session's lease unless it exists; returns its creation revision. Safe to repeat. */
export async function createOwnKey(client: BulwarkClient, session: Session, key: string, value: string, ownerPrefix?: string): Promise<{ revision: number; ownerRevision: number | null; value: Uint8Array }> {
  const ops = ownerPrefix === undefined ? [] : [Op.get(ownerPrefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 })];
  const t = await client
    .txn()
    .if(Compare.createRevision(key, '=', 0))
    .then(Op.put(key, value, { lease: session.leaseId }), ...ops)
    .else(Op.get(key), ...ops)
    .commit({ idempotent: true });
  let revision: number;
  let current: Uint8Array;
  if (t.succeeded) {
    revision = t.header?.revision ?? 0;
    current = new TextEncoder().encode(value);
  } else {
    const r = t.responses[0]?.response;
    const kv = r?.type === 'responseRange' ? r.value.kvs[0] : undefined;
    if (kv === undefined) throw new ClientError('recipe', `key ${key} vanished while being created`);
    revision = kv.createRevision;
    current = kv.value;
  }
  const o = ownerPrefix === undefined ? undefined : t.responses[1]?.response;
  const owner = o?.type === 'responseRange' ? o.value.kvs[0] : undefined;
  return { revision, ownerRevision: owner?.createRevision ?? null, value: current };
}

export class Mutex {
  private myKey: string;
  private myRevision = 0;
  private readonly prefix: string;

  constructor(
    private readonly session: Session,
    name: string,
  ) {
    this.prefix = name.endsWith('/') ? name : `${name}/`;
    this.myKey = `${this.prefix}${session.leaseId.toString(16)}`;
  }

  /** The key that says this session holds (or waits for) the lock. */
  get key(): string {
    return this.myKey;
  }

  /** The fencing token: the revision that created our key. Larger for every later holder. */
  get fencingToken(): number {
    return this.myRevision;
  }

  /** Held: locked, and the session has not lost its lease. */
  get held(): boolean {
    return this.myRevision !== 0 && this.session.alive;
  }

  /** Waits until the lock is ours. Rejects if the session's lease is lost meanwhile. */
  async lock(o: { signal?: AbortSignal } = {}): Promise<number> {
    const client = this.session.client;
    const mine = await createOwnKey(client, this.session, this.myKey, '', this.prefix);
    this.myRevision = mine.revision;
    if (mine.ownerRevision !== null && mine.ownerRevision !== mine.revision) {
      try {
        await waitPredecessors(client, this.prefix, mine.revision, { session: this.session, ...o });
      } catch (e) {
        await this.unlock().catch(() => {});
        throw e;
      }
    }
    // Our key may have gone with an expired lease while we waited.
    const r = await client.get(this.myKey);
    if (r.kvs[0]?.createRevision !== this.myRevision) {
      this.myRevision = 0;
      throw new ClientError('lease-lost', `lock ${this.prefix}: the session's lease expired while waiting`);
    }
    return this.myRevision;
  }

  /** Takes the lock only if nobody holds it; otherwise fails with a `recipe` error. */
  async tryLock(): Promise<number> {
    const mine = await createOwnKey(this.session.client, this.session, this.myKey, '', this.prefix);
    if (mine.ownerRevision !== null && mine.ownerRevision !== mine.revision) {
      await this.session.client.delete(this.myKey, { idempotent: true });
      throw new ClientError('recipe', `lock ${this.prefix} is held by another session`);
    }
    this.myRevision = mine.revision;
    return this.myRevision;
  }

  async unlock(): Promise<void> {
    await this.session.client.delete(this.myKey, { idempotent: true });
    this.myRevision = 0;
  }

  /**
   * A compare that holds only while this holding of the lock lasts: guard writes with it
   * (`txn().if(mutex.isOwner())`). Kept after the lock is lost, it keeps failing.
   */
  isOwner(): CompareInit {
    if (this.myRevision === 0) throw new ClientError('recipe', `lock ${this.prefix} is not held`);
    return Compare.createRevision(this.myKey, '=', this.myRevision);
  }
}
