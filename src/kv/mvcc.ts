/**
 * The multi-version core: the key index (key → newest record), the revision log (records in
 * revision order), the store revision and the compaction point. It knows nothing of leases,
 * sessions or requests; kv-store.ts builds etcd's operations on top of it.
 *
 * Revisions: the store starts at revision 1 with no keys. A write (a put, a delete that deletes
 * something, a transaction that changes something) takes the next revision; each change inside
 * it takes the next sub-revision, from 0.
 *
 * Compaction at C keeps, for every key, all records at or above C and the newest record below C
 * if it is not a tombstone: exactly what answering any read at a revision >= C, and every watch
 * event at a revision >= C with its prev_kv, needs. (etcd lets a watch start at its compact
 * revision but may then miss deletions at that revision; keeping the record below makes that
 * watch complete.) The compaction point moves at once (reads below it fail); the memory is freed
 * incrementally, KV_COMPACTION_STEP_RECORDS_MAX records per applied entry, so a large compaction
 * never stalls the apply loop. Freeing copies the records above the cut instead of changing
 * them, so snapshots taken earlier keep reading a consistent past.
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import type { LeaseId } from '../core/ids.js';
import { KeyIndex, type KeyRange } from './key-index.js';
import { writeLatin1 } from './latin1.js';
import { forEachRetained, liveAt, recordCostBytes, RevRecord } from './record.js';
import { RevLog } from './rev-log.js';

export interface KvHash {
  readonly hash: number;
  readonly compactRevision: number;
  readonly hashRevision: number;
}

export class Mvcc {
  index = new KeyIndex();
  revlog = new RevLog();
  /** The store revision: the revision of the last write (1 on a fresh store). */
  revision = 1;
  /** Reads below this revision fail with `compacted`; 0 when nothing was compacted. */
  compactRevision = 0;
  /** Bytes of the records physically held (key, value and a fixed overhead each). */
  sizeBytes = 0;
  /** Where the incremental physical compaction is heading, and where it has got to. */
  private physicalTarget = 0;
  private physicalDone = 0;
  /** Changes of the open write, in sub-revision order; null when no write is open. */
  private changes: RevRecord[] | null = null;

  get keyCount(): number {
    return this.index.size;
  }

  get compactionPending(): boolean {
    return this.physicalDone < this.physicalTarget;
  }

  /** The live record of `key` at `rev`. */
  get(key: string, rev: number): RevRecord | null {
    return liveAt(this.index.get(key), rev);
  }

  /** Visits the live records in `range` at `rev`, in key order; `fn` returns false to stop. */
  scan(range: KeyRange, rev: number, fn: (r: RevRecord) => boolean | void): void {
    this.index.forEachInRange(range, (head) => {
      const r = liveAt(head, rev);
      return r === null ? true : fn(r);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Writes. One write is open at a time; its changes all get revision `revision + 1`.

  beginWrite(): void {
    assert(this.changes === null, 'a write is already open');
    this.changes = [];
  }

  /** The revision reads inside the open write use: it includes the write's own changes once there are any. */
  get readRevision(): number {
    assert(this.changes !== null, 'no write is open');
    return this.changes.length > 0 ? this.revision + 1 : this.revision;
  }

  /** Writes `key`; returns the new record and the live record it replaced (or null). */
  put(key: string, value: string, lease: LeaseId): { readonly record: RevRecord; readonly prev: RevRecord | null } {
    const changes = this.changes;
    assert(changes !== null, 'put outside a write');
    const main = this.revision + 1;
    const head = this.index.get(key) ?? null;
    const prev = head !== null && head.version > 0 ? head : null;
    const record = new RevRecord(key, main, changes.length, prev === null ? main : prev.create, prev === null ? 1 : prev.version + 1, lease, value, head);
    this.append(record);
    return { record, prev };
  }

  /** Deletes `key` if it is live; returns the record deleted (or null). */
  delete(key: string): RevRecord | null {
    const changes = this.changes;
    assert(changes !== null, 'delete outside a write');
    const head = this.index.get(key);
    if (head === undefined || head.version === 0) return null;
    this.append(new RevRecord(key, this.revision + 1, changes.length, 0, 0, 0n as LeaseId, '', head));
    return head;
  }

  private append(r: RevRecord): void {
    this.changes!.push(r);
    this.index.set(r);
    this.revlog.push(r);
    this.sizeBytes += recordCostBytes(r);
  }

  /** Closes the write: the revision advances if anything changed. Returns the changes. */
  endWrite(): RevRecord[] {
    const changes = this.changes;
    assert(changes !== null, 'no write is open');
    this.changes = null;
    if (changes.length > 0) this.revision++;
    return changes;
  }

  // -------------------------------------------------------------------------------------------
  // Compaction.

  /** Moves the compaction point; the caller has checked compactRevision < rev <= revision. */
  compact(rev: number): void {
    assert(rev > this.compactRevision && rev <= this.revision, `compact(${rev}) outside (${this.compactRevision}, ${this.revision}]`);
    this.compactRevision = rev;
    this.physicalTarget = rev;
  }

  /** Frees compacted history: at most `budgetRecords` revision-log records. */
  compactStep(budgetRecords: number): void {
    const target = this.physicalTarget;
    for (let n = 0; n < budgetRecords; n++) {
      const f = this.revlog.first();
      if (f === undefined || f.main >= target) {
        this.physicalDone = target;
        return;
      }
      this.revlog.shift();
      this.trimKey(f.key, target);
    }
    const f = this.revlog.first();
    if (f === undefined || f.main >= target) this.physicalDone = target;
  }

  /** Cuts one key's history to what compaction at `c` retains, copying the records above the cut. */
  private trimKey(key: string, c: number): void {
    const head = this.index.get(key);
    if (head === undefined) return;
    const above: RevRecord[] = [];
    let r: RevRecord | null = head;
    while (r !== null && r.main >= c) {
      above.push(r);
      r = r.prev;
    }
    if (r === null) return;
    let bottom: RevRecord | null;
    let freed: RevRecord | null;
    if (r.version > 0) {
      if (r.prev === null) return;
      bottom = r.withPrev(null);
      freed = r.prev;
    } else {
      bottom = null;
      freed = r;
    }
    for (let f: RevRecord | null = freed; f !== null; f = f.prev) this.sizeBytes -= recordCostBytes(f);
    let cur: RevRecord | null = bottom;
    for (let i = above.length - 1; i >= 0; i--) {
      const old = above[i]!;
      const copy = old.withPrev(cur);
      this.revlog.replace(old, copy);
      cur = copy;
    }
    if (cur === null) this.index.delete(key);
    else this.index.set(cur);
  }

  // -------------------------------------------------------------------------------------------
  // Hashes.

  /**
   * CRC-32C over the compaction point and every retained record at or below `rev`, keys in byte
   * order and each key's records oldest first. Replicas that applied the same log agree on it
   * whatever their physical compaction progress (etcd's HashKV, for corruption checks).
   */
  hashKv(rev: number): KvHash {
    const h = new RecordHasher();
    h.number(this.compactRevision);
    const recs: RevRecord[] = [];
    this.index.forEachInRange({ type: 'range', start: '', end: null }, (head) => {
      recs.length = 0;
      forEachRetained(head, this.compactRevision, rev, (r) => recs.push(r));
      for (let i = recs.length - 1; i >= 0; i--) h.record(recs[i]!);
    });
    return { hash: h.value, compactRevision: this.compactRevision, hashRevision: rev };
  }

  /** Rebuilds from parts read from a snapshot (the reader has validated them). */
  static fromParts(parts: { index: KeyIndex; revlog: RevLog; revision: number; compactRevision: number; sizeBytes: number }): Mvcc {
    const m = new Mvcc();
    m.index = parts.index;
    m.revlog = parts.revlog;
    m.revision = parts.revision;
    m.compactRevision = parts.compactRevision;
    m.physicalTarget = parts.compactRevision;
    m.physicalDone = parts.compactRevision;
    m.sizeBytes = parts.sizeBytes;
    return m;
  }
}

/** Feeds records into a running CRC-32C without allocating per record. */
export class RecordHasher {
  private crc = 0;
  private scratch = new Uint8Array(256);
  private view = new DataView(this.scratch.buffer);

  get value(): number {
    return this.crc;
  }

  number(v: number): void {
    this.view.setFloat64(0, v, true);
    this.crc = crc32c(this.scratch, this.crc, 0, 8);
  }

  bigint(v: bigint): void {
    this.view.setBigInt64(0, v, true);
    this.crc = crc32c(this.scratch, this.crc, 0, 8);
  }

  string(s: string): void {
    this.number(s.length);
    if (s.length > this.scratch.length) {
      this.scratch = new Uint8Array(Math.max(s.length, this.scratch.length * 2));
      this.view = new DataView(this.scratch.buffer);
    }
    writeLatin1(s, this.scratch, 0);
    this.crc = crc32c(this.scratch, this.crc, 0, s.length);
  }

  record(r: RevRecord): void {
    this.string(r.key);
    this.number(r.main);
    this.number(r.sub);
    this.number(r.create);
    this.number(r.version);
    this.bigint(r.lease);
    this.string(r.value);
  }
}
