/**
 * Recovery of the write-ahead log, as a plan: which segments stay (and what to fix in each), which
 * go to quarantine, and the log they describe. Pure: the adapter (wal.ts) reads the files, calls
 * planWalRecovery, then carries the plan out. Each segment is decided by one row of
 * SEGMENT_RECOVERY_TABLE (wal-recovery-table.ts).
 */
import { assert, assertNever, unreachable } from '../core/assert.js';
import type { Entry } from '../consensus/types.js';
import { decide } from './decision-table.js';
import { WalError } from './errors.js';
import { FRAME_FLAG_COMMIT_COPY } from './frame.js';
import { crc32c } from '../core/crc32c.js';
import { LogModel } from './log-model.js';
import type { CommitInfo } from './records.js';
import { SEGMENT_HEADER_BYTES, segmentFileName } from './segment-header.js';
import { scanSegment, type ScannedBatch, type SegmentScan } from './segment-scan.js';
import { SEGMENT_RECOVERY_TABLE, type SegmentAction, type SegmentFacts } from './wal-recovery-table.js';

export interface ByteRange {
  readonly offset: number;
  readonly lengthBytes: number;
}

/** One segment file as read from disk. Unreadable sectors are filled with 0xff (never a valid frame). */
export interface SegmentFile {
  readonly name: string;
  readonly segmentId: number;
  readonly firstIndex: number;
  readonly bytes: Uint8Array;
  readonly unreadable: readonly ByteRange[];
}

export interface EntryLocation {
  readonly segmentId: number;
  readonly offset: number;
  readonly sizeBytes: number;
}

/** Recovery's index value: where the entry is, and the entry itself until it is handed out. */
export interface Located extends EntryLocation {
  entry: Entry | null;
}

export type RecoveryEvent =
  | { readonly type: 'torn-tail-truncated'; readonly segment: string; readonly offset: number; readonly bytes: number; readonly reason: string }
  | { readonly type: 'commit-copy-damaged'; readonly segment: string; readonly offset: number; readonly copy: 'a' | 'b' }
  | { readonly type: 'unreadable-sectors'; readonly segment: string; readonly ranges: readonly ByteRange[] }
  | { readonly type: 'interrupted-roll-finished'; readonly segment: string; readonly removed: string }
  | { readonly type: 'header-rewritten'; readonly segment: string }
  | { readonly type: 'corrupt'; readonly segment: string; readonly offset: number; readonly row: string; readonly reason: string }
  | { readonly type: 'quarantined'; readonly segment: string; readonly fromOffset: number }
  | { readonly type: 'head-gap'; readonly expectedFromIndex: number; readonly foundFromIndex: number }
  /** An empty active segment renamed to start right after the recovered log. */
  | { readonly type: 'segment-renamed'; readonly from: string; readonly to: string }
  /** A segment older than a durable reset record: its removal was cut short by a crash. */
  | { readonly type: 'superseded-removed'; readonly segment: string }
  | { readonly type: 'corruption-ignored'; readonly segment: string; readonly offset: number; readonly reason: string }
  /** An earlier recovery that found damage stopped before finishing; its intent (recovery-intent.ts) is taken up. */
  | { readonly type: 'recovery-resumed'; readonly repairUntil: number }
  /** ... and its intent is unreadable: how far the log reached is unknown past what is left. */
  | { readonly type: 'recovery-intent-corrupt'; readonly reason: string };

export interface SegmentDecision {
  readonly name: string;
  readonly facts: SegmentFacts;
  readonly row: string;
  readonly action: SegmentAction;
  readonly batches: number;
}

export interface KeptSegment {
  readonly name: string;
  readonly segmentId: number;
  readonly firstIndex: number;
  /** Cut (or extend with zeros) the file to this length; null leaves it. */
  readonly truncateTo: number | null;
  readonly rewriteHeader: boolean;
  /**
   * Commit frames to write back: a batch whose one commit copy was damaged gets it again from the
   * intact one (a scrub), so single faults do not pile up into a double fault over the years.
   */
  readonly rewrites: readonly { readonly offset: number; readonly bytes: Uint8Array }[];
  /** Where the next batch goes. */
  readonly endOffset: number;
  readonly sealedNextId: number | null;
  /** The file's name before recovery renames it to `name` (an empty active segment whose start was wrong); absent otherwise. */
  readonly renamedFrom?: string;
}

