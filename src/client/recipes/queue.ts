/**
 * Distributed queues that deliver every item exactly once, also across failovers and without
 * exactly-once sessions (etcd), given a session lease for their markers.
 *
 * An item is a key under `<name>/`. A consumer claims the oldest (FIFO) or smallest (priority) key
 * with a transaction that deletes it only if it is unchanged, and in the same transaction writes a
 * claim marker of its own. If the answer to that transaction is lost (the member died), the marker
 * tells what happened: present, the item is ours; absent, not applied (yet) — and the consumer
 * looks at that marker again before each later take, in case the lost attempt applies after all.
 *
 * Enqueue creates a unique key, and with a lease an "enqueued" marker under it in the same
 * transaction, only if both are absent. The marker outlives the item, so a retry that arrives
 * after a consumer took the item cannot put it back (the ABA problem of create-if-absent); it lives
 * as long as the producer's lease. Without a lease, enqueue is not retried after an ambiguous
 * failure (the error says it may have been applied) — unless the server keeps exactly-once
 * sessions (Bulwark), which make the retry safe by themselves.
 */
import { CLIENT_RECIPE_BATCH_MAX } from '../../core/limits.js';
import type { KeyValue } from '../../api/proto/generated/mvccpb.js';
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import { text, toBytes, type Bytes } from '../kv.js';
import { Compare, Op } from '../txn.js';
import { ambiguous, markerExists } from './wait.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** Takes during which a doubtful claim's marker is looked for. */
const DOUBTFUL_CHECKS = 8;

export interface QueueOptions {
  /** The session lease that enqueue and claim markers live under (a crashed process's markers go with it). */
  readonly leaseId?: bigint;
}

class ClaimingQueue {
  protected readonly prefix: string;
  private readonly claims: string;
  private readonly consumer: string;

  constructor(
    protected readonly client: BulwarkClient,
    name: string,
    private readonly options: QueueOptions,
  ) {
    const base = name.replace(/\/+$/, '');
    this.prefix = `${base}/`;
    this.claims = `${base}:claims/`;
    this.enqueued = `${base}:enqueued/`;
    this.consumer = client.newId();
  }

  private readonly enqueued: string;
  /** Claims whose answer was lost and whose marker was absent: they may still apply (value, checks left). */
  private readonly doubtful = new Map<string, { value: Uint8Array; checksLeft: number }>();

  /** Creates the item's unique key (see the file comment for why a marker, and when it is retried). */
  protected async add(key: string, value: Bytes): Promise<void> {
    const v = toBytes(value);
    const lease = this.options.leaseId;
    if (lease === undefined) {
      const t = await this.client.txn().if(Compare.version(key, '=', 0)).then(Op.put(key, v)).commit();
      if (!t.succeeded) throw new ClientError('recipe', `queue key ${key} already exists`);
      return;
    }
    const marker = `${this.enqueued}${key.slice(this.prefix.length)}`;
    // Either compare failing means an earlier attempt of this very enqueue applied (the key is random).
    await this.client
      .txn()
      .if(Compare.version(key, '=', 0), Compare.version(marker, '=', 0))
      .then(Op.put(key, v), Op.put(marker, '', { lease }))
      .commit({ idempotent: true });
  }

