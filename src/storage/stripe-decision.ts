/**
 * What to do with a stripe, given what reading it found: the reconstruction decision as a table.
 *
 * A read, a scrub check and a scrub repair all classify each chunk of a stripe (ok, corrupt,
 * unreadable, absent), reduce the stripe to a few conditions, and look the conditions up here. The
 * table is data, not nested ifs, and decision-table.test.ts proves that every combination of
 * conditions matches exactly one row. The I/O around it (stripe-io.ts) only carries out actions.
 *
 * The decision can take up to three steps, because reading parity or reconstructing is work that a
 * healthy stripe should not pay for:
 *   1. data chunks read                          → use | read-parity | lost
 *   2. parity read too (a scrub reads it at once) → reconstruct | rewrite-parity | ... | lost
 *   3. reconstructed chunk checked against its own stored checksum → use-reconstructed | lost
 */
import { assert, unreachable } from '../core/assert.js';

/** What reading one chunk found. */
export type ChunkHealth =
  /** Read, and matches its checksum. */
  | 'ok'
  /** Read, but does not match its checksum: bit rot, a torn write, a misdirected write. */
  | 'corrupt'
  /** The read failed (EIO) or the member file is missing. */
  | 'unreadable'
  /** Not read: its member is failed, missing, or still being rebuilt. */
  | 'absent';

/** The data chunks of a stripe, taken together. */
export type DataCondition =
  | 'all-ok'
  /** One chunk is corrupt or unreadable on a member that is in the array (it can be rewritten). */
  | 'one-repairable'
  /** One chunk's member is out of the array (degraded): reconstruct, but there is nothing to rewrite. */
  | 'one-absent'
  /** Two or more data chunks are bad: beyond what one parity chunk can rebuild. */
  | 'several-bad';

export type ParityCondition = 'ok' | 'repairable' | 'absent' | 'not-read';

/**
 * A cross-check, when one was made: with all data ok and parity ok, whether parity equals the XOR
 * of the data; after a reconstruction, whether the rebuilt chunk matches its stored checksum.
 */
export type Agreement = 'agrees' | 'disagrees' | 'unchecked';

/** Why the stripe is being looked at: a read (self-healing), or a scrub in md's check or repair mode. */
export type Purpose = 'read' | 'check' | 'repair';

export type StripeAction =
  /** The data chunks read are right: use them. */
  | { readonly type: 'use' }
  /** One data chunk is bad: read the parity chunk too, then decide again. */
  | { readonly type: 'read-parity' }
  /** Rebuild the bad data chunk from the others and parity, check it, then decide again. */
  | { readonly type: 'reconstruct' }
  /** The rebuilt chunk checked out: use it, and rewrite the bad copy when `repair` (self-healing). */
  | { readonly type: 'use-reconstructed'; readonly repair: boolean }
  /** Data is right but parity is not: recompute parity from the data and rewrite it. */
  | { readonly type: 'rewrite-parity' }
  /** A scrub check found a mismatch: count it, change nothing. */
  | { readonly type: 'report' }
  /** Data cannot be produced: fail the read with a typed error, never return wrong bytes. */
  | { readonly type: 'lost' }
  /** A combination the read path never produces: a bug if it happens. */
  | { readonly type: 'impossible'; readonly why: string };

type Pattern<T extends string> = T | '*';

export interface Raid5Row {
  readonly data: Pattern<DataCondition>;
  readonly parity: Pattern<ParityCondition>;
  readonly agree: Pattern<Agreement>;
  readonly purpose: Pattern<Purpose>;
  readonly action: StripeAction;
}

const use: StripeAction = { type: 'use' };
const lost: StripeAction = { type: 'lost' };
const report: StripeAction = { type: 'report' };
const impossible = (why: string): { readonly type: 'impossible'; readonly why: string } => ({ type: 'impossible', why });

/**
 * The RAID-5 table. Read it top to bottom as "when the stripe looks like this, do that"; rows do not
 * overlap, so order does not matter.
 */
