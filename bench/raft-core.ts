/**
 * Raft core throughput: three engines in one process, no I/O, messages delivered by function
 * calls, every Ready carried out at once. A proposer proposes again as soon as its previous entry
 * is committed and applied on the leader; entries carry 16-byte payloads. This measures protocol
 * overhead only, the same shape as openraft's benchmarks/minimal (33k/s with one writer, 1.8M/s
 * with 256, in Rust).
 *
 *   node dist/bench/raft-core.js [--seconds 3] [--proposers 1,256] [--json]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { logIndex, nodeIdFromBigInt, term, type NodeId } from '../src/core/ids.js';
import { SeededRandom } from '../src/env/random.js';
import type { ConfigState, Entry, Ready } from '../src/consensus/types.js';
import { defaultRaftConfig } from '../src/raft/config.js';
import type { RaftMessage } from '../src/raft/messages.js';
import { RaftEngine } from '../src/raft/raft-engine.js';

const PAYLOAD = new Uint8Array(16).fill(7);
/** Compact the in-memory logs every this many applied entries (the application's snapshots). */
const COMPACT_EVERY_ENTRIES = 10_000;

interface Result {
  readonly proposers: number;
  readonly seconds: number;
  readonly committed: number;
  readonly perSecond: number;
  readonly readys: number;
  readonly messages: number;
  readonly entriesPerAppend: number;
  readonly heapUsedMiB: number;
  readonly gcCount: number;
  readonly gcMs: number;
}

class Cluster {
  readonly engines: RaftEngine[] = [];
  private readonly byId = new Map<NodeId, RaftEngine>();
  private leader: RaftEngine | null = null;
  committed = 0;
  readys = 0;
  messages = 0;
  appends = 0;
  appendedEntries = 0;
  private lastCompact = 0;

  constructor() {
    const ids = [1n, 2n, 3n].map(nodeIdFromBigInt);
    const initialConfig: ConfigState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    for (const id of ids) {
      const e = new RaftEngine(defaultRaftConfig(id), { hardState: null, snapshot: null, entries: [], initialConfig, repairUntil: null }, new SeededRandom(Number(BigInt('0x' + id))));
      this.engines.push(e);
      this.byId.set(id, e);
    }
  }

  elect(): RaftEngine {
    const first = this.engines[0]!;
    for (let i = 0; i < 1000 && first.status().role !== 'leader'; i++) {
      first.tick();
      this.pump();
    }
    if (first.status().role !== 'leader') throw new Error('no leader');
    this.leader = first;
    return first;
  }

  /** Carries out every Ready until nothing is left to do (the election; not with proposers running). */
  pump(): void {
    while (this.round()) {
      // until quiet
    }
  }

  /** One pass: each engine carries out the Ready it has. Returns whether any had one. */
  round(): boolean {
    let busy = false;
    for (const e of this.engines) {
      if (!e.hasReady()) continue;
      busy = true;
      this.carryOut(e, e.ready());
    }
    return busy;
  }

  private carryOut(e: RaftEngine, rd: Ready<RaftMessage>): void {
    this.readys++;
    this.deliver(rd.sendBeforePersist);
    // Persisting is free here: the in-memory engines are their own storage.
    this.deliver(rd.messages);
    if (rd.committed.length > 0) this.apply(e, rd.committed);
    e.advance(rd);
  }

  private deliver(msgs: readonly RaftMessage[]): void {
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      this.messages++;
      if (m.type === 'append' && m.entries.length > 0) {
        this.appends++;
        this.appendedEntries += m.entries.length;
      }
      this.byId.get(m.to)!.step(m);
    }
  }

  private apply(e: RaftEngine, entries: readonly Entry[]): void {
    const last = entries[entries.length - 1]!;
    if (e === this.leader) {
      for (let i = 0; i < entries.length; i++) {
        if (entries[i]!.kind !== 'normal') continue;
        this.committed++;
        // The proposer whose entry this was proposes again.
        e.propose(PAYLOAD);
      }
      if (last.index - this.lastCompact >= COMPACT_EVERY_ENTRIES) this.compactAll(last.index);
    }
  }

  private compactAll(index: number): void {
    this.lastCompact = index;
    for (const e of this.engines) {
      const s = e.status();
      const at = Math.min(index, s.appliedIndex);
      if (at <= s.firstIndex) continue;
      const t = e.logView().term(at);
      e.compact({ index: logIndex(at), term: term(t), config: s.config, sizeBytes: 0, crc32c: 0 });
    }
  }
}

async function run(proposers: number, seconds: number): Promise<Result> {
  const c = new Cluster();
  const leader = c.elect();
  let gcCount = 0;
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcCount++;
      gcMs += entry.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  for (let i = 0; i < proposers; i++) leader.propose(PAYLOAD);
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let now = start;
  while (now < deadline) {
    // Check the clock every few rounds: reading it is not free.
    for (let i = 0; i < 64; i++) c.round();
    now = performance.now();
  }
  // GC entries reach the observer asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 100));
  obs.disconnect();
  const elapsed = (now - start) / 1000;
  return {
    proposers,
    seconds: elapsed,
    committed: c.committed,
    perSecond: c.committed / elapsed,
    readys: c.readys,
    messages: c.messages,
    entriesPerAppend: c.appends === 0 ? 0 : c.appendedEntries / c.appends,
    heapUsedMiB: process.memoryUsage().heapUsed / (1024 * 1024),
    gcCount,
    gcMs,
  };
}

function parseArgs(argv: readonly string[]): { seconds: number; proposers: number[]; json: boolean } {
  let seconds = 3;
  let proposers = [1, 256];
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') seconds = Number(argv[++i]);
    else if (a === '--proposers') proposers = (argv[++i] ?? '').split(',').map(Number);
    else if (a === '--json') json = true;
    else throw new Error(`unknown argument ${a}; usage: raft-core [--seconds N] [--proposers 1,256] [--json]`);
  }
  if (!(seconds > 0) || proposers.some((p) => !(p >= 1))) throw new Error('--seconds and --proposers must be positive');
  return { seconds, proposers, json };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const OPENRAFT: Readonly<Record<number, string>> = { 1: '33,000', 256: '1,808,000' };

async function main(): Promise<void> {
  const { seconds, proposers, json } = parseArgs(process.argv.slice(2));
  await run(Math.max(...proposers), Math.min(1, seconds)); // warm up the JIT
  const results: Result[] = [];
  for (const p of proposers) results.push(await run(p, seconds));
  if (json) {
    console.log(JSON.stringify({ benchmark: 'raft-core', node: process.version, results }, null, 2));
    return;
  }
  console.log(`Raft core: 3 engines in memory, no I/O, 16-byte entries, ${seconds}s per run (node ${process.version})`);
  console.log('');
  console.log('proposers   committed/s   openraft (Rust)   Readys/s    msgs/s   entries/append   heap MiB   GCs (ms)');
  for (const r of results) {
    console.log(
      [
        String(r.proposers).padStart(9),
        fmt(r.perSecond).padStart(13),
        (OPENRAFT[r.proposers] ?? '-').padStart(17),
        fmt(r.readys / r.seconds).padStart(10),
        fmt(r.messages / r.seconds).padStart(9),
        r.entriesPerAppend.toFixed(1).padStart(16),
        r.heapUsedMiB.toFixed(0).padStart(10),
        `${r.gcCount} (${r.gcMs.toFixed(0)})`.padStart(10),
      ].join(' '),
    );
  }
}

await main();
