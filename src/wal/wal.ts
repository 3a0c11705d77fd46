/**
 * The write-ahead log: Bulwark's LogStore over a Disk.
 *
 * - append and setHardState only buffer; sync makes everything buffered durable with one write and
 *   one fsync per batch (group commit: while a batch is being written and fsynced, new appends wait
 *   and go into the next batch, so many concurrent callers share each fsync).
 * - The engine's hard state rides in every batch's commit frame, so it is durable exactly when the
 *   entries buffered before it are, atomically with them, with no second fsync.
 * - Any failed write or fsync is fatal (fsyncgate): the log refuses every further call and the
 *   member must exit and recover from disk. A failed fsync is never retried.
 *
 * Recovery (openWal) is planned by wal-recovery.ts and carried out here.
 */
import { assert, assertNever, unreachable } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { logIndex, type LogIndex } from '../core/ids.js';
import {
  WAL_BATCH_BYTES_MAX,
  WAL_BATCH_RECORDS_MAX,
  WAL_COMMIT_COPY_SPACING_BYTES,
  WAL_ENTRY_BYTES_MAX,
  WAL_HARD_STATE_BYTES_MAX,
  WAL_PENDING_BYTES_MAX,
  WAL_RECOVERY_READ_ATTEMPTS_MAX,
  WAL_SEGMENT_BYTES_DEFAULT,
  WAL_SEGMENT_BYTES_MIN,
} from '../core/limits.js';
import type { LogStore } from '../consensus/storage.js';
import type { Entry } from '../consensus/types.js';
import { dirname, joinPath, type Disk, type FileHandle } from '../env/disk.js';
import { nullLogger, type Logger } from '../env/logger.js';
import { BatchBuilder, beginFrameBytes, type CommitState } from './batch.js';
import { WalError } from './errors.js';
import { FrameType, frameSizeBytes, readFrame } from './frame.js';
import type { LogModel } from './log-model.js';
import { COMMIT_PAYLOAD_BYTES_MAX, ENTRY_FIXED_BYTES, decodeRecord } from './records.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, parseSegmentFileName, segmentFileName } from './segment-header.js';
import { FRAME_PAYLOAD_BYTES_MAX } from './segment-scan.js';
import { freeName, quarantineDir, readFileTolerant, writeNewFile } from './segment-io.js';
import { readRecoveryIntent, removeRecoveryIntent, writeRecoveryIntent, type ReadIntent } from './recovery-intent.js';
import { planWalRecovery, type EntryLocation, type RecoveryEvent, type SegmentDecision, type SegmentFile, type WalRecoveryPlan } from './wal-recovery.js';

/** Test-only planted bugs: each must be caught by the simulator's checkers. Never set in production. */
export type WalPlantedBug = 'ack-before-fsync' | 'truncate-on-checksum-failure';

export interface WalOptions {
  /** Directory on the disk that holds the segments. Default 'wal'. */
  readonly dir?: string;
  /** A segment is rolled once it would grow past this. Default WAL_SEGMENT_BYTES_DEFAULT. */
  readonly segmentBytes?: number;
  readonly batchBytesMax?: number;
  readonly batchRecordsMax?: number;
  readonly logger?: Logger;
  /**
   * Open segments with O_DSYNC, so a batch is one durable write instead of a write and an
   * fdatasync (one thread-pool trip fewer per batch). Directory fsyncs stay as they are. Default
   * off: the planted 'ack-before-fsync' bug needs the gap between write and sync to show.
   */
  readonly dsync?: boolean;
  /**
   * With dsync: keep this many bytes of zeros written ahead of the data in the active segment, in
   * the background, so a batch's O_DSYNC write lands in blocks that exist and the file's size does
   * not change with every batch (WAL_PREALLOCATE_BYTES_DEFAULT). A batch never goes into a region
   * whose zeros are still being written: it waits for them; a segment being sealed gets none. A
   * clean close trims the zeros; after a crash, recovery cuts a zero tail as it cuts any tail that
   * holds no batch (nothing there was ever acknowledged). 0 (the default) writes nothing ahead.
   */
  readonly preallocateBytes?: number;
  readonly testing?: { readonly plantedBug?: WalPlantedBug };
}

export interface WalRecoveryReport {
  readonly segments: number;
  readonly bytesScanned: number;
  readonly decisions: readonly SegmentDecision[];
  readonly events: readonly RecoveryEvent[];
  /** The CORRUPT alarm: committed data was found damaged or missing and was not silently dropped. */
  readonly corrupt: boolean;
  /** Reads of damaged-looking segments, beyond the first. */
  readonly rereads: number;
}

/** What the log held on open: exactly what was durable. */
export interface WalRecovered {
  readonly hardState: Uint8Array | null;
  /** Every stored entry, ascending by index (a Paxos log may have gaps). */
  readonly entries: readonly Entry[];
  readonly lastIndex: LogIndex;
  readonly compactedThrough: LogIndex;
  /** The log is known complete from this index on. */
  readonly completeFromIndex: LogIndex;
  /** See DurableState.repairUntil. */
  readonly repairUntil: LogIndex | null;
  readonly report: WalRecoveryReport;
}

export interface WalStats {
  readonly batches: number;
  readonly records: number;
  readonly fsyncs: number;
  readonly bytesWritten: number;
  /** Zeros written ahead of the data (WalOptions.preallocateBytes). */
  readonly preallocatedBytes: number;
  readonly segments: number;
  readonly lastIndex: number;
  readonly compactedThrough: number;
}

