/**
 * What frames carry. Records change the log and are replayed in order; the commit frame closes a
 * batch and is the batch's durable summary (it alone says the batch happened).
 *
 *   entry     index u64, term u64, kind u8, data (the rest)
 *   truncate  fromIndex u64: stored entries at or after it are discarded (Raft's conflict rule)
 *   reset     snapshotIndex u64: every entry is discarded; the log continues after the snapshot
 *   seal      nextSegmentId u64: the last record of a segment that has a successor
 *   pad       zeros, to place the commit frames (see batch.ts)
 *   begin     the batch's summary (CommitInfo without length and checksum), first in every batch
 *   commit    see CommitInfo; written twice per batch, after the records
 */
import { ByteReader, type ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, term, type LogIndex } from '../core/ids.js';
import { WAL_HARD_STATE_BYTES_MAX } from '../core/limits.js';
import type { Entry, EntryKind } from '../consensus/types.js';
import { FrameType, type Frame } from './frame.js';

export type WalRecord =
  | { readonly type: 'entry'; readonly entry: Entry }
  | { readonly type: 'truncate'; readonly fromIndex: LogIndex }
  | { readonly type: 'reset'; readonly snapshotIndex: LogIndex }
  | { readonly type: 'seal'; readonly nextSegmentId: number };

/**
 * The state of the log after a batch, written with the batch: enough to check the batch (where it
 * is, its checksum, its sequence number) and to carry the small durable state forward, so that the
 * newest commit frame alone gives the hard state, however many segments have been removed.
 *
 * The begin frame carries the same summary with batchLengthBytes and batchCrc zero. Together the
 * begin frame and the two commit copies put the batch's summary at both of its ends, so damage to
 * one end (even a whole misdirected write landing on it) leaves evidence that the batch existed.
 */
export interface CommitInfo {
  /** Batches are numbered 1, 2, 3, … across segments; a gap or repeat is corruption. */
  readonly seq: number;
  readonly segmentId: number;
  /** Where the batch starts in its segment, and its length up to the first commit frame. */
  readonly batchStartOffset: number;
  readonly batchLengthBytes: number;
  /** CRC-32C of the batch's bytes [batchStartOffset, batchStartOffset + batchLengthBytes). */
  readonly batchCrc: number;
  /** The log's last index after this batch (or the reset point when the log is empty). */
  readonly lastIndex: number;
  /** Entries at or below this index may be absent: compacted behind a snapshot, or reset. */
  readonly compactedThrough: number;
  /** 0, or the index the log must reach again before the member may vote (see recovery). */
  readonly repairUntil: number;
  readonly hardState: Uint8Array | null;
}

export const COMMIT_FIXED_BYTES = 7 * 8 + 4 + 4;
export const COMMIT_PAYLOAD_BYTES_MAX = COMMIT_FIXED_BYTES + WAL_HARD_STATE_BYTES_MAX;
const COMMIT_FLAG_HARD_STATE = 1;

const KIND_CODES: Readonly<Record<EntryKind, number>> = { normal: 0, config: 1, empty: 2 };
const KINDS: readonly EntryKind[] = ['normal', 'config', 'empty'];

export const ENTRY_FIXED_BYTES = 8 + 8 + 1;

export function writeEntryPayload(w: ByteWriter, e: Entry): void {
  w.u53(e.index).u53(e.term).u8(KIND_CODES[e.kind]).raw(e.data);
}

export function writeCommitPayload(w: ByteWriter, c: CommitInfo): void {
  w.u53(c.seq).u53(c.segmentId).u53(c.batchStartOffset).u53(c.batchLengthBytes);
  w.u53(c.lastIndex).u53(c.compactedThrough).u53(c.repairUntil);
  w.u32(c.batchCrc).u32(c.hardState === null ? 0 : COMMIT_FLAG_HARD_STATE);
  if (c.hardState !== null) w.raw(c.hardState);
}

export function commitPayloadBytes(hardState: Uint8Array | null): number {
  return COMMIT_FIXED_BYTES + (hardState?.length ?? 0);
}

/** Decodes a record frame. A frame whose checksum held but whose payload does not parse is corrupt. */
export function decodeRecord(frame: Frame): WalRecord {
  if (frame.type === FrameType.entry) return { type: 'entry', entry: decodeEntryPayload(frame.payload) };
  const r = new ByteReader(frame.payload);
  switch (frame.type) {
    case FrameType.truncate: {
      const fromIndex = r.u53('truncate index');
      r.done('truncate record');
      if (fromIndex === 0) throw new DecodeError('truncate from index 0');
      return { type: 'truncate', fromIndex: logIndex(fromIndex) };
    }
    case FrameType.reset: {
      const snapshotIndex = r.u53('reset index');
      r.done('reset record');
      return { type: 'reset', snapshotIndex: logIndex(snapshotIndex) };
    }
    case FrameType.seal: {
      const nextSegmentId = r.u53('next segment id');
      r.done('seal record');
      return { type: 'seal', nextSegmentId };
    }
    default:
      throw new DecodeError(`frame type ${frame.type} is not a record`);
  }
}

/** The hot path of recovery: decoded by hand rather than through a ByteReader. */
function decodeEntryPayload(p: Uint8Array): Entry {
  if (p.length < ENTRY_FIXED_BYTES) throw new DecodeError('truncated entry record');
  const index = u53At(p, 0);
  const t = u53At(p, 8);
  const kind = KINDS[p[16]!];
  if (kind === undefined) throw new DecodeError('unknown entry kind');
  if (index === 0) throw new DecodeError('entry index 0');
  return { index: logIndex(index), term: term(t), kind, data: p.subarray(ENTRY_FIXED_BYTES) };
}

function u53At(p: Uint8Array, at: number): number {
  const lo = (p[at]! | (p[at + 1]! << 8) | (p[at + 2]! << 16) | (p[at + 3]! << 24)) >>> 0;
  const hi = (p[at + 4]! | (p[at + 5]! << 8) | (p[at + 6]! << 16) | (p[at + 7]! << 24)) >>> 0;
  if (hi > 0x1fffff) throw new DecodeError('index or term out of range');
  return hi * 0x1_0000_0000 + lo;
}

export function decodeCommit(payload: Uint8Array): CommitInfo {
  const r = new ByteReader(payload);
  const seq = r.u53('seq');
  const segmentId = r.u53('segment id');
  const batchStartOffset = r.u53('batch start');
  const batchLengthBytes = r.u53('batch length');
  const lastIndex = r.u53('last index');
  const compactedThrough = r.u53('compacted through');
  const repairUntil = r.u53('repair until');
  const batchCrc = r.u32('batch crc');
  const flags = r.u32('commit flags');
  if ((flags & ~COMMIT_FLAG_HARD_STATE) !== 0) throw new DecodeError(`unknown commit flags ${flags}`);
  let hardState: Uint8Array | null = null;
  if (flags & COMMIT_FLAG_HARD_STATE) {
    if (r.remainingBytes > WAL_HARD_STATE_BYTES_MAX) throw new DecodeError('hard state too long');
    hardState = r.raw(r.remainingBytes, 'hard state');
  }
  r.done('commit record');
  if (seq === 0) throw new DecodeError('commit seq 0');
  if (compactedThrough > lastIndex) throw new DecodeError('compacted past the last index');
  return { seq, segmentId, batchStartOffset, batchLengthBytes, batchCrc, lastIndex, compactedThrough, repairUntil, hardState };
}
