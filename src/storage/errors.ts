/**
 * Operating errors of RAID volumes. A volume is a Disk, so errors its callers see through the Disk
 * interface are DiskErrors (EIO for lost data or a failed volume) whose `cause` is a RaidError with
 * the precise reason; the administrative API (create, open, add, fail, remove) throws RaidErrors.
 */
import { BulwarkError } from '../core/errors.js';

export type RaidErrorCode =
  /** Fewer usable members than the level needs (RAID-5: all but one; RAID-1: one). */
  | 'volume-failed'
  /** A chunk that neither its own copy nor redundancy can produce: two failures in one stripe. */
  | 'data-lost'
  /** A superblock, metadata file or journal that does not decode. */
  | 'corrupt'
  /** A directory that belongs to another volume, or to no volume where one was expected. */
  | 'foreign-member'
  /** A directory that is not empty where a blank one is needed. */
  | 'not-blank'
  /** Options that make no volume: level, member count, chunk size. */
  | 'invalid-config'
  /** An administrative request the volume's state forbids (fail the last copy, add to a full volume). */
  | 'invalid-state';

export class RaidError extends BulwarkError<RaidErrorCode> {
  constructor(code: RaidErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RaidError';
  }
}

export function isRaidError(e: unknown, code?: RaidErrorCode): e is RaidError {
  return e instanceof RaidError && (code === undefined || e.code === code);
}
