/**
 * The log as the records describe it: index → value, the last index and the compaction point.
 * Recovery replays records into it in order; at run time the WAL applies each batch to it as the
 * batch is written, so the same rules decide both (a replay can never disagree with what was
 * acknowledged). Pure and synchronous.
 *
 * Invariants: every stored index lies in (compactedThrough, lastIndex]; compactedThrough ≤ lastIndex.
 */
import { assert, unreachable } from '../core/assert.js';
import { IndexMap } from './index-map.js';

export class LogModel<V> {
  private readonly values = new IndexMap<V>();
  private last = 0;
  private compacted = 0;
  /** The highest entry index ever written to each segment: a segment may go once compaction passes it. */
  private readonly segmentMax = new Map<number, number>();
  /** A cache of segmentMax's most recently used entry. */
  private maxSegment = 0;
  private maxOfSegment = 0;

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
    // Hot path: no message is built unless the check fails.
    if (index <= this.compacted) unreachable(`entry ${index} at or below the compaction point ${this.compacted}`);
    this.values.set(index, value);
    if (index > this.last) this.last = index;
    // Entries arrive segment by segment: only touch the map when this one raises its segment's max.
    if (segmentId !== this.maxSegment || index > this.maxOfSegment) {
      const max = Math.max(index, this.segmentMax.get(segmentId) ?? 0);
      this.segmentMax.set(segmentId, max);
      this.maxSegment = segmentId;
      this.maxOfSegment = max;
    }
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

  /** Forgets the per-segment bookkeeping of a removed segment. */
  forgetSegment(segmentId: number): void {
    this.segmentMax.delete(segmentId);
    if (segmentId === this.maxSegment) this.maxSegment = 0;
  }

  /** Stored indexes in ascending order. */
  indexes(): number[] {
    return this.values.keys();
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
    this.values.deleteRange(from, toInclusive);
  }
}
