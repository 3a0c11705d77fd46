/**
 * A Clock that moves only when told to: the tests of the balancer's timing (ejection times,
 * drain deadlines, retry-budget windows) run in microseconds and never flake.
 */
import type { Clock, Timer } from '../env/clock.js';

interface Pending {
  atMs: number;
  seq: number;
  periodMs: number | null;
  fn: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private now = 0;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(startMs = 1_000_000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return this.now;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    return this.add(fn, delayMs, null);
  }

  setInterval(fn: () => void, periodMs: number): Timer {
    return this.add(fn, periodMs, Math.max(1, periodMs));
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  /** Moves time forward, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      this.pending.sort((a, b) => a.atMs - b.atMs || a.seq - b.seq);
      const next = this.pending[0];
      if (next === undefined || next.atMs > target) break;
      this.now = next.atMs;
      if (next.periodMs === null) next.cancelled = true;
      else next.atMs += next.periodMs;
      next.fn();
    }
    this.now = target;
  }

  private add(fn: () => void, delayMs: number, periodMs: number | null): Timer {
    const p: Pending = { atMs: this.now + Math.max(0, delayMs), seq: this.seq++, periodMs, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => void (p.cancelled = true) };
  }
}
