/**
 * Proof that the checks can fail: each planted bug (a test-only switch in an engine) is caught by
 * the simulator within a bounded number of seeds, one bug per checker family.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CheckerName } from './checkers.js';
import type { ConsensusKind } from './engines.js';
import type { SimParams } from './params.js';
import type { Profile } from './profiles.js';
import { runSimulation, type SimOptions, type SimResult } from './simulation.js';

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);
const memoryStorage = (p: SimParams): SimParams => ({ ...p, storage: { ...p.storage, kind: 'memory' } });

/** Runs seeds until one shows a violation of one of `checkers`; fails if none does within the bound. */
async function findViolation(options: Omit<SimOptions, 'seed'>, seeds: readonly number[], checkers: readonly CheckerName[]): Promise<SimResult> {
  for (const seed of seeds) {
    const r = await runSimulation({ stopOnViolation: true, ...options, seed });
    if (r.violations.some((v) => checkers.includes(v.checker))) return r;
  }
  assert.fail(`planted bug ${options.plantedBug} not caught by ${checkers.join('/')} in seeds ${seeds[0]}..${seeds[seeds.length - 1]}`);
}

/**
 * One planted bug per checker family, each with the profile that makes its interleaving likely and
 * a bound on the seeds it may take (runs are deterministic: the bound is a margin over where the
 * bug shows up today, so an engine change that makes it rarer is noticed). Storage is in memory:
 * these bugs are in the engines; the WAL's own faults are tested in storage-simulation.test.ts.
 */
interface PlantedCase {
  readonly consensus: ConsensusKind;
  readonly bug: string;
  readonly profile: Profile;
  readonly checkers: readonly CheckerName[];
  readonly seeds: readonly number[];
  /** Keep running after the first violation, to reach the checker family this bug is for. */
  readonly runOn?: boolean;
}

const PLANTED: readonly PlantedCase[] = [
  // Raft (src/raft), the engine Bulwark runs.
  // A leader answering reads without a heartbeat round serves stale data once it is cut off: linearizability.
  { consensus: 'raft', bug: 'stale-read-without-quorum', profile: 'stale-reads', checkers: ['linearizability'], seeds: range(1, 12) },
  // A vote sent before it is durable, then a crash: the member votes twice in a term: election safety.
  { consensus: 'raft', bug: 'vote-without-persist', profile: 'crash-in-sync', checkers: ['election-safety'], seeds: range(1, 80) },
  // A vote for a candidate missing committed entries: leader completeness.
  { consensus: 'raft', bug: 'skip-up-to-date-check', profile: 'leader-churn', checkers: ['leader-completeness'], seeds: range(1, 10) },
  // Figure 8: an earlier term's entry committed by counting replicas, then overwritten. The first
  // symptom is a leader without it (leader completeness); running on shows the loss itself:
  // members apply different entries at that index (state-machine safety, committed durability).
  { consensus: 'raft', bug: 'commit-earlier-term-by-count', profile: 'figure-8', checkers: ['state-machine-safety', 'committed-durability'], seeds: range(1, 10), runOn: true },
  // A follower that skips §5.3's term check at prevIndex keeps a stale entry under the leader's
  // newer ones: two logs agree on a later entry but differ at an earlier one (log matching). It
  // commits the stale entry too, so state-machine safety fires first; running on reaches the
  // periodic log-matching check.
  { consensus: 'raft', bug: 'skip-prev-term-check', profile: 'figure-8', checkers: ['log-matching'], seeds: range(1, 10), runOn: true },
  // The stand-in engine, so the simulator's checkers are tested against a second implementation.
  { consensus: 'stand-in', bug: 'stale-read-without-quorum', profile: 'stale-reads', checkers: ['linearizability'], seeds: range(1, 12) },
  { consensus: 'stand-in', bug: 'vote-without-persist', profile: 'crash-in-sync', checkers: ['election-safety'], seeds: range(1, 20) },
];

for (const c of PLANTED) {
  test(`planted bug caught (${c.consensus}): ${c.bug} → ${c.checkers.join('/')}`, { timeout: 600_000 }, async () => {
    const r = await findViolation({ consensus: c.consensus, plantedBug: c.bug, profile: c.profile, tweak: memoryStorage, stopOnViolation: c.runOn !== true }, c.seeds, c.checkers);
    console.log(`${c.consensus} ${c.bug}: caught at seed ${r.seed} (${r.violations.map((v) => v.checker).join(', ')})`);
  });
}