export interface Quarantine {
  readonly name: string;
  /** 0: the whole file; otherwise the bytes from here on (the file keeps the bytes before). */
  readonly fromOffset: number;
}

export interface WalRecoveryPlan {
  readonly decisions: readonly SegmentDecision[];
  readonly kept: readonly KeptSegment[];
  /** Empty successors left by an interrupted roll. */
  readonly removed: readonly string[];
  readonly quarantined: readonly Quarantine[];
  /** A segment to create and append to (the last kept one is sealed, or none was kept). */
  readonly createSegment: { readonly segmentId: number; readonly firstIndex: number } | null;
  readonly model: LogModel<Located>;
  readonly hardState: Uint8Array | null;
  /** The sequence number of the last kept batch (0 if none); the next batch takes the next one. */
  readonly lastSeq: number;
  /** Set when the member must not vote until its log reaches this index again. */
  readonly repairUntil: number | null;
  /** True when repairUntil was raised by damage found now (not carried from an earlier recovery). */
  readonly newlyCorrupt: boolean;
  /** Recovery changed the log's durable summary (repair point, hard state, compaction point): write a batch. */
  readonly mustCommit: boolean;
  /** The log is known complete from this index on (entries before it were compacted or lost). */
  readonly completeFromIndex: number;
  readonly events: readonly RecoveryEvent[];
}

export interface PlanOptions {
  /**
   * Test-only planted bug: treat every checksum failure as a torn tail, silently dropping committed
   * entries (what a naive WAL does). The simulator must catch it.
   */
  readonly plantedTruncateOnChecksumFailure?: boolean;
}

