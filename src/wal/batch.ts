/**
 * A batch: the records of one group commit, with its summary at both ends.
 *
 *   [begin][record frames …][pad frame, if needed][commit A][commit B]
 *
 * The begin frame and the commit frames carry the batch's summary (records.ts: CommitInfo). The pad
 * makes commit A end exactly on a 4 KiB boundary, so commit B starts in another sector: no single
 * torn or unreadable sector can take both, and recovery can always tell "this batch was committed
 * and then damaged" from "this batch was never completely written". The begin frame is evidence
 * too: a crash tears a write from its end, so a batch whose write was cut short (or landed at the
 * wrong offset and was cut short) still shows where it began. The batch checksum in the commit
 * covers every byte before commit A. One write and one fsync per batch.
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

/** Bytes of the begin frame for a batch carrying `hardState`: record frames start this far into the batch. */
export function beginFrameBytes(hardState: Uint8Array | null): number {
  return frameSizeBytes(commitPayloadBytes(hardState));
}

export class BatchBuilder {
  private readonly records = new ByteWriter(4096);
  private count = 0;

  get recordCount(): number {
    return this.count;
  }

  /** Bytes of record frames so far (the batch adds a begin frame, a pad and two commit frames). */
  get recordBytes(): number {
    return this.records.lengthBytes;
  }

  /** Returns the frame's offset among the record frames (add beginFrameBytes for its batch offset). */
  entry(e: Entry): number {
    this.count++;
    return writeFrame(this.records, FrameType.entry, 0, (w) => writeEntryPayload(w, e));
  }

  truncate(fromIndex: LogIndex): void {
    this.count++;
    writeFrame(this.records, FrameType.truncate, 0, (w) => w.u53(fromIndex));
  }

  reset(snapshotIndex: LogIndex): void {
    this.count++;
    writeFrame(this.records, FrameType.reset, 0, (w) => w.u53(snapshotIndex));
  }

  seal(nextSegmentId: number): void {
    this.count++;
    writeFrame(this.records, FrameType.seal, 0, (w) => w.u53(nextSegmentId));
  }

  /** The batch's bytes, to be written at `startOffset` of segment `commit.segmentId`. */
  finish(startOffset: number, commit: CommitState): Uint8Array {
    assert(startOffset % 8 === 0, 'batches start 8-aligned');
    const summary: CommitInfo = { ...commit, batchStartOffset: startOffset, batchLengthBytes: 0, batchCrc: 0 };
    const w = new ByteWriter(beginFrameBytes(commit.hardState) + this.records.lengthBytes + 2 * WAL_COMMIT_COPY_SPACING_BYTES);
    writeFrame(w, FrameType.begin, 0, (x) => writeCommitPayload(x, summary));
    assert(w.lengthBytes === beginFrameBytes(commit.hardState), 'begin frame size');
    w.raw(this.records.finish());
    const commitFrameBytes = frameSizeBytes(commitPayloadBytes(commit.hardState));
    const padBytes = padBefore(startOffset + w.lengthBytes, commitFrameBytes);
    if (padBytes > 0) writeFrame(w, FrameType.pad, 0, (x) => x.raw(new Uint8Array(padBytes - FRAME_HEADER_BYTES)));
    const batchLengthBytes = w.lengthBytes;
    const info: CommitInfo = { ...summary, batchLengthBytes, batchCrc: crc32c(w.finish(), 0, 0, batchLengthBytes) };
    writeFrame(w, FrameType.commit, 0, (x) => writeCommitPayload(x, info));
    writeFrame(w, FrameType.commit, FRAME_FLAG_COMMIT_COPY, (x) => writeCommitPayload(x, info));
    const bytes = w.finish();
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
