/**
 * The acceptor's log in memory: slots after the snapshot, each holding its accepted (or decided)
 * entry. Slots are nearly always dense, so entries live in an array offset by the first slot
 * rather than in a Map (a Map of millions of numbers is slow to grow and heavy on the collector);
 * a gap is an empty element.
 */
import { assert } from '../core/assert.js';
import type { Entry } from '../consensus/types.js';

export class SlotLog {
  /** The slot of `items[0]`. */
  private base = 1;
  private items: (Entry | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(slot: number): Entry | undefined {
    return slot >= this.base ? this.items[slot - this.base] : undefined;
  }

  has(slot: number): boolean {
    return this.get(slot) !== undefined;
  }

  set(slot: number, e: Entry): void {
    assert(slot >= this.base, `slot ${slot} is at or below the compacted prefix (first ${this.base})`);
    const i = slot - this.base;
    while (this.items.length < i) this.items.push(undefined);
    if (this.items[i] === undefined) this.count++;
    this.items[i] = e;
  }

  /** Forgets every slot up to `slot` (compaction); later slots stay. */
  deleteThrough(slot: number): void {
    if (slot < this.base) return;
    const n = Math.min(slot - this.base + 1, this.items.length);
    for (let i = 0; i < n; i++) if (this.items[i] !== undefined) this.count--;
    this.items = this.items.slice(n);
    this.base = slot + 1;
  }

  /** Entries in slot order, from `fromSlot` on. */
  *from(fromSlot: number): IterableIterator<Entry> {
    for (let i = Math.max(0, fromSlot - this.base); i < this.items.length; i++) {
      const e = this.items[i];
      if (e !== undefined) yield e;
    }
  }

  values(): IterableIterator<Entry> {
    return this.from(this.base);
  }
}
