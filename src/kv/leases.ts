/**
 * The replicated lease table: each lease's id, granted TTL, the remaining TTL last checkpointed by
 * a leader, and the keys attached to it. What is *not* here is when a lease expires: that is the
 * leader's clock, kept by the Lessor (lessor.ts), which proposes expiries and checkpoints through
 * the log so every replica applies the same decisions.
 */
import type { LeaseId } from '../core/ids.js';

export interface LeaseInfo {
  readonly id: LeaseId;
  readonly ttlSec: number;
  /** The remaining TTL at the last checkpoint; 0 when none is in force (a new leader uses ttlSec). */
  readonly remainingTtlSec: number;
}

/** What the lease table did while applying an entry, for the leader's Lessor. */
export type LeaseEvent =
  | { readonly type: 'granted'; readonly id: LeaseId; readonly ttlSec: number }
  | { readonly type: 'revoked'; readonly id: LeaseId }
  | { readonly type: 'checkpointed'; readonly id: LeaseId; readonly remainingTtlSec: number };

export class Lease {
  remainingTtlSec = 0;
  readonly keys = new Set<string>();

  constructor(
    /** The canonical id object; records attached to the lease share it. */
    readonly id: LeaseId,
    readonly ttlSec: number,
  ) {}

  info(): LeaseInfo {
    return { id: this.id, ttlSec: this.ttlSec, remainingTtlSec: this.remainingTtlSec };
  }
}

export class LeaseTable {
  private readonly byId = new Map<bigint, Lease>();

  get size(): number {
    return this.byId.size;
  }

  get(id: bigint): Lease | undefined {
    return this.byId.get(id);
  }

  add(lease: Lease): void {
    this.byId.set(lease.id, lease);
  }

  remove(id: bigint): Lease | undefined {
    const l = this.byId.get(id);
    if (l !== undefined) this.byId.delete(id);
    return l;
  }

  attach(id: bigint, key: string): void {
    this.byId.get(id)?.keys.add(key);
  }

  detach(id: bigint, key: string): void {
    this.byId.get(id)?.keys.delete(key);
  }

  /** Leases sorted by id: the order of answers, hashes and snapshots (insertion order is not replicated). */
  list(): Lease[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
