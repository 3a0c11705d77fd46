/**
 * Linearizability checker benchmark: a 10,000-operation history from 10 clients on one key, once
 * linearizable as generated and once with one stale read planted, checked with the WGL search.
 *
 *   node dist/bench/check.js [--ops N] [--clients N] [--seed N] [--json]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { SeededRandom } from '../src/env/random.js';
import { generateHistory, perturbStaleRead } from '../src/check/generate.js';
import { checkHistory, type CheckResult } from '../src/check/linearizability.js';
import type { History } from '../src/check/history.js';

const { values } = parseArgs({
  options: { ops: { type: 'string', default: '10000' }, clients: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' }, json: { type: 'boolean', default: false } },
});
const ops = Number(values.ops);
const clients = Number(values.clients);
const seed = Number(values.seed);

function measure(name: string, run: () => CheckResult): { name: string; result: string; ms: number; steps: number; windowOps: number | null } {
  const t0 = performance.now();
  const r = run();
  const ms = performance.now() - t0;
  return { name, result: r.type, ms: Math.round(ms * 10) / 10, steps: r.steps, windowOps: r.type === 'violation' ? r.window.length : null };
}

function pair(indeterminateRate: number): { good: History; bad: History } {
  const random = new SeededRandom(seed);
  const good = generateHistory({ random, clients, operations: ops, keys: ['k'], indeterminateRate });
  const bad = perturbStaleRead(good, random);
  if (bad === null) throw new Error('no read to perturb; try another --seed');
  return { good, bad };
}
const plain = pair(0);
const open = pair(0.01);
/** Bounds the search where it can blow up, so the benchmark ends; 'unknown' is then the answer. */
const STEPS_MAX = 5_000_000;
// Warm up the JIT on a small history so the figures measure the search, not compilation.
checkHistory(generateHistory({ random: new SeededRandom(99), clients, operations: 500, keys: ['k'], indeterminateRate: 0.01 }));
const rows = [
  measure('linearizable', () => checkHistory(plain.good)),
  measure('one stale read (violation + window)', () => checkHistory(plain.bad)),
  measure('linearizable, 1% without response', () => checkHistory(open.good, { stepsMax: STEPS_MAX })),
  measure('stale read, 1% without response', () => checkHistory(open.bad, { stepsMax: STEPS_MAX })),
];

if (values.json) {
  process.stdout.write(JSON.stringify({ ops, clients, seed, rows }, null, 1) + '\n');
} else {
  process.stdout.write(`linearizability checker: ${ops} operations, ${clients} clients, one key, seed ${seed}\n`);
  for (const r of rows) {
    process.stdout.write(`  ${r.name.padEnd(40)} ${r.result.padEnd(10)} ${String(r.ms).padStart(9)} ms  ${String(r.steps).padStart(9)} steps  ${Math.round((ops / r.ms) * 1000)} ops/s${r.windowOps !== null ? `  window of ${r.windowOps} ops` : ''}\n`);
  }
}
