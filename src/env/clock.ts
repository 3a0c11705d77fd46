/**
 * Time, the first seam. Nothing outside src/env/node reads the real clock or sets a real timer; it
 * asks a Clock, so the simulator can run the same code on virtual time.
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds since an arbitrary origin. Use for durations and deadlines. */
  nowMs(): number;
  /** Wall-clock milliseconds since the Unix epoch. Use only for display and timestamps in logs. */
  wallMs(): number;
  /** Runs `fn` once after `delayMs` (at least 0). */
  setTimeout(fn: () => void, delayMs: number): Timer;
  /** Runs `fn` every `periodMs` until cancelled. */
  setInterval(fn: () => void, periodMs: number): Timer;
  /** A promise that resolves after `delayMs`. */
  sleep(delayMs: number): Promise<void>;
}
