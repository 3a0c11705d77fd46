/**
 * Circuit breakers as Envoy has them: hard limits on concurrency, not on error rates. Beyond a
 * limit the request is refused at once (503, RESOURCE_EXHAUSTED, or a closed connection) instead of
 * queueing behind a backend that is already overloaded, which keeps latency bounded and lets the
 * overload show.
 */
import { assert, assertNever } from '../core/assert.js';

export interface CircuitBreakerLimits {
  /** Connections to backends (L4: proxied connections). */
  readonly maxConnections: number;
  /** Requests waiting for a backend connection. */
  readonly maxPendingRequests: number;
  /** Requests in flight. */
  readonly maxRequests: number;
  /** Retries in flight. */
  readonly maxRetries: number;
}

export type BreakerKind = 'connections' | 'pending' | 'requests' | 'retries';

export class CircuitBreakers {
  private readonly active: Record<BreakerKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };
  private readonly rejected: Record<BreakerKind, number> = { connections: 0, pending: 0, requests: 0, retries: 0 };

  constructor(private limits: CircuitBreakerLimits) {}

  setLimits(limits: CircuitBreakerLimits): void {
    this.limits = limits;
  }

  private limit(kind: BreakerKind): number {
    switch (kind) {
      case 'connections':
        return this.limits.maxConnections;
      case 'pending':
        return this.limits.maxPendingRequests;
      case 'requests':
        return this.limits.maxRequests;
      case 'retries':
        return this.limits.maxRetries;
      default:
        return assertNever(kind, 'breaker');
    }
  }

  /** Takes a slot; false (and counted as a rejection) when the limit is reached. */
  tryAcquire(kind: BreakerKind): boolean {
    if (this.active[kind] >= this.limit(kind)) {
      this.rejected[kind]++;
      return false;
    }
    this.active[kind]++;
    return true;
  }

  release(kind: BreakerKind): void {
    assert(this.active[kind] > 0, `release of ${kind} without acquire`);
    this.active[kind]--;
  }

  inUse(kind: BreakerKind): number {
    return this.active[kind];
  }

  rejections(kind: BreakerKind): number {
    return this.rejected[kind];
  }
}
