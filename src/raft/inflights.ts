/**
 * The pipeline window to one follower: the last index of each append in flight, oldest first, in a
 * ring buffer of fixed capacity. An acknowledgement of index i frees every append ending at or
 * before i. When the window is full the leader waits (etcd's inflights).
 */
import { assert, unreachable } from '../core/assert.js';

export class Inflights {
  private readonly buffer: Float64Array;
  private start = 0;
  private countValue = 0;

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity > 0, 'inflight capacity must be positive');
    this.buffer = new Float64Array(capacity);
  }

  get count(): number {
    return this.countValue;
  }

  full(): boolean {
    return this.countValue === this.capacity;
  }

  /** Records an append ending at `lastIndex`; indexes must not decrease. */
  add(lastIndex: number): void {
    assert(!this.full(), 'inflights: add to a full window');
    if (this.countValue > 0) {
      const newest = this.buffer[(this.start + this.countValue - 1) % this.capacity]!;
      if (lastIndex < newest) unreachable(`inflights: ${lastIndex} added after ${newest}`);
    }
    this.buffer[(this.start + this.countValue) % this.capacity] = lastIndex;
    this.countValue++;
  }

  /** Frees every append whose last index is at or below `index`. */
  freeLE(index: number): void {
    while (this.countValue > 0 && this.buffer[this.start]! <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.countValue--;
    }
    if (this.countValue === 0) this.start = 0;
  }

  /** Frees the oldest append: a heartbeat answer suggests the window may hold a lost message. */
  freeFirstOne(): void {
    if (this.countValue === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.countValue--;
    if (this.countValue === 0) this.start = 0;
  }

  reset(): void {
    this.start = 0;
    this.countValue = 0;
  }
}
