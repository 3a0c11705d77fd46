/**
 * What the driver needs from durable storage and from the state machine. The write-ahead log and
 * snapshot store (src/wal) implement the first two over a Disk; the MVCC store (src/kv) implements
 * the third. The simulator uses the same implementations over a simulated Disk.
 */
import type { LogIndex } from '../core/ids.js';
import { LOG_RESET_RETAINED_BYTES_MAX, LOG_RESET_RETAINED_ENTRIES_MAX } from '../core/limits.js';
import type { Entry, SnapshotChunk, SnapshotMeta } from './types.js';

export interface LogStore {
  /**
   * Buffers entries for the next sync. With `replaceSuffix`, stored entries at or after the first
   * entry's index are discarded first (Raft's conflict truncation); without it, each entry replaces
   * only its own index (a Paxos slot).
   */
  append(entries: readonly Entry[], replaceSuffix: boolean): void;
  /** Buffers the engine's encoded hard state; it becomes durable after the entries buffered before it. */
  setHardState(hardState: Uint8Array): void;
  /**
   * Makes everything buffered durable with one fsync (group commit). Appends made while a sync runs
   * go into the next one. A rejection is fatal: the member must stop and recover from disk.
   */
  sync(): Promise<void>;
  /** Forgets entries at or below `index`; called only once a snapshot covering them is durable. */
  compact(index: LogIndex): Promise<void>;
  /** Forgets every entry: a snapshot at `snapshotIndex` received from the leader replaces the log. */
  reset(snapshotIndex: LogIndex): Promise<void>;
  /**
   * reset(snapshotIndex), then append(entries, false) and setHardState(hardState) (when not null),
   * as one durable step: after a crash the log is either the old one or the new one, never the
   * empty log between them. Anything buffered before is made durable first. A Paxos acceptor
   * installs a snapshot with it, keeping the values it accepted above the snapshot (an acceptor
   * must never forget one); the driver installs every snapshot with it. `entries` lie above
   * `snapshotIndex`; a store may take more than fitsResetWith allows, but the engine keeps the
   * batch that size and, beyond it, makes a gap mark durable first (docs/paxos.md).
   */
  resetWith(snapshotIndex: LogIndex, entries: readonly Entry[], hardState: Uint8Array | null): Promise<void>;
  close(): Promise<void>;
}

/** Whether `entries` are few and small enough for one LogStore.resetWith. */
export function fitsResetWith(entries: Iterable<Entry>): boolean {
  let count = 0;
  let bytes = 0;
  for (const e of entries) {
    count++;
    bytes += e.data.length;
    if (count > LOG_RESET_RETAINED_ENTRIES_MAX || bytes > LOG_RESET_RETAINED_BYTES_MAX) return false;
  }
  return true;
}

/** What a log store recovered on open. */
export interface RecoveredLog {
  readonly hardState: Uint8Array | null;
  readonly entries: readonly Entry[];
}

export interface SnapshotStore {
  /** The newest valid snapshot, or null. */
  latest(): SnapshotMeta | null;
  /** Bytes of a stored snapshot, for sending to a peer or restoring the state machine. */
  read(meta: SnapshotMeta, offset: number, lengthBytes: number): Promise<Uint8Array>;
  /**
   * Writes a snapshot produced by the local state machine: chunks go to a temporary file, which is
   * fsynced, renamed into place and the directory fsynced. Returns the meta with size and CRC.
   */
  save(meta: Omit<SnapshotMeta, 'sizeBytes' | 'crc32c'>, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<SnapshotMeta>;
  /** Writes one chunk of a snapshot arriving from the leader to its staging file. */
  receiveChunk(chunk: SnapshotChunk): Promise<void>;
  /**
   * Completes a received snapshot: fsync, verify size and CRC against `meta`, rename into place.
   * Rejects when verification fails (the staging file is discarded).
   */
  finishReceive(meta: SnapshotMeta): Promise<void>;
  /** Removes all but the newest `keep` snapshots. */
  prune(keep: number): Promise<void>;
}

/** A consistent view of the state machine, serialized in bounded chunks. */
export interface SnapshotSource {
  readonly index: LogIndex;
  /** Yields chunks; the driver may apply further entries between chunks. */
  chunks(): Iterable<Uint8Array>;
}

/** Rebuilds a state machine from a snapshot, chunk by chunk. */
export interface SnapshotSink {
  write(chunk: Uint8Array): void;
  /** Validates what was written (throws a typed error on a malformed snapshot) and swaps it in. */
  finish(): void;
}

export interface StateMachine<Result> {
  /** The index of the last entry applied (or restored from a snapshot). */
  readonly appliedIndex: LogIndex;
  /** Applies one committed entry, deterministically and synchronously. */
  apply(entry: Entry): Result;
  /** A point-in-time view for a snapshot at appliedIndex. */
  snapshot(): SnapshotSource;
  /** Starts replacing the whole state with a snapshot taken at `index`. */
  restore(index: LogIndex): SnapshotSink;
}
