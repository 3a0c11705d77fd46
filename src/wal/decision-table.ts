/**
 * A decision table: rows of fact patterns, each with one action. Recovery decides by looking a case
 * up here rather than through nested ifs, so the whole policy reads as a table (docs/storage.md
 * prints it) and a test can enumerate every combination of facts and prove that exactly one row
 * matches each: no case falls through, no two rows disagree.
 */
import { AssertionError } from '../core/assert.js';

/** For each fact: one value, a list of values, or absent for "any". */
export type Pattern<F> = { readonly [K in keyof F]?: F[K] | readonly F[K][] };

export interface Row<F, A> {
  /** A short stable name, shown in recovery reports. */
  readonly id: string;
  readonly when: Pattern<F>;
  readonly action: A;
  /** Why this is the right action, in a sentence. */
  readonly why: string;
}

export type Domains<F> = { readonly [K in keyof F]: readonly F[K][] };

export function rowMatches<F>(when: Pattern<F>, facts: F): boolean {
  for (const key of Object.keys(when) as (keyof F)[]) {
    const want = when[key];
    if (want === undefined) continue;
    const have = facts[key];
    if (Array.isArray(want) ? !want.includes(have) : want !== have) return false;
  }
  return true;
}

/** The one row matching `facts`. More or fewer than one is a bug in the table. */
export function decide<F, A>(table: readonly Row<F, A>[], facts: F): Row<F, A> {
  const hits = table.filter((row) => rowMatches(row.when, facts));
  if (hits.length !== 1) {
    throw new AssertionError(`decision table: ${hits.length} rows (${hits.map((r) => r.id).join(', ')}) match ${JSON.stringify(facts)}`);
  }
  return hits[0]!;
}

/** Every combination of the facts' values. */
export function allCombinations<F>(domains: Domains<F>): F[] {
  let out: Record<string, unknown>[] = [{}];
  for (const key of Object.keys(domains) as (keyof F & string)[]) {
    const next: Record<string, unknown>[] = [];
    for (const partial of out) for (const v of domains[key]) next.push({ ...partial, [key]: v });
    out = next;
  }
  return out as F[];
}
