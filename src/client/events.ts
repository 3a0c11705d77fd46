/**
 * What the client tells an application about the cluster and its own state: connections that come
 * and go, leadership that moves, leases in doubt or lost, watches that resumed. A discriminated
 * union, delivered synchronously to every listener in the order it happened.
 */
import { assert } from '../core/assert.js';
import type { LeaseId, NodeId } from '../core/ids.js';
import { CLIENT_EVENT_LISTENERS_MAX } from '../core/limits.js';
import type { Logger } from '../env/logger.js';

export type ClientEvent =
  /** A call to this endpoint succeeded after it was unknown or down. */
  | { readonly type: 'connected'; readonly endpoint: string }
  /** A call to this endpoint failed at the transport level; the client avoids it for a while. */
  | { readonly type: 'disconnected'; readonly endpoint: string; readonly error: string }
  /** The client learned of a new leader (`leader` null: the cluster has none it knows of). */
  | { readonly type: 'leader-changed'; readonly leader: NodeId | null; readonly endpoint: string | null; readonly term: number }
  /** A call is being retried. */
  | { readonly type: 'retry'; readonly method: string; readonly endpoint: string; readonly attempt: number; readonly delayMs: number; readonly reason: string }
  /** Exactly-once writes: a client session was opened (`clientId`), or the server has none (etcd). */
  | { readonly type: 'session-opened'; readonly clientId: number }
  | { readonly type: 'session-unsupported' }
  | { readonly type: 'session-expired'; readonly clientId: number }
  /** A kept-alive lease has not been confirmed for a while: it may expire soon. */
  | { readonly type: 'lease-in-doubt'; readonly id: LeaseId; readonly expiresInMs: number }
  /** A lease in doubt was confirmed again. */
  | { readonly type: 'lease-confirmed'; readonly id: LeaseId; readonly ttlSeconds: number }
  /** A kept-alive lease is gone: its TTL passed without confirmation, or the server no longer has it. */
  | { readonly type: 'lease-lost'; readonly id: LeaseId; readonly reason: LeaseLostReason }
  /** A watch stream was re-established on `endpoint` after a failure; watchers resume where they were. */
  | { readonly type: 'watch-resumed'; readonly endpoint: string; readonly watchers: number };

export type LeaseLostReason = 'expired' | 'not-found' | 'revoked';

export type ClientEventListener = (event: ClientEvent) => void;

export class EventHub {
  private readonly listeners = new Set<ClientEventListener>();

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on(listener: ClientEventListener): () => void {
    assert(this.listeners.size < CLIENT_EVENT_LISTENERS_MAX, `more than ${CLIENT_EVENT_LISTENERS_MAX} client event listeners (a leak?)`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ClientEvent): void {
    this.logger.debug('client event', { ...event, id: 'id' in event ? String(event.id) : undefined });
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (e) {
        // A listener's bug must not break the client's own bookkeeping.
        this.logger.warn('client event listener threw', { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
}
