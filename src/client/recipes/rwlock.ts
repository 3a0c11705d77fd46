/**
 * A distributed read-write lock: many readers or one writer (etcd's recipe RWMutex algorithm).
 * Each request creates a key under `<name>/read/` or `<name>/write/`; a reader waits for every
 * writer created before it, a writer for every reader and writer created before it.
 */
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import { createOwnKey, waitPredecessors } from './mutex.js';
import type { Session } from './session.js';

export class RwLock {
  private readonly prefix: string;
  private held: { key: string; revision: number } | null = null;
  private static counter = 0;

  constructor(
    private readonly session: Session,
    name: string,
  ) {
    this.prefix = name.endsWith('/') ? name : `${name}/`;
  }

  private get client(): BulwarkClient {
    return this.session.client;
  }

  /** Shared: waits for writers ahead. Returns the fencing token (the key's creation revision). */
  readLock(o: { signal?: AbortSignal } = {}): Promise<number> {
    return this.acquire('read', `${this.prefix}write/`, o);
  }

  /** Exclusive: waits for everyone ahead. */
  writeLock(o: { signal?: AbortSignal } = {}): Promise<number> {
    return this.acquire('write', this.prefix, o);
  }

  private async acquire(kind: 'read' | 'write', blockers: string, o: { signal?: AbortSignal }): Promise<number> {
    if (this.held !== null) throw new ClientError('recipe', 'this RwLock object already holds the lock');
    const key = `${this.prefix}${kind}/${this.session.leaseId.toString(16)}-${++RwLock.counter}`;
    const mine = await createOwnKey(this.client, this.session, key, '');
    this.held = { key, revision: mine.revision };
    try {
      await waitPredecessors(this.client, blockers, mine.revision, { session: this.session, ...o });
    } catch (e) {
      await this.unlock().catch(() => {});
      throw e;
    }
    return mine.revision;
  }

  async unlock(): Promise<void> {
    const h = this.held;
    if (h === null) return;
    await this.client.delete(h.key, { idempotent: true });
    this.held = null;
  }
}
