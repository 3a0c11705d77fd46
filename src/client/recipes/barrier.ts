/**
 * Barriers. A Barrier blocks waiters while its key exists (hold / release / wait). A DoubleBarrier
 * lets `count` participants enter together and leave together (etcd's recipe algorithm, simplified
 * to "wait until the waiters are gone" on leave).
 */
import type { BulwarkClient } from '../client.js';
import { Compare, Op } from '../txn.js';
import type { Session } from './session.js';
import { waitDelete } from './wait.js';

export class Barrier {
  constructor(
    private readonly client: BulwarkClient,
    private readonly key: string,
  ) {}

  /** Raises the barrier (idempotent). */
  async hold(): Promise<void> {
    await this.client.txn().if(Compare.version(this.key, '=', 0)).then(Op.put(this.key, '')).commit({ idempotent: true });
  }

  /** Lowers it: every waiter goes on. */
  async release(): Promise<void> {
    await this.client.delete(this.key, { idempotent: true });
  }

  /** Returns once the barrier is down. */
  async wait(o: { signal?: AbortSignal } = {}): Promise<void> {
    const r = await this.client.get(this.key, { countOnly: true });
    if (r.count === 0) return;
    await waitDelete(this.client, this.key, r.header?.revision ?? 0, o);
  }
}

/** Waits until `key` (or any key under it with `prefix`) gets a PUT after `afterRevision`. */
async function waitPut(client: BulwarkClient, key: string, afterRevision: number, signal: AbortSignal | undefined): Promise<void> {
  const w = client.watch(key, { startRevision: afterRevision + 1, noDelete: true, ...(signal === undefined ? {} : { signal }) });
  try {
    for await (const item of w) if (item.type !== 'progress') return;
  } finally {
    w.close();
  }
}

export class DoubleBarrier {
  private readonly waiters: string;
  private readonly ready: string;
  private myKey: string | null = null;

  constructor(
    private readonly session: Session,
    key: string,
    private readonly count: number,
  ) {
    const base = key.endsWith('/') ? key : `${key}/`;
    this.waiters = `${base}waiters/`;
    this.ready = `${base}ready`;
  }

  private get client(): BulwarkClient {
    return this.session.client;
  }

  /** Enters; returns once `count` participants have entered. */
  async enter(o: { signal?: AbortSignal } = {}): Promise<void> {
    const key = `${this.waiters}${this.session.leaseId.toString(16)}`;
    await this.client.txn().if(Compare.version(key, '=', 0)).then(Op.put(key, '', { lease: this.session.leaseId })).commit({ idempotent: true });
    this.myKey = key;
    while (o.signal?.aborted !== true) {
      const t = await this.client.txn().then(Op.get(this.waiters, { prefix: true, countOnly: true }), Op.get(this.ready, { countOnly: true })).commit();
      const waiters = t.responses[0]?.response;
      const ready = t.responses[1]?.response;
      const n = waiters?.type === 'responseRange' ? waiters.value.count : 0;
      if (ready?.type === 'responseRange' && ready.value.count > 0) return;
      if (n >= this.count) {
        await this.client.txn().if(Compare.version(this.ready, '=', 0)).then(Op.put(this.ready, '')).commit({ idempotent: true });
        return;
      }
      await waitPut(this.client, this.ready, t.header?.revision ?? 0, o.signal);
    }
  }

  /** Leaves; returns once every participant has left. */
  async leave(o: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.myKey !== null) await this.client.delete(this.myKey, { idempotent: true });
    this.myKey = null;
    while (o.signal?.aborted !== true) {
      const r = await this.client.get(this.waiters, { prefix: true, keysOnly: true, limit: 1 });
      const other = r.kvs[0];
      if (other === undefined) {
        await this.client.delete(this.ready, { idempotent: true });
        return;
      }
      await waitDelete(this.client, other.key, r.header?.revision ?? 0, { session: this.session, ...o });
    }
  }
}