type PendingOp =
  | { readonly type: 'entry'; readonly entry: Entry; readonly opSeq: number }
  | { readonly type: 'truncate'; readonly fromIndex: LogIndex; readonly opSeq: number }
  | { readonly type: 'hard-state'; readonly hardState: Uint8Array; readonly opSeq: number };

interface Waiter {
  readonly opSeq: number;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface Segment {
  readonly segmentId: number;
  readonly firstIndex: number;
  readonly name: string;
  handle: FileHandle | null;
}

/** Reads every segment and plans recovery, re-reading damaged-looking segments until two reads agree. */
async function readAndPlan(disk: Disk, dir: string, planted: WalPlantedBug | undefined): Promise<{ plan: WalRecoveryPlan; files: Map<string, SegmentFile>; rereads: number }> {
  const names = (await disk.list(dir)).filter((n) => parseSegmentFileName(n) !== null);
  const files = new Map<string, SegmentFile>();
  for (const name of names) files.set(name, await readSegment(disk, dir, name));
  const planOptions = { plantedTruncateOnChecksumFailure: planted === 'truncate-on-checksum-failure' };
  let plan = planWalRecovery([...files.values()], planOptions);
  // Damage can be a transient read fault: read the damaged segments again until two reads agree.
  let rereads = 0;
  for (let attempt = 1; attempt < WAL_RECOVERY_READ_ATTEMPTS_MAX; attempt++) {
    const suspects = suspectSegments(plan.events).filter((n) => files.has(n));
    if (suspects.length === 0) break;
    let changed = false;
    for (const name of suspects) {
      const again = await readSegment(disk, dir, name);
      rereads++;
      if (!sameBytes(again.bytes, files.get(name)!.bytes)) changed = true;
      files.set(name, again);
    }
    if (!changed) break;
    plan = planWalRecovery([...files.values()], planOptions);
  }
  return { plan, files, rereads };
}

function reportOf(plan: WalRecoveryPlan, files: ReadonlyMap<string, SegmentFile>, rereads: number): WalRecoveryReport {
  let bytesScanned = 0;
  for (const f of files.values()) bytesScanned += f.bytes.length;
  const corrupt = plan.events.some((e) => e.type === 'corrupt' || e.type === 'head-gap' || e.type === 'recovery-resumed' || e.type === 'recovery-intent-corrupt');
  return { segments: files.size, bytesScanned, decisions: plan.decisions, events: plan.events, corrupt, rereads };
}

/**
 * What recovery would do, without doing it: reads the segments and plans, writes nothing. For
 * operators (`bulwark storage check`).
 */
export async function inspectWal(disk: Disk, options: { dir?: string } = {}): Promise<{ report: WalRecoveryReport; lastIndex: LogIndex; compactedThrough: LogIndex; repairUntil: LogIndex | null; entries: number }> {
  const dir = options.dir ?? 'wal';
  if ((await disk.stat(dir)) === null) {
    return { report: { segments: 0, bytesScanned: 0, decisions: [], events: [], corrupt: false, rereads: 0 }, lastIndex: logIndex(0), compactedThrough: logIndex(0), repairUntil: null, entries: 0 };
  }
  const read = await readAndPlan(disk, dir, undefined);
  const { files, rereads } = read;
  const plan = withIntent(read.plan, await readRecoveryIntent(disk, dir));
  return {
    report: reportOf(plan, files, rereads),
    lastIndex: logIndex(plan.model.lastIndex),
    compactedThrough: logIndex(plan.model.compactedThrough),
    repairUntil: plan.repairUntil === null ? null : logIndex(plan.repairUntil),
    entries: plan.model.size,
  };
}

/** Opens (and recovers) the write-ahead log in `options.dir` of `disk`. */
export async function openWal(disk: Disk, options: WalOptions = {}): Promise<{ wal: Wal; recovered: WalRecovered }> {
  const dir = options.dir ?? 'wal';
  await disk.mkdir(dir);
  // A new directory's own name is durable only once its parent is fsynced.
  await disk.syncDir(dirname(dir));
  const read = await readAndPlan(disk, dir, options.testing?.plantedBug);
  const { files, rereads } = read;
  const plan = withIntent(read.plan, await readRecoveryIntent(disk, dir));
  const wal = new Wal(disk, dir, options, plan);
  try {
    await wal.carryOut(plan, files);
  } catch (e) {
    throw new WalError('wal-fatal', `write-ahead log ${disk.name}/${dir}: recovery could not write: ${errorMessage(e)}`, { cause: e });
  }
  const entries = plan.model.indexes().map((i) => {
    const located = plan.model.get(i)!;
    const e = located.entry!;
    located.entry = null;
    return e;
  });
  return {
    wal,
    recovered: {
      hardState: plan.hardState,
      entries,
      lastIndex: logIndex(plan.model.lastIndex),
      compactedThrough: logIndex(plan.model.compactedThrough),
      completeFromIndex: logIndex(plan.completeFromIndex),
      repairUntil: plan.repairUntil === null ? null : logIndex(plan.repairUntil),
      report: reportOf(plan, files, rereads),
    },
  };
}

/**
 * Takes up what an unfinished earlier recovery meant to make durable (recovery-intent.ts): its
 * repair point when higher, and its hard state, which is the newest the log ever held.
 */
function withIntent(plan: WalRecoveryPlan, read: ReadIntent): WalRecoveryPlan {
  switch (read.type) {
    case 'none':
      return plan;
    case 'intent': {
      const repair = Math.max(plan.repairUntil ?? 0, read.intent.repairUntil);
      return {
        ...plan,
        hardState: read.intent.hardState,
        repairUntil: repair > plan.model.lastIndex ? repair : null,
        mustCommit: true,
        events: [...plan.events, { type: 'recovery-resumed', repairUntil: read.intent.repairUntil }],
      };
    }
    case 'corrupt': {
      // The best left: what the segments say, and nothing past them is trusted.
      const repair = Math.max(plan.repairUntil ?? 0, plan.model.lastIndex + 1);
      return { ...plan, repairUntil: repair, mustCommit: true, events: [...plan.events, { type: 'recovery-intent-corrupt', reason: read.reason }] };
    }
    default:
      return assertNever(read, 'recovery intent');
  }
}

async function readSegment(disk: Disk, dir: string, name: string): Promise<SegmentFile> {
  const parsed = parseSegmentFileName(name)!;
  const { bytes, unreadable } = await readFileTolerant(disk, joinPath(dir, name));
  return { name, segmentId: parsed.segmentId, firstIndex: parsed.firstIndex, bytes, unreadable };
}

function suspectSegments(events: readonly RecoveryEvent[]): string[] {
  const out = new Set<string>();
  for (const e of events) {
    switch (e.type) {
      case 'corrupt':
      case 'corruption-ignored':
      case 'commit-copy-damaged':
      case 'unreadable-sectors':
      case 'header-rewritten':
        out.add(e.segment);
        break;
      case 'torn-tail-truncated':
      case 'interrupted-roll-finished':
      case 'superseded-removed':
      case 'segment-renamed':
      case 'quarantined':
      case 'head-gap':
      case 'recovery-resumed':
      case 'recovery-intent-corrupt':
        break;
      default:
        assertNever(e, 'recovery event');
    }
  }
  return [...out];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Wal implements LogStore {
  private readonly segmentBytes: number;
  private readonly batchBytesMax: number;
  private readonly batchRecordsMax: number;
  private readonly logger: Logger;
  private readonly planted: WalPlantedBug | undefined;

  /** Live segments in id order; the last is the active one. */
  private readonly segments: Segment[] = [];
  private activeEndOffset = SEGMENT_HEADER_BYTES;
  private activeBatches = 0;
  /** Durable state: what the last written batch said. */
  private readonly model: LogModel<EntryLocation>;
  private hardState: Uint8Array | null;
  private repairUntil: number;
  private seq: number;

  /** Appended, not yet in a batch. opSeq numbers every buffered operation in order. */
  private pending: PendingOp[] = [];
  private pendingBytes = 0;
  private opSeq = 0;
  private durableOpSeq = 0;
  private waiters: Waiter[] = [];
  private flushing = false;
  /** The log as appends see it (ahead of the durable model by what is buffered). */
  private appendLastIndex: number;
  private appendCompactedThrough: number;

  /** Exclusive section for everything that writes files, so batches, compaction and reset never interleave. */
  private chain: Promise<void> = Promise.resolve();
  private failure: WalError | null = null;
  private closed = false;

  private counters = { batches: 0, records: 0, fsyncs: 0, bytesWritten: 0, preallocatedBytes: 0 };
  private readonly dsync: boolean;
  private readonly preallocateBytes: number;
  /** The active segment's file holds data or zeros up to here (its size as far as we know). */
  private preallocEnd = SEGMENT_HEADER_BYTES;
  /** A background write of zeros from `preallocFrom`, or null. */
  private preallocating: Promise<void> | null = null;
  private preallocFrom = 0;
  /** A write of zeros failed in the active segment: no more attempts until the next one. */
  private preallocFailed = false;
  /** The zeros written ahead (never written to), allocated at the first use. */
  private zeroRun: Uint8Array | null = null;

  /** Use openWal. */
  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    options: WalOptions,
    plan: WalRecoveryPlan,
  ) {
    this.segmentBytes = options.segmentBytes ?? WAL_SEGMENT_BYTES_DEFAULT;
    this.batchBytesMax = options.batchBytesMax ?? WAL_BATCH_BYTES_MAX;
    this.batchRecordsMax = options.batchRecordsMax ?? WAL_BATCH_RECORDS_MAX;
    assert(this.segmentBytes >= WAL_SEGMENT_BYTES_MIN, `segmentBytes ${this.segmentBytes} below ${WAL_SEGMENT_BYTES_MIN}`);
    assert(this.batchBytesMax > 0 && this.batchBytesMax <= WAL_BATCH_BYTES_MAX, 'batchBytesMax within the bound');
    assert(this.batchRecordsMax > 0 && this.batchRecordsMax <= WAL_BATCH_RECORDS_MAX, 'batchRecordsMax within the bound');
    this.logger = (options.logger ?? nullLogger).child({ component: 'wal' });
    this.planted = options.testing?.plantedBug;
    this.dsync = options.dsync ?? false;
    this.preallocateBytes = options.preallocateBytes ?? 0;
    assert(this.preallocateBytes === 0 || this.dsync, 'preallocation needs dsync segments (a zero write must be durable without a sync of its own)');
    assert(this.preallocateBytes >= 0 && this.preallocateBytes <= this.segmentBytes, 'preallocateBytes within a segment');
    // Recovery's index becomes the run-time one (its values are EntryLocations with the entry
    // attached; openWal detaches the entries once it has handed them out).
    this.model = plan.model;
    this.hardState = plan.hardState;
    this.repairUntil = plan.repairUntil ?? 0;
    this.seq = plan.lastSeq;
    this.appendLastIndex = this.model.lastIndex;
    this.appendCompactedThrough = this.model.compactedThrough;
  }

  // ---------------------------------------------------------------------------------------------
  // LogStore

  append(entries: readonly Entry[], replaceSuffix: boolean): void {
    this.checkUsable();
    if (entries.length === 0) return;
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      // Hot path: messages are built only when a check fails.
      if (!Number.isSafeInteger(e.index) || e.index <= this.appendCompactedThrough) unreachable(`entry ${e.index} at or below the compaction point ${this.appendCompactedThrough}`);
      if (e.data.length > WAL_ENTRY_BYTES_MAX) unreachable(`entry ${e.index} has ${e.data.length} bytes, more than ${WAL_ENTRY_BYTES_MAX}`);
      if (replaceSuffix && i > 0 && e.index !== entries[i - 1]!.index + 1) unreachable('entries replacing a suffix are contiguous');
      bytes += frameSizeBytes(ENTRY_FIXED_BYTES + e.data.length);
    }
    if (this.pendingBytes + bytes > WAL_PENDING_BYTES_MAX) {
      throw new WalError('wal-overloaded', `write-ahead log: ${this.pendingBytes + bytes} bytes appended without a sync, more than ${WAL_PENDING_BYTES_MAX}`);
    }
    const first = entries[0]!;
    if (replaceSuffix && first.index <= this.appendLastIndex) {
      this.pending.push({ type: 'truncate', fromIndex: first.index, opSeq: ++this.opSeq });
    }
    for (const entry of entries) this.pending.push({ type: 'entry', entry, opSeq: ++this.opSeq });
    this.pendingBytes += bytes;
    const last = entries[entries.length - 1]!.index;
    if (replaceSuffix) this.appendLastIndex = last;
    else for (const e of entries) if (e.index > this.appendLastIndex) this.appendLastIndex = e.index;
  }

