/**
 * The rise/fall state machine of one backend's active health (HAProxy's `check rise R fall F`):
 * an up backend goes down after `fall` consecutive failed checks, a down one comes up after `rise`
 * consecutive successes. A new backend starts up but unconfirmed, so that its very first failed
 * check takes it down at once (HAProxy starts a server at the edge of the up range likewise):
 * a backend that is dead at start-up is not given traffic for fall × interval.
 */
import { assert } from '../core/assert.js';

export interface HealthThresholds {
  readonly rise: number;
  readonly fall: number;
}

export type HealthTransition = { readonly type: 'none' } | { readonly type: 'went-up' } | { readonly type: 'went-down'; readonly reason: string };

export class HealthState {
  private upNow = true;
  private confirmed = false;
  private streak = 0;
  private lastReason = '';

  constructor(private thresholds: HealthThresholds) {
    assert(thresholds.rise >= 1 && thresholds.fall >= 1, 'rise and fall are at least 1');
  }

  get up(): boolean {
    return this.upNow;
  }

  get lastFailure(): string {
    return this.lastReason;
  }

  setThresholds(t: HealthThresholds): void {
    assert(t.rise >= 1 && t.fall >= 1, 'rise and fall are at least 1');
    this.thresholds = t;
    this.streak = 0;
  }

  /** Records one check; says whether the backend changed state. */
  observe(result: { readonly ok: true } | { readonly ok: false; readonly reason: string }): HealthTransition {
    if (this.upNow) {
      if (result.ok) {
        this.streak = 0;
        this.confirmed = true;
        return { type: 'none' };
      }
      this.lastReason = result.reason;
      this.streak++;
      if (!this.confirmed || this.streak >= this.thresholds.fall) {
        this.upNow = false;
        this.confirmed = true;
        this.streak = 0;
        return { type: 'went-down', reason: result.reason };
      }
      return { type: 'none' };
    }
    if (!result.ok) {
      this.lastReason = result.reason;
      this.streak = 0;
      return { type: 'none' };
    }
    this.streak++;
    if (this.streak >= this.thresholds.rise) {
      this.upNow = true;
      this.streak = 0;
      return { type: 'went-up' };
    }
    return { type: 'none' };
  }
}
