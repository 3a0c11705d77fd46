/**
 * A backend: one address the balancer sends work to. Its id is its "host:port", which is also how
 * operators name it in configuration, logs and metrics.
 */
import type { Brand } from '../core/ids.js';

export type BackendId = Brand<string, 'BackendId'>;

export function backendId(host: string, port: number): BackendId {
  return (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`) as BackendId;
}

export interface BackendSpec {
  readonly id: BackendId;
  readonly host: string;
  readonly port: number;
  /** Relative share of traffic, 1..LB_WEIGHT_MAX. */
  readonly weight: number;
  /** A hot standby: takes traffic only when every primary is down (HAProxy's `backup`). */
  readonly backup: boolean;
}

/**
 * Live load counters of one backend, shared by reference between the balancer and the pickers it
 * builds: a picker is an immutable snapshot of *which* backends are eligible, but least-connections
 * and power-of-two-choices need the current load, not the load at the time of the snapshot.
 */
export interface BackendLoad {
  /** Requests (L7) or connections (L4) in flight. */
  active: number;
}

/** What a picker sees of a backend. */
export interface PickableBackend {
  readonly id: BackendId;
  readonly weight: number;
  readonly load: BackendLoad;
}

/** Where a backend stands, as the status page and metrics show it. */
export type BackendState =
  /** Healthy and taking traffic (or ready to, if a backup). */
  | 'up'
  /** Failed its active health checks. */
  | 'down'
  /** Ejected by passive outlier detection until a deadline. */
  | 'ejected'
  /** Removed from the configuration; in-flight work finishes, nothing new is sent. */
  | 'draining';
