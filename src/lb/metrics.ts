/**
 * The balancer's own counters and latency histograms, and their rendering in the Prometheus text
 * format (version 0.0.4). Per-backend request, error, retry and ejection counts live with the
 * backend in the Balancer; this holds what spans backends.
 */
import type { BackendId } from './backend.js';
import type { BackendStatus, PoolMode } from './balancer.js';
import type { BreakerKind, CircuitBreakers } from './circuit-breaker.js';

/** Latency bucket bounds, in seconds (Prometheus convention). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram {
  readonly counts = new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
  sumSeconds = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[i]!) i++;
    this.counts[i]!++;
    this.sumSeconds += seconds;
    this.count++;
  }

  /** An estimate of quantile q (0..1) from the buckets: the upper bound of the bucket holding it. */
  quantileSeconds(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return LATENCY_BUCKETS_SECONDS[i] ?? Infinity;
    }
    return Infinity;
  }
}

export type RequestResult = 'ok' | 'error' | 'rejected';

export class LbMetrics {
  readonly requests: Record<RequestResult, number> = { ok: 0, error: 0, rejected: 0 };
  retries = 0;
  retryBudgetExhausted = 0;
  reloadsOk = 0;
  reloadsFailed = 0;
  leaderChanges = 0;
  readonly latency = new Histogram();
  readonly latencyByBackend = new Map<BackendId, Histogram>();

  observeLatency(backend: BackendId | null, seconds: number): void {
    this.latency.observe(seconds);
    if (backend === null) return;
    let h = this.latencyByBackend.get(backend);
    if (h === undefined) this.latencyByBackend.set(backend, (h = new Histogram()));
    h.observe(seconds);
  }
}

const BREAKERS: readonly BreakerKind[] = ['connections', 'pending', 'requests', 'retries'];
const STATES = ['up', 'down', 'ejected', 'draining'] as const;
const MODES: readonly PoolMode[] = ['normal', 'backup', 'panic', 'empty'];

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export interface MetricsSnapshot {
  readonly backends: readonly BackendStatus[];
  readonly mode: PoolMode;
  readonly breakers: CircuitBreakers;
  readonly metrics: LbMetrics;
  readonly leader: string | null;
}

export function renderPrometheus(s: MetricsSnapshot): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  };
  family('bulwark_lb_backend_state', 'gauge', 'Backend state: 1 for the current one of up, down, ejected, draining.');
  for (const b of s.backends) for (const st of STATES) out.push(`bulwark_lb_backend_state{backend="${label(b.id)}",state="${st}"} ${b.state === st ? 1 : 0}`);
  family('bulwark_lb_backend_backup', 'gauge', '1 for a backup (hot standby) backend.');
  for (const b of s.backends) out.push(`bulwark_lb_backend_backup{backend="${label(b.id)}"} ${b.spec.backup ? 1 : 0}`);
  family('bulwark_lb_backend_eligible', 'gauge', '1 when the current picker may choose the backend.');
  for (const b of s.backends) out.push(`bulwark_lb_backend_eligible{backend="${label(b.id)}"} ${b.eligible ? 1 : 0}`);
  family('bulwark_lb_backend_active', 'gauge', 'Requests (L7) or connections (L4) in flight to the backend.');
  for (const b of s.backends) out.push(`bulwark_lb_backend_active{backend="${label(b.id)}"} ${b.active}`);
  const counter = (name: string, help: string, pick: (b: BackendStatus) => number): void => {
    family(name, 'counter', help);
    for (const b of s.backends) out.push(`${name}{backend="${label(b.id)}"} ${pick(b)}`);
  };
  counter('bulwark_lb_backend_requests_total', 'Requests (or connections) sent to the backend.', (b) => b.stats.requests);
  counter('bulwark_lb_backend_errors_total', 'Requests to the backend that failed (gateway failure or 5xx).', (b) => b.stats.errors);
  counter('bulwark_lb_backend_retries_total', 'Retries sent to the backend.', (b) => b.stats.retries);
  counter('bulwark_lb_backend_ejections_total', 'Outlier ejections of the backend.', (b) => b.stats.ejections);
  family('bulwark_lb_pool_mode', 'gauge', 'Which backends take traffic: normal, backup, panic or empty.');
  for (const m of MODES) out.push(`bulwark_lb_pool_mode{mode="${m}"} ${s.mode === m ? 1 : 0}`);
  family('bulwark_lb_requests_total', 'counter', 'Client requests (or connections) by result.');
  for (const r of ['ok', 'error', 'rejected'] as const) out.push(`bulwark_lb_requests_total{result="${r}"} ${s.metrics.requests[r]}`);
  family('bulwark_lb_retries_total', 'counter', 'Retries on another backend.');
  out.push(`bulwark_lb_retries_total ${s.metrics.retries}`);
  family('bulwark_lb_retry_budget_exhausted_total', 'counter', 'Retries refused because the retry budget was spent.');
  out.push(`bulwark_lb_retry_budget_exhausted_total ${s.metrics.retryBudgetExhausted}`);
  family('bulwark_lb_circuit_breaker_open_total', 'counter', 'Requests or connections refused by a circuit breaker, by limit.');
  for (const k of BREAKERS) out.push(`bulwark_lb_circuit_breaker_open_total{limit="${k}"} ${s.breakers.rejections(k)}`);
  family('bulwark_lb_circuit_breaker_in_use', 'gauge', 'Current use of each circuit-breaker limit.');
  for (const k of BREAKERS) out.push(`bulwark_lb_circuit_breaker_in_use{limit="${k}"} ${s.breakers.inUse(k)}`);
  family('bulwark_lb_config_reloads_total', 'counter', 'Configuration reloads by result.');
  out.push(`bulwark_lb_config_reloads_total{result="ok"} ${s.metrics.reloadsOk}`, `bulwark_lb_config_reloads_total{result="refused"} ${s.metrics.reloadsFailed}`);
  if (s.leader !== null || s.metrics.leaderChanges > 0) {
    family('bulwark_lb_cluster_leader_changes_total', 'counter', 'Leader changes seen in cluster-aware mode.');
    out.push(`bulwark_lb_cluster_leader_changes_total ${s.metrics.leaderChanges}`);
  }
  family('bulwark_lb_request_duration_seconds', 'histogram', 'Time from a request (or connection) arriving to its end, by backend.');
  for (const [backend, h] of s.metrics.latencyByBackend) {
    let cumulative = 0;
    LATENCY_BUCKETS_SECONDS.forEach((le, i) => {
      cumulative += h.counts[i]!;
      out.push(`bulwark_lb_request_duration_seconds_bucket{backend="${label(backend)}",le="${le}"} ${cumulative}`);
    });
    out.push(`bulwark_lb_request_duration_seconds_bucket{backend="${label(backend)}",le="+Inf"} ${h.count}`);
    out.push(`bulwark_lb_request_duration_seconds_sum{backend="${label(backend)}"} ${h.sumSeconds}`);
    out.push(`bulwark_lb_request_duration_seconds_count{backend="${label(backend)}"} ${h.count}`);
  }
  return out.join('\n') + '\n';
}