/** Decides every segment in id order and replays the kept batches. */
export function planWalRecovery(files: readonly SegmentFile[], options: PlanOptions = {}): WalRecoveryPlan {
  const segs = [...files].sort((a, b) => a.segmentId - b.segmentId);
  const events: RecoveryEvent[] = [];
  const decisions: SegmentDecision[] = [];
  const kept: KeptSegment[] = [];
  const removed: string[] = [];
  const quarantined: Quarantine[] = [];
  const model = new LogModel<Located>();
  let newest: CommitInfo | null = null;
  let keptLast: CommitInfo | null = null;
  let cutReason: { segment: string; offset: number; row: string; reason: string } | null = null;
  /** Index in `kept` of the segment holding the newest reset record replayed, or -1. */
  let lastResetKept = -1;

  const observe = (c: CommitInfo): void => {
    if (newest === null || c.seq > newest.seq) newest = c;
  };
  const replay = (seg: SegmentFile, batches: readonly ScannedBatch[]): void => {
    for (const b of batches) {
      for (const { record, offset, sizeBytes } of b.records) {
        switch (record.type) {
          case 'entry':
            if (record.entry.index <= model.compactedThrough) inconsistent(seg, offset, `entry ${record.entry.index} at or below the compaction point ${model.compactedThrough}`);
            // A copy, so that the segment's bytes (padding and all) are not kept alive by one entry.
            model.entry(record.entry.index, seg.segmentId, { segmentId: seg.segmentId, offset, sizeBytes, entry: { ...record.entry, data: record.entry.data.slice() } });
            break;
          case 'truncate':
            model.truncate(record.fromIndex);
            break;
          case 'reset':
            model.reset(record.snapshotIndex);
            // Replay runs before the segment is kept: it will be kept[kept.length].
            lastResetKept = kept.length;
            break;
          case 'seal':
            break;
          default:
            assertNever(record, 'record');
        }
      }
      const c = b.commit;
      if (c.compactedThrough > model.lastIndex) inconsistent(seg, b.commitOffset, `compaction point ${c.compactedThrough} past the last index ${model.lastIndex}`);
      model.compact(c.compactedThrough);
      if (model.lastIndex !== c.lastIndex) inconsistent(seg, b.commitOffset, `records end at ${model.lastIndex}, the commit says ${c.lastIndex}`);
      keptLast = c;
      observe(c);
      if (b.damagedCommitCopy !== 'none') events.push({ type: 'commit-copy-damaged', segment: seg.name, offset: b.commitOffset, copy: b.damagedCommitCopy });
    }
  };

  if (segs.length > 0) model.restoreBounds(segs[0]!.firstIndex - 1, 0);
  let expectedSeq: number | null = null;
  let scan = segs.length > 0 ? scanFile(segs[0]!, expectedSeq) : null;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const s = scan!;
    if (s.unreadable.length > 0) events.push({ type: 'unreadable-sectors', segment: seg.name, ranges: s.unreadable });
    const lastSeq = s.scan.batches.at(-1)?.commit.seq;
    const seqAfter: number | null = lastSeq === undefined ? expectedSeq : lastSeq + 1;
    const next = segs[i + 1];
    const nextScan = next === undefined ? null : scanFile(next, seqAfter);
    const facts: SegmentFacts = {
      header: s.headerOk ? 'valid' : 'invalid',
      body: s.scan.body.type,
      committed: s.scan.batches.length > 0 || s.scan.summariesBeyond.length > 0,
      sealed: s.scan.sealedNextId !== null,
      successor: next === undefined ? 'none' : next.segmentId === seg.segmentId + 1 ? 'next' : 'gap',
      successorEmpty:
        next !== undefined && i + 2 === segs.length && nextScan!.scan.batches.length === 0 && nextScan!.scan.summariesBeyond.length === 0,
    };
    const row = decide(SEGMENT_RECOVERY_TABLE, facts);
    decisions.push({ name: seg.name, facts, row: row.id, action: row.action, batches: s.scan.batches.length });
    // Every intact commit frame tells how far the log reached and what the hard state was, whether
    // or not its segment is kept.
    for (const b of s.scan.batches) observe(b.commit);
    for (const c of s.scan.summariesBeyond) observe(c);
    const keep = (truncateTo: number | null): void => {
      const rewrites = s.scan.batches.filter((b) => b.damagedCommitCopy !== 'none').map((b) => repairedCommitCopy(seg.bytes, b));
      // A last batch whose copy B was torn off may end past the file: the cut also extends it.
      const tailTorn = s.scan.endOffset > s.scan.fileBytes;
      kept.push({
        name: seg.name,
        segmentId: seg.segmentId,
        firstIndex: seg.firstIndex,
        truncateTo: tailTorn ? s.scan.endOffset : truncateTo,
        rewriteHeader: false,
        rewrites,
        endOffset: s.scan.endOffset,
        sealedNextId: s.scan.sealedNextId,
      });
    };
    const body = s.scan.body;
    switch (row.action) {
      case 'accept':
        replay(seg, s.scan.batches);
        keep(null);
        break;
      case 'truncate-tail':
        assert(body.type === 'torn', 'truncate-tail needs a torn body');
        replay(seg, s.scan.batches);
        keep(s.scan.endOffset);
        events.push({ type: 'torn-tail-truncated', segment: seg.name, offset: s.scan.endOffset, bytes: s.scan.fileBytes - s.scan.endOffset, reason: body.reason });
        break;
      case 'rewrite-header':
        kept.push({
          name: seg.name,
          segmentId: seg.segmentId,
          firstIndex: seg.firstIndex,
          truncateTo: SEGMENT_HEADER_BYTES,
          rewriteHeader: true,
          rewrites: [],
          endOffset: SEGMENT_HEADER_BYTES,
          sealedNextId: null,
        });
        events.push({ type: 'header-rewritten', segment: seg.name });
        break;
      case 'finish-interrupted-roll':
        replay(seg, s.scan.batches);
        keep(body.type === 'torn' ? s.scan.endOffset : null);
        removed.push(next!.name);
        events.push({ type: 'interrupted-roll-finished', segment: seg.name, removed: next!.name });
        i = segs.length; // the successor was the last segment
        break;
      case 'corrupt-from-batch':
      case 'corrupt-after-segment':
        replay(seg, s.scan.batches);
        keep(s.scan.endOffset < s.scan.fileBytes ? s.scan.endOffset : null);
        cutReason = { segment: seg.name, offset: s.scan.endOffset, row: row.id, reason: body.type === 'corrupt' ? body.reason : row.why };
        if (s.scan.endOffset < s.scan.fileBytes) quarantined.push({ name: seg.name, fromOffset: s.scan.endOffset });
        break;
      case 'corrupt-whole-segment':
        cutReason = { segment: seg.name, offset: 0, row: row.id, reason: s.headerOk ? row.why : s.headerReason };
        quarantined.push({ name: seg.name, fromOffset: 0 });
        break;
      case 'impossible':
        unreachable(`recovery table: impossible facts ${JSON.stringify(facts)} for ${seg.name}`);
        break;
      default:
        assertNever(row.action, 'segment action');
    }
    if (cutReason !== null) {
      // Everything after the cut goes to quarantine; its commit frames still tell how far the log reached.
      let seqFrom = seqAfter;
      for (let j = i + 1; j < segs.length; j++) {
        const later = j === i + 1 && nextScan !== null ? nextScan : scanFile(segs[j]!, seqFrom);
        for (const b of later.scan.batches) observe(b.commit);
        for (const c of later.scan.summariesBeyond) observe(c);
        seqFrom = null;
        quarantined.push({ name: segs[j]!.name, fromOffset: 0 });
      }
      break;
    }
    expectedSeq = seqAfter;
    scan = nextScan;
  }

  // With nothing kept, nothing is known about the log: it starts empty (repairUntil says how far it was).
  if (kept.length === 0) model.restoreBounds(0, 0);
  const lastKept = kept.at(-1);
  const maxId = segs.length === 0 ? 0 : segs[segs.length - 1]!.segmentId;
  const createSegment =
    lastKept === undefined
      ? { segmentId: maxId + 1, firstIndex: model.lastIndex + 1 }
      : lastKept.sealedNextId !== null
        ? { segmentId: lastKept.sealedNextId, firstIndex: model.lastIndex + 1 }
        : null;

  const keptCommit = keptLast as CommitInfo | null;
  const newestCommit = newest as CommitInfo | null;
  let repair = keptCommit !== null && keptCommit.repairUntil > model.lastIndex ? keptCommit.repairUntil : 0;
  let newlyCorrupt = false;
  if (cutReason !== null) {
    const c = cutReason;
    if (options.plantedTruncateOnChecksumFailure === true) {
      events.push({ type: 'corruption-ignored', segment: c.segment, offset: c.offset, reason: c.reason });
    } else {
      events.push({ type: 'corrupt', segment: c.segment, offset: c.offset, row: c.row, reason: c.reason });
      // The log once reached at least the newest commit we can still read, and its content after
      // the kept part is unknown: only entries from the leader past it prove the log whole again.
      repair = Math.max(repair, newestCommit?.lastIndex ?? 0, newestCommit?.repairUntil ?? 0, model.lastIndex + 1);
      newlyCorrupt = true;
    }
  }
  for (const q of quarantined) events.push({ type: 'quarantined', segment: q.name, fromOffset: q.fromOffset });

  // A reset record replaces the whole log before it, and the segments before its own are removed
  // once it is durable. A crash can cut that removal short: those segments are leftovers, not the
  // head of the log (left in place, one that started later than the reset's segment would look
  // like a gap at the head). Finish the removal.
  if (lastResetKept > 0) {
    for (const old of kept.splice(0, lastResetKept)) {
      removed.push(old.name);
      events.push({ type: 'superseded-removed', segment: old.name });
    }
  }

  // An empty active segment after others must start right after the log. A crash that lost a reset
  // batch leaves the reset's fresh segment (named for the snapshot, which may lie below the log's
  // end) with nothing in it, and the log recovered from the segments before it: batches written
  // there next would claim a start their records do not have, which a later recovery, once the
  // segments before it are compacted away, cannot replay. Rename it (the header follows; a crash
  // between the two leaves a header that does not match its name, which recovery rewrites).
  const active = kept.at(-1);
  if (cutReason === null && kept.length >= 2 && active !== undefined && active.endOffset === SEGMENT_HEADER_BYTES && (active.truncateTo === null || active.truncateTo === SEGMENT_HEADER_BYTES) && active.firstIndex !== model.lastIndex + 1) {
    const firstIndex = model.lastIndex + 1;
    const name = segmentFileName({ segmentId: active.segmentId, firstIndex });
    kept[kept.length - 1] = { ...active, name, firstIndex, rewriteHeader: true, renamedFrom: active.name };
    events.push({ type: 'segment-renamed', from: active.name, to: name });
  }

  // The first segment starts later than the compaction point says the log does: the segments in
  // between are gone (lost, or removed by a compaction whose record a cut just dropped). The log now
  // vouches only for what follows; that becomes its compaction point, so the next restart agrees.
  const first = kept[0];
  let headGap = false;
  if (first !== undefined && first.firstIndex > model.compactedThrough + 1) {
    events.push({ type: 'head-gap', expectedFromIndex: model.compactedThrough + 1, foundFromIndex: first.firstIndex });
    model.compact(Math.min(first.firstIndex - 1, model.lastIndex));
    headGap = true;
  }
  const completeFromIndex = model.compactedThrough + 1;

  return {
    decisions,
    kept,
    removed,
    quarantined,
    createSegment,
    model,
    // The newest intact commit frame holds the newest hard state, even past a cut: it was durable.
    hardState: newestCommit?.hardState ?? null,
    lastSeq: keptCommit?.seq ?? 0,
    repairUntil: repair > model.lastIndex ? repair : null,
    newlyCorrupt,
    mustCommit: newlyCorrupt || headGap || quarantined.length > 0,
    completeFromIndex,
    events,
  };
}