export const RAID5_TABLE: readonly Raid5Row[] = [
  // --- every data chunk verified
  // A read needs nothing else; a scrub compares parity.
  { data: 'all-ok', parity: '*', agree: '*', purpose: 'read', action: use },
  { data: 'all-ok', parity: 'ok', agree: 'agrees', purpose: 'check', action: use },
  { data: 'all-ok', parity: 'ok', agree: 'agrees', purpose: 'repair', action: use },
  { data: 'all-ok', parity: 'ok', agree: 'disagrees', purpose: 'check', action: report },
  { data: 'all-ok', parity: 'ok', agree: 'disagrees', purpose: 'repair', action: { type: 'rewrite-parity' } },
  { data: 'all-ok', parity: 'ok', agree: 'unchecked', purpose: 'check', action: impossible('a scrub compares parity whenever data and parity are both read') },
  { data: 'all-ok', parity: 'ok', agree: 'unchecked', purpose: 'repair', action: impossible('a scrub compares parity whenever data and parity are both read') },
  { data: 'all-ok', parity: 'repairable', agree: '*', purpose: 'check', action: report },
  { data: 'all-ok', parity: 'repairable', agree: '*', purpose: 'repair', action: { type: 'rewrite-parity' } },
  // Parity's member is out: nothing to compare against; the rebuild will write parity.
  { data: 'all-ok', parity: 'absent', agree: '*', purpose: 'check', action: use },
  { data: 'all-ok', parity: 'absent', agree: '*', purpose: 'repair', action: use },
  { data: 'all-ok', parity: 'not-read', agree: '*', purpose: 'check', action: impossible('a scrub reads parity with the data') },
  { data: 'all-ok', parity: 'not-read', agree: '*', purpose: 'repair', action: impossible('a scrub reads parity with the data') },

  // --- one data chunk bad, on a member still in the array (corrupt or unreadable)
  { data: 'one-repairable', parity: 'not-read', agree: 'unchecked', purpose: '*', action: { type: 'read-parity' } },
  { data: 'one-repairable', parity: 'not-read', agree: 'agrees', purpose: '*', action: impossible('no reconstruction without parity') },
  { data: 'one-repairable', parity: 'not-read', agree: 'disagrees', purpose: '*', action: impossible('no reconstruction without parity') },
  { data: 'one-repairable', parity: 'ok', agree: 'unchecked', purpose: '*', action: { type: 'reconstruct' } },
  // Self-healing: a read repairs what it finds, as ZFS does; a scrub check only counts.
  { data: 'one-repairable', parity: 'ok', agree: 'agrees', purpose: 'read', action: { type: 'use-reconstructed', repair: true } },
  { data: 'one-repairable', parity: 'ok', agree: 'agrees', purpose: 'repair', action: { type: 'use-reconstructed', repair: true } },
  { data: 'one-repairable', parity: 'ok', agree: 'agrees', purpose: 'check', action: report },
  // Parity verified, the other chunks verified, yet the result is not the chunk that was written.
  { data: 'one-repairable', parity: 'ok', agree: 'disagrees', purpose: '*', action: lost },
  { data: 'one-repairable', parity: 'repairable', agree: '*', purpose: '*', action: lost },
  { data: 'one-repairable', parity: 'absent', agree: '*', purpose: '*', action: lost },

  // --- one data chunk on a member out of the array (degraded): reconstruct, nothing to rewrite
  { data: 'one-absent', parity: 'not-read', agree: 'unchecked', purpose: '*', action: { type: 'read-parity' } },
  { data: 'one-absent', parity: 'not-read', agree: 'agrees', purpose: '*', action: impossible('no reconstruction without parity') },
  { data: 'one-absent', parity: 'not-read', agree: 'disagrees', purpose: '*', action: impossible('no reconstruction without parity') },
  { data: 'one-absent', parity: 'ok', agree: 'unchecked', purpose: '*', action: { type: 'reconstruct' } },
  { data: 'one-absent', parity: 'ok', agree: 'agrees', purpose: '*', action: { type: 'use-reconstructed', repair: false } },
  { data: 'one-absent', parity: 'ok', agree: 'disagrees', purpose: '*', action: lost },
  { data: 'one-absent', parity: 'repairable', agree: '*', purpose: '*', action: lost },
  { data: 'one-absent', parity: 'absent', agree: '*', purpose: '*', action: impossible('two members out means the volume has failed') },

  // --- two or more data chunks bad: one parity chunk cannot rebuild them
  { data: 'several-bad', parity: '*', agree: '*', purpose: '*', action: lost },
];

export interface Raid5Conditions {
  readonly data: DataCondition;
  readonly parity: ParityCondition;
  readonly agree: Agreement;
  readonly purpose: Purpose;
}

function matches<T extends string>(pattern: Pattern<T>, value: T): boolean {
  return pattern === '*' || pattern === value;
}

/** The rows matching `c`; exactly one for every input (proved by the decision-table test). */
export function raid5Rows(c: Raid5Conditions): Raid5Row[] {
  return RAID5_TABLE.filter(
    (r) => matches(r.data, c.data) && matches(r.parity, c.parity) && matches(r.agree, c.agree) && matches(r.purpose, c.purpose),
  );
}

export function decideRaid5(c: Raid5Conditions): StripeAction {
  const rows = raid5Rows(c);
  assert(rows.length === 1, `RAID-5 decision table: ${rows.length} rows match ${JSON.stringify(c)}`);
  const action = rows[0]!.action;
  if (action.type === 'impossible') unreachable(`RAID-5 decision for ${JSON.stringify(c)}: ${action.why}`);
  return action;
}

