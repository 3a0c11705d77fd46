/**
 * A batch: the records of one group commit, closed by two copies of its commit frame.
 *
 *   [record frames …][pad frame, if needed][commit A][commit B]
 *
 * The pad makes commit A end exactly on a 4 KiB boundary, so commit B starts in another sector:
 * no single torn or unreadable sector can take both, and recovery can always tell "this batch was
 * committed and then damaged" from "this batch was never completely written". The batch checksum in
 * the commit covers every byte before commit A, pad included. One write and one fsync per batch.
 */
import { assert } from '../core/assert.js';
import { ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import type { LogIndex } from '../core/ids.js';
import { WAL_COMMIT_COPY_SPACING_BYTES } from '../core/limits.js';
import type { Entry } from '../consensus/types.js';
import { FRAME_FLAG_COMMIT_COPY, FRAME_HEADER_BYTES, FrameType, frameSizeBytes, writeFrame } from './frame.js';
import { commitPayloadBytes, writeCommitPayload, writeEntryPayload, type CommitInfo } from './records.js';

/** The commit's fields the caller decides; the builder fills in position and checksum. */
export type CommitState = Omit<CommitInfo, 'batchStartOffset' | 'batchLengthBytes' | 'batchCrc'>;

export class BatchBuilder {
  private readonly w = new ByteWriter(4096);
  private records = 0;

  get recordCount(): number {
    return this.records;
  }

  /** Bytes of record frames so far (the batch will add a pad and two commit frames). */
  get recordBytes(): number {
    return this.w.lengthBytes;
  }

  /** Returns the frame's offset relative to the batch start. */
  entry(e: Entry): number {
    this.records++;
    return writeFrame(this.w, FrameType.entry, 0, (w) => writeEntryPayload(w, e));
  }

  truncate(fromIndex: LogIndex): void {
    this.records++;
    writeFrame(this.w, FrameType.truncate, 0, (w) => w.u53(fromIndex));
  }

  reset(snapshotIndex: LogIndex): void {
    this.records++;
    writeFrame(this.w, FrameType.reset, 0, (w) => w.u53(snapshotIndex));
  }

  seal(nextSegmentId: number): void {
    this.records++;
    writeFrame(this.w, FrameType.seal, 0, (w) => w.u53(nextSegmentId));
  }

  /** The batch's bytes, to be written at `startOffset` of segment `commit.segmentId`. */
  finish(startOffset: number, commit: CommitState): Uint8Array {
    assert(startOffset % 8 === 0, 'batches start 8-aligned');
    const commitFrameBytes = frameSizeBytes(commitPayloadBytes(commit.hardState));
    const padBytes = padBefore(startOffset + this.w.lengthBytes, commitFrameBytes);
    if (padBytes > 0) writeFrame(this.w, FrameType.pad, 0, (w) => w.raw(new Uint8Array(padBytes - FRAME_HEADER_BYTES)));
    const batchLengthBytes = this.w.lengthBytes;
    const info: CommitInfo = {
      ...commit,
      batchStartOffset: startOffset,
      batchLengthBytes,
      batchCrc: crc32c(this.w.finish(), 0, 0, batchLengthBytes),
    };
    writeFrame(this.w, FrameType.commit, 0, (w) => writeCommitPayload(w, info));
    writeFrame(this.w, FrameType.commit, FRAME_FLAG_COMMIT_COPY, (w) => writeCommitPayload(w, info));
    const bytes = this.w.finish();
    assert((startOffset + batchLengthBytes + commitFrameBytes) % WAL_COMMIT_COPY_SPACING_BYTES === 0, 'commit A ends on a spacing boundary');
    assert(bytes.length === batchLengthBytes + 2 * commitFrameBytes, 'batch layout');
    return bytes;
  }
}

/** Pad bytes so that a commit frame of `commitFrameBytes` placed after `at` ends on a boundary. */
export function padBefore(at: number, commitFrameBytes: number): number {
  const s = WAL_COMMIT_COPY_SPACING_BYTES;
  let pad = (s - ((at + commitFrameBytes) % s)) % s;
  // A pad frame needs room for its header; a smaller gap is widened by one spacing.
  if (pad > 0 && pad < frameSizeBytes(0)) pad += s;
  return pad;
}
