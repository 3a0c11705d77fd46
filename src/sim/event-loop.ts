/**
 * The discrete-event loop: a priority queue of (virtual time, sequence) events. Time jumps to the
 * next event; nothing real happens. Each event runs, then the loop waits for a macrotask so every
 * promise continuation the event started (the driver is async) has run to completion before the
 * next event: microtasks are drained in a deterministic order, so a seed still reproduces a run.
 *
 * Every executed event folds its time and label into a trace hash (FNV-1a: cheap, and only equality
 * between two runs matters); two runs of one seed must agree on it.
 */
import { assert } from '../core/assert.js';

export interface SimEventHandle {
  cancel(): void;
}

interface SimEvent {
  readonly timeMs: number;
  readonly seq: number;
  readonly label: string;
  fn: (() => void) | null;
}

export class EventLoop implements Readonly<{ nowMs: number }> {
  private heap: SimEvent[] = [];
  private seq = 0;
  private time = 0;
  private executed = 0;
  private hash = 0;

  get nowMs(): number {
    return this.time;
  }

  get eventsExecuted(): number {
    return this.executed;
  }

  /** A hash over every executed event's time and label and every traced observation. */
  get traceHash(): number {
    return this.hash;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs `fn` at now + delayMs (delays are rounded to whole microseconds so traces compare exactly). */
  schedule(delayMs: number, label: string, fn: () => void): SimEventHandle {
    assert(delayMs >= 0 && Number.isFinite(delayMs), `bad delay ${delayMs}`);
    const ev: SimEvent = { timeMs: this.time + Math.round(delayMs * 1000) / 1000, seq: this.seq++, label, fn };
    this.push(ev);
    return {
      cancel: () => {
        ev.fn = null;
      },
    };
  }

  /** Mixes an observation into the trace hash (for example, what a client saw). */
  trace(text: string): void {
    this.hash = fnv1a(text, this.hash);
  }

  /**
   * Runs events until `stop()` is true, virtual time would pass `untilMs`, or no event is left.
   * Returns why it stopped.
   */
  async run(options: { untilMs: number; stop?: () => boolean; afterEach?: () => void; eventsMax: number }): Promise<'stopped' | 'time' | 'idle' | 'events'> {
    for (;;) {
      if (options.stop?.() === true) return 'stopped';
      const ev = this.heap[0];
      if (ev === undefined) return 'idle';
      if (ev.timeMs > options.untilMs) {
        this.time = options.untilMs;
        return 'time';
      }
      if (this.executed >= options.eventsMax) return 'events';
      this.pop();
      const fn = ev.fn;
      if (fn === null) continue;
      this.time = ev.timeMs;
      this.executed++;
      this.hash = fnv1a(ev.label, mixNumber(this.hash, ev.timeMs));
      fn();
      await barrier();
      options.afterEach?.();
    }
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

/**
 * Waits until every queued microtask, and every microtask those queue, has run. The single place the
 * simulator touches real scheduling; it carries no time and no randomness.
 */
function barrier(): Promise<void> {
  // eslint-disable-next-line no-restricted-globals -- a macrotask boundary drains all promise continuations; virtual time is unaffected.
  return new Promise((resolve) => setImmediate(resolve));
}

function fnv1a(text: string, seed: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Folds a time (whole microseconds, as the loop keeps them) into a hash. */
function mixNumber(h: number, timeMs: number): number {
  const us = Math.round(timeMs * 1000);
  h = Math.imul(h ^ (us >>> 0), 0x01000193);
  return Math.imul(h ^ Math.floor(us / 0x1_0000_0000), 0x01000193) >>> 0;
}
