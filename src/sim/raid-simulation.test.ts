/**
 * The simulator with every member on a RAID volume over several SimDisks, one of them faulty:
 * lost (every operation failing) and replaced live, rotting, misdirecting and tearing writes; and
 * crashes that tear every disk of a volume mid-stripe. No checker may fire — no acknowledged write
 * lost, histories linearizable — and the volume must keep every fault away from the write-ahead log
 * (recovery never reports damage; no volume fails or loses a stripe).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeParams } from './params.js';
import { addRaidStats, emptyRaidStats } from './raid-device.js';
import { describeViolation, runSimulation, type SimOptions, type SimResult } from './simulation.js';

function explain(r: SimResult, raid: 1 | 5): string {
  return [
    `seed ${r.seed} (profile ${r.profile}, RAID-${raid})`,
    describeParams(r.params),
    JSON.stringify(r.stats.raid),
    ...r.violations.map(describeViolation),
    `reproduce: bulwark sim --seed ${r.seed} --consensus ${r.consensus} --profile ${r.profile} --storage raid${raid}`,
  ].join('\n');
}

async function sweep(o: Omit<SimOptions, 'seed'>, seeds: readonly number[]): Promise<ReturnType<typeof emptyRaidStats>> {
  const total = emptyRaidStats();
  for (const seed of seeds) {
    const r = await runSimulation({ ...o, seed });
    assert.equal(r.violations.length, 0, explain(r, o.raid ?? 5));
    assert.ok(r.stats.raid !== null, 'the run kept its members on RAID volumes');
    assert.equal(r.params.storage.raid?.level, o.raid);
    addRaidStats(total, r.stats.raid);
  }
  return total;
}

test('RAID-5 members under heavy member-disk faults: no checker fires, and the faults really happened', { timeout: 300_000 }, async () => {
  const s = await sweep({ consensus: 'raft', profile: 'storage-faults', raid: 5 }, [1, 2, 3, 4, 5, 6]);
  assert.ok(s.disksLost >= 5, `${s.disksLost} disks lost`);
  assert.ok(s.disksReplaced >= 5, `${s.disksReplaced} disks replaced`);
  assert.ok(s.rebuilds >= 5, `${s.rebuilds} members rebuilt`);
  assert.ok(s.rotInjected >= 10 && s.diskFaults >= 50, `${s.rotInjected} bit rots injected, ${s.diskFaults} disk faults`);
  assert.ok(s.repairedChunks >= 5, `${s.repairedChunks} chunks repaired`);
  assert.ok(s.reconstructedStripes >= 100, `${s.reconstructedStripes} stripes reconstructed`);
});

test('RAID-1 members under heavy member-disk faults, Multi-Paxos too: no checker fires', { timeout: 300_000 }, async () => {
  const mirrored = await sweep({ consensus: 'raft', profile: 'storage-faults', raid: 1 }, [1, 2, 3]);
  assert.ok(mirrored.disksLost >= 2 && mirrored.repairedChunks >= 2, JSON.stringify(mirrored));
  await sweep({ consensus: 'paxos', profile: 'storage-faults', raid: 5 }, [7, 8]);
});

test('a RAID run is deterministic: the same seed gives the same trace', { timeout: 120_000 }, async () => {
  const a = await runSimulation({ seed: 5, consensus: 'raft', profile: 'storage-faults', raid: 5 });
  const b = await runSimulation({ seed: 5, consensus: 'raft', profile: 'storage-faults', raid: 5 });
  assert.equal(a.traceHash, b.traceHash);
  assert.deepEqual(a.stats.raid, b.stats.raid);
  assert.equal(a.stats.events, b.stats.events);
});
