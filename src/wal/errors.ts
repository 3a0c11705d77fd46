/**
 * Operating errors of durable storage. One class with a stable `code`; `fatal` codes mean the member
 * must stop at once and recover from disk on restart (an fsync or write failed: PostgreSQL's
 * fsyncgate lesson, never retry). The others describe bad input or a data directory that is not
 * ours, and leave the store usable.
 */
import { BulwarkError } from '../core/errors.js';

export type WalErrorCode =
  /** A write, fsync, rename or directory fsync of the log failed. Stop; recover from disk. */
  | 'wal-fatal'
  /** More bytes were appended without a sync than the bound allows. */
  | 'wal-overloaded'
  /** An entry read back from a segment failed its checksum (reported, never returned). */
  | 'wal-corrupt-read'
  /**
   * Checksummed records disagree with their own commit frame: a bug in the writer or a forged
   * file. The log is not opened rather than replayed into a state nobody wrote.
   */
  | 'wal-inconsistent'
  /** The data directory belongs to another cluster. */
  | 'data-dir-other-cluster'
  /** The data directory belongs to another member of this cluster. */
  | 'data-dir-other-member'
  /** The data directory was written by the other consensus protocol. */
  | 'data-dir-other-protocol'
  /** The data directory has a format version this build does not read. */
  | 'data-dir-format-version'
  /** The data directory's meta file is damaged. */
  | 'data-dir-meta-corrupt'
  /** The data directory holds a log or snapshots but no meta file: not created by `bulwark`, or damaged. */
  | 'data-dir-meta-missing'
  /**
   * Writing or reading a snapshot failed before anything was promised (opening or writing the temp
   * file, ENOSPC included); the store is unchanged (the file was never put in place). Not fatal.
   */
  | 'snapshot-io'
  /**
   * An fsync, close, rename or directory fsync of a snapshot failed: the store's state on disk is
   * unknown and the page cache may have dropped what it could not write. Stop; recover from disk.
   */
  | 'snapshot-fatal'
  /** A received chunk's data does not match its checksum, or lies outside the snapshot. */
  | 'snapshot-chunk-invalid'
  /** A received snapshot's size or checksum does not match its meta. */
  | 'snapshot-verify-failed'
  /** Reading a stored snapshot from start to end gave bytes whose checksum is not the snapshot's. */
  | 'snapshot-corrupt-read'
  /** No stored snapshot matches the meta asked for. */
  | 'snapshot-not-found'
  /** A snapshot is larger than the bound. */
  | 'snapshot-too-large';

const FATAL: ReadonlySet<WalErrorCode> = new Set(['wal-fatal', 'snapshot-fatal']);

export class WalError extends BulwarkError<WalErrorCode> {
  /** The member must stop and recover from disk; the store refuses every further call. */
  readonly fatal: boolean;

  constructor(code: WalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'WalError';
    this.fatal = FATAL.has(code);
  }
}

export function isWalError(e: unknown, code?: WalErrorCode): e is WalError {
  return e instanceof WalError && (code === undefined || e.code === code);
}

/** True for errors after which the member must exit and recover from disk. */
export function isFatalStorageError(e: unknown): boolean {
  return e instanceof WalError && e.fatal;
}
