/**
 * A retry budget (Finagle's design; tower's Budget is the same): retries may add `percent` of the
 * requests seen in the last `windowMs`, on top of `minPerSecond` retries per second that are always
 * allowed. Per-request retry limits alone multiply load during an outage (every request becomes
 * 1 + retries requests exactly when the backends can least afford it); a budget caps the extra
 * load at a fixed fraction.
 */
import { assert } from '../core/assert.js';
import { LB_RETRY_BUDGET_BUCKETS } from '../core/limits.js';

export interface RetryBudgetConfig {
  readonly percent: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
}

export class RetryBudget {
  private readonly bucketMs: number;
  private readonly requests = new Array<number>(LB_RETRY_BUDGET_BUCKETS).fill(0);
  private readonly retries = new Array<number>(LB_RETRY_BUDGET_BUCKETS).fill(0);
  /** The bucket number (time / bucketMs) each slot currently counts. */
  private readonly epoch = new Array<number>(LB_RETRY_BUDGET_BUCKETS).fill(-1);

  constructor(private config: RetryBudgetConfig) {
    assert(config.percent >= 0 && config.minPerSecond >= 0 && config.windowMs > 0, 'retry budget settings are non-negative');
    this.bucketMs = config.windowMs / LB_RETRY_BUDGET_BUCKETS;
  }

  /** New percentages apply at once; the counts so far are kept (the window length is fixed). */
  setConfig(config: RetryBudgetConfig): void {
    assert(config.windowMs === this.config.windowMs, 'the retry budget window is fixed');
    this.config = config;
  }

  /** A new request arrived (a deposit). */
  onRequest(nowMs: number): void {
    this.requests[this.slot(nowMs)]!++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(nowMs: number): boolean {
    const s = this.slot(nowMs);
    let requests = 0;
    let retries = 0;
    const current = Math.floor(nowMs / this.bucketMs);
    for (let i = 0; i < LB_RETRY_BUDGET_BUCKETS; i++) {
      if (current - this.epoch[i]! >= LB_RETRY_BUDGET_BUCKETS) continue;
      requests += this.requests[i]!;
      retries += this.retries[i]!;
    }
    const allowed = (this.config.minPerSecond * this.config.windowMs) / 1000 + (this.config.percent / 100) * requests;
    if (retries + 1 > allowed) return false;
    this.retries[s]!++;
    return true;
  }

  private slot(nowMs: number): number {
    const b = Math.floor(nowMs / this.bucketMs);
    const s = b % LB_RETRY_BUDGET_BUCKETS;
    if (this.epoch[s] !== b) {
      this.epoch[s] = b;
      this.requests[s] = 0;
      this.retries[s] = 0;
    }
    return s;
  }
}