interface FileScan {
  readonly scan: SegmentScan;
  readonly headerOk: boolean;
  readonly headerReason: string;
  readonly unreadable: readonly ByteRange[];
}

function scanFile(f: SegmentFile, expectedSeq: number | null): FileScan {
  const scan = scanSegment(f.bytes, { segmentId: f.segmentId, expectedSeq });
  let headerOk = scan.header.type === 'valid';
  let headerReason = scan.header.type === 'invalid' ? scan.header.reason : '';
  if (scan.header.type === 'valid' && (scan.header.header.segmentId !== f.segmentId || scan.header.header.firstIndex !== f.firstIndex)) {
    headerOk = false;
    headerReason = 'segment header does not match its file name';
  }
  return { scan, headerOk, headerReason, unreadable: f.unreadable };
}

function inconsistent(seg: SegmentFile, offset: number, what: string): never {
  throw new WalError('wal-inconsistent', `write-ahead log ${seg.name} at offset ${offset}: ${what}; refusing to replay it`);
}

/** The damaged commit copy of a batch, rebuilt from the intact one (same payload, own flag and checksum). */
function repairedCommitCopy(buf: Uint8Array, b: ScannedBatch): { offset: number; bytes: Uint8Array } {
  const intactAt = b.damagedCommitCopy === 'b' ? b.commitOffset : b.commitOffset + b.commitFrameBytes;
  const damagedAt = b.damagedCommitCopy === 'b' ? b.commitOffset + b.commitFrameBytes : b.commitOffset;
  const out = buf.slice(intactAt, intactAt + b.commitFrameBytes);
  out[1] = b.damagedCommitCopy === 'b' ? FRAME_FLAG_COMMIT_COPY : 0;
  const view = new DataView(out.buffer);
  const payloadBytes = view.getUint32(4, true);
  view.setUint32(8, crc32c(out, crc32c(out, 0, 0, 8), 12, 12 + payloadBytes), true);
  return { offset: damagedAt, bytes: out };
}
