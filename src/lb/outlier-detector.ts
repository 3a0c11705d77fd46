/**
 * Passive outlier detection (Envoy's consecutive-failure detectors): real traffic, not probes,
 * decides. `consecutive5xx` 5xx answers in a row, or `consecutiveGatewayFailure` gateway failures
 * in a row (refused, reset or timed-out connections; 502, 503, 504), eject a backend for
 * base × (times it has been ejected), capped at the maximum. At most `maxEjectionPercent` of the
 * pool is ejected at once, but one backend may always be. Ejections end at the periodic sweep
 * after their time is up; each sweep that finds a backend in service lowers its multiplier again.
 */
import { assert, assertNever } from '../core/assert.js';
import type { BackendId } from './backend.js';

export interface OutlierConfig {
  /** False turns passive detection off. */
  readonly enabled: boolean;
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
}

/** How one request to a backend ended, as outlier detection counts it. */
export type Outcome =
  | { readonly type: 'success' }
  /** A 5xx answer other than a gateway failure (500, 501, …). */
  | { readonly type: 'http-5xx'; readonly status: number }
  /** Could not connect, connection reset, timed out, or 502/503/504. */
  | { readonly type: 'gateway-failure'; readonly reason: string };

interface HostRecord {
  consecutive5xx: number;
  consecutiveGateway: number;
  timesEjected: number;
  /** Monotonic ms at which the ejection may end, or null when in service. */
  ejectedUntilMs: number | null;
}

export type OutlierEvent = { readonly type: 'ejected'; readonly id: BackendId; readonly untilMs: number; readonly reason: string } | { readonly type: 'returned'; readonly id: BackendId };

export class OutlierDetector {
  private readonly hosts = new Map<BackendId, HostRecord>();
  private ejected = 0;

  constructor(private config: OutlierConfig) {
    assert(config.maxEjectionPercent >= 0 && config.maxEjectionPercent <= 100, 'max ejection percent in [0, 100]');
  }

  setConfig(config: OutlierConfig): void {
    this.config = config;
  }

  /** The pool changed: backends not in `ids` are forgotten (and stop counting as ejected). */
  setPool(ids: Iterable<BackendId>): void {
    const keep = new Set(ids);
    for (const id of [...this.hosts.keys()]) {
      if (!keep.has(id)) {
        if (this.hosts.get(id)!.ejectedUntilMs !== null) this.ejected--;
        this.hosts.delete(id);
      }
    }
    for (const id of keep) if (!this.hosts.has(id)) this.hosts.set(id, { consecutive5xx: 0, consecutiveGateway: 0, timesEjected: 0, ejectedUntilMs: null });
  }

  isEjected(id: BackendId): boolean {
    return (this.hosts.get(id)?.ejectedUntilMs ?? null) !== null;
  }

  ejectedUntilMs(id: BackendId): number | null {
    return this.hosts.get(id)?.ejectedUntilMs ?? null;
  }

  get ejectedCount(): number {
    return this.ejected;
  }

  /** Counts one outcome; returns an ejection if this one tipped the backend over. */
  record(id: BackendId, outcome: Outcome, nowMs: number): OutlierEvent | null {
    const h = this.hosts.get(id);
    if (h === undefined) return null;
    switch (outcome.type) {
      case 'success':
        h.consecutive5xx = 0;
        h.consecutiveGateway = 0;
        return null;
      case 'http-5xx':
        h.consecutive5xx++;
        h.consecutiveGateway = 0;
        break;
      case 'gateway-failure':
        // A gateway failure is a 5xx too (Envoy counts a refused connection as a 503).
        h.consecutive5xx++;
        h.consecutiveGateway++;
        break;
      default:
        return assertNever(outcome, 'outcome');
    }
    if (!this.config.enabled || h.ejectedUntilMs !== null) return null;
    const by5xx = h.consecutive5xx >= this.config.consecutive5xx;
    const byGateway = h.consecutiveGateway >= this.config.consecutiveGatewayFailure;
    if (!by5xx && !byGateway) return null;
    if (!this.mayEjectAnother()) return null;
    h.timesEjected++;
    const durationMs = Math.min(this.config.baseEjectionMs * h.timesEjected, Math.max(this.config.maxEjectionMs, this.config.baseEjectionMs));
    h.ejectedUntilMs = nowMs + durationMs;
    h.consecutive5xx = 0;
    h.consecutiveGateway = 0;
    this.ejected++;
    const reason = byGateway ? `${this.config.consecutiveGatewayFailure} consecutive gateway failures` : `${this.config.consecutive5xx} consecutive 5xx`;
    return { type: 'ejected', id, untilMs: h.ejectedUntilMs, reason };
  }

  private mayEjectAnother(): boolean {
    if (this.ejected === 0) return true; // one backend may always be ejected
    return ((this.ejected + 1) * 100) / this.hosts.size <= this.config.maxEjectionPercent;
  }

  /** The periodic sweep: ends ejections whose time is up and lowers the multipliers of backends in service. */
  sweep(nowMs: number): OutlierEvent[] {
    const events: OutlierEvent[] = [];
    for (const [id, h] of this.hosts) {
      if (h.ejectedUntilMs !== null) {
        if (nowMs >= h.ejectedUntilMs) {
          h.ejectedUntilMs = null;
          this.ejected--;
          events.push({ type: 'returned', id });
        }
      } else if (h.timesEjected > 0) {
        h.timesEjected--;
      }
    }
    assert(this.ejected >= 0, 'ejected count is never negative');
    return events;
  }
}
