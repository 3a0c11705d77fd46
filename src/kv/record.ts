/**
 * One revision of one key: the unit of MVCC history. Records are immutable once made, and each
 * points to the key's previous record, so a key's history is a list from newest to oldest. A
 * snapshot can therefore hold on to the heads it saw and read a consistent past while the store
 * moves on: compaction never cuts a list in place, it copies the records above the cut (see
 * mvcc.ts), and a new write makes a new head.
 *
 * Key and value are latin1 strings (latin1.ts). A tombstone (a deletion) has version 0, create 0,
 * no lease and an empty value, as in etcd's DELETE event.
 */
import type { LeaseId } from '../core/ids.js';
import { bytesFromLatin1 } from './latin1.js';
import { KV_RECORD_OVERHEAD_BYTES } from '../core/limits.js';

export class RevRecord {
  constructor(
    readonly key: string,
    /** The store revision of the write. */
    readonly main: number,
    /** Position of the change within its revision (a transaction makes several). */
    readonly sub: number,
    readonly create: number,
    readonly version: number,
    readonly lease: LeaseId,
    readonly value: string,
    readonly prev: RevRecord | null,
  ) {}

  get isTombstone(): boolean {
    return this.version === 0;
  }

  /** A copy with another predecessor (compaction cuts history by copying, never in place). */
  withPrev(prev: RevRecord | null): RevRecord {
    return new RevRecord(this.key, this.main, this.sub, this.create, this.version, this.lease, this.value, prev);
  }
}

/** etcd's mvccpb.KeyValue. Byte fields are fresh copies the caller owns. */
export interface KeyValue {
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

const EMPTY_BYTES = new Uint8Array(0);

export function toKeyValue(r: RevRecord, keysOnly = false): KeyValue {
  return {
    key: bytesFromLatin1(r.key),
    createRevision: r.create,
    modRevision: r.main,
    version: r.version,
    value: keysOnly || r.value.length === 0 ? EMPTY_BYTES : bytesFromLatin1(r.value),
    lease: r.lease,
  };
}

/** Bytes a record is charged for in the size accounting (quota and memory reports). */
export function recordCostBytes(r: RevRecord): number {
  return r.key.length + r.value.length + KV_RECORD_OVERHEAD_BYTES;
}

/** Order of records in revision order: by main revision, then sub revision. */
export function compareRevisions(aMain: number, aSub: number, bMain: number, bSub: number): number {
  return aMain !== bMain ? aMain - bMain : aSub - bSub;
}

/** The newest record of a history at or below `rev`, or null. */
export function recordAt(head: RevRecord | null | undefined, rev: number): RevRecord | null {
  let r = head ?? null;
  while (r !== null && r.main > rev) r = r.prev;
  return r;
}

/** The live (non-tombstone) record of a history at `rev`, or null if the key did not exist then. */
export function liveAt(head: RevRecord | null | undefined, rev: number): RevRecord | null {
  const r = recordAt(head, rev);
  return r !== null && r.version > 0 ? r : null;
}

/**
 * Calls `fn` for every record of a history that compaction at `compactRev` retains and that is at
 * or below `rev`, newest first: all records at or above compactRev, and below it only the newest
 * one, and only if it is not a tombstone (it holds the key's state at compactRev and the prev_kv of
 * the next event). Records physically still present below that point are skipped, so answers do
 * not depend on how far the physical compaction has come.
 */
export function forEachRetained(head: RevRecord | null, compactRev: number, rev: number, fn: (r: RevRecord) => void): void {
  let r = head;
  while (r !== null && r.main > rev) r = r.prev;
  while (r !== null && r.main >= compactRev) {
    fn(r);
    r = r.prev;
  }
  if (r !== null && r.version > 0) fn(r);
}