  setHardState(hardState: Uint8Array): void {
    this.checkUsable();
    assert(hardState.length <= WAL_HARD_STATE_BYTES_MAX, `hard state of ${hardState.length} bytes, more than ${WAL_HARD_STATE_BYTES_MAX}`);
    this.pending.push({ type: 'hard-state', hardState: hardState.slice(), opSeq: ++this.opSeq });
  }

  sync(): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    assert(!this.closed, 'sync after close');
    const target = this.opSeq;
    if (this.durableOpSeq >= target) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ opSeq: target, resolve, reject });
      this.kick();
    });
  }

  async compact(index: LogIndex): Promise<void> {
    this.checkUsable();
    if (index <= this.appendCompactedThrough) return;
    assert(index <= this.appendLastIndex, `compaction to ${index} past the last appended index ${this.appendLastIndex}`);
    this.appendCompactedThrough = index;
    // Entries up to the compaction point must be durable first, so the compaction batch follows them.
    await this.sync();
    await this.exclusive(() => this.compactNow(index));
  }

  async reset(snapshotIndex: LogIndex): Promise<void> {
    this.checkUsable();
    await this.sync();
    this.appendLastIndex = snapshotIndex;
    this.appendCompactedThrough = snapshotIndex;
    await this.exclusive(() => this.resetNow(snapshotIndex));
  }

  /**
   * reset(snapshotIndex) that also makes "the member must not vote until the log reaches
   * `untilIndex`" durable, in the reset's own batch. Recovery uses it when it must drop the log and
   * repair from peers: as two steps, a crash or a failed write between them left an empty log that
   * looked whole, and the marker cannot go first because a log that still reaches `untilIndex`
   * clears it at once.
   */
  async resetForRepair(snapshotIndex: LogIndex, untilIndex: LogIndex): Promise<void> {
    this.checkUsable();
    await this.sync();
    this.appendLastIndex = snapshotIndex;
    this.appendCompactedThrough = snapshotIndex;
    await this.exclusive(() => this.resetNow(snapshotIndex, untilIndex));
  }

  /** See LogStore.resetWith: the reset record, the entries and the hard state share one batch. */
  async resetWith(snapshotIndex: LogIndex, entries: readonly Entry[], hardState: Uint8Array | null): Promise<void> {
    this.checkUsable();
    let bytes = 0;
    for (const e of entries) {
      assert(Number.isSafeInteger(e.index) && e.index > snapshotIndex, `entry ${e.index} kept across a reset to ${snapshotIndex} lies at or below it`);
      assert(e.data.length <= WAL_ENTRY_BYTES_MAX, `entry ${e.index} has ${e.data.length} bytes, more than ${WAL_ENTRY_BYTES_MAX}`);
      bytes += frameSizeBytes(ENTRY_FIXED_BYTES + e.data.length);
    }
    if (bytes > WAL_PENDING_BYTES_MAX) {
      throw new WalError('wal-overloaded', `write-ahead log: ${bytes} bytes to keep across a reset, more than ${WAL_PENDING_BYTES_MAX}`);
    }
    assert(hardState === null || hardState.length <= WAL_HARD_STATE_BYTES_MAX, `hard state of ${hardState?.length} bytes, more than ${WAL_HARD_STATE_BYTES_MAX}`);
    await this.sync();
    this.appendLastIndex = logIndex(entries.reduce<number>((max, e) => Math.max(max, e.index), snapshotIndex));
    this.appendCompactedThrough = snapshotIndex;
    await this.exclusive(() => this.resetNow(snapshotIndex, 0, { entries, hardState: hardState?.slice() ?? null }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === null) await this.sync();
    this.closed = true;
    await this.chain;
    if (this.preallocating !== null) await this.preallocating;
    if (this.failure === null) await this.trimPreallocation();
    for (const s of this.segments) {
      const h = s.handle;
      s.handle = null;
      if (h !== null) await h.close().catch(() => {});
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Beyond the contract

  /**
   * Makes "the member must not vote until the log reaches `untilIndex`" durable. Recovery of the
   * whole data directory (openStorage) uses it when the log does not reach back to the snapshot.
   */
  async requireRepair(untilIndex: LogIndex): Promise<void> {
    this.checkUsable();
    await this.sync();
    await this.exclusive(() =>
      this.io(async () => {
        if (untilIndex <= this.repairUntil) return;
        this.repairUntil = untilIndex;
        await this.rollIfFull(0);
        await this.writeAndSync(new BatchBuilder().finish(this.activeEndOffset, this.commitState(this.hardState)));
      }),
    );
  }

  /** Durable entries with index in [from, toInclusive], read back from the segments and checked. */
  readEntries(from: LogIndex, toInclusive: LogIndex): Promise<Entry[]> {
    this.checkUsable();
    return this.exclusive(async () => {
      const out: Entry[] = [];
      const locs = this.model.range(from, toInclusive);
      let i = 0;
      while (i < locs.length) {
        // One read for a run of adjacent frames in one segment.
        let j = i + 1;
        while (j < locs.length && locs[j]!.segmentId === locs[i]!.segmentId && locs[j]!.offset === locs[j - 1]!.offset + locs[j - 1]!.sizeBytes) j++;
        const first = locs[i]!;
        const lastLoc = locs[j - 1]!;
        const seg = this.segments.find((s) => s.segmentId === first.segmentId);
        assert(seg !== undefined, `segment ${first.segmentId} of a live entry is gone`);
        const h = await this.handle(seg);
        const buf = await h.read(first.offset, lastLoc.offset + lastLoc.sizeBytes - first.offset);
        for (let k = i; k < j; k++) {
          const at = locs[k]!.offset - first.offset;
          const fr = readFrame(buf, at, buf.length, FRAME_PAYLOAD_BYTES_MAX);
          if (fr.type !== 'frame' || fr.frame.type !== FrameType.entry) {
            throw new WalError('wal-corrupt-read', `write-ahead log ${seg.name} at offset ${locs[k]!.offset}: ${fr.type === 'bad' ? fr.reason : 'no entry frame'}`);
          }
          const rec = decodeRecord(fr.frame);
          assert(rec.type === 'entry', 'entry frame decodes to an entry');
          out.push({ ...rec.entry, data: rec.entry.data.slice() });
        }
        i = j;
      }
      return out;
    });
  }

  get lastIndex(): LogIndex {
    return logIndex(this.model.lastIndex);
  }

  get compactedThrough(): LogIndex {
    return logIndex(this.model.compactedThrough);
  }

  /** The index the log must reach before the member may vote again, or null. */
  get pendingRepairUntil(): LogIndex | null {
    return this.repairUntil === 0 ? null : logIndex(this.repairUntil);
  }

  /** The fatal error that stopped the log, if one did. */
  get fatalError(): WalError | null {
    return this.failure;
  }

  stats(): WalStats {
    return { ...this.counters, segments: this.segments.length, lastIndex: this.model.lastIndex, compactedThrough: this.model.compactedThrough };
  }

  // ---------------------------------------------------------------------------------------------
  // Group commit

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.waiters.length > 0 && this.failure === null) {
        if (this.pending.length === 0) {
          // Every waiter's operations are durable already (a reset or close flushed them).
          this.release(this.opSeq);
          continue;
        }
        const batch = this.takeBatch();
        const lastOp = batch[batch.length - 1]!.opSeq;
        await this.exclusive(() => this.writeBatch(batch, () => (this.planted === 'ack-before-fsync' ? this.release(lastOp) : undefined)));
        this.durableOpSeq = lastOp;
        this.release(lastOp);
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.flushing = false;
    }
  }

  private takeBatch(): PendingOp[] {
    let bytes = 0;
    let records = 0;
    let n = 0;
    while (n < this.pending.length) {
      const op = this.pending[n]!;
      const opBytes = op.type === 'entry' ? frameSizeBytes(ENTRY_FIXED_BYTES + op.entry.data.length) : op.type === 'truncate' ? frameSizeBytes(8) : 0;
      const opRecords = op.type === 'hard-state' ? 0 : 1;
      if (n > 0 && (bytes + opBytes > this.batchBytesMax || records + opRecords > this.batchRecordsMax)) break;
      bytes += opBytes;
      records += opRecords;
      n++;
    }
    const batch = this.pending.slice(0, n);
    this.pending = this.pending.slice(n);
    this.pendingBytes = Math.max(0, this.pendingBytes - bytes);
    return batch;
  }

  private release(durableOp: number): void {
    this.durableOpSeq = Math.max(this.durableOpSeq, durableOp);
    while (this.waiters.length > 0 && this.waiters[0]!.opSeq <= durableOp) this.waiters.shift()!.resolve();
  }

  private fail(e: unknown): void {
    if (this.failure === null) {
      this.failure =
        e instanceof WalError && e.fatal
          ? e
          : new WalError('wal-fatal', `write-ahead log ${this.disk.name}/${this.dir}: ${errorMessage(e)}; the member must stop and recover from disk`, { cause: e });
      this.logger.error('write-ahead log failed; stopping', { error: this.failure.message });
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(this.failure);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.failure !== null) throw this.failure;
      return fn();
    });
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
    assert(!this.closed, 'write-ahead log used after close');
  }

  /** Runs a file-writing step; any failure is fatal for the whole log. */
  private async io<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      this.fail(e);
      throw this.failure!;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Writing batches

  /**
   * Whether the log again holds every index up to repairUntil. The last index alone says so for a
   * Raft log, which has no gaps, but not for a Multi-Paxos log: a leader fills a repairing member's
   * slots out of order (new slots arrive while catch-up still resends old ones).
   */
  private repairedFromPeers(): boolean {
    const m = this.model;
    if (m.compactedThrough >= this.repairUntil) return true;
    if (m.lastIndex < this.repairUntil) return false;
    for (let i = m.compactedThrough + 1; i <= this.repairUntil; i++) if (m.get(i) === undefined) return false;
    return true;
  }

  private commitState(hardState: Uint8Array | null): CommitState {
    if (this.repairUntil !== 0 && this.repairedFromPeers()) {
      this.logger.info('log repaired from peers', { repairUntil: this.repairUntil, lastIndex: this.model.lastIndex });
      this.repairUntil = 0;
    }
    return {
      seq: this.seq + 1,
      segmentId: this.active.segmentId,
      lastIndex: this.model.lastIndex,
      compactedThrough: this.model.compactedThrough,
      repairUntil: this.repairUntil,
      hardState,
    };
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Encodes the ops, rolls if they do not fit, applies them to the model, writes and fsyncs. */
  private writeBatch(ops: readonly PendingOp[], afterWrite: () => void): Promise<void> {
    return this.io(async () => {
      const builder = new BatchBuilder();
      const placed: { op: PendingOp; rel: number }[] = [];
      let hardState = this.hardState;
      for (const op of ops) {
        switch (op.type) {
          case 'entry':
            placed.push({ op, rel: builder.entry(op.entry) });
            break;
          case 'truncate':
            builder.truncate(op.fromIndex);
            placed.push({ op, rel: -1 });
            break;
          case 'hard-state':
            hardState = op.hardState;
            break;
          default:
            assertNever(op, 'pending op');
        }
      }
      await this.rollIfFull(builder.recordBytes);
      const recordsAt = this.activeEndOffset + beginFrameBytes(hardState);
      const segmentId = this.active.segmentId;
      for (const { op, rel } of placed) {
        if (op.type === 'entry') this.model.entry(op.entry.index, segmentId, { segmentId, offset: recordsAt + rel, sizeBytes: frameSizeBytes(ENTRY_FIXED_BYTES + op.entry.data.length) });
        else if (op.type === 'truncate') this.model.truncate(op.fromIndex);
      }
      const bytes = builder.finish(this.activeEndOffset, this.commitState(hardState));
      await this.writeAndSync(bytes, afterWrite);
      this.hardState = hardState;
      this.counters.records += builder.recordCount;
    });
  }

  /** Writes a batch; `preallocate` false for a seal (a segment being sealed gets no zeros ahead). */
  private async writeAndSync(bytes: Uint8Array, afterWrite: () => void = () => {}, preallocate = true): Promise<void> {
    const h = await this.handle(this.active);
    // Never into bytes whose zeros are still on their way: the zeros could land after the batch.
    if (this.preallocating !== null && this.activeEndOffset + bytes.length > this.preallocFrom) await this.preallocating;
    await h.write(this.activeEndOffset, bytes);
    afterWrite();
    // A dsync handle's write was durable when it returned; counted as an fsync all the same.
    if (!this.dsync) await h.sync();
    this.activeEndOffset += bytes.length;
    this.preallocEnd = Math.max(this.preallocEnd, this.activeEndOffset);
    this.activeBatches++;
    this.seq++;
    this.counters.batches++;
    this.counters.fsyncs++;
    this.counters.bytesWritten += bytes.length;
    if (preallocate) this.preallocateAhead(h);
  }

  /**
   * A clean stop leaves the active segment ending at its data, so only a crash leaves a zero tail
   * for recovery to cut (and `bulwark storage check` of a stopped member shows a clean log). A
   * failure here costs nothing but that: the zeros hold nothing.
   */
  private async trimPreallocation(): Promise<void> {
    const h = this.active.handle;
    if (this.preallocateBytes === 0 || h === null || this.preallocEnd <= this.activeEndOffset) return;
    try {
      await h.truncate(this.activeEndOffset);
      await h.sync();
      this.preallocEnd = this.activeEndOffset;
    } catch (e) {
      this.logger.warn('cannot trim the preallocated tail of the write-ahead log; recovery will', { error: errorMessage(e) });
    }
  }

  /**
   * Starts writing zeros past the data when the data has come within half of `preallocateBytes`
   * of the preallocated end (see WalOptions.preallocateBytes). Runs beside the batches that follow;
   * a failure only stops preallocation for this segment (the batches then extend the file, as
   * without it): the zeros hold nothing anyone was promised.
   */
  private preallocateAhead(h: FileHandle): void {
    const want = this.preallocateBytes;
    if (want === 0 || this.preallocFailed || this.preallocating !== null || this.preallocEnd - this.activeEndOffset >= want / 2) return;
    // From a page boundary: a write of zeros never shares a page (or a disk sector) with the batch
    // before it, which a disk that rewrites whole sectors could otherwise tear back to old bytes.
    const from = Math.ceil(this.preallocEnd / WAL_COMMIT_COPY_SPACING_BYTES) * WAL_COMMIT_COPY_SPACING_BYTES;
    const length = Math.min(want, this.segmentBytes - from);
    if (length <= 0) return;
    this.preallocFrom = from;
    this.zeroRun ??= new Uint8Array(want);
    // A roll and close wait for these zeros, so the active segment is the same when they land.
    this.preallocating = h.write(from, this.zeroRun.subarray(0, length)).then(
      () => {
        this.preallocating = null;
        this.preallocEnd = Math.max(this.preallocEnd, from + length);
        this.counters.preallocatedBytes += length;
      },
      (e: unknown) => {
        this.preallocating = null;
        this.preallocFailed = true;
        this.logger.warn('cannot preallocate the write-ahead log segment; batches extend it instead', { error: errorMessage(e) });
      },
    );
  }

  private async rollIfFull(recordBytes: number): Promise<void> {
    // The begin, pad and commit frames add at most one spacing plus three of the largest summaries.
    const worstBytes = recordBytes + WAL_COMMIT_COPY_SPACING_BYTES + 3 * frameSizeBytes(COMMIT_PAYLOAD_BYTES_MAX) + frameSizeBytes(0);
    if (this.activeBatches > 0 && this.activeEndOffset + worstBytes > this.segmentBytes) await this.roll();
  }

  /**
   * Starts a new segment. Order matters for recovery: the successor's header is durable (file and
   * directory) before the old segment is sealed, and nothing goes to the successor before the seal
   * is durable. So a sealed segment without a successor lost a file, and an unsealed one with an
   * empty successor is a roll a crash interrupted.
   */
  private async roll(firstIndex = this.model.lastIndex + 1): Promise<void> {
    // The old segment's zeros land before its seal; no write of them is left behind.
    if (this.preallocating !== null) await this.preallocating;
    const old = this.active;
    const next: Segment = { segmentId: old.segmentId + 1, firstIndex, name: '', handle: null };
    const name = segmentFileName(next);
    const path = joinPath(this.dir, name);
    const h = await this.disk.open(path, 'create-new', { dsync: this.dsync });
    await h.write(0, encodeSegmentHeader(next));
    await h.sync();
    await this.disk.syncDir(this.dir);
    const seal = new BatchBuilder();
    seal.seal(next.segmentId);
    await this.writeAndSync(seal.finish(this.activeEndOffset, this.commitState(this.hardState)), undefined, false);
    this.segments.push({ ...next, name, handle: h });
    this.activeEndOffset = SEGMENT_HEADER_BYTES;
    this.preallocEnd = SEGMENT_HEADER_BYTES;
    this.preallocFailed = false;
    this.activeBatches = 0;
    this.logger.debug('segment rolled', { segment: name });
  }

  private async compactNow(index: LogIndex): Promise<void> {
    await this.io(async () => {
      if (index <= this.model.compactedThrough) return;
      this.model.compact(index);
      // The new compaction point is durable before any segment goes, so recovery never mistakes a
      // compacted prefix for a lost one; and the newest commit is then in the active segment.
      await this.rollIfFull(0);
      await this.writeAndSync(new BatchBuilder().finish(this.activeEndOffset, this.commitState(this.hardState)));
      let removed = 0;
      while (this.segments.length > 1 && this.model.segmentMaxIndex(this.segments[0]!.segmentId) <= index) {
        await this.removeSegment(this.segments.shift()!);
        removed++;
      }
      if (removed > 0) await this.disk.syncDir(this.dir);
    });
  }

  private async resetNow(snapshotIndex: LogIndex, repairUntil = 0, kept: { readonly entries: readonly Entry[]; readonly hardState: Uint8Array | null } | null = null): Promise<void> {
    await this.io(async () => {
      // A fresh segment for the log that starts after the snapshot; every older one goes. It starts
      // right after the snapshot even when the log went further (a Paxos acceptor keeps, and writes
      // again, values accepted past it): recovery takes a segment that starts later than the
      // compaction point for one whose predecessors were lost.
      await this.roll(Math.min(this.model.lastIndex, snapshotIndex) + 1);
      this.model.reset(snapshotIndex);
      // Set only now: the roll's seal batch above still describes the old log, which may reach it.
      if (repairUntil > this.repairUntil) this.repairUntil = repairUntil;
      const b = new BatchBuilder();
      b.reset(snapshotIndex);
      // Entries kept across the reset ride in its batch (resetWith): one durable step.
      const hardState = kept?.hardState ?? this.hardState;
      const entries = kept?.entries ?? [];
      const rels = entries.map((e) => b.entry(e));
      const recordsAt = this.activeEndOffset + beginFrameBytes(hardState);
      const segmentId = this.active.segmentId;
      entries.forEach((e, i) => this.model.entry(e.index, segmentId, { segmentId, offset: recordsAt + rels[i]!, sizeBytes: frameSizeBytes(ENTRY_FIXED_BYTES + e.data.length) }));
      await this.writeAndSync(b.finish(this.activeEndOffset, this.commitState(hardState)));
      this.hardState = hardState;
      this.counters.records += b.recordCount;
      while (this.segments.length > 1) await this.removeSegment(this.segments.shift()!);
      await this.disk.syncDir(this.dir);
    });
  }

  private async removeSegment(s: Segment): Promise<void> {
    const h = s.handle;
    s.handle = null;
    if (h !== null) await h.close();
    await this.disk.unlink(joinPath(this.dir, s.name));
    this.model.forgetSegment(s.segmentId);
  }

  private async handle(s: Segment): Promise<FileHandle> {
    if (s.handle === null) s.handle = await this.disk.open(joinPath(this.dir, s.name), 'write', { dsync: this.dsync });
    return s.handle;
  }

  // ---------------------------------------------------------------------------------------------
  // Recovery: carry out the plan

  /** @internal Called once by openWal. */
  async carryOut(plan: WalRecoveryPlan, files: ReadonlyMap<string, SegmentFile>): Promise<void> {
    const disk = this.disk;
    // What the commit batch below will say is made durable first: the steps before it cut and move
    // data, and a crash among them must not leave a shorter log that looks whole.
    if (plan.mustCommit) await writeRecoveryIntent(disk, this.dir, { repairUntil: plan.repairUntil ?? 0, hardState: plan.hardState });
    if (plan.quarantined.length > 0) {
      const qdir = quarantineDir(this.dir);
      await disk.mkdir(qdir);
      await disk.syncDir(this.dir);
      for (const q of plan.quarantined) {
        if (q.fromOffset === 0) {
          await disk.rename(joinPath(this.dir, q.name), joinPath(qdir, await freeName(disk, qdir, q.name)));
        } else {
          // Keep the damaged bytes for an operator; the segment itself is cut below (kept.truncateTo).
          const tail = files.get(q.name)!.bytes.subarray(q.fromOffset);
          await writeNewFile(disk, joinPath(qdir, await freeName(disk, qdir, `${q.name}.from-${q.fromOffset}`)), tail);
        }
      }
      await disk.syncDir(qdir);
    }
    for (const k of plan.kept) {
      if (k.renamedFrom !== undefined) {
        await disk.rename(joinPath(this.dir, k.renamedFrom), joinPath(this.dir, k.name));
        await disk.syncDir(this.dir);
      }
      const needsWrite = k.truncateTo !== null || k.rewriteHeader || k.rewrites.length > 0;
      const seg: Segment = { segmentId: k.segmentId, firstIndex: k.firstIndex, name: k.name, handle: null };
      this.segments.push(seg);
      if (!needsWrite) continue;
      const h = await this.handle(seg);
      if (k.rewriteHeader) await h.write(0, encodeSegmentHeader(k));
      for (const r of k.rewrites) await h.write(r.offset, r.bytes);
      if (k.truncateTo !== null) await h.truncate(k.truncateTo);
      await h.sync();
    }
    for (const name of plan.removed) {
      await disk.unlink(joinPath(this.dir, name));
    }
    const lastKept = plan.kept.at(-1);
    this.activeEndOffset = lastKept?.endOffset ?? SEGMENT_HEADER_BYTES;
    // A tail recovery kept is space the file has already.
    this.preallocEnd = lastKept === undefined ? SEGMENT_HEADER_BYTES : (lastKept.truncateTo ?? files.get(lastKept.name)?.bytes.length ?? lastKept.endOffset);
    this.activeBatches = lastKept !== undefined && lastKept.endOffset > SEGMENT_HEADER_BYTES ? 1 : 0;
    if (plan.createSegment !== null) {
      const created: Segment = { ...plan.createSegment, name: segmentFileName(plan.createSegment), handle: null };
      await writeNewFile(disk, joinPath(this.dir, created.name), encodeSegmentHeader(created));
      this.segments.push(created);
      this.activeEndOffset = SEGMENT_HEADER_BYTES;
      this.preallocEnd = SEGMENT_HEADER_BYTES;
      this.activeBatches = 0;
    }
    // Always, not only when this recovery changed it: the segments found may have been created by
    // a process that stopped before fsyncing the directory (a fatal write error right after
    // creating a segment), and a power loss would drop their names, and with them entries this
    // start acknowledges in them (simulator: raft, storage-faults, seed 249 once its run changed).
    await disk.syncDir(this.dir);
    if (plan.mustCommit) {
      // Make the outcome durable: the repair marker, and the newest hard state (which may have
      // been read from a batch that was cut).
      await this.writeAndSync(new BatchBuilder().finish(this.activeEndOffset, this.commitState(this.hardState)));
      await removeRecoveryIntent(disk, this.dir);
    }
    if (plan.newlyCorrupt) {
      this.logger.error('CORRUPT: committed log data is damaged; the member will not vote until repaired from its peers', {
        repairUntil: this.repairUntil,
        events: plan.events.filter((e) => e.type === 'corrupt' || e.type === 'quarantined'),
      });
    }
  }
}
