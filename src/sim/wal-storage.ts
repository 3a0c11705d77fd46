/**
 * A simulated member's durable storage when it runs the real write-ahead log and snapshot store
 * (src/wal) over its SimDisk. The stores are wrapped so the simulator's checkers keep seeing the
 * member's log through a MemoryMedium, as they do with the in-memory stand-in:
 *
 * - the medium mirrors what storage acknowledged (a sync, compaction or reset that returned), so it
 *   is what the member may rely on as durable;
 * - what was handed over but not yet acknowledged stays visible as buffered appends;
 * - on every restart, recovery's result is checked against the mirror: every acknowledged entry and
 *   the acknowledged hard state must come back (or a newer one from an operation in flight at the
 *   crash), unless recovery itself reported damage and asked for repair (repairUntil). Then the
 *   mirror is rebuilt from what recovery returned: the truth on disk.
 */
import { AssertionError } from '../core/assert.js';
import { bytesEqual } from '../core/bytes.js';
import type { ClusterId, LogIndex, NodeId } from '../core/ids.js';
import type { LogStore, SnapshotStore } from '../consensus/storage.js';
import type { Entry, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { DiskError, type Disk } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import { WalError } from '../wal/errors.js';
import { openStorage, type RecoveredState, type StorageRecoveryReport } from '../wal/open-storage.js';
import type { FileSnapshotStore } from '../wal/snapshot-store.js';
import type { Wal, WalPlantedBug } from '../wal/wal.js';
import type { MemoryMedium } from './memory-storage.js';

/** Planted bugs of the storage layer, given to the simulator like the engines' ones. */
export const STORAGE_PLANTED_BUGS = ['wal-ack-before-fsync', 'wal-truncate-on-checksum-failure'] as const;
export type StoragePlantedBug = (typeof STORAGE_PLANTED_BUGS)[number];

export function isStoragePlantedBug(name: string | null): name is StoragePlantedBug {
  return name !== null && (STORAGE_PLANTED_BUGS as readonly string[]).includes(name);
}

function walBug(bug: StoragePlantedBug): WalPlantedBug {
  return bug === 'wal-ack-before-fsync' ? 'ack-before-fsync' : 'truncate-on-checksum-failure';
}

/** Storage errors that mean "the disk failed" (expected under disk faults), not "the code is wrong". */
const DISK_FAILURE_CODES: ReadonlySet<string> = new Set(['wal-fatal', 'snapshot-fatal', 'snapshot-io', 'snapshot-verify-failed', 'snapshot-corrupt-read']);

/** True when a member stopped because its disk failed (expected under disk faults), not a bug. */
export function isStorageFailure(e: unknown): boolean {
  let disk = false;
  for (let x: unknown = e, depth = 0; x !== undefined && x !== null && depth < 8; depth++) {
    // A programmer error under a fatal storage error is a bug, however it was wrapped.
    if (x instanceof TypeError || x instanceof RangeError || x instanceof ReferenceError || x instanceof AssertionError) return false;
    if (x instanceof DiskError || (x instanceof WalError && DISK_FAILURE_CODES.has(x.code))) disk = true;
    x = (x as { cause?: unknown }).cause;
  }
  return disk;
}

type Op =
  | { readonly type: 'append'; readonly entries: readonly Entry[]; readonly replaceSuffix: boolean }
  | { readonly type: 'hard-state'; readonly hardState: Uint8Array }
  /** A reset to a received snapshot: once durable, no entry of the log is left. */
  | { readonly type: 'reset'; readonly snapshotIndex: LogIndex }
  /** resetWith: the reset, the kept entries and the hard state, all durable or none. */
  | { readonly type: 'reset-with'; readonly snapshotIndex: LogIndex; readonly entries: readonly Entry[]; readonly hardState: Uint8Array | null };

/** Operations handed to storage and not acknowledged when the member crashed. */
export type UnacknowledgedOps = readonly Op[];

class MirroredLogStore implements LogStore {
  private buffer: Op[] = [];
  private inflight: Op[][] = [];
  /** A reset handed to the log and not acknowledged yet. */
  private resetting: Op | null = null;

  constructor(
    readonly wal: Wal,
    private readonly medium: MemoryMedium,
  ) {}

  append(entries: readonly Entry[], replaceSuffix: boolean): void {
    this.wal.append(entries, replaceSuffix);
    if (entries.length > 0) this.buffer.push({ type: 'append', entries: entries.slice(), replaceSuffix });
  }

  setHardState(hardState: Uint8Array): void {
    this.wal.setHardState(hardState);
    this.buffer.push({ type: 'hard-state', hardState: hardState.slice() });
  }

  async sync(): Promise<void> {
    const ops = this.buffer;
    this.buffer = [];
    this.inflight.push(ops);
    await this.wal.sync();
    // Acknowledged: the mirror now holds it (in order: earlier syncs resolve first).
    this.inflight = this.inflight.filter((b) => b !== ops);
    for (const op of ops) {
      if (op.type === 'append') this.medium.appendDurably(op.entries, op.replaceSuffix);
      else if (op.type === 'hard-state') this.medium.hardState = op.hardState;
    }
    this.medium.repairUntil = this.wal.pendingRepairUntil ?? 0;
  }

  async compact(index: LogIndex): Promise<void> {
    await this.wal.compact(index);
    for (const k of [...this.medium.entries.keys()]) if (k <= index) this.medium.entries.delete(k);
  }

  async reset(snapshotIndex: LogIndex): Promise<void> {
    this.resetting = { type: 'reset', snapshotIndex };
    await this.wal.reset(snapshotIndex);
    this.resetting = null;
    this.medium.entries.clear();
    this.medium.lastIndex = snapshotIndex;
    this.medium.repairUntil = this.wal.pendingRepairUntil ?? 0;
  }

  async resetWith(snapshotIndex: LogIndex, entries: readonly Entry[], hardState: Uint8Array | null): Promise<void> {
    // The buffer goes first, as the log's own resetWith syncs it first.
    await this.sync();
    this.resetting = { type: 'reset-with', snapshotIndex, entries: entries.slice(), hardState: hardState?.slice() ?? null };
    await this.wal.resetWith(snapshotIndex, entries, hardState);
    this.resetting = null;
    this.medium.entries.clear();
    this.medium.lastIndex = snapshotIndex;
    if (entries.length > 0) this.medium.appendDurably(entries, false);
    if (hardState !== null) this.medium.hardState = hardState.slice();
    this.medium.repairUntil = this.wal.pendingRepairUntil ?? 0;
  }

  close(): Promise<void> {
    return this.wal.close();
  }

  bufferedAppends(): readonly { readonly entries: readonly Entry[]; readonly replaceSuffix: boolean }[] {
    return [...this.inflight.flat(), ...this.buffer].flatMap((b) => (b.type === 'append' ? [b] : []));
  }

  unacknowledged(): UnacknowledgedOps {
    return [...this.inflight.flat(), ...this.buffer, ...(this.resetting === null ? [] : [this.resetting])];
  }
}

class MirroredSnapshotStore implements SnapshotStore {
  constructor(
    readonly store: FileSnapshotStore,
    private readonly medium: MemoryMedium,
  ) {}

  latest(): SnapshotMeta | null {
    return this.store.latest();
  }

  read(meta: SnapshotMeta, offset: number, lengthBytes: number): Promise<Uint8Array> {
    return this.store.read(meta, offset, lengthBytes);
  }

  async save(meta: Omit<SnapshotMeta, 'sizeBytes' | 'crc32c'>, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<SnapshotMeta> {
    const saved = await this.store.save(meta, chunks);
    this.mirror();
    return saved;
  }

  receiveChunk(chunk: SnapshotChunk): Promise<void> {
    return this.store.receiveChunk(chunk);
  }

  async finishReceive(meta: SnapshotMeta): Promise<void> {
    await this.store.finishReceive(meta);
    this.mirror();
  }

  async prune(keep: number): Promise<void> {
    await this.store.prune(keep);
    this.mirror();
  }

  /** The checkers only read snapshot metas from the medium; the bytes stay on the disk. */
  mirror(): void {
    this.medium.snapshots = this.store
      .list()
      .map((meta) => ({ meta, bytes: new Uint8Array(0) }))
      .reverse();
  }
}

export interface SimStorage {
  readonly logStore: LogStore & { bufferedAppends(): readonly { readonly entries: readonly Entry[]; readonly replaceSuffix: boolean }[] };
  readonly snapshotStore: SnapshotStore;
  readonly durable: RecoveredState;
  readonly report: StorageRecoveryReport;
  /** Operations not acknowledged yet; read them when the member crashes. */
  unacknowledged(): UnacknowledgedOps;
  /** Set when recovery lost something storage had acknowledged (a storage bug), saying what. */
  readonly lostAcknowledged: string | null;
}

export interface OpenSimStorageOptions {
  /** This incarnation's view of the member's SimDisk. */
  readonly disk: Disk;
  /** The checkers' mirror; rebuilt from what recovery returns. */
  readonly medium: MemoryMedium;
  /** What the previous incarnation handed over without an acknowledgement. */
  readonly unacknowledged: UnacknowledgedOps;
  readonly clusterId: ClusterId;
  readonly memberId: NodeId;
  /** Which consensus protocol writes the directory: recovery treats a Raft log and a Paxos log differently. */
  readonly protocol: 'raft' | 'paxos';
  readonly segmentBytes: number;
  readonly plantedBug: StoragePlantedBug | null;
  readonly logger: Logger;
}

/** Opens a member's data directory on its SimDisk, checks recovery against the mirror, rebuilds the mirror. */
export async function openSimStorage(o: OpenSimStorageOptions): Promise<SimStorage> {
  const opened = await openStorage(o.disk, {
    identity: { clusterId: o.clusterId, memberId: o.memberId, protocol: o.protocol },
    wal: { segmentBytes: o.segmentBytes, ...(o.plantedBug === null ? {} : { testing: { plantedBug: walBug(o.plantedBug) } }) },
    logger: o.logger,
  });
  const { durable } = opened;
  // A discarded conflicting log lost nothing the member may rely on: the snapshot replaced it.
  const lostAcknowledged = durable.repairUntil === null && !opened.report.conflictingLogDiscarded ? compareWithMirror(o.medium, o.unacknowledged, durable) : null;
  // The mirror becomes what is on disk now.
  const m = o.medium;
  m.entries.clear();
  for (const e of durable.entries) m.entries.set(e.index, e);
  m.lastIndex = opened.log.lastIndex;
  m.hardState = durable.hardState;
  m.repairUntil = durable.repairUntil ?? 0;
  const logStore = new MirroredLogStore(opened.log, m);
  const snapshotStore = new MirroredSnapshotStore(opened.snapshots, m);
  snapshotStore.mirror();
  return { logStore, snapshotStore, durable, report: opened.report, unacknowledged: () => logStore.unacknowledged(), lostAcknowledged };
}

/**
 * Everything acknowledged must be back: each mirrored entry above the recovered base, unless an
 * operation in flight at the crash (which may or may not have reached the disk) touched its index;
 * and the acknowledged hard state, or one in flight.
 */
function compareWithMirror(mirror: MemoryMedium, unacked: UnacknowledgedOps, durable: RecoveredState): string | null {
  const base = durable.snapshot?.index ?? 0;
  const recovered = new Map(durable.entries.map((e) => [e.index as number, e]));
  let touchedFrom = Infinity;
  const touched = new Set<number>();
  const hardStates: (Uint8Array | null)[] = [mirror.hardState];
  for (const op of unacked) {
    if (op.type === 'hard-state') hardStates.push(op.hardState);
    else if (op.type === 'reset') touchedFrom = 0; // it may have dropped every entry, or none yet
    else if (op.type === 'reset-with') {
      touchedFrom = 0;
      if (op.hardState !== null) hardStates.push(op.hardState);
    }    else if (op.entries.length > 0) {
      if (op.replaceSuffix) touchedFrom = Math.min(touchedFrom, op.entries[0]!.index);
      for (const e of op.entries) touched.add(e.index);
    }
  }
  for (const [index, want] of mirror.entries) {
    if (index <= base || index >= touchedFrom || touched.has(index)) continue;
    const got = recovered.get(index);
    if (got === undefined) return `acknowledged entry ${index} (term ${want.term}) is missing after recovery`;
    if (got.term !== want.term || !bytesEqual(got.data, want.data)) return `acknowledged entry ${index} came back different (term ${got.term}, wanted ${want.term})`;
  }
  const hs = durable.hardState;
  if (!hardStates.some((h) => (h === null ? hs === null : hs !== null && bytesEqual(h, hs)))) {
    return 'the acknowledged hard state did not come back (an older one did)';
  }
  return null;
}
