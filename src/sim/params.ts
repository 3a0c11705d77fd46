/**
 * Swarm testing: every parameter of a run is drawn from its seed (cluster size, timings, fault
 * rates, partition modes, crash rate, workload mix, client count, durations), so different seeds
 * explore different corners and one seed reproduces one run. Each run prints its parameters.
 */
import { ELECTION_TICKS_DEFAULT, SIM_CLUSTER_SIZE_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import { SeededRandom, type Random } from '../env/random.js';
import type { ClientParams } from './client.js';
import type { NetworkParams, PartitionMode } from './network.js';
import type { NodeParams } from './node.js';
import { DEFAULT_TUNING, type EngineTuning } from './engines.js';
import { between, shuffle } from './random-util.js';
import type { FaultIntensity } from './fault-atlas.js';

/** Members' durable storage. */
export interface StorageParams {
  /** 'wal': the real write-ahead log and snapshot store over a SimDisk; 'memory': the in-memory stand-in. */
  readonly kind: 'wal' | 'memory';
  /** Segment size of the write-ahead log (small, so segments roll and are compacted often). */
  readonly segmentBytes: number;
  readonly sectorBytes: 512 | 4096;
  /** Disk faults, kept within the fault atlas (src/sim/fault-atlas.ts). */
  readonly faultIntensity: FaultIntensity;
}

export interface FaultParams {
  /** Mean virtual time between fault actions; Infinity: no faults. */
  readonly actionMsMean: number;
  readonly partitionModes: readonly PartitionMode[];
  /** Relative weights of the fault actions. */
  readonly weights: { readonly partition: number; readonly heal: number; readonly crash: number; readonly restart: number; readonly clog: number };
  readonly restartDelayMsMean: number;
  readonly clogMsMean: number;
  /** At most this many members down at once (a majority may go down: safety must hold anyway). */
  readonly downMax: number;
}

export interface SimParams {
  readonly clusterSize: number;
  readonly network: NetworkParams;
  readonly faults: FaultParams;
  readonly node: NodeParams;
  readonly clientCount: number;
  readonly client: ClientParams;
  /** Virtual time of the safety phase (faults on). */
  readonly safetyMs: number;
  /** After healing, a leader must commit a new entry, and every member apply it, within this. */
  readonly livenessBoundMs: number;
  readonly storage: StorageParams;
}

const ALL_MODES: readonly PartitionMode[] = ['halves', 'isolate', 'asymmetric'];
const SIZES: readonly number[] = [1, 2, 3, 3, 3, 4, 5, 5, 6, 7];

export function deriveParams(seed: number): SimParams {
  const r: Random = new SeededRandom(BigInt(seed) ^ 0x5157_5eedn);
  const clusterSize = Math.min(SIM_CLUSTER_SIZE_MAX, r.pick(SIZES));
  const tickMs = r.pick([5, 10, 10, 20, 50]);
  const engine: EngineTuning = {
    heartbeatTicks: r.pick([1, 1, 2]),
    electionTicks: r.pick([ELECTION_TICKS_DEFAULT, ELECTION_TICKS_DEFAULT, 2 * ELECTION_TICKS_DEFAULT]),
    preVote: r.chance(0.8),
    checkQuorum: r.chance(0.8),
    entriesPerMessageMax: r.pick([1, 2, 8, 64, DEFAULT_TUNING.entriesPerMessageMax]),
    inflightMessagesMax: r.pick([1, 4, DEFAULT_TUNING.inflightMessagesMax]),
  };
  const electionMs = tickMs * engine.electionTicks;
  // One-way delays stay well under an election timeout, or no leader could ever hold on.
  const delayMsMin = round(between(r, 0.1, electionMs / 20));
  const delayMsMean = round(between(r, 0.1, electionMs / 8));
  const calm = r.chance(0.1);
  const network: NetworkParams = {
    delayMsMin,
    delayMsMean,
    lossRate: calm ? 0 : round(r.chance(0.3) ? between(r, 0, 0.02) : between(r, 0, 0.15)),
    duplicateRate: calm ? 0 : round(between(r, 0, 0.05)),
    reorderRate: calm ? 0 : round(between(r, 0, 0.1)),
  };
  const modes = shuffle(r, ALL_MODES).slice(0, r.intBetween(1, ALL_MODES.length));
  const faults: FaultParams = {
    actionMsMean: calm ? Infinity : round(between(r, electionMs, electionMs * 8)),
    partitionModes: modes,
    weights: {
      partition: round(between(r, 0, 1)),
      heal: round(between(r, 0.3, 1)),
      crash: round(r.chance(0.2) ? 0 : between(r, 0, 1)),
      restart: round(between(r, 0.3, 1)),
      clog: round(between(r, 0, 0.5)),
    },
    restartDelayMsMean: round(between(r, electionMs, electionMs * 20)),
    clogMsMean: round(between(r, electionMs, electionMs * 10)),
    downMax: r.chance(0.7) ? Math.floor((clusterSize - 1) / 2) : clusterSize,
  };
  const node: NodeParams = {
    tickMs,
    engine,
    diskLatencyMsMin: round(between(r, 0.01, 0.5)),
    diskLatencyMsMean: round(between(r, 0.05, tickMs / 2)),
    syncFailRate: r.chance(0.2) ? round(between(r, 0, 0.002), 5) : 0,
    crashInSyncRate: r.chance(0.3) ? round(between(r, 0, 0.01), 5) : 0,
    crashAfterApplyRate: 0, // drawn at the end (below)
    snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES, // drawn at the end (below)
    snapshotEveryEntries: r.chance(0.3) ? 0 : r.intBetween(10, 200),
  };
  const keyCount = r.intBetween(1, 5);
  const mixWeights = [between(r, 0.1, 1), between(r, 0.1, 1), between(r, 0, 0.3), between(r, 0, 1)].map((x) => round(x));
  const client: ClientParams = {
    keys: Array.from({ length: keyCount }, (_, i) => `k${i}`),
    mix: { get: mixWeights[0]!, put: mixWeights[1]!, delete: mixWeights[2]!, cas: mixWeights[3]! },
    requestTimeoutMs: round(between(r, electionMs, electionMs * 5)),
    thinkMsMean: round(between(r, 0.5, electionMs / 2)),
    delayMsMin: round(between(r, 0.1, 2)),
    delayMsMean: round(between(r, 0.1, electionMs / 10)),
    lossRate: calm ? 0 : round(between(r, 0, 0.03)),
  };
  const clientCount = r.intBetween(1, 8);
  const safetyMs = r.intBetween(40, 150) * electionMs;
  // Drawn last, so the parameters above are what they were before storage joined the swarm.
  const storage: StorageParams = {
    kind: 'wal',
    segmentBytes: r.pick([16 * 1024, 64 * 1024, 1024 * 1024]),
    sectorBytes: r.pick([512, 4096] as const),
    faultIntensity: calm ? 'off' : r.pick(['off', 'light', 'light', 'heavy'] as const),
  };
  // Later additions are drawn after everything else, so existing seeds keep their parameters.
  const crashAfterApplyRate = r.chance(0.2) ? round(between(r, 0, 0.005), 5) : 0;
  const snapshotChunkBytes = r.pick([256, 1024, 4096, SNAPSHOT_CHUNK_BYTES]);
  return {
    clusterSize,
    network,
    faults,
    node: { ...node, crashAfterApplyRate, snapshotChunkBytes },
    clientCount,
    client,
    safetyMs,
    livenessBoundMs: 40 * electionMs,
    storage,
  };
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A few readable lines, printed with every run and every failure. */
export function describeParams(p: SimParams): string {
  const f = p.faults;
  const w = f.weights;
  const e = p.node.engine;
  return [
    `engine: heartbeat ${e.heartbeatTicks} ticks, election ${e.electionTicks} ticks, pre-vote ${e.preVote ? 'on' : 'off'}, check-quorum ${e.checkQuorum ? 'on' : 'off'}, ${e.entriesPerMessageMax} entries per message, ${e.inflightMessagesMax} in flight`,
    `cluster ${p.clusterSize} members, tick ${p.node.tickMs} ms, disk ${p.node.diskLatencyMsMin}+exp(${p.node.diskLatencyMsMean}) ms, fsync failure rate ${p.node.syncFailRate}, crash-in-sync rate ${p.node.crashInSyncRate}, crash-after-apply rate ${p.node.crashAfterApplyRate}, snapshot every ${p.node.snapshotEveryEntries || 'never'} entries in chunks of ${p.node.snapshotChunkBytes} B`,
    `network delay ${p.network.delayMsMin}+exp(${p.network.delayMsMean}) ms, loss ${p.network.lossRate}, duplication ${p.network.duplicateRate}, reordering ${p.network.reorderRate}`,
    f.actionMsMean === Infinity
      ? 'faults: none'
      : `faults every exp(${f.actionMsMean}) ms: partition ${w.partition} (${f.partitionModes.join('/')}), heal ${w.heal}, crash ${w.crash} (at most ${f.downMax} down), restart ${w.restart} (after exp(${f.restartDelayMsMean}) ms), clog ${w.clog} (exp(${f.clogMsMean}) ms)`,
    `${p.clientCount} clients on ${p.client.keys.length} keys, mix get ${p.client.mix.get} put ${p.client.mix.put} delete ${p.client.mix.delete} cas ${p.client.mix.cas}, timeout ${p.client.requestTimeoutMs} ms, client loss ${p.client.lossRate}`,
    p.storage.kind === 'memory'
      ? 'storage: in memory'
      : `storage: write-ahead log, ${p.storage.segmentBytes / 1024} KiB segments, ${p.storage.sectorBytes} B sectors, disk faults ${p.storage.faultIntensity} (within the fault atlas)`,
    `safety phase ${p.safetyMs} ms, liveness bound ${p.livenessBoundMs} ms (virtual)`,
  ].join('\n');
}
