/**
 * The data directory's recovery decision table: given the newest valid snapshot and how far back
 * the recovered log reaches, where does the state machine start and what does the log keep?
 * "Base" is the chosen snapshot's index (0 without one).
 */
import { allCombinations, type Domains, type Row } from './decision-table.js';

export interface StorageFacts {
  /** The newest snapshot that passed its checks. */
  readonly snapshot: 'none' | 'valid';
  /** A newer snapshot than the chosen one was damaged and quarantined. */
  readonly newerSnapshotCorrupt: boolean;
  /**
   * The log relative to the base: 'reaches' (complete from base + 1 on), 'behind' (it ends before
   * the base: the snapshot is newer than the log) or 'gap' (entries right after the base are
   * missing: compacted behind a snapshot that is gone, or lost).
   */
  readonly log: 'reaches' | 'behind' | 'gap';
}

export type StorageAction =
  /** No snapshot: the state machine starts empty and replays the whole log. */
  | 'replay-log'
  /** Restore the snapshot, replay the log after it (entries at or below it are compacted). */
  | 'snapshot-plus-log'
  /** Restore the snapshot; the log holds nothing after it, so it is reset to start there. */
  | 'snapshot-newer-than-log'
  /** Restore what there is (the snapshot, or nothing), empty the log, and do not vote until peers repaired it. */
  | 'repair-from-peers'
  | 'impossible';

export const STORAGE_FACT_DOMAINS: Domains<StorageFacts> = {
  snapshot: ['none', 'valid'],
  newerSnapshotCorrupt: [false, true],
  log: ['reaches', 'behind', 'gap'],
};

export const STORAGE_RECOVERY_TABLE: readonly Row<StorageFacts, StorageAction>[] = [
  {
    id: 'log-only',
    when: { snapshot: 'none', newerSnapshotCorrupt: false, log: 'reaches' },
    action: 'replay-log',
    why: 'no snapshot was ever taken (or kept): the log holds the whole history',
  },
  {
    id: 'snapshot-and-log',
    when: { snapshot: 'valid', newerSnapshotCorrupt: false, log: 'reaches' },
    action: 'snapshot-plus-log',
    why: 'the normal case: the newest snapshot plus the log after it',
  },
  {
    id: 'snapshot-newer-than-log',
    when: { snapshot: 'valid', log: 'behind' },
    action: 'snapshot-newer-than-log',
    why: 'a snapshot from the leader replaced the log, and the crash came before the log was reset',
  },
  {
    id: 'corrupt-snapshot-previous-plus-log',
    when: { snapshot: 'valid', newerSnapshotCorrupt: true, log: 'reaches' },
    action: 'snapshot-plus-log',
    why: 'the newest snapshot is damaged, but the previous one and the log after it rebuild the same state',
  },
  {
    id: 'corrupt-snapshot-log-from-start',
    when: { snapshot: 'none', newerSnapshotCorrupt: true, log: 'reaches' },
    action: 'replay-log',
    why: 'the only snapshot is damaged, but the log still reaches back to the first entry',
  },
  {
    id: 'log-does-not-reach-base',
    when: { log: 'gap' },
    action: 'repair-from-peers',
    why: 'entries after the base are gone (a lost segment, or compacted behind a snapshot now damaged): only peers can supply them',
  },
  {
    id: 'impossible-behind-without-snapshot',
    when: { snapshot: 'none', log: 'behind' },
    action: 'impossible',
    why: 'without a snapshot the base is 0, and no log ends before index 0',
  },
];

export function allStorageFacts(): StorageFacts[] {
  return allCombinations(STORAGE_FACT_DOMAINS);
}
