/**
 * The simulator with the Multi-Paxos engine (src/paxos): the same fault model and checkers as
 * for Raft. A sweep of fixed seeds must pass every checker; a seed must reproduce its run; and the
 * planted Paxos bug that skips phase-1 recovery must be caught within a bounded number of seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyToJson } from '../check/history.js';
import { describeParams } from './params.js';
import { describeViolation, runSimulation, type SimResult } from './simulation.js';

function explain(r: SimResult): string {
  return [`seed ${r.seed} (paxos${r.plantedBug !== null ? `, ${r.plantedBug}` : ''})`, describeParams(r.params), ...r.violations.map(describeViolation), `reproduce: bulwark sim --seed ${r.seed} --consensus paxos${r.plantedBug !== null ? ` --planted-bug ${r.plantedBug}` : ''}`].join('\n');
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
