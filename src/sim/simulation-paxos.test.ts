/**
 * The simulator with the Multi-Paxos engine (src/paxos): the same fault model and checkers as
 * for Raft. A sweep of fixed seeds must pass every checker; a seed must reproduce its run; and the
 * planted Paxos bugs (a leader that skips phase-1 recovery, an acceptor that forgets its promise) must
 * be caught within a bounded number of seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyToJson } from '../check/history.js';
import { describeParams } from './params.js';
import { describeViolation, runSimulation, type SimResult } from './simulation.js';

function explain(r: SimResult): string {
  return [`seed ${r.seed} (paxos${r.plantedBug !== null ? `, ${r.plantedBug}` : ''})`, describeParams(r.params), ...r.violations.map(describeViolation), `reproduce: bulwark sim --seed ${r.seed} --consensus paxos${r.profile !== 'swarm' ? ` --profile ${r.profile}` : ''}${r.plantedBug !== null ? ` --planted-bug ${r.plantedBug}` : ''}`].join('\n');
}

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

test('paxos: seed sweep passes every checker (safety, linearizability, liveness after healing)', { timeout: 300_000 }, async () => {
  for (const seed of range(1, 8)) {
    const r = await runSimulation({ seed, consensus: 'paxos' });
    assert.equal(r.violations.length, 0, explain(r));
    assert.ok(r.stats.opsCompleted > 0 || r.params.clientCount === 0, `seed ${seed}: no operation completed`);
  }
});

test('paxos: a seed reproduces a run exactly', { timeout: 120_000 }, async () => {
  const a = await runSimulation({ seed: 7, consensus: 'paxos' });
  const b = await runSimulation({ seed: 7, consensus: 'paxos' });
  assert.equal(a.traceHash, b.traceHash);
  assert.equal(historyToJson(a.history), historyToJson(b.history));
});

test('paxos planted bug caught: a leader that skips phase-1 recovery makes replicas diverge', { timeout: 300_000 }, async () => {
  for (const seed of range(1, 30)) {
    const r = await runSimulation({ seed, consensus: 'paxos', plantedBug: 'skip-phase1-on-takeover', stopOnViolation: true });
    if (r.violations.some((v) => v.checker === 'state-machine-safety' || v.checker === 'linearizability')) {
      console.log(`caught at seed ${seed}`);
      return;
    }
  }
  assert.fail('skip-phase1-on-takeover not caught in seeds 1..30');
});

// The acceptor that forgets its promise across a restart needs a stale leader still sending
// accepts when the cut heals: the leader-isolation profile aims the nemesis at exactly the leader
// with check-quorum off (docs/paxos.md, planted bugs).
test('paxos planted bug caught: an acceptor that forgets its promise across a restart (leader-isolation profile)', { timeout: 300_000 }, async () => {
  for (const seed of range(1, 20)) {
    const r = await runSimulation({ seed, consensus: 'paxos', plantedBug: 'forget-promise-on-restart', profile: 'leader-isolation', stopOnViolation: true });
    if (r.violations.some((v) => v.checker === 'state-machine-safety' || v.checker === 'linearizability')) {
      console.log(`caught at seed ${seed}`);
      return;
    }
  }
  assert.fail('forget-promise-on-restart not caught in seeds 1..20 of the leader-isolation profile');
});

test('paxos: the leader-isolation profile passes every checker without a planted bug', { timeout: 300_000 }, async () => {
  for (const seed of range(1, 3)) {
    const r = await runSimulation({ seed, consensus: 'paxos', profile: 'leader-isolation' });
    assert.equal(r.violations.length, 0, explain(r));
  }
});

// Flexible Paxos (Howard, Malkhi, Spiegelman 2016): any phase-1 and phase-2 quorums that intersect
// are safe, with the durability checker counting phase-2 quorums instead of majorities.
test('paxos with flexible quorums (5 members: 4 + 2, and 2 + 4) passes every checker', { timeout: 300_000 }, async () => {
  for (const [phase1, phase2] of [[4, 2], [2, 4]] as const) {
    for (const seed of range(1, 2)) {
      const r = await runSimulation({ seed, consensus: 'paxos', paxosQuorums: { phase1, phase2 }, tweak: (p) => ({ ...p, clusterSize: 5, faults: { ...p.faults, downMax: Math.min(p.faults.downMax, 2) } }) });
      assert.equal(r.params.clusterSize, 5);
      assert.equal(r.violations.length, 0, `quorums ${phase1}+${phase2}: ${explain(r)}`);
      assert.ok(r.stats.livenessMs !== null, `quorums ${phase1}+${phase2}, seed ${seed}: no write committed after healing`);
    }
  }
});

test('paxos flexible quorums that do not intersect are refused before the run', async () => {
  await assert.rejects(
    runSimulation({ seed: 1, consensus: 'paxos', paxosQuorums: { phase1: 2, phase2: 3 }, tweak: (p) => ({ ...p, clusterSize: 5 }) }),
    /do not intersect for 5 voters/,
  );
});
