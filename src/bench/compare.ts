/**
 * `--compare`: the same load against two sets of endpoints, alternately (A B A B ...), so that a
 * machine whose speed drifts (other work, thermal limits) slows both sides alike and the ratio
 * holds even when the absolute figures do not.
 */
import { BENCH_COMPARE_ROUNDS_MAX } from '../core/limits.js';
import type { BenchOptions } from './bench-options.js';
import { BenchError } from './errors.js';
import { runBench, type BenchResult, type RunHooks } from './runner.js';

export interface CompareOptions {
  readonly base: Omit<BenchOptions, 'endpoints'>;
  readonly a: readonly string[];
  readonly b: readonly string[];
  readonly rounds: number;
}

export interface CompareResult {
  readonly a: BenchResult[];
  readonly b: BenchResult[];
}

export async function runCompare(o: CompareOptions, hooks: RunHooks & { readonly onRound?: (side: 'A' | 'B', round: number) => void } = {}): Promise<CompareResult> {
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > BENCH_COMPARE_ROUNDS_MAX) {
    throw new BenchError('invalid-options', `rounds must be in [1, ${BENCH_COMPARE_ROUNDS_MAX}], got ${o.rounds}`);
  }
  const out: CompareResult = { a: [], b: [] };
  for (let round = 0; round < o.rounds; round++) {
    for (const side of ['A', 'B'] as const) {
      if (hooks.signal?.aborted === true) return out;
      hooks.onRound?.(side, round);
      // Keys are written once per side; later rounds read what the first wrote.
      const r = await runBench({ ...o.base, endpoints: side === 'A' ? o.a : o.b, preload: o.base.preload && round === 0 }, hooks);
      (side === 'A' ? out.a : out.b).push(r);
    }
  }
  return out;
}
