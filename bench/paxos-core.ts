/**
 * Core throughput of the Multi-Paxos engine: three engines in one process, no I/O (a Ready is
 * "persisted" by doing nothing), messages delivered by function call. Measures committed entries
 * per second with 1 and 256 concurrent proposers (each waits for its entry to commit before it
 * proposes again), 16-byte payloads. The same harness runs any ConsensusEngine, so engines can be
 * compared side by side in one run.
 *
 *   node dist/bench/paxos-core.js [--seconds 3] [--json] [--engines paxos,stand-in] [--wire]
 *
 * --wire passes every message through encodeMessage/decodeMessage, as a real transport would.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { NodeId } from '../src/core/ids.js';
import { SeededRandom } from '../src/env/random.js';
import type { ConsensusEngine, DurableState, EngineMessage } from '../src/consensus/types.js';
import { PaxosEngine, defaultPaxosConfig } from '../src/paxos/index.js';
import { simpleConfig } from '../src/paxos/membership.js';
import { memberId } from '../src/paxos/test-network.js';
import { StandInEngine } from '../src/sim/stand-in-engine.js';
import { RaftEngine, defaultRaftConfig } from '../src/raft/index.js';
import { DEFAULT_TUNING, engineConfig } from '../src/sim/engines.js';

type Engine = ConsensusEngine<EngineMessage>;
type Factory = (id: NodeId, durable: DurableState, seed: number) => Engine;

const ENGINES: Record<string, Factory> = {
  paxos: (id, durable, seed) => new PaxosEngine(defaultPaxosConfig(id), durable, new SeededRandom(seed)) as unknown as Engine,
  raft: (id, durable, seed) => new RaftEngine(defaultRaftConfig(id), durable, new SeededRandom(seed)) as unknown as Engine,
  // The simulator's deliberately small Raft.
  'stand-in': (id, durable, seed) => new StandInEngine(engineConfig(id, DEFAULT_TUNING), durable, new SeededRandom(seed)) as unknown as Engine,
};

interface Result {
  readonly engine: string;
  readonly proposers: number;
  readonly committed: number;
  readonly seconds: number;
  readonly entriesPerSecond: number;
  readonly messagesPerEntry: number;
}

function run(name: string, factory: Factory, proposers: number, seconds: number, wire: boolean): Result {
  const ids = [memberId(1), memberId(2), memberId(3)];
  const config = simpleConfig(ids);
  const engines = new Map<NodeId, Engine>(ids.map((id, i) => [id, factory(id, { hardState: null, snapshot: null, entries: [], initialConfig: config, repairUntil: null }, 100 + i)]));
  let queue: EngineMessage[] = [];
  let committedOnLeader = 0;
  let messages = 0;
  let leader: NodeId | null = null;

  const pump = (): void => {
    for (let progress = true; progress; ) {
      progress = false;
      for (const [id, e] of engines) {
        while (e.hasReady()) {
          progress = true;
          const rd = e.ready();
          for (const m of rd.sendBeforePersist) queue.push(m);
          for (const m of rd.messages) queue.push(m);
          if (id === leader) committedOnLeader += rd.committed.filter((x) => x.kind === 'normal').length;
          e.advance(rd);
        }
      }
      if (queue.length > 0) {
        progress = true;
        const batch = queue;
        queue = [];
        messages += batch.length;
        for (let m of batch) {
          const to = engines.get(m.to)!;
          if (wire) m = to.decodeMessage(engines.get(m.from)!.encodeMessage(m));
          to.step(m);
        }
      }
    }
  };

  for (let t = 0; t < 1000 && leader === null; t++) {
    for (const e of engines.values()) e.tick();
    pump();
    leader = [...engines.values()].find((e) => e.status().role === 'leader')?.id ?? null;
  }
  if (leader === null) throw new Error(`${name}: no leader elected`);
  const lead = engines.get(leader)!;
  const payload = new Uint8Array(16).fill(7);

  let outstanding = 0;
  const refill = (): void => {
    while (outstanding < proposers) {
      const r = lead.propose(payload);
      if (r.type !== 'accepted') throw new Error(`${name}: proposal ${r.type}`);
      outstanding++;
    }
  };
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let done = 0;
  let ticks = 0;
  messages = 0;
  committedOnLeader = 0;
  while (performance.now() < deadline) {
    refill();
    pump();
    const newly = committedOnLeader - done;
    done = committedOnLeader;
    outstanding -= newly;
    // Time passes: heartbeats carry the commit index to the followers.
    if (++ticks % 64 === 0) for (const e of engines.values()) e.tick();
  }
  const elapsed = (performance.now() - start) / 1000;
  return { engine: name, proposers, committed: done, seconds: elapsed, entriesPerSecond: done / elapsed, messagesPerEntry: messages / Math.max(1, done) };
}

const PROPOSERS = (process.env.BENCH_PROPOSERS ?? '1,256').split(',').map(Number);

function main(): void {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      json: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'paxos,stand-in' },
      wire: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const results: Result[] = [];
  for (const proposers of PROPOSERS) {
    for (const name of values.engines.split(',')) {
      const f = ENGINES[name];
      if (f === undefined) throw new Error(`unknown engine ${name}; one of ${Object.keys(ENGINES).join(', ')}`);
      results.push(run(name, f, proposers, seconds, values.wire));
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ seconds, wire: values.wire, results }, null, 2));
    return;
  }
  console.log(`consensus core: 3 engines in one process, no I/O, ${values.wire ? 'encoded' : 'function-call'} delivery, 16-byte payloads, ${seconds} s per row`);
  console.log('| engine | concurrent proposers | committed entries/s | messages per entry |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) console.log(`| ${r.engine} | ${r.proposers} | ${Math.round(r.entriesPerSecond)} | ${r.messagesPerEntry.toFixed(2)} |`);
}

main();
