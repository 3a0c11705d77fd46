/**
 * A retry budget (Finagle's RetryBudget): retries may add at most `percent` % to the calls made,
 * plus `minPerSecond` retries every second so a quiet client can still retry, both counted over a
 * sliding window. When a cluster is down, every client retrying every call is what keeps it down;
 * the budget turns that storm into a trickle while still letting isolated failures be retried.
 */
import { assert } from '../core/assert.js';

export interface RetryBudgetOptions {
  readonly percent: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  readonly buckets: number;
}

export class RetryBudget {
  private readonly bucketMs: number;
  private readonly calls: number[];
  private readonly retries: number[];
  /** The bucket number (time / bucketMs) of the newest bucket. */
  private head = 0;

  constructor(private readonly o: RetryBudgetOptions) {
    assert(o.percent >= 0 && o.minPerSecond >= 0, 'budget is not negative');
    assert(o.buckets > 0 && o.windowMs % o.buckets === 0, 'buckets divide the window');
    this.bucketMs = o.windowMs / o.buckets;
    this.calls = new Array<number>(o.buckets).fill(0);
    this.retries = new Array<number>(o.buckets).fill(0);
  }

  /** A call was made (each deposits `percent` / 100 of a retry). */
  recordCall(nowMs: number): void {
    this.calls[this.advance(nowMs)]!++;
  }

  /** Takes one retry from the budget if there is one. */
  tryRetry(nowMs: number): boolean {
    const i = this.advance(nowMs);
    const calls = this.calls.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    const allowed = (this.o.minPerSecond * this.o.windowMs) / 1000 + (calls * this.o.percent) / 100;
    if (retries + 1 > allowed) return false;
    this.retries[i]!++;
    return true;
  }

  /** Retries still available now. */
  available(nowMs: number): number {
    this.advance(nowMs);
    const calls = this.calls.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    return Math.max(0, Math.floor((this.o.minPerSecond * this.o.windowMs) / 1000 + (calls * this.o.percent) / 100 - retries));
  }

  /** Moves the window to `nowMs`, clearing buckets that fell out of it; returns the current bucket's slot. */
  private advance(nowMs: number): number {
    const bucket = Math.floor(nowMs / this.bucketMs);
    if (bucket > this.head) {
      const steps = Math.min(bucket - this.head, this.o.buckets);
      for (let k = 1; k <= steps; k++) {
        const slot = (this.head + k) % this.o.buckets;
        this.calls[slot] = 0;
        this.retries[slot] = 0;
      }
      this.head = bucket;
    }
    // A clock that went backwards (it should not) counts in the newest bucket.
    return this.head % this.o.buckets;
  }
}
