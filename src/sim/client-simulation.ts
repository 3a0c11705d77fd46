/**
 * The failover client (src/client, unchanged) inside a seeded simulation: a 3-member cluster of
 * real consensus engines on virtual time, several clients making single-key reads, puts, deletes
 * and compare-and-sets with exactly-once sessions through a SimConnector, while a nemesis crashes
 * the leader again and again (and restarts it) and now and then cuts the clients off a member.
 *
 * Checked: the history is linearizable (src/check); no write was proposed under two sessions'
 * sequence numbers (a retry that took a new seq could apply twice, which the session table could
 * not catch); the consensus checkers (log matching, committed durability) hold. Everything comes
 * from the seed: the same seed gives the same history and the same trace hash.
 */
import { DecodeError } from '../core/errors.js';
import { nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import { CLIENT_SIM_CALL_TIMEOUT_MS, CLIENT_SIM_RUN_MS_MAX, SIM_EVENTS_MAX } from '../core/limits.js';
import { nullLogger } from '../env/logger.js';
import { SeededRandom, type Random } from '../env/random.js';
import type { ConfigState, Entry } from '../consensus/types.js';
import type { History, KvInput, KvOutput } from '../check/history.js';
import { checkHistory } from '../check/linearizability.js';
import { BulwarkClient } from '../client/client.js';
import { isClientError } from '../client/errors.js';
import { Compare, Op } from '../client/txn.js';
import { SafetyCheckers, type Violation } from './checkers.js';
import { SimConnector, type ClientLinkParams, type ConnectorPlantedBug } from './client-connector.js';
import { DEFAULT_TUNING, engineFactory, type ConsensusKind } from './engines.js';
import { EventLoop } from './event-loop.js';
import { HistoryRecorder } from './history-recorder.js';
import { decodeCommand } from './kv-state-machine.js';
import { SimNetwork, type NetworkParams } from './network.js';
import { SimNode, type NodeObserver, type NodeParams } from './node.js';
import { exponential } from './random-util.js';
import { SimClock } from './sim-clock.js';

export interface ClientSimOptions {
  readonly seed: number;
  readonly consensus: ConsensusKind;
  /** Failover clients working at once (default 3). */
  readonly clients?: number;
  /** Operations per client (default 40). */
  readonly opsPerClient?: number;
  /** Leader crashes the nemesis makes (default 4). */
  readonly leaderCrashes?: number;
  /** A bug planted in the connector, to show the checks catch it (client-connector.ts). */
  readonly plantedBug?: ConnectorPlantedBug;
}

export interface ClientSimStats {
  readonly opsInvoked: number;
  readonly opsCompleted: number;
  /** Operations that ended in a client error: they may or may not have happened. */
  readonly opsIndeterminate: number;
  readonly leaderCrashes: number;
  readonly linkCuts: number;
  /** Requests and replies lost on the client links. */
  readonly lostOnLinks: number;
  /** Log entries that carried a client write (retries included). */
  readonly writeEntries: number;
  /** Writes (client id, seq) that reached the log more than once: retries the session table deduplicated. */
  readonly retriedWrites: number;
  readonly calls: Readonly<Record<string, number>>;
  readonly simulatedMs: number;
  readonly events: number;
}

export interface ClientSimResult {
  readonly seed: number;
  readonly consensus: ConsensusKind;
  readonly history: History;
  readonly traceHash: number;
  readonly stats: ClientSimStats;
  /** Consensus checkers, the exactly-once audit and linearizability; empty when all held. */
  readonly violations: readonly string[];
  /** Set when the linearizability search gave up (too large); not a violation. */
  readonly linearizabilityUnknown: string | null;
}

const CLUSTER_SIZE = 3;
const TICK_MS = 10;
const KEYS = ['k0', 'k1', 'k2'] as const;

export async function runClientSimulation(o: ClientSimOptions): Promise<ClientSimResult> {
  const random: Random = new SeededRandom(o.seed);
  const loop = new EventLoop();
  const ids: NodeId[] = Array.from({ length: CLUSTER_SIZE }, (_, i) => nodeIdFromBigInt(BigInt(i + 1)));
  const p = drawParams(random.fork());
  const network = new SimNetwork(loop, random.fork(), p.network, ids);
  const nodes: SimNode[] = [];
  const checkers = new SafetyCheckers(loop, nodes, Math.floor(CLUSTER_SIZE / 2) + 1);
  const violations: string[] = [];

  // The exactly-once audit: every value the workload writes is unique, so one value proposed
  // under two (client id, seq) pairs means a retry went out as a new write.
  const seenIndexes = new Set<number>();
  const proposedAs = new Map<string, string>();
  let writeEntries = 0;
  const entriesOf = new Map<string, number>();
  const audit = (e: Entry): void => {
    if (e.kind !== 'normal' || e.data.length === 0 || seenIndexes.has(e.index)) return;
    seenIndexes.add(e.index);
    let cmd;
    try {
      cmd = decodeCommand(e.data);
    } catch (err) {
      if (err instanceof DecodeError) return;
      throw err;
    }
    writeEntries++;
    const as = `${cmd.clientId}/${cmd.seq}`;
    entriesOf.set(as, (entriesOf.get(as) ?? 0) + 1);
    if (cmd.input.type === 'delete') return;
    const before = proposedAs.get(cmd.input.value);
    if (before === undefined) proposedAs.set(cmd.input.value, as);
    else if (before !== as) violations.push(`exactly-once: value ${cmd.input.value} was written as ${before} and again as ${as}`);
  };
  const observer: NodeObserver = {
    onSoftState: (n, s) => checkers.onSoftState(n, s),
    onApply: (n, e) => {
      checkers.onApply(n, e);
      audit(e);
    },
    onFatal: (n, e) => checkers.onFatal(n, e),
    onInjectedCrash: () => {},
    onLostAcknowledged: (n, what) => checkers.report('storage-durability', `${n.id}: ${what}`),
  };
  const initialConfig: ConfigState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const factory = engineFactory(o.consensus);
  const nodeRandom = random.fork();
  for (const id of ids) {
    nodes.push(
      new SimNode({ id, loop, network, factory, random: nodeRandom.fork(), params: p.node, observer, initialConfig, plantedBug: null, logger: nullLogger, storage: { kind: 'memory', segmentBytes: 64 * 1024, sectorBytes: 4096, faultIntensity: 'off' } }),
    );
  }
  const connector = new SimConnector({ loop, random: random.fork(), nodes, link: p.link, plantedBug: o.plantedBug ?? null });
  const recorder = new HistoryRecorder(loop);

  // The workload: each client one operation at a time, with a little think time.
  const clientCount = o.clients ?? 3;
  const opsPerClient = o.opsPerClient ?? 40;
  let indeterminate = 0;
  let finished = 0;
  const clientRandom = random.fork();
  const workers = Array.from({ length: clientCount }, (_, c) => {
    const r = clientRandom.fork();
    const clock = new SimClock(loop, `client ${c + 1}`);
    const client = new BulwarkClient({
      endpoints: connector.endpoints,
      connector,
      clock,
      random: r.fork(),
      exactlyOnce: 'require',
      callTimeoutMs: CLIENT_SIM_CALL_TIMEOUT_MS,
      attemptTimeoutMs: 20 * TICK_MS * DEFAULT_TUNING.electionTicks,
      // Leader crashes come far more often here than in life: let retries through.
      retryBudget: { percent: 100, minPerSecond: 100 },
    });
    return (async () => {
      const lastSeen = new Map<string, string | null>();
      for (let i = 0; i < opsPerClient; i++) {
        await clock.sleep(exponential(r, 20));
        const input = pickInput(r, lastSeen, `c${c + 1}-${i}`);
        const opId = recorder.invoke(c + 1, input);
        try {
          const output = await perform(client, input);
          recorder.complete(opId, output);
          loop.trace(`client ${c + 1} op ${i} ${JSON.stringify(output)}`);
          if (output.type === 'get') lastSeen.set(input.key, output.value);
          else if (input.type === 'put' || (input.type === 'cas' && output.type === 'cas' && output.ok)) lastSeen.set(input.key, input.value);
          else if (input.type === 'delete') lastSeen.set(input.key, null);
        } catch (e) {
          if (!isClientError(e)) throw e;
          // Left open in the history: it may or may not have happened.
          indeterminate++;
          loop.trace(`client ${c + 1} op ${i} failed ${e.code}`);
        }
      }
      await client.close();
    })().finally(() => finished++);
  });
  const done = Promise.allSettled(workers);

  // The nemesis: crash whoever leads, restart it a little later; now and then cut the clients off a member.
  const nemesisRandom = random.fork();
  let crashes = 0;
  let cuts = 0;
  const crashesWanted = o.leaderCrashes ?? 4;
  const nemesis = (): void => {
    if (finished === clientCount || crashes >= crashesWanted) return;
    const leader = nodes.find((n) => n.status()?.role === 'leader');
    if (leader !== undefined && nodes.every((n) => n.up)) {
      leader.crash();
      crashes++;
      loop.trace(`nemesis crash ${leader.id}`);
      loop.schedule(50 + exponential(nemesisRandom, 200), `restart ${leader.id}`, () => void leader.start());
    }
    if (nemesisRandom.chance(0.3)) {
      const victim = nemesisRandom.pick(nodes);
      connector.setCut(victim.id, true);
      cuts++;
      loop.trace(`nemesis cut clients from ${victim.id}`);
      loop.schedule(exponential(nemesisRandom, 300), `uncut ${victim.id}`, () => connector.setCut(victim.id, false));
    }
    loop.schedule(100 + exponential(nemesisRandom, p.crashEveryMsMean), 'nemesis', nemesis);
  };
  loop.schedule(exponential(nemesisRandom, p.crashEveryMsMean), 'nemesis', nemesis);

  for (const n of nodes) void n.start();
  const why = await loop.run({ untilMs: CLIENT_SIM_RUN_MS_MAX, eventsMax: SIM_EVENTS_MAX, stop: () => finished === clientCount, afterEach: () => checkers.afterEvent() });
  if (why !== 'stopped') violations.push(`liveness: the clients did not finish (${why} at ${loop.nowMs} ms; ${recorder.completed} of ${recorder.size} operations completed)`);
  for (const w of await done) if (w.status === 'rejected') violations.push(`crash: a client worker threw: ${String(w.reason)}`);

  checkers.checkLogMatching();
  checkers.checkCommittedDurability();
  for (const v of checkers.violations) violations.push(describe(v));
  const history = recorder.history();
  let linearizabilityUnknown: string | null = null;
  const r = checkHistory(history);
  switch (r.type) {
    case 'ok':
      break;
    case 'violation':
      violations.push(`linearizability: ${r.report}`);
      break;
    case 'unknown':
      linearizabilityUnknown = `key ${r.key}: ${r.reason}`;
      break;
  }
  return {
    seed: o.seed,
    consensus: o.consensus,
    history,
    traceHash: loop.traceHash,
    stats: {
      opsInvoked: recorder.size,
      opsCompleted: recorder.completed,
      opsIndeterminate: indeterminate,
      leaderCrashes: crashes,
      linkCuts: cuts,
      lostOnLinks: connector.lost,
      writeEntries,
      retriedWrites: [...entriesOf.values()].filter((n) => n > 1).length,
      calls: Object.fromEntries([...connector.calls].sort(([a], [b]) => (a < b ? -1 : 1))),
      simulatedMs: loop.nowMs,
      events: loop.eventsExecuted,
    },
    violations,
    linearizabilityUnknown,
  };
}

function describe(v: Violation): string {
  return `${v.checker} at ${v.atMs} ms: ${v.message}`;
}

/** The seed's network, disk and nemesis timing (the cluster shape is fixed: 3 members, default engine tuning). */
function drawParams(r: Random): { network: NetworkParams; link: ClientLinkParams; node: NodeParams; crashEveryMsMean: number } {
  const electionMs = TICK_MS * DEFAULT_TUNING.electionTicks;
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return {
    network: { delayMsMin: round(0.1 + r.float()), delayMsMean: round(0.5 + 2 * r.float()), lossRate: round(0.02 * r.float()), duplicateRate: round(0.01 * r.float()), reorderRate: round(0.02 * r.float()) },
    link: { delayMsMin: round(0.1 + r.float()), delayMsMean: round(0.5 + 2 * r.float()), lossRate: round(0.03 * r.float()) },
    node: {
      tickMs: TICK_MS,
      engine: DEFAULT_TUNING,
      diskLatencyMsMin: 0.05,
      diskLatencyMsMean: round(0.1 + r.float()),
      syncFailRate: 0,
      crashInSyncRate: 0,
      crashAfterApplyRate: 0,
      snapshotEveryEntries: r.intBetween(20, 60),
      snapshotChunkBytes: 1024,
    },
    crashEveryMsMean: round(electionMs * (2 + 3 * r.float())),
  };
}

function pickInput(r: Random, lastSeen: ReadonlyMap<string, string | null>, value: string): KvInput {
  const key = r.pick(KEYS);
  const x = r.float();
  if (x < 0.35) return { type: 'get', key };
  if (x < 0.7) return { type: 'put', key, value };
  if (x < 0.8) return { type: 'delete', key };
  const seen = lastSeen.get(key);
  return { type: 'cas', key, expected: seen === undefined ? null : seen, value };
}

async function perform(client: BulwarkClient, input: KvInput): Promise<KvOutput> {
  switch (input.type) {
    case 'get':
      return { type: 'get', value: (await client.getString(input.key)) ?? null };
    case 'put':
      await client.put(input.key, input.value);
      return { type: 'put' };
    case 'delete':
      return { type: 'delete', deleted: (await client.delete(input.key)).deleted > 0 };
    case 'cas': {
      const guard = input.expected === null ? Compare.createRevision(input.key, '=', 0) : Compare.value(input.key, '=', input.expected);
      const t = await client.txn().if(guard).then(Op.put(input.key, input.value)).commit();
      return { type: 'cas', ok: t.succeeded };
    }
  }
}