/** Reduces the data chunks' health to the table's condition. */
export function dataCondition(health: readonly ChunkHealth[]): DataCondition {
  const bad = health.filter((h) => h !== 'ok');
  if (bad.length === 0) return 'all-ok';
  if (bad.length > 1) return 'several-bad';
  return bad[0] === 'absent' ? 'one-absent' : 'one-repairable';
}

export function parityCondition(health: ChunkHealth | null): ParityCondition {
  if (health === null) return 'not-read';
  switch (health) {
    case 'ok':
      return 'ok';
    case 'corrupt':
    case 'unreadable':
      return 'repairable';
    case 'absent':
      return 'absent';
    default:
      return unreachable(`chunk health ${String(health)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// RAID-1: copies are tried in turn; the first verified copy wins and the bad ones are rewritten.

/** The copies looked at so far, taken together. */
export type CopiesCondition = 'one-ok' | 'none-ok';
export type BadCopies = 'none' | 'some-repairable' | 'only-absent';
export type Untried = 'more' | 'no-more';

export type MirrorAction =
  | { readonly type: 'use' }
  | { readonly type: 'read-next' }
  | { readonly type: 'use-and-repair' }
  | { readonly type: 'report' }
  | { readonly type: 'lost' }
  | { readonly type: 'impossible'; readonly why: string };

export interface Raid1Row {
  readonly copies: Pattern<CopiesCondition>;
  readonly bad: Pattern<BadCopies>;
  readonly untried: Pattern<Untried>;
  readonly purpose: Pattern<Purpose>;
  readonly action: MirrorAction;
}

/**
 * A read stops at the first verified copy (`untried` may be 'more'); a scrub reads every copy
 * (`untried` is 'no-more') so it can count and rewrite every bad one.
 */
export const RAID1_TABLE: readonly Raid1Row[] = [
  { copies: 'one-ok', bad: 'none', untried: '*', purpose: '*', action: { type: 'use' } },
  // Absent copies belong to members out of the array; the rebuild writes them.
  { copies: 'one-ok', bad: 'only-absent', untried: '*', purpose: '*', action: { type: 'use' } },
  { copies: 'one-ok', bad: 'some-repairable', untried: '*', purpose: 'read', action: { type: 'use-and-repair' } },
  { copies: 'one-ok', bad: 'some-repairable', untried: '*', purpose: 'repair', action: { type: 'use-and-repair' } },
  { copies: 'one-ok', bad: 'some-repairable', untried: '*', purpose: 'check', action: { type: 'report' } },
  { copies: 'none-ok', bad: '*', untried: 'more', purpose: '*', action: { type: 'read-next' } },
  { copies: 'none-ok', bad: 'some-repairable', untried: 'no-more', purpose: '*', action: { type: 'lost' } },
  { copies: 'none-ok', bad: 'only-absent', untried: 'no-more', purpose: '*', action: impossible('every member out means the volume has failed') },
  { copies: 'none-ok', bad: 'none', untried: 'no-more', purpose: '*', action: impossible('a copy was read, so it is ok or bad') },
];

export interface Raid1Conditions {
  readonly copies: CopiesCondition;
  readonly bad: BadCopies;
  readonly untried: Untried;
  readonly purpose: Purpose;
}

export function raid1Rows(c: Raid1Conditions): Raid1Row[] {
  return RAID1_TABLE.filter(
    (r) => matches(r.copies, c.copies) && matches(r.bad, c.bad) && matches(r.untried, c.untried) && matches(r.purpose, c.purpose),
  );
}

export function decideRaid1(c: Raid1Conditions): MirrorAction {
  const rows = raid1Rows(c);
  assert(rows.length === 1, `RAID-1 decision table: ${rows.length} rows match ${JSON.stringify(c)}`);
  const action = rows[0]!.action;
  if (action.type === 'impossible') unreachable(`RAID-1 decision for ${JSON.stringify(c)}: ${action.why}`);
  return action;
}

/** Reduces the copies read so far to the table's conditions. */
export function mirrorConditions(health: readonly ChunkHealth[], untried: number, purpose: Purpose): Raid1Conditions {
  const ok = health.some((h) => h === 'ok');
  const repairable = health.some((h) => h === 'corrupt' || h === 'unreadable');
  const absent = health.some((h) => h === 'absent');
  return {
    copies: ok ? 'one-ok' : 'none-ok',
    bad: repairable ? 'some-repairable' : absent ? 'only-absent' : 'none',
    untried: untried > 0 ? 'more' : 'no-more',
    purpose,
  };
}
