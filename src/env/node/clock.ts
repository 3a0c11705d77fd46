import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../clock.js';

/** The real clock: performance.now() for durations, Date.now() for wall time, Node's timers. */
export class NodeClock implements Clock {
  nowMs(): number {
    return performance.now();
  }

  wallMs(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  }

  setInterval(fn: () => void, periodMs: number): Timer {
    const t = setInterval(fn, Math.max(1, periodMs));
    return { cancel: () => clearInterval(t) };
  }

  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, delayMs)));
  }
}
