/**
 * The failover client (src/client) inside the simulator, through SimConnector: exactly-once writes
 * across leader crashes and cut client links, a linearizable history, the same run for the same seed,
 * and a planted client bug that the checks catch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runClientSimulation, type ClientSimResult } from './client-simulation.js';

function report(r: ClientSimResult): string {
  return `seed ${r.seed} (${r.consensus}): ${JSON.stringify(r.stats)}\n${r.violations.join('\n')}`;
}

for (const consensus of ['raft', 'paxos'] as const) {
  test(`${consensus}: the failover client in a seeded simulation: exactly-once writes across leader crashes, a linearizable history`, async () => {
    let retried = 0;
    for (const seed of [1, 2, 3]) {
      const r = await runClientSimulation({ seed, consensus });
      assert.deepEqual(r.violations, [], report(r));
      assert.equal(r.linearizabilityUnknown, null, report(r));
      assert.ok(r.stats.leaderCrashes >= 2, `the leader crashed while the clients worked: ${report(r)}`);
      assert.equal(r.stats.opsInvoked, 3 * 40);
      assert.equal(r.stats.opsIndeterminate, 0, `every operation finished despite the crashes: ${report(r)}`);
      assert.equal(r.stats.opsCompleted, r.stats.opsInvoked);
      retried += r.stats.retriedWrites;
    }
    assert.ok(retried > 0, 'some writes reached the log twice and were applied once');
  });
}

test('the same seed gives the same history and trace', async () => {
  const a = await runClientSimulation({ seed: 7, consensus: 'raft' });
  const b = await runClientSimulation({ seed: 7, consensus: 'raft' });
  assert.deepEqual(b.history, a.history);
  assert.equal(b.traceHash, a.traceHash);
  assert.deepEqual(b.stats, a.stats);
  const c = await runClientSimulation({ seed: 8, consensus: 'raft' });
  assert.notEqual(c.traceHash, a.traceHash, 'another seed, another run');
});

test('a planted bug (a fresh sequence number on every attempt) is caught', async () => {
  const caught: string[] = [];
  for (let seed = 1; seed <= 10 && caught.length === 0; seed++) {
    const r = await runClientSimulation({ seed, consensus: 'raft', plantedBug: 'fresh-seq-per-attempt' });
    caught.push(...r.violations);
  }
  assert.ok(caught.some((v) => v.startsWith('exactly-once') || v.startsWith('linearizability')), `caught: ${caught.join('\n')}`);
});
