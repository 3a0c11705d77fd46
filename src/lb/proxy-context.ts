/**
 * What every proxy shares: the balancer, the circuit breakers, the retry budget, the metrics and
 * the current settings (a function, because a reload replaces them while connections stay open).
 */
import type { Clock } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { BackendId } from './backend.js';
import type { Balancer } from './balancer.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import type { LbConfig } from './config.js';
import type { LbMetrics } from './metrics.js';
import type { RetryBudget } from './retry-budget.js';

export interface ProxyContext {
  readonly balancer: Balancer;
  readonly breakers: CircuitBreakers;
  readonly budget: RetryBudget;
  readonly metrics: LbMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  settings(): LbConfig;
}

/** A proxy front end: one listener and its connections to backends. */
export interface Proxy {
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** A removed backend finished draining (or ran out of time): close its connections. */
  closeBackend(id: BackendId, forced: boolean): void;
  /** Stops accepting, closes every connection. */
  close(): Promise<void>;
}

/**
 * May this request be retried once more? Checks the per-request limit, the budget and the
 * retries circuit breaker; a granted retry holds a 'retries' slot that the caller releases.
 */
export function grantRetry(ctx: ProxyContext, retriesSoFar: number): boolean {
  if (retriesSoFar >= ctx.settings().retries.perRequest) return false;
  if (!ctx.budget.tryRetry(ctx.clock.nowMs())) {
    ctx.metrics.retryBudgetExhausted++;
    return false;
  }
  if (!ctx.breakers.tryAcquire('retries')) return false;
  ctx.metrics.retries++;
  return true;
}
