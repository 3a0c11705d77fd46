/**
 * The write-ahead log's recovery decision table: what to do with one segment, given what its scan
 * found and what follows it. Segments are decided in id order; the first row that cuts ends the log
 * there (later segments are moved to quarantine).
 *
 * Why these rows (see docs/storage.md for the table as prose):
 * - A segment gets a successor only after the successor's header is durable (create, fsync, fsync
 *   the directory), then the old segment is sealed, then batches go to the successor. So a sealed
 *   segment without its successor lost a file, and an unsealed one with an empty successor is a
 *   roll the crash interrupted.
 * - Only the last batch of the last segment can be torn by a crash: everything before it was fsynced
 *   before the next batch was written. Damage anywhere else is corruption of committed data.
 */
import { allCombinations, type Domains, type Row } from './decision-table.js';

export interface SegmentFacts {
  readonly header: 'valid' | 'invalid';
  /** How the scan ended (segment-scan.ts): clean, torn (nothing committed lost) or corrupt. */
  readonly body: 'clean' | 'torn' | 'corrupt';
  /** The segment holds at least one committed batch, or an intact commit frame past damage. */
  readonly committed: boolean;
  /** The last good batch holds a seal record. */
  readonly sealed: boolean;
  /** The next segment on disk: none, the next id, or a later id (a segment is missing). */
  readonly successor: 'none' | 'next' | 'gap';
  /** The next segment holds no committed data at all (only meaningful when successor is 'next'). */
  readonly successorEmpty: boolean;
}

export type SegmentAction =
  /** Replay the segment's batches and go on. */
  | 'accept'
  /** Replay, then cut the bytes after the last good batch (a torn, never-acknowledged write). */
  | 'truncate-tail'
  /** The header never became durable and nothing was committed in the segment: write it again. */
  | 'rewrite-header'
  /** Replay, cut the tail, and remove the empty successor a crash left behind mid-roll. */
  | 'finish-interrupted-roll'
  /** Committed data is damaged in this segment: keep the batches before it, cut the rest, repair. */
  | 'corrupt-from-batch'
  /** This segment is intact but what followed it (its seal, its successor) is lost: cut after it, repair. */
  | 'corrupt-after-segment'
  /** The segment's header is damaged while it holds committed data: drop the whole segment, repair. */
  | 'corrupt-whole-segment'
  /** A combination the scan cannot produce. */
  | 'impossible';

export const SEGMENT_FACT_DOMAINS: Domains<SegmentFacts> = {
  header: ['valid', 'invalid'],
  body: ['clean', 'torn', 'corrupt'],
  committed: [true, false],
  sealed: [true, false],
  successor: ['none', 'next', 'gap'],
  successorEmpty: [true, false],
};

export const SEGMENT_RECOVERY_TABLE: readonly Row<SegmentFacts, SegmentAction>[] = [
  {
    id: 'last-clean',
    when: { header: 'valid', body: 'clean', sealed: false, successor: 'none' },
    action: 'accept',
    why: 'the active segment ends exactly after its last batch',
  },
  {
    id: 'last-torn-tail',
    when: { header: 'valid', body: 'torn', sealed: false, successor: 'none' },
    action: 'truncate-tail',
    why: 'the bytes after the last commit were never fsynced, so never acknowledged',
  },
  {
    id: 'last-header-torn',
    when: { header: 'invalid', committed: false, body: ['clean', 'torn'], sealed: false, successor: 'none' },
    action: 'rewrite-header',
    why: 'a crash interrupted the creation of the segment; it holds nothing committed',
  },
  {
    id: 'sealed-successor-missing',
    when: { header: 'valid', body: ['clean', 'torn'], committed: true, sealed: true, successor: ['none', 'gap'] },
    action: 'corrupt-after-segment',
    why: 'a seal is written only after the successor is durable, so the successor was lost',
  },
  {
    id: 'middle-clean',
    when: { header: 'valid', body: 'clean', committed: true, sealed: true, successor: 'next' },
    action: 'accept',
    why: 'a sealed segment followed by its successor',
  },
  {
    id: 'middle-bytes-after-seal',
    when: { header: 'valid', body: 'torn', committed: true, sealed: true, successor: 'next' },
    action: 'accept',
    why: 'nothing is written after a seal, so those bytes were never acknowledged',
  },
  {
    id: 'interrupted-roll',
    when: { header: 'valid', body: ['clean', 'torn'], sealed: false, successor: 'next', successorEmpty: true },
    action: 'finish-interrupted-roll',
    why: 'the crash came after the successor was created and before the seal; nothing went to the successor',
  },
  {
    id: 'middle-unsealed',
    when: { header: 'valid', body: ['clean', 'torn'], sealed: false, successor: 'next', successorEmpty: false },
    action: 'corrupt-after-segment',
    why: 'data reached the successor only after a seal, so the seal (and maybe more) was lost',
  },
  {
    id: 'unsealed-before-gap',
    when: { header: 'valid', body: ['clean', 'torn'], sealed: false, successor: 'gap' },
    action: 'corrupt-after-segment',
    why: 'a later segment exists but the next one is missing',
  },
  {
    id: 'corrupt-batch',
    when: { header: 'valid', body: 'corrupt', committed: true },
    action: 'corrupt-from-batch',
    why: 'committed data is damaged: never truncate it silently, repair it from peers',
  },
  {
    id: 'header-corrupt-with-data',
    when: { header: 'invalid', committed: true },
    action: 'corrupt-whole-segment',
    why: 'the header was durable before any batch, so its damage is corruption, and the segment holds committed data',
  },
  {
    id: 'middle-header-invalid-empty',
    when: { header: 'invalid', committed: false, body: ['clean', 'torn'], sealed: false, successor: ['next', 'gap'] },
    action: 'corrupt-whole-segment',
    why: 'a segment with a successor always held at least its seal batch',
  },
  {
    id: 'impossible-corrupt-without-commit',
    when: { body: 'corrupt', committed: false },
    action: 'impossible',
    why: 'corruption is only ever concluded from an intact commit frame',
  },
  {
    id: 'impossible-sealed-without-commit',
    when: { body: ['clean', 'torn'], committed: false, sealed: true },
    action: 'impossible',
    why: 'a seal record is only read from a committed batch',
  },
];

/** Every fact combination, for the test that proves the table total and unambiguous. */
export function allSegmentFacts(): SegmentFacts[] {
  return allCombinations(SEGMENT_FACT_DOMAINS);
}
