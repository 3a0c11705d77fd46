/**
 * The simulator over the real storage: members run the write-ahead log and snapshot store on their
 * SimDisks, with disk faults kept within the fault atlas. Every checker must stay quiet, and each of
 * the storage's planted bugs must be caught within a bounded number of seeds.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeParams } from './params.js';
import { describeViolation, runSimulation, type SimResult } from './simulation.js';
import { STORAGE_PLANTED_BUGS } from './wal-storage.js';

const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

function explain(r: SimResult): string {
  return [
    `seed ${r.seed} (profile ${r.profile}${r.plantedBug !== null ? `, ${r.plantedBug}` : ''})`,
    describeParams(r.params),
    ...r.violations.map(describeViolation),
    `reproduce: bulwark sim --seed ${r.seed} --consensus ${r.consensus} --profile ${r.profile}${r.plantedBug !== null ? ` --planted-bug ${r.plantedBug}` : ''}`,
  ].join('\n');
}

test('storage-faults profile: heavy disk faults within the atlas break no checker', { timeout: 300_000 }, async () => {
  let diskFaults = 0;
  let fatalStops = 0;
  for (const seed of range(1, 12)) {
    const r = await runSimulation({ seed, consensus: 'stand-in', profile: 'storage-faults' });
    assert.equal(r.violations.length, 0, explain(r));
    assert.equal(r.params.storage.kind, 'wal');
    diskFaults += r.stats.diskFaults;
    fatalStops += r.stats.fatalStops;
  }
  assert.ok(diskFaults >= 10, `${diskFaults} corrupting disk faults happened`);
  assert.ok(fatalStops >= 5, `${fatalStops} fatal stops (fsync EIO, ENOSPC) restarted members`);
});

// The same profile with the Raft engine Bulwark runs: a handful of seeds keeps CI fast (seeds 1..60
// were clean when this was added: `bulwark sim --seeds 60 --consensus raft --profile storage-faults`).
test('storage-faults profile with the real Raft engine: disk faults within the atlas break no checker', { timeout: 300_000 }, async () => {
  let diskFaults = 0;
  let fatalStops = 0;
  for (const seed of range(1, 8)) {
    const r = await runSimulation({ seed, consensus: 'raft', profile: 'storage-faults' });
    assert.equal(r.violations.length, 0, explain(r));
    assert.equal(r.params.storage.kind, 'wal');
    diskFaults += r.stats.diskFaults;
    fatalStops += r.stats.fatalStops;
  }
  assert.ok(diskFaults >= 5, `${diskFaults} corrupting disk faults happened`);
  assert.ok(fatalStops >= 3, `${fatalStops} fatal stops (fsync EIO, ENOSPC) restarted members`);
});

test('the in-memory stand-in storage still runs', async () => {
  const r = await runSimulation({ seed: 5, consensus: 'stand-in', tweak: (p) => ({ ...p, storage: { ...p.storage, kind: 'memory' } }) });
  assert.equal(r.violations.length, 0, explain(r));
  assert.equal(r.stats.diskFaults, 0);
});

for (const [consensus, bug] of (['stand-in', 'raft'] as const).flatMap((c) => STORAGE_PLANTED_BUGS.map((b) => [c, b] as const))) {
  test(`planted storage bug caught (${consensus}): ${bug} within 20 seeds`, { timeout: 300_000 }, async () => {
    for (const seed of range(1, 20)) {
      const r = await runSimulation({ seed, consensus, profile: 'storage-faults', plantedBug: bug, stopOnViolation: true });
      if (r.violations.some((v) => v.checker === 'storage-durability' || v.checker === 'linearizability' || v.checker === 'committed-durability')) {
        console.log(`caught at seed ${r.seed}: ${describeViolation(r.violations[0]!)}`);
        return;
      }
    }
    assert.fail(`planted bug ${bug} survived seeds 1..20 with ${consensus}`);
  });
}