  /** The item to take next, and the revision the answer was read at. */
  protected async head(): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const r = await this.client.get(this.prefix, { prefix: true, limit: 1, sort: { target: 'create', order: 'ascend' } });
    return { kv: r.kvs[0], revision: r.header?.revision ?? 0 };
  }

  /** Takes the next item, waiting for one if the queue is empty. */
  async take(o: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    while (true) {
      if (o.signal?.aborted === true) throw new ClientError('cancelled', 'dequeue cancelled');
      const late = await this.lateClaim();
      if (late !== null) return late;
      const { kv, revision } = await this.head();
      if (kv === undefined) {
        await this.waitForItem(revision, o.signal);
        continue;
      }
      const got = await this.claim(kv);
      if (got !== null) return got;
    }
  }

  /** Takes the next item if there is one. */
  async tryTake(): Promise<Uint8Array | undefined> {
    while (true) {
      const late = await this.lateClaim();
      if (late !== null) return late;
      const { kv } = await this.head();
      if (kv === undefined) return undefined;
      const got = await this.claim(kv);
      if (got !== null) return got;
    }
  }

  async size(): Promise<number> {
    return (await this.client.get(this.prefix, { prefix: true, countOnly: true })).count;
  }

  /** Deletes `kv` if it is unchanged and records our claim; null when another consumer got it first. */
  private async claim(kv: KeyValue): Promise<Uint8Array | null> {
    const marker = `${this.claims}${this.consumer}/${hex(kv.key)}`;
    const lease = this.options.leaseId;
    try {
      const t = await this.client
        .txn()
        .if(Compare.modRevision(kv.key, '=', kv.modRevision))
        .then(Op.delete(kv.key), Op.put(marker, kv.value, lease === undefined ? {} : { lease }))
        .commit();
      if (!t.succeeded) return null;
    } catch (e) {
      if (!ambiguous(e)) throw e;
      if (!(await markerExists(this.client, marker))) {
        // Not applied yet; it may still be, later. Remember to look.
        if (this.doubtful.size < CLIENT_RECIPE_BATCH_MAX) this.doubtful.set(marker, { value: kv.value, checksLeft: DOUBTFUL_CHECKS });
        return null;
      }
    }
    await this.client.delete(marker, { idempotent: true }).catch(() => {});
    return kv.value;
  }

  /** An earlier claim whose lost answer turned out to have applied after all. */
  private async lateClaim(): Promise<Uint8Array | null> {
    for (const [marker, d] of this.doubtful) {
      if (!(await markerExists(this.client, marker))) {
        // A lost attempt lands within moments or not at all; stop looking after a few takes.
        if (--d.checksLeft <= 0) this.doubtful.delete(marker);
        continue;
      }
      this.doubtful.delete(marker);
      await this.client.delete(marker, { idempotent: true }).catch(() => {});
      return d.value;
    }
    return null;
  }

  private async waitForItem(afterRevision: number, signal: AbortSignal | undefined): Promise<void> {
    const w = this.client.watch(this.prefix, { prefix: true, startRevision: afterRevision + 1, noDelete: true, ...(signal === undefined ? {} : { signal }) });
    try {
      for await (const item of w) if (item.type !== 'progress') return;
    } finally {
      w.close();
    }
  }
}

/** First in, first out (by the revision that created each item). */
export class Queue extends ClaimingQueue {
  constructor(client: BulwarkClient, name: string, options: QueueOptions = {}) {
    super(client, name, options);
  }

  enqueue(value: Bytes): Promise<void> {
    return this.add(`${this.prefix}${this.client.newId()}`, value);
  }

  dequeue(o: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.take(o);
  }

  async dequeueString(o: { signal?: AbortSignal } = {}): Promise<string> {
    return text(await this.take(o));
  }
}

/** Smallest priority first (0 before 1); FIFO among items of one priority. */
export class PriorityQueue extends ClaimingQueue {
  static readonly PRIORITY_MAX = 99_999;

  constructor(client: BulwarkClient, name: string, options: QueueOptions = {}) {
    super(client, name, options);
  }

  enqueue(value: Bytes, priority: number): Promise<void> {
    if (!Number.isInteger(priority) || priority < 0 || priority > PriorityQueue.PRIORITY_MAX) {
      throw new ClientError('invalid-argument', `priority must be an integer in [0, ${PriorityQueue.PRIORITY_MAX}]`);
    }
    // A zero-padded priority orders keys by priority; head() takes the oldest item of the smallest one.
    return this.add(`${this.prefix}${String(priority).padStart(5, '0')}/${this.client.newId()}`, value);
  }

  dequeue(o: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.take(o);
  }

  /** The smallest priority present (keys sort by it), then the oldest item of that priority. */
  protected override async head(): Promise<{ kv: KeyValue | undefined; revision: number }> {
    const first = await this.client.get(this.prefix, { prefix: true, limit: 1, keysOnly: true });
    const k = first.kvs[0];
    if (k === undefined) return { kv: undefined, revision: first.header?.revision ?? 0 };
    const priorityPrefix = text(k.key).slice(0, this.prefix.length + 6);
    const r = await this.client.get(priorityPrefix, { prefix: true, limit: 1, sort: { target: 'create', order: 'ascend' } });
    return { kv: r.kvs[0], revision: r.header?.revision ?? 0 };
  }
}
