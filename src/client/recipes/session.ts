/**
 * A concurrency session (etcd's concurrency.Session): a lease kept alive for as long as the
 * process works, to which recipes attach the keys that say "I hold this lock", "I am a candidate",
 * "I am waiting at this barrier". If the process dies, the lease expires and those keys go with it.
 */
import type { LeaseId } from '../../core/ids.js';
import type { BulwarkClient } from '../client.js';
import type { Lease } from '../lease.js';

/** etcd's concurrency default TTL. */
export const SESSION_TTL_SECONDS_DEFAULT = 60;

export class Session {
  private constructor(
    readonly client: BulwarkClient,
    readonly lease: Lease,
  ) {}

  static async create(client: BulwarkClient, options: { ttlSeconds?: number; lease?: Lease } = {}): Promise<Session> {
    const lease = options.lease ?? (await client.lease(options.ttlSeconds ?? SESSION_TTL_SECONDS_DEFAULT));
    return new Session(client, lease);
  }

  get leaseId(): LeaseId {
    return this.lease.id;
  }

  /** Resolves when the session's lease is lost (its keys are gone or about to be). */
  get done(): Promise<unknown> {
    return this.lease.lost;
  }

  get alive(): boolean {
    return this.lease.state !== 'lost';
  }

  /** Ends the session: revokes the lease, deleting every key attached to it. */
  async close(): Promise<void> {
    if (this.lease.state === 'lost') return;
    await this.lease.revoke();
  }
}
