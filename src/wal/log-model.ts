/**
 * The log as the records describe it: index → value, the last index and the compaction point.
 * Recovery replays records into it in order; at run time the WAL applies each batch to it as the
 * batch is written, so the same rules decide both (a replay can never disagree with what was
 * acknowledged). Pure and synchronous.
 *
 * Invariants: every stored index lies in (compactedThrough, lastIndex]; compactedThrough ≤ lastIndex.
 */
import { assert } from '../core/assert.js';

export class LogModel<V> {
  private readonly values = new Map<number, V>();
  private last = 0;
  private compacted = 0;
  /** The highest entry index ever written to each segment: a segment may go once compaction passes it. */
  private readonly segmentMax = new Map<number, number>();

  get lastIndex(): number {
    return this.last;
  }

  get compactedThrough(): number {
    return this.compacted;
  }

  get size(): number {
    return this.values.size;
  }

  get(index: number): V | undefined {
    return this.values.get(index);
  }

  segmentMaxIndex(segmentId: number): number {
    return this.segmentMax.get(segmentId) ?? 0;
  }

  /** Starts the model where a previous life of the log left it (used by recovery of an empty log). */
  restoreBounds(lastIndex: number, compactedThrough: number): void {
    assert(this.values.size === 0 && compactedThrough <= lastIndex, 'bounds restore an empty model');
    this.last = lastIndex;
    this.compacted = compactedThrough;
  }

  entry(index: number, segmentId: number, value: V): void {
    assert(index > this.compacted, `entry ${index} at or below the compaction point ${this.compacted}`);
    this.values.set(index, value);
    if (index > this.last) this.last = index;
    if (index > (this.segmentMax.get(segmentId) ?? 0)) this.segmentMax.set(segmentId, index);
  }

  /** Raft's conflict rule: entries at or after `fromIndex` go; the log now ends before it. */
  truncate(fromIndex: number): void {
    this.deleteRange(fromIndex, this.last);
    this.last = Math.min(this.last, Math.max(fromIndex - 1, this.compacted));
  }

  /** A snapshot replaced the log: nothing is stored, and the log continues after `snapshotIndex`. */
  reset(snapshotIndex: number): void {
    this.values.clear();
    this.last = snapshotIndex;
    this.compacted = snapshotIndex;
  }

  /** Entries at or below `index` are covered by a durable snapshot. */
  compact(index: number): void {
    if (index <= this.compacted) return;
    assert(index <= this.last, `compaction to ${index} past the last index ${this.last}`);
    this.deleteRange(this.compacted + 1, index);
    this.compacted = index;
  }

  /** A copy with every value mapped (recovery's model becomes the run-time index). */
  map<W>(fn: (v: V) => W): LogModel<W> {
    const out = new LogModel<W>();
    out.last = this.last;
    out.compacted = this.compacted;
    for (const [i, v] of this.values) out.values.set(i, fn(v));
    for (const [id, max] of this.segmentMax) out.segmentMax.set(id, max);
    return out;
  }

  /** Forgets the per-segment bookkeeping of a removed segment. */
  forgetSegment(segmentId: number): void {
    this.segmentMax.delete(segmentId);
  }

  /** Stored indexes in ascending order. */
  indexes(): number[] {
    const keys = [...this.values.keys()];
    // Raft appends in order, so the keys usually are already sorted; Paxos may fill holes later.
    for (let i = 1; i < keys.length; i++) {
      if (keys[i - 1]! > keys[i]!) return keys.sort((a, b) => a - b);
    }
    return keys;
  }

  /** Stored values with index in [from, toInclusive], ascending. */
  range(from: number, toInclusive: number): V[] {
    const out: V[] = [];
    if (toInclusive - from + 1 <= this.values.size) {
      for (let i = from; i <= toInclusive; i++) {
        const v = this.values.get(i);
        if (v !== undefined) out.push(v);
      }
      return out;
    }
    for (const i of this.indexes()) if (i >= from && i <= toInclusive) out.push(this.values.get(i)!);
    return out;
  }

  private deleteRange(from: number, toInclusive: number): void {
    if (from > toInclusive) return;
    if (toInclusive - from + 1 <= this.values.size) {
      for (let i = from; i <= toInclusive; i++) this.values.delete(i);
      return;
    }
    for (const i of [...this.values.keys()]) if (i >= from && i <= toInclusive) this.values.delete(i);
  }
}
