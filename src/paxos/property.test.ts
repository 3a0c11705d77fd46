/**
 * Property tests under an adversarial network: messages lost, duplicated and reordered, members
 * crashing and restarting, partitions, snapshots. Two properties must hold at every step:
 * - no two different values are chosen for one slot ("Paxos Made Simple" §2.1, the safety
 *   requirement: "only a single value is chosen"), checked on what the acceptors made durable;
 * - every member's executed sequence is a prefix of the others' (state machine replication,
 *   "Paxos Made Moderately Complex" invariant R1: replicas agree on the command in each slot).
 * After the faults stop, the cluster must make progress again (liveness after healing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runChaos, type Scenario } from './test-chaos.js';

const SEEDS_PER_PROPERTY = Number(process.env.PAXOS_PROPERTY_RUNS ?? 25);

function property(name: string, s: Scenario): void {
  test(name, () => {
    const details = fc.check(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const { violation, executed } = runChaos(seed, s);
        if (violation !== null) throw new Error(`chaos seed ${seed}: ${violation}`);
        // A schedule that decides nothing proves nothing.
        if (executed < 5) throw new Error(`chaos seed ${seed}: only ${executed} slots executed`);
      }),
      { numRuns: SEEDS_PER_PROPERTY },
    );
    if (details.failed) {
      const inner = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      assert.fail(`fast-check seed ${details.seed}, counterexample ${JSON.stringify(details.counterexample)}: ${inner}`);
    }
  });
}

property('safety under loss, duplication and reordering (3 members)', { members: 3, steps: 1500, loss: 0.1, dup: 0.1, crashes: false, snapshots: false });
property('safety with crashes and restarts (5 members)', { members: 5, steps: 1500, loss: 0.05, dup: 0.05, crashes: true, snapshots: false });
property('safety with snapshots and compaction (3 members)', { members: 3, steps: 1500, loss: 0.05, dup: 0.05, crashes: true, snapshots: true });
property('safety with membership changes during the run (3 voters + 2 spares)', { members: 3, steps: 2000, loss: 0.05, dup: 0.05, crashes: true, snapshots: true, spares: 2, reconfigRate: 0.01 });
property('safety with membership changes and flexible quorums |Q2|=2 (4 voters + 2 spares)', { members: 4, steps: 2000, loss: 0.05, dup: 0.05, crashes: true, snapshots: true, spares: 2, reconfigRate: 0.01, config: { phase2QuorumSize: 2 } });
// Members 1447 and 2176 have the same ballot ordinal (CRC-32C of the id mod 2^16 = 36887), so
// their ballots can have equal numbers: acceptors must grant a number to one member only.
property('safety when two members share a ballot ordinal', { members: 3, memberNumbers: [1447, 2176, 3], steps: 1500, loss: 0.05, dup: 0.05, crashes: true, snapshots: false });
property('safety with flexible quorums |Q1|=4, |Q2|=2 (5 members)', { members: 5, steps: 1500, loss: 0.05, dup: 0.05, crashes: false, snapshots: false, config: { phase1QuorumSize: 4, phase2QuorumSize: 2 } });

test('the chaos runner finds nothing on a fixed seed and reports progress', () => {
  const r = runChaos(42, { members: 3, steps: 500, loss: 0, dup: 0, crashes: false, snapshots: false });
  assert.equal(r.violation, null);
  assert.ok(r.executed >= 20, `executed ${r.executed}`);
});

/** Seeds until `bug` shows a violation; fails when none does within `max` seeds. */
function caughtWithin(bug: 'forget-promise-on-restart' | 'skip-phase1-on-takeover', s: Scenario, max: number): number {
  for (let seed = 1; seed <= max; seed++) {
    const { violation } = runChaos(seed, { ...s, config: { ...s.config, plantedBug: bug } });
    if (violation !== null && !violation.startsWith('no progress')) return seed;
  }
  return assert.fail(`${bug} not caught in seeds 1..${max}`);
}

test('planted bug forget-promise-on-restart is caught within 60 seeds of crash-heavy chaos', () => {
  const seed = caughtWithin('forget-promise-on-restart', { members: 3, steps: 1500, loss: 0.05, dup: 0.05, crashes: true, crashRate: 0.05, snapshots: false }, 60);
  console.log(`forget-promise-on-restart caught at seed ${seed}`);
});

test('planted bug skip-phase1-on-takeover is caught within 10 seeds of chaos', () => {
  const seed = caughtWithin('skip-phase1-on-takeover', { members: 3, steps: 1500, loss: 0.05, dup: 0.05, crashes: true, snapshots: false }, 10);
  console.log(`skip-phase1-on-takeover caught at seed ${seed}`);
});
