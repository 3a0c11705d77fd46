/**
 * Reads one segment's bytes into batches, and says how its data ends. Pure: bytes in, a verdict out.
 *
 * The verdict separates the two kinds of damage that look alike byte by byte (Protocol-Aware
 * Recovery, FAST '18):
 *
 *   torn     the data after the last good batch holds no intact summary frame (begin or commit)
 *            past the damage. That batch was never completely written, so it was never
 *            acknowledged: cutting it loses nothing.
 *   corrupt  something committed is damaged: an intact summary frame lies past the damage, or a
 *            summary is intact but does not match where it was found or the batch around it (wrong
 *            checksum, place, segment or sequence number). Cutting silently would lose acknowledged
 *            data.
 *
 * A batch is accepted when either of its two commit copies is intact and matches the batch.
 */
import { crc32c } from '../core/crc32c.js';
import { WAL_ENTRY_BYTES_MAX } from '../core/limits.js';
import { FRAME_FLAG_COMMIT_COPY, FRAME_HEADER_BYTES, FrameType, readFrame, type Frame } from './frame.js';
import { COMMIT_FIXED_BYTES, COMMIT_PAYLOAD_BYTES_MAX, ENTRY_FIXED_BYTES, decodeCommit, decodeRecord, type CommitInfo, type WalRecord } from './records.js';
import { SEGMENT_HEADER_BYTES, decodeSegmentHeader, type HeaderRead } from './segment-header.js';

/** Largest payload any frame may claim; a larger length field is damage. */
export const FRAME_PAYLOAD_BYTES_MAX = Math.max(ENTRY_FIXED_BYTES + WAL_ENTRY_BYTES_MAX, COMMIT_PAYLOAD_BYTES_MAX);

export interface ScannedRecord {
  readonly record: WalRecord;
  /** The frame's offset in the segment and its size, padding included. */
  readonly offset: number;
  readonly sizeBytes: number;
}

export interface ScannedBatch {
  readonly commit: CommitInfo;
  readonly records: readonly ScannedRecord[];
  /** Where commit A starts, and its frame size (commit B has the same size and follows it). */
  readonly commitOffset: number;
  readonly commitFrameBytes: number;
  /** Just after commit B's slot: where the next batch starts. */
  readonly endOffset: number;
  /** Which copy of the commit frame was unreadable or damaged, if one was. */
  readonly damagedCommitCopy: 'none' | 'a' | 'b';
}

export type BodyState =
  /** The data ends exactly after the last good batch. */
  | { readonly type: 'clean' }
  /** Bytes after the last good batch that were never committed (zeros, a torn batch, garbage). */
  | { readonly type: 'torn'; readonly offset: number; readonly reason: string }
  /** Damage at `offset` (the start of the first bad batch) with committed data at or after it. */
  | { readonly type: 'corrupt'; readonly offset: number; readonly reason: string };

export interface SegmentScan {
  readonly header: HeaderRead;
  readonly batches: readonly ScannedBatch[];
  readonly body: BodyState;
  /** Just after the last good batch: where a torn tail is cut and the next batch goes. */
  readonly endOffset: number;
  /** Set when the last good batch holds a seal record: the id of the successor segment. */
  readonly sealedNextId: number | null;
  /**
   * When the body is corrupt: every intact summary (begin or commit frame) from the damaged batch
   * on, including ones written at the wrong place. They tell how far the log reached and the newest
   * hard state. Empty otherwise (a torn batch was never acknowledged).
   */
  readonly summariesBeyond: readonly CommitInfo[];
  readonly fileBytes: number;
}

export interface ScanOptions {
  /** The segment id from the file name; commit frames must name it. */
  readonly segmentId: number;
  /** The sequence number the first batch must carry, or null when it is not known (first segment). */
  readonly expectedSeq: number | null;
}

