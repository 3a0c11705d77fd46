/**
 * Every retained record in revision order, from the physical compaction point on: what watchers
 * catch up from and what compaction walks to find the histories it must trim. A deque of
 * fixed-size chunks of record pointers: appends at the back (each write), removals at the front
 * (compaction), binary search by revision, and in-place replacement when compaction copies a
 * record (record.ts explains why records are copied rather than changed).
 */
import { assert } from '../core/assert.js';
import { KV_REVLOG_CHUNK_RECORDS } from '../core/limits.js';
import { compareRevisions, type RevRecord } from './record.js';

const CHUNK = KV_REVLOG_CHUNK_RECORDS;

export class RevLog {
  private chunks: RevRecord[][] = [];
  /** Records already removed from the first chunk. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  at(i: number): RevRecord {
    assert(i >= 0 && i < this.count, `revlog index ${i} out of [0, ${this.count})`);
    const p = i + this.head;
    return this.chunks[Math.floor(p / CHUNK)]![p % CHUNK]!;
  }

  first(): RevRecord | undefined {
    return this.count === 0 ? undefined : this.at(0);
  }

  last(): RevRecord | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  push(r: RevRecord): void {
    const last = this.last();
    assert(last === undefined || compareRevisions(last.main, last.sub, r.main, r.sub) < 0, 'revlog: records appended in revision order');
    const tail = this.chunks[this.chunks.length - 1];
    if (tail === undefined || tail.length === CHUNK) this.chunks.push([r]);
    else tail.push(r);
    this.count++;
  }

  shift(): RevRecord | undefined {
    if (this.count === 0) return undefined;
    const r = this.at(0);
    this.count--;
    this.head++;
    if (this.head === CHUNK || this.count === 0) {
      this.chunks.shift();
      this.head = 0;
      if (this.count === 0) this.chunks = [];
    }
    return r;
  }

  /** The position of the first record at or after (main, sub); `length` if none. */
  lowerBound(main: number, sub = 0): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const r = this.at(mid);
      if (compareRevisions(r.main, r.sub, main, sub) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Replaces the record of the same revision (a compaction copy). */
  replace(old: RevRecord, next: RevRecord): void {
    assert(old.main === next.main && old.sub === next.sub, 'revlog: replacement has the same revision');
    const i = this.lowerBound(old.main, old.sub);
    assert(i < this.count && this.at(i) === old, 'revlog: record to replace is present');
    const p = i + this.head;
    this.chunks[Math.floor(p / CHUNK)]![p % CHUNK] = next;
  }

  /** Builds a log from records sorted in revision order. */
  static fromSorted(records: readonly RevRecord[]): RevLog {
    const log = new RevLog();
    for (let i = 0; i < records.length; i += CHUNK) log.chunks.push(records.slice(i, i + CHUNK));
    log.count = records.length;
    for (let i = 1; i < records.length; i++) {
      const a = records[i - 1]!;
      const b = records[i]!;
      assert(compareRevisions(a.main, a.sub, b.main, b.sub) < 0, 'revlog: fromSorted needs revision order');
    }
    return log;
  }
}
