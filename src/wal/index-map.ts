/**
 * A map from log indexes to values. A Raft log is contiguous, so the values live in an array (no
 * hashing, no per-entry map node: a million-entry recovery is mostly this); a Paxos log may have
 * holes, which the array tolerates while they are small. A key far outside the array's range
 * switches it to a Map for good.
 */
import { assert } from '../core/assert.js';

/** Keys this far past the array's end (or before its start) make the map sparse. */
const GAP_MAX = 4096;

export class IndexMap<V> {
  /** Dense mode: arr[i] holds key offset + i; slots before `head` are unused. Null in sparse mode. */
  private arr: (V | undefined)[] | null = [];
  private offset = 0;
  private head = 0;
  private sparse: Map<number, V> | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: number): V | undefined {
    if (this.arr === null) return this.sparse!.get(key);
    return this.arr[key - this.offset];
  }

  set(key: number, value: V): void {
    assert(Number.isSafeInteger(key) && key > 0, 'log indexes are positive integers');
    if (this.arr === null) {
      if (!this.sparse!.has(key)) this.count++;
      this.sparse!.set(key, value);
      return;
    }
    if (this.count === 0) {
      this.arr.length = 0;
      this.offset = key;
      this.head = 0;
    }
    let i = key - this.offset;
    if (i < 0) {
      if (-i > GAP_MAX) {
        this.toSparse();
        this.set(key, value);
        return;
      }
      this.rebase(key);
      i = 0;
    } else if (i > this.arr.length + GAP_MAX) {
      this.toSparse();
      this.set(key, value);
      return;
    }
    const a = this.arr!;
    if (a[i] === undefined) this.count++;
    a[i] = value;
    if (i < this.head) this.head = i;
  }

  /** Removes every key in [from, toInclusive]. */
  deleteRange(from: number, toInclusive: number): void {
    if (from > toInclusive || this.count === 0) return;
    if (this.arr === null) {
      const m = this.sparse!;
      if (toInclusive - from + 1 <= m.size) {
        for (let k = from; k <= toInclusive; k++) if (m.delete(k)) this.count--;
      } else {
        for (const k of [...m.keys()]) if (k >= from && k <= toInclusive && m.delete(k)) this.count--;
      }
      return;
    }
    const arr = this.arr;
    const lo = Math.max(this.head, from - this.offset);
    const hi = Math.min(arr.length - 1, toInclusive - this.offset);
    for (let i = lo; i <= hi; i++) {
      if (arr[i] !== undefined) {
        arr[i] = undefined;
        this.count--;
      }
    }
    // Keep the used range tight: a truncated suffix shortens the array, a compacted prefix moves the head.
    let end = arr.length;
    while (end > this.head && arr[end - 1] === undefined) end--;
    arr.length = end;
    while (this.head < arr.length && arr[this.head] === undefined) this.head++;
    if (this.head > 1024 && this.head * 2 > arr.length) this.rebase(this.offset + this.head);
  }

  clear(): void {
    this.arr = [];
    this.sparse = null;
    this.offset = 0;
    this.head = 0;
    this.count = 0;
  }

  /** Keys in ascending order. */
  keys(): number[] {
    const out: number[] = [];
    if (this.arr === null) {
      for (const k of this.sparse!.keys()) out.push(k);
      return out.sort((a, b) => a - b);
    }
    for (let i = this.head; i < this.arr.length; i++) if (this.arr[i] !== undefined) out.push(this.offset + i);
    return out;
  }

  /** Moves the array so that its first slot holds `newOffset`. */
  private rebase(newOffset: number): void {
    const arr = this.arr!;
    const next: (V | undefined)[] = [];
    for (let i = this.head; i < arr.length; i++) next[this.offset + i - newOffset] = arr[i];
    this.arr = next;
    this.offset = newOffset;
    this.head = 0;
    while (this.head < next.length && next[this.head] === undefined) this.head++;
  }

  private toSparse(): Map<number, V> {
    const m = new Map<number, V>();
    const arr = this.arr!;
    for (let i = this.head; i < arr.length; i++) if (arr[i] !== undefined) m.set(this.offset + i, arr[i]!);
    this.arr = null;
    this.sparse = m;
    return m;
  }
}
