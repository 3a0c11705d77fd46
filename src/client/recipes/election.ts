/**
 * Leader election (etcd's concurrency.Election algorithm): candidates create `<name>/<lease id>`
 * under their session lease with their proposal as the value; the oldest key leads. Campaign waits
 * until ours is the oldest; proclaim changes the leader's value only while we lead; observe yields
 * the leader's key-value at every change of leader or value.
 */
import type { KeyValue } from '../../api/proto/generated/mvccpb.js';
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import { text } from '../kv.js';
import { Compare, Op } from '../txn.js';
import { createOwnKey, waitPredecessors } from './mutex.js';
import type { Session } from './session.js';

export class Election {
  private readonly prefix: string;
  /** Our candidate key, once created. */
  private candidate: { key: string; revision: number } | null = null;
  /** Set once the campaign is won. */
  private leaderKey: { key: string; revision: number } | null = null;

  constructor(
    private readonly session: Session,
    name: string,
  ) {
    this.prefix = name.endsWith('/') ? name : `${name}/`;
  }

  private get client(): BulwarkClient {
    return this.session.client;
  }

  /** Our key and its creation revision while we lead (a fencing token, as the mutex's). */
  get leadership(): { readonly key: string; readonly revision: number } | null {
    return this.leaderKey;
  }

  /** Becomes leader with `value` as the proposal; waits until elected. */
  async campaign(value: string, o: { signal?: AbortSignal } = {}): Promise<number> {
    const key = `${this.prefix}${this.session.leaseId.toString(16)}`;
    const mine = await createOwnKey(this.client, this.session, key, value);
    this.candidate = { key, revision: mine.revision };
    // A campaign again with the same session keeps its place in line and updates its value.
    if (text(mine.value) !== value) await this.setValue(this.candidate, value);
    try {
      await waitPredecessors(this.client, this.prefix, mine.revision, { session: this.session, ...o });
    } catch (e) {
      await this.resign().catch(() => {});
      throw e;
    }
    this.leaderKey = this.candidate;
    return mine.revision;
  }

  /** Sets the leader's value; fails with a `recipe` error if we do not lead. */
  async proclaim(value: string): Promise<void> {
    const l = this.leaderKey;
    if (l === null) throw new ClientError('recipe', 'not a leader: campaign first');
    await this.setValue(l, value);
  }

  private async setValue(l: { key: string; revision: number }, value: string): Promise<void> {
    const t = await this.client
      .txn()
      .if(Compare.createRevision(l.key, '=', l.revision))
      .then(Op.put(l.key, value, { lease: this.session.leaseId }))
      .commit({ idempotent: true });
    if (!t.succeeded) {
      this.leaderKey = null;
      this.candidate = null;
      throw new ClientError('recipe', 'no longer the leader (the session expired)');
    }
  }

  /** Gives up leadership (or candidacy). */
  async resign(): Promise<void> {
    const l = this.candidate;
    if (l === null) return;
    await this.client.txn().if(Compare.createRevision(l.key, '=', l.revision)).then(Op.delete(l.key)).commit({ idempotent: true });
    this.leaderKey = null;
    this.candidate = null;
  }

  /** The current leader's key-value, or undefined when nobody leads. */
  async leader(): Promise<KeyValue | undefined> {
    const r = await this.client.get(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
    return r.kvs[0];
  }

  /** The leader now and at every change (a new leader, or a proclaimed value). */
  async *observe(o: { signal?: AbortSignal } = {}): AsyncGenerator<KeyValue> {
    let last: KeyValue | undefined;
    while (o.signal?.aborted !== true) {
      const r = await this.client.get(this.prefix, { prefix: true, sort: { target: 'create', order: 'ascend' }, limit: 1 });
      const kv = r.kvs[0];
      const rev = r.header?.revision ?? 0;
      if (kv !== undefined && (last === undefined || kv.modRevision !== last.modRevision || text(kv.key) !== text(last.key))) {
        last = kv;
        yield kv;
      }
      // Wait for any change under the prefix after what we saw, then look again.
      const w = this.client.watch(this.prefix, { prefix: true, startRevision: rev + 1, ...(o.signal === undefined ? {} : { signal: o.signal }) });
      try {
        for await (const item of w) {
          if (item.type !== 'progress') break;
        }
      } finally {
        w.close();
      }
    }
  }
}