/** Scans a whole segment file's bytes. */
export function scanSegment(buf: Uint8Array, options: ScanOptions): SegmentScan {
  const header = decodeSegmentHeader(buf);
  const end = buf.length;
  const batches: ScannedBatch[] = [];
  let expectedSeq = options.expectedSeq;
  let pos = Math.min(SEGMENT_HEADER_BYTES, end);
  let sealedNextId: number | null = null;

  const finish = (body: BodyState): SegmentScan => ({
    header,
    batches,
    body,
    endOffset: pos,
    sealedNextId,
    summariesBeyond: body.type === 'corrupt' ? findSummaryFrames(buf, pos, end) : [],
    fileBytes: end,
  });

  for (;;) {
    if (pos >= end) return finish({ type: 'clean' });
    if (sealedNextId !== null) return finish({ type: 'torn', offset: pos, reason: 'bytes after the seal record' });
    const r = readBatch(buf, pos, end, options.segmentId, expectedSeq);
    switch (r.type) {
      case 'batch':
        batches.push(r.batch);
        for (const rec of r.batch.records) if (rec.record.type === 'seal') sealedNextId = rec.record.nextSegmentId;
        expectedSeq = r.batch.commit.seq + 1;
        pos = r.batch.endOffset;
        break;
      case 'end':
        return finish(pos === end ? { type: 'clean' } : { type: 'torn', offset: pos, reason: 'zeros after the last batch' });
      case 'torn':
        return finish({ type: 'torn', offset: pos, reason: r.reason });
      case 'corrupt':
        return finish({ type: 'corrupt', offset: pos, reason: r.reason });
    }
  }
}

type BatchRead =
  | { readonly type: 'batch'; readonly batch: ScannedBatch }
  | { readonly type: 'end' }
  | { readonly type: 'torn'; readonly reason: string }
  | { readonly type: 'corrupt'; readonly reason: string };

interface BatchContext {
  readonly start: number;
  readonly end: number;
  readonly segmentId: number;
  readonly expectedSeq: number | null;
}

function readBatch(buf: Uint8Array, start: number, end: number, segmentId: number, expectedSeq: number | null): BatchRead {
  const at: BatchContext = { start, end, segmentId, expectedSeq };
  const first = readFrame(buf, start, end, FRAME_PAYLOAD_BYTES_MAX);
  if (first.type === 'end') return { type: 'end' };
  if (first.type === 'bad') return damagedBatch(buf, at, null, start, [], first.reason);
  if (first.frame.type !== FrameType.begin) return { type: 'corrupt', reason: 'an intact frame where a batch should begin (stale or misdirected data)' };
  const begin = tryDecodeCommit(first.frame.payload);
  if (begin === null) return { type: 'corrupt', reason: 'begin frame does not decode' };
  const beginMismatch = summaryMismatch(begin, at);
  if (beginMismatch !== null) return { type: 'corrupt', reason: `begin frame: ${beginMismatch}` };
  const records: ScannedRecord[] = [];
  let pos = start + first.frame.sizeBytes;
  for (;;) {
    const fr = readFrame(buf, pos, end, FRAME_PAYLOAD_BYTES_MAX);
    if (fr.type !== 'frame') return damagedBatch(buf, at, begin, pos, records, fr.type === 'end' ? 'batch ends without a commit frame' : fr.reason);
    const frame = fr.frame;
    switch (frame.type) {
      case FrameType.commit: {
        const commit = tryDecodeCommit(frame.payload);
        const mismatch = commit === null ? 'commit frame does not decode' : commitMismatch(buf, commit, begin, at, frame.offset);
        if (mismatch !== null) return { type: 'corrupt', reason: mismatch };
        const copy = readFrame(buf, frame.offset + frame.sizeBytes, end, FRAME_PAYLOAD_BYTES_MAX);
        const copyOk =
          copy.type === 'frame' && copy.frame.type === FrameType.commit && (copy.frame.flags & FRAME_FLAG_COMMIT_COPY) !== 0 && bytesEqual(copy.frame.payload, frame.payload);
        return {
          type: 'batch',
          batch: {
            commit: commit!,
            records,
            commitOffset: frame.offset,
            commitFrameBytes: frame.sizeBytes,
            endOffset: frame.offset + 2 * frame.sizeBytes,
            damagedCommitCopy: copyOk ? 'none' : 'b',
          },
        };
      }
      case FrameType.begin:
        return { type: 'corrupt', reason: 'a begin frame inside a batch (stale or misdirected data)' };
      case FrameType.pad:
        break;
      default: {
        let record: WalRecord;
        try {
          record = decodeRecord(frame);
        } catch (e) {
          // The frame's checksum held, so these bytes were written as they are: not a torn write.
          return { type: 'corrupt', reason: `record does not decode: ${(e as Error).message}` };
        }
        records.push({ record, offset: frame.offset, sizeBytes: frame.sizeBytes });
      }
    }
    pos = frame.offset + frame.sizeBytes;
  }
}

/**
 * A frame of the batch starting at `at.start` is damaged at `problemAt`. If the first intact summary
 * frame after it is this batch's commit B (commit A was the damaged frame), the batch stands.
 * Otherwise any intact summary frame (a commit, or the begin of another batch) beyond means
 * something committed is damaged; none means the batch was torn by a crash while being written.
 */
