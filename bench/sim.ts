/**
 * Simulator benchmark: runs a fixed range of seeds and reports simulated events per second and
 * simulated seconds per wall second; also the bare event loop (empty events with the same
 * macrotask barrier) to show what the barrier costs.
 *
 *   node dist/bench/sim.js [--seeds N] [--from N] [--consensus raft|paxos|stand-in] [--storage wal|memory] [--json]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { EventLoop } from '../src/sim/event-loop.js';
import { runSimulation } from '../src/sim/simulation.js';
import type { ConsensusKind } from '../src/sim/engines.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '20' },
    from: { type: 'string', default: '1' },
    consensus: { type: 'string', default: 'raft' },
    storage: { type: 'string', default: 'wal' },
    json: { type: 'boolean', default: false },
  },
});
const count = Number(values.seeds);
const from = Number(values.from);
const consensus = values.consensus as ConsensusKind;
const storage = values.storage === 'memory' ? 'memory' : 'wal';

async function bareLoop(events: number): Promise<number> {
  const loop = new EventLoop();
  for (let i = 0; i < events; i++) loop.schedule(i * 0.001, 'e', () => {});
  const t0 = performance.now();
  await loop.run({ untilMs: Infinity, eventsMax: events });
  return events / ((performance.now() - t0) / 1000);
}

const bare = await bareLoop(200_000);
let events = 0;
let simulatedMs = 0;
let failed = 0;
const t0 = performance.now();
for (let seed = from; seed < from + count; seed++) {
  const r = await runSimulation({ seed, consensus, tweak: (p) => ({ ...p, storage: { ...p.storage, kind: storage } }) });
  events += r.stats.events;
  simulatedMs += r.stats.simulatedMs;
  if (r.violations.length > 0) failed++;
}
const wallS = (performance.now() - t0) / 1000;
const out = {
  consensus,
  storage,
  seeds: count,
  from,
  failed,
  wallSeconds: Math.round(wallS * 100) / 100,
  events,
  eventsPerSecond: Math.round(events / wallS),
  simulatedSecondsPerWallSecond: Math.round((simulatedMs / 1000 / wallS) * 10) / 10,
  seedsPerSecond: Math.round((count / wallS) * 100) / 100,
  bareLoopEventsPerSecond: Math.round(bare),
};
if (values.json) process.stdout.write(JSON.stringify(out, null, 1) + '\n');
else {
  process.stdout.write(`simulator: ${count} seeds from ${from}, consensus ${consensus}, storage ${storage}, ${failed} failed\n`);
  process.stdout.write(`  ${out.events} events in ${out.wallSeconds} s: ${out.eventsPerSecond} events/s, ${out.simulatedSecondsPerWallSecond} simulated s per wall s, ${out.seedsPerSecond} seeds/s\n`);
  process.stdout.write(`  bare event loop (empty events, same barrier): ${out.bareLoopEventsPerSecond} events/s\n`);
}
