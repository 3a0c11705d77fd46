/**
 * Randomized safety: message loss, duplication and reordering, crashes that lose undurable state,
 * partitions, snapshots, over many steps, must keep election safety (§5.2), log matching (§5.3),
 * leader completeness (§5.4) and state-machine safety; after healing, the cluster must elect a
 * leader and commit (liveness). fast-check prints the seed of a failing run.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { randomRun } from './random-network.js';

test('random faults keep election safety, log matching, leader completeness, state-machine safety; healing restores liveness', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
      const r = randomRun({ seed, steps: 3000 });
      assert.deepEqual(r.violations, [], `seed ${seed}`);
      assert.ok(r.leaderAtEnd, `seed ${seed}: no leader committed after healing (${r.voters} voters)`);
    }),
    { numRuns: 100 },
  );
});
