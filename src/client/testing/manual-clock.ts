/**
 * A clock that moves only when told to: timers fire in time order during `advance`. For unit
 * tests of the client's retry, lease and watch timing without real waiting.
 */
import type { Clock, Timer } from '../../env/clock.js';

interface Pending {
  readonly atMs: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private now = 0;
  private seq = 0;
  private readonly timers: Pending[] = [];

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return 1_700_000_000_000 + this.now;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const t: Pending = { atMs: this.now + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }

  setInterval(fn: () => void, periodMs: number): Timer {
    let current: Timer | null = null;
    let stopped = false;
    const tick = (): void => {
      if (stopped) return;
      current = this.setTimeout(tick, periodMs);
      fn();
    };
    current = this.setTimeout(tick, periodMs);
    return {
      cancel: () => {
        stopped = true;
        current?.cancel();
      },
    };
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Fires the earliest due timer at or before `limitMs`; false when none. */
  private fireNext(limitMs: number): boolean {
    let best = -1;
    for (let i = 0; i < this.timers.length; i++) {
      const t = this.timers[i]!;
      if (t.cancelled) continue;
      if (t.atMs > limitMs) continue;
      if (best < 0 || t.atMs < this.timers[best]!.atMs || (t.atMs === this.timers[best]!.atMs && t.seq < this.timers[best]!.seq)) best = i;
    }
    if (best < 0) {
      for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
      return false;
    }
    const t = this.timers.splice(best, 1)[0]!;
    this.now = Math.max(this.now, t.atMs);
    t.fn();
    return true;
  }

  /**
   * Moves time forward by `ms`, firing timers in order. `settle` runs between timers so promise
   * chains they start get to run (and set further timers) before time moves on.
   */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const target = this.now + ms;
    await settle();
    while (this.fireNext(target)) await settle();
    this.now = target;
    await settle();
  }
}
