/**
 * Requests waiting for something the consensus loop will say later (an entry applied, a read index
 * confirmed). Bounded in number, each with a deadline, so a member under overload answers "too many
 * requests" at once instead of queueing without limit.
 */
import type { Clock, Timer } from '../env/clock.js';

interface Waiter<T> {
  readonly resolve: (v: T) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Timer;
  /** The leader when the request was handed to consensus; a change may orphan it. */
  readonly epoch: number;
}

export class Waiters<K, T> {
  private readonly byKey = new Map<K, Waiter<T>>();

  constructor(
    private readonly clock: Clock,
    private readonly max: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  get full(): boolean {
    return this.byKey.size >= this.max;
  }

  /** Registers a waiter; `onTimeout` makes the error it fails with after `timeoutMs`. */
  wait(key: K, timeoutMs: number, onTimeout: () => Error, epoch = 0): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        if (this.byKey.get(key)?.timer === timer) {
          this.byKey.delete(key);
          reject(onTimeout());
        }
      }, timeoutMs);
      this.byKey.set(key, { resolve, reject, timer, epoch });
    });
  }

  has(key: K): boolean {
    return this.byKey.has(key);
  }

  resolve(key: K, value: T): boolean {
    const w = this.byKey.get(key);
    if (w === undefined) return false;
    this.byKey.delete(key);
    w.timer.cancel();
    w.resolve(value);
    return true;
  }

  reject(key: K, error: Error): boolean {
    const w = this.byKey.get(key);
    if (w === undefined) return false;
    this.byKey.delete(key);
    w.timer.cancel();
    w.reject(error);
    return true;
  }

  /** Fails every waiter registered in an epoch before `epoch` (their request may be lost). */
  rejectOlderThan(epoch: number, error: () => Error): number {
    let n = 0;
    for (const [k, w] of this.byKey) {
      if (w.epoch < epoch) {
        this.byKey.delete(k);
        w.timer.cancel();
        w.reject(error());
        n++;
      }
    }
    return n;
  }

  rejectAll(error: () => Error): void {
    for (const [k, w] of this.byKey) {
      this.byKey.delete(k);
      w.timer.cancel();
      w.reject(error());
    }
  }
}