function damagedBatch(buf: Uint8Array, at: BatchContext, begin: CommitInfo | null, problemAt: number, records: ScannedRecord[], reason: string): BatchRead {
  const beyond = firstSummaryFrame(buf, problemAt, at.end);
  if (beyond === null) return { type: 'torn', reason };
  const commit = beyond.type === FrameType.commit ? tryDecodeCommit(beyond.payload) : null;
  const isCopyOfThisBatch =
    begin !== null &&
    commit !== null &&
    (beyond.flags & FRAME_FLAG_COMMIT_COPY) !== 0 &&
    beyond.offset === problemAt + beyond.sizeBytes &&
    commitMismatch(buf, commit, begin, at, problemAt) === null;
  if (!isCopyOfThisBatch) return { type: 'corrupt', reason: `${reason}, with committed data after it` };
  return {
    type: 'batch',
    batch: {
      commit: commit,
      records,
      commitOffset: problemAt,
      commitFrameBytes: beyond.sizeBytes,
      endOffset: beyond.offset + beyond.sizeBytes,
      damagedCommitCopy: 'a',
    },
  };
}

/** Checks a summary (begin or commit) was written for a batch at `at.start` of this segment. */
function summaryMismatch(c: CommitInfo, at: BatchContext): string | null {
  if (c.segmentId !== at.segmentId) return `names segment ${c.segmentId} (misdirected or stale write)`;
  if (c.batchStartOffset !== at.start) return `describes a batch at ${c.batchStartOffset}, found at ${at.start} (misdirected or stale write)`;
  if (at.expectedSeq !== null && c.seq !== at.expectedSeq) return `batch seq ${c.seq}, expected ${at.expectedSeq}`;
  return null;
}

function commitMismatch(buf: Uint8Array, c: CommitInfo, begin: CommitInfo, at: BatchContext, commitOffset: number): string | null {
  const m = summaryMismatch(c, at);
  if (m !== null) return `commit frame ${m}`;
  if (c.batchLengthBytes !== commitOffset - at.start) return `commit frame describes ${c.batchLengthBytes} batch bytes, found ${commitOffset - at.start}`;
  if (
    c.seq !== begin.seq ||
    c.lastIndex !== begin.lastIndex ||
    c.compactedThrough !== begin.compactedThrough ||
    c.repairUntil !== begin.repairUntil ||
    !sameHardState(c.hardState, begin.hardState)
  ) {
    return 'commit frame disagrees with its begin frame';
  }
  if (crc32c(buf, 0, at.start, commitOffset) !== c.batchCrc) return 'batch checksum mismatch under an intact commit frame';
  return null;
}

function sameHardState(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : bytesEqual(a, b);
}

function tryDecodeCommit(payload: Uint8Array): CommitInfo | null {
  try {
    return decodeCommit(payload);
  } catch {
    return null;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Finds the first checksum-valid summary frame (commit or begin) at an 8-aligned offset in [from, end). */
function firstSummaryFrame(buf: Uint8Array, from: number, end: number): Frame | null {
  for (let p = Math.ceil(from / 8) * 8; p + FRAME_HEADER_BYTES <= end; p += 8) {
    const f = summaryFrameAt(buf, p, end);
    if (f !== null) return f;
  }
  return null;
}

function summaryFrameAt(buf: Uint8Array, p: number, end: number): Frame | null {
  // Cheap filters first: this runs at every 8-byte offset of a damaged region.
  const t = buf[p];
  if ((t !== FrameType.commit && t !== FrameType.begin) || buf[p + 2] !== 0 || buf[p + 3] !== 0) return null;
  const len = buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24);
  if (len < COMMIT_FIXED_BYTES || len > COMMIT_PAYLOAD_BYTES_MAX) return null;
  const fr = readFrame(buf, p, end, COMMIT_PAYLOAD_BYTES_MAX);
  return fr.type === 'frame' ? fr.frame : null;
}

/** Every checksum-valid, decodable summary (commit or begin frame) in [from, end), in file order. */
export function findSummaryFrames(buf: Uint8Array, from: number, end: number): CommitInfo[] {
  const out: CommitInfo[] = [];
  for (let p = Math.ceil(from / 8) * 8; p + FRAME_HEADER_BYTES <= end; p += 8) {
    const f = summaryFrameAt(buf, p, end);
    if (f === null) continue;
    const c = tryDecodeCommit(f.payload);
    if (c !== null) out.push(c);
  }
  return out;
}
