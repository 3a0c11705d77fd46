/**
 * The engine's in-memory log: every entry after the latest snapshot, with the marks that say how
 * far it is durable, committed and applied.
 *
 *   snapshotIndex <= applied <= applying <= committed <= lastIndex
 *   snapshotIndex <= stableIndex < unstableFrom <= lastIndex + 1
 *
 * - `unstableFrom`: the first index not yet handed out in a Ready for persistence. A truncation
 *   below it moves it back, and the next Ready rewrites the suffix (entriesReplaceSuffix).
 * - `stableIndex`: the log is durable up to here (confirmed by advance()). A leader counts its own
 *   log toward commit only up to this mark.
 * - `applying`: committed entries handed out to apply; `applied`: confirmed applied by advance().
 *
 * Entries live in an array indexed from snapshotIndex + 1. Terms never decrease along the log,
 * which lets the hint lookups binary-search.
 *
 * Assertions with a computed message are written `if (broken) unreachable(message)`: these run
 * per entry, and a template passed to assert() would be built on every call.
 */
import { assert, unreachable } from '../core/assert.js';
import type { Entry, SnapshotMeta } from '../consensus/types.js';

/** The term of an index the log cannot tell (compacted, or beyond the end). */
export const TERM_UNKNOWN = -1;

export class RaftLog {
  snapshotIndex: number;
  snapshotTerm: number;
  private entries: Entry[] = [];
  stableIndex: number;
  unstableFrom: number;
  committed: number;
  applying: number;
  applied: number;

  constructor(options: { readonly snapshotIndex: number; readonly snapshotTerm: number; readonly entries: readonly Entry[] }) {
    this.snapshotIndex = options.snapshotIndex;
    this.snapshotTerm = options.snapshotTerm;
    for (const e of options.entries) {
      if (e.index <= this.snapshotIndex) continue;
      this.entries.push(e);
    }
    this.stableIndex = this.lastIndex();
    this.unstableFrom = this.lastIndex() + 1;
    this.committed = this.snapshotIndex;
    this.applying = this.snapshotIndex;
    this.applied = this.snapshotIndex;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  /** The term at `index`, or TERM_UNKNOWN when the log cannot tell. */
  term(index: number): number {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    const e = this.entries[index - this.snapshotIndex - 1];
    return e === undefined ? TERM_UNKNOWN : e.term;
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  entry(index: number): Entry | undefined {
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, t: number): boolean {
    const mine = this.term(index);
    return mine !== TERM_UNKNOWN && mine === t;
  }

  /** §5.4.1: a candidate's log is at least as up-to-date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Appends entries that follow on the last one (a leader's own proposals). */
  append(e: Entry): void {
    if (e.index !== this.lastIndex() + 1) unreachable(`append of ${e.index} after ${this.lastIndex()}`);
    assert(e.term >= this.lastTerm(), 'terms never decrease along the log');
    this.entries.push(e);
  }

  /**
   * Stores a leader's entries that follow `prevIndex` (already matched): skips the ones we hold,
   * truncates at the first conflict and appends the rest. Committed entries never conflict.
   */
  appendFromLeader(entries: readonly Entry[]): void {
    let i = 0;
    while (i < entries.length && this.matchTerm(entries[i]!.index, entries[i]!.term)) i++;
    if (i === entries.length) return;
    const first = entries[i]!.index;
    if (first <= this.committed) unreachable(`conflict at ${first} at or below commit ${this.committed}`);
    if (first <= this.lastIndex()) this.truncateFrom(first);
    for (; i < entries.length; i++) this.entries.push(entries[i]!);
  }

  private truncateFrom(index: number): void {
    this.entries.length = index - this.snapshotIndex - 1;
    this.unstableFrom = Math.min(this.unstableFrom, index);
    this.stableIndex = Math.min(this.stableIndex, index - 1);
  }

  /** Entries in [lo, hi], at most `countMax`, and at most `bytesMax` of data (the first always). */
  slice(lo: number, hi: number, countMax: number, bytesMax: number): Entry[] {
    if (lo < this.firstIndex() || hi > this.lastIndex()) unreachable(`slice [${lo}, ${hi}] outside the log`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i <= hi && out.length < countMax; i++) {
      const e = this.entries[i - this.snapshotIndex - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(e);
    }
    return out;
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) unreachable(`commit ${index} beyond the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries not yet handed out for persistence; marks them handed out. */
  takeUnstable(): Entry[] {
    const from = this.unstableFrom;
    const last = this.lastIndex();
    this.unstableFrom = last + 1;
    if (from > last) return [];
    return this.entries.slice(from - this.snapshotIndex - 1);
  }

  hasUnstable(): boolean {
    return this.unstableFrom <= this.lastIndex();
  }

  /** advance() confirmed the entries up to (index, term) durable, unless they were replaced since. */
  stableTo(index: number, t: number): void {
    if (this.matchTerm(index, t) && index < this.unstableFrom) this.stableIndex = Math.max(this.stableIndex, index);
  }

  /** Committed entries not yet handed out to apply, bounded; marks them handed out. */
  takeCommitted(countMax: number, bytesMax: number): Entry[] {
    const hi = Math.min(this.committed, this.lastIndex());
    if (this.applying >= hi) return [];
    const out = this.slice(this.applying + 1, hi, countMax, bytesMax);
    this.applying = out[out.length - 1]!.index;
    return out;
  }

  hasCommittedToApply(): boolean {
    return this.applying < Math.min(this.committed, this.lastIndex());
  }

  appliedTo(index: number): void {
    if (index > this.applying) unreachable(`applied ${index} beyond what was handed out (${this.applying})`);
    this.applied = Math.max(this.applied, index);
  }

  /** Forgets entries up to `index` (a durable snapshot covers them). */
  compact(index: number): void {
    if (index <= this.snapshotIndex || index > this.applied) unreachable(`compact to ${index}: outside (${this.snapshotIndex}, ${this.applied}]`);
    const t = this.term(index);
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = t;
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  restore(meta: SnapshotMeta): void {
    assert(meta.index > this.committed, 'a snapshot is installed only beyond the commit index');
    this.entries = [];
    this.snapshotIndex = meta.index;
    this.snapshotTerm = meta.term;
    this.stableIndex = meta.index;
    this.unstableFrom = meta.index + 1;
    this.committed = meta.index;
    this.applying = meta.index;
    this.applied = meta.index;
  }

  /** The largest index in [snapshotIndex, upTo] whose term is at most `t`, or -1 if none is known. */
  lastIndexWithTermAtMost(t: number, upTo: number): number {
    let lo = this.snapshotIndex;
    let hi = Math.min(upTo, this.lastIndex());
    if (hi < lo || this.term(lo) > t) return -1;
    while (lo < hi) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      if (this.term(mid) <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The smallest index in [from, upTo] whose term is at least `t` (upTo if none is smaller). */
  firstIndexWithTermAtLeast(t: number, from: number, upTo: number): number {
    let lo = Math.max(from, this.firstIndex());
    let hi = upTo;
    while (lo < hi) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.term(mid) >= t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
