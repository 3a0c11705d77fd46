/**
 * The Clock seam on virtual time, for one incarnation of a simulated member: a crash cancels every
 * timer the incarnation set, so nothing of the dead process ever runs again.
 */
import type { Clock, Timer } from '../env/clock.js';
import type { EventLoop, SimEventHandle } from './event-loop.js';

/** The virtual epoch shown as wall time: 2025-01-01T00:00:00Z. */
export const SIM_EPOCH_WALL_MS = 1_735_689_600_000;

export class SimClock implements Clock {
  private readonly live = new Set<SimEventHandle>();
  private dead = false;

  constructor(
    private readonly loop: EventLoop,
    private readonly label: string,
  ) {}

  nowMs(): number {
    return this.loop.nowMs;
  }

  wallMs(): number {
    return SIM_EPOCH_WALL_MS + this.loop.nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    if (this.dead) return { cancel() {} };
    const h = this.loop.schedule(Math.max(0, delayMs), `${this.label} timer`, () => {
      this.live.delete(h);
      fn();
    });
    this.live.add(h);
    return {
      cancel: () => {
        h.cancel();
        this.live.delete(h);
      },
    };
  }

  setInterval(fn: () => void, periodMs: number): Timer {
    let current: Timer | null = null;
    let cancelled = false;
    const arm = (): void => {
      current = this.setTimeout(() => {
        if (cancelled) return;
        arm();
        fn();
      }, Math.max(1, periodMs));
    };
    arm();
    return {
      cancel: () => {
        cancelled = true;
        current?.cancel();
      },
    };
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, delayMs));
  }

  /** The process died: its timers never fire. */
  kill(): void {
    this.dead = true;
    for (const h of this.live) h.cancel();
    this.live.clear();
  }
}
