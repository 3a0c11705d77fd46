/**
 * Reads one segment's bytes into batches, and says how its data ends. Pure: bytes in, a verdict out.
 *
 * The verdict separates the two kinds of damage that look alike byte by byte (Protocol-Aware
 * Recovery, FAST '18):
 *
 *   torn     the data after the last good batch holds no checksum-valid commit frame. That batch
 *            was never completely written, so it was never acknowledged: cutting it loses nothing.
 *   corrupt  something committed is damaged: a checksum-valid commit frame lies at or after the
 *            damage, or a commit frame is intact but its batch does not match it (wrong checksum,
 *            wrong place, wrong sequence number). Cutting silently would lose acknowledged data.
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
  /** Checksum-valid commit frames found after the last good batch (evidence of committed data). */
  readonly commitsBeyond: readonly CommitInfo[];
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
    commitsBeyond: body.type === 'clean' ? [] : findCommitFrames(buf, pos, end),
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

function readBatch(buf: Uint8Array, start: number, end: number, segmentId: number, expectedSeq: number | null): BatchRead {
  const records: ScannedRecord[] = [];
  let pos = start;
  for (;;) {
    const fr = readFrame(buf, pos, end, FRAME_PAYLOAD_BYTES_MAX);
    if (fr.type === 'end' && pos === start) return { type: 'end' };
    if (fr.type !== 'frame') {
      return damagedBatch(buf, { start, problemAt: pos, end, segmentId, expectedSeq, records, reason: fr.type === 'end' ? 'batch ends without a commit frame' : fr.reason });
    }
    const frame = fr.frame;
    if (frame.type === FrameType.commit) {
      const commit = tryDecodeCommit(frame.payload);
      const mismatch = commit === null ? 'commit frame does not decode' : batchMismatch(buf, commit, { start, commitOffset: frame.offset, segmentId, expectedSeq });
      if (mismatch !== null) return { type: 'corrupt', reason: mismatch };
      const copy = readFrame(buf, frame.offset + frame.sizeBytes, end, FRAME_PAYLOAD_BYTES_MAX);
      const copyOk = copy.type === 'frame' && copy.frame.type === FrameType.commit && (copy.frame.flags & FRAME_FLAG_COMMIT_COPY) !== 0 && bytesEqual(copy.frame.payload, frame.payload);
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
    if (frame.type !== FrameType.pad) {
      let record: WalRecord;
      try {
        record = decodeRecord(frame);
      } catch (e) {
        // The frame's checksum held, so these bytes were written as they are: not a torn write.
        return { type: 'corrupt', reason: `record does not decode: ${(e as Error).message}` };
      }
      records.push({ record, offset: frame.offset, sizeBytes: frame.sizeBytes });
    }
    pos = frame.offset + frame.sizeBytes;
  }
}

/**
 * A frame of the batch starting at `start` is damaged at `problemAt`. If the first intact commit
 * frame after it is this batch's commit B (commit A was the damaged frame), the batch stands.
 * Otherwise any intact commit frame beyond means committed data is damaged; none means the batch
 * was torn by a crash while being written.
 */
function damagedBatch(
  buf: Uint8Array,
  a: { start: number; problemAt: number; end: number; segmentId: number; expectedSeq: number | null; records: ScannedRecord[]; reason: string },
): BatchRead {
  const beyond = firstCommitFrame(buf, a.problemAt, a.end);
  if (beyond === null) return { type: 'torn', reason: a.reason };
  const commit = tryDecodeCommit(beyond.payload);
  const isCopyOfThisBatch =
    commit !== null &&
    (beyond.flags & FRAME_FLAG_COMMIT_COPY) !== 0 &&
    beyond.offset === a.problemAt + beyond.sizeBytes &&
    batchMismatch(buf, commit, { start: a.start, commitOffset: a.problemAt, segmentId: a.segmentId, expectedSeq: a.expectedSeq }) === null;
  if (!isCopyOfThisBatch) return { type: 'corrupt', reason: `${a.reason}, with a committed batch after it` };
  return {
    type: 'batch',
    batch: {
      commit: commit!,
      records: a.records,
      commitOffset: a.problemAt,
      commitFrameBytes: beyond.sizeBytes,
      endOffset: beyond.offset + beyond.sizeBytes,
      damagedCommitCopy: 'a',
    },
  };
}

function batchMismatch(
  buf: Uint8Array,
  c: CommitInfo,
  at: { start: number; commitOffset: number; segmentId: number; expectedSeq: number | null },
): string | null {
  if (c.segmentId !== at.segmentId) return `commit frame names segment ${c.segmentId} (misdirected or stale write)`;
  if (c.batchStartOffset !== at.start || c.batchLengthBytes !== at.commitOffset - at.start) {
    return `commit frame describes a batch at ${c.batchStartOffset}+${c.batchLengthBytes}, found at ${at.start}+${at.commitOffset - at.start} (misdirected or stale write)`;
  }
  if (at.expectedSeq !== null && c.seq !== at.expectedSeq) return `batch seq ${c.seq}, expected ${at.expectedSeq}`;
  if (crc32c(buf, 0, at.start, at.commitOffset) !== c.batchCrc) return 'batch checksum mismatch under an intact commit frame';
  return null;
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

/** Finds the first checksum-valid commit frame at an 8-aligned offset in [from, end). */
function firstCommitFrame(buf: Uint8Array, from: number, end: number): Frame | null {
  for (let p = Math.ceil(from / 8) * 8; p + FRAME_HEADER_BYTES <= end; p += 8) {
    const f = commitFrameAt(buf, p, end);
    if (f !== null) return f;
  }
  return null;
}

function commitFrameAt(buf: Uint8Array, p: number, end: number): Frame | null {
  // Cheap filters first: this runs at every 8-byte offset of a damaged region.
  if (buf[p] !== FrameType.commit || buf[p + 2] !== 0 || buf[p + 3] !== 0) return null;
  const len = buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24);
  if (len < COMMIT_FIXED_BYTES || len > COMMIT_PAYLOAD_BYTES_MAX) return null;
  const fr = readFrame(buf, p, end, COMMIT_PAYLOAD_BYTES_MAX);
  return fr.type === 'frame' ? fr.frame : null;
}

/** Every checksum-valid, decodable commit frame in [from, end), in file order. */
export function findCommitFrames(buf: Uint8Array, from: number, end: number): CommitInfo[] {
  const out: CommitInfo[] = [];
  for (let p = Math.ceil(from / 8) * 8; p + FRAME_HEADER_BYTES <= end; p += 8) {
    const f = commitFrameAt(buf, p, end);
    if (f === null) continue;
    const c = tryDecodeCommit(f.payload);
    if (c !== null) out.push(c);
  }
  return out;
}
