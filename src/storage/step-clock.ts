/**
 * A Clock for tests and tools that must not wait: time moves only when someone sleeps (by the
 * amount slept) or calls `advance`. Timers fire when time passes them.
 */
import type { Clock, Timer } from '../env/clock.js';

export class StepClock implements Clock {
  private now = 0;
  private timers: { at: number; fn: () => void; periodMs: number; live: boolean }[] = [];

  constructor(private readonly wallOriginMs = 1_700_000_000_000) {}

  nowMs(): number {
    return this.now;
  }

  wallMs(): number {
    return this.wallOriginMs + this.now;
  }

  advance(ms: number): void {
    const until = this.now + Math.max(0, ms);
    for (;;) {
      const next = this.timers.filter((t) => t.live && t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (next === undefined) break;
      this.now = Math.max(this.now, next.at);
      if (next.periodMs > 0) next.at += next.periodMs;
      else next.live = false;
      next.fn();
    }
    this.now = until;
    this.timers = this.timers.filter((t) => t.live);
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const t = { at: this.now + Math.max(0, delayMs), fn, periodMs: 0, live: true };
    this.timers.push(t);
    return { cancel: () => (t.live = false) };
  }

  setInterval(fn: () => void, periodMs: number): Timer {
    const t = { at: this.now + Math.max(1, periodMs), fn, periodMs: Math.max(1, periodMs), live: true };
    this.timers.push(t);
    return { cancel: () => (t.live = false) };
  }

  async sleep(delayMs: number): Promise<void> {
    this.advance(delayMs);
  }
}
