/**
 * The storage fault atlas: which disk faults each node of a simulated cluster may suffer, chosen so
 * that the cluster can always survive them. A safety violation the simulator finds under the atlas
 * is then a real bug, not an impossible demand (after TigerBeetle's StorageFaultAtlas).
 *
 * The rules, for a cluster of n voters tolerating f = floor((n - 1) / 2) failures:
 *
 * 1. Corrupting faults (bit flips, bit rot, latent sector errors, misdirected writes, torn writes
 *    whose sectors land out of order) touch at most f nodes for the whole run. So no entry and no
 *    region is ever damaged on a majority: a majority always holds an intact copy of everything
 *    committed, and a damaged node is repaired from it (Protocol-Aware Recovery).
 * 2. On a faulty node, at most one random corrupting fault happens between two crashes. Recovery
 *    detects any single fault (a batch's summary sits at both of its ends and its commit frame in
 *    two sectors), but two faults on the two copies of one record are beyond what a lone replica
 *    can tell from a crash.
 * 3. Corrupting faults touch only the zones chosen for the node: the log, the snapshots, or both.
 *    The data directory's meta file is never corrupted: it has one copy by design, and a member
 *    whose meta is damaged refuses to start, which is correct but is an operator's problem.
 * 4. Faults that only stop a node (fsync EIO, which is fatal and restarts it; ENOSPC) and crashes
 *    with torn tails may hit any node: recovering from them needs no peer.
 */
import { assert } from '../core/assert.js';
import type { Random } from '../env/random.js';
import { NO_DISK_FAULTS, type FaultRecord, type SimDiskFaultRates, type SimDiskOptions } from './disk.js';

export type StorageZone = 'wal' | 'snapshot' | 'meta' | 'other';

/** Which zone of a data directory a path belongs to. */
export function zoneOf(path: string): StorageZone {
  const p = path.replace(/^\.?\/+/, '');
  if (p === 'wal' || p.startsWith('wal/')) return 'wal';
  if (p === 'snap' || p.startsWith('snap/')) return 'snapshot';
  if (p === 'meta' || p.startsWith('meta.')) return 'meta';
  return 'other';
}

/** 'light': up to f nodes get rare corrupting faults; 'heavy': exactly f nodes get frequent ones. */
export type FaultIntensity = 'off' | 'light' | 'heavy';

/** Per-operation probabilities at each intensity. Corrupting ones apply only to faulty nodes. */
const RATES: Readonly<Record<FaultIntensity, SimDiskFaultRates>> = {
  off: NO_DISK_FAULTS,
  light: {
    readBitFlipProbability: 0.001,
    latentSectorErrorProbability: 0.001,
    misdirectedWriteProbability: 0.0005,
    tornWriteReorderProbability: 0.1,
    fsyncErrorProbability: 0.0005,
    enospcProbability: 0.0005,
  },
  heavy: {
    readBitFlipProbability: 0.01,
    latentSectorErrorProbability: 0.01,
    misdirectedWriteProbability: 0.005,
    tornWriteReorderProbability: 0.5,
    fsyncErrorProbability: 0.003,
    enospcProbability: 0.003,
  },
};

export interface FaultAtlasOptions {
  /** Voters in the cluster. */
  readonly nodes: number;
  readonly random: Random;
  readonly intensity?: FaultIntensity;
  /** At most this many nodes get corrupting faults; never more than f. Default f. */
  readonly faultyNodesMax?: number;
}

export interface DiskFaultPlan {
  readonly node: number;
  /** Whether this node's disk may damage stored data. */
  readonly corrupting: boolean;
  /** Zones corrupting faults may touch on this node (empty when not corrupting). */
  readonly zones: readonly StorageZone[];
  readonly rates: SimDiskFaultRates;
}

export class FaultAtlas {
  readonly nodes: number;
  /** f: failures the cluster tolerates. */
  readonly faultTolerance: number;
  readonly plans: readonly DiskFaultPlan[];

  constructor(options: FaultAtlasOptions) {
    assert(Number.isSafeInteger(options.nodes) && options.nodes >= 1, 'an atlas needs at least one node');
    this.nodes = options.nodes;
    this.faultTolerance = Math.floor((options.nodes - 1) / 2);
    const intensity = options.intensity ?? 'light';
    const faultyMax = Math.min(options.faultyNodesMax ?? this.faultTolerance, this.faultTolerance);
    assert(faultyMax >= 0, 'faultyNodesMax is not negative');
    const rnd = options.random;
    // Choose the faulty nodes: a uniform random subset of up to f nodes ('light'), or of f ('heavy').
    const count = intensity === 'off' ? 0 : intensity === 'heavy' ? faultyMax : rnd.intBetween(0, faultyMax);
    const order = Array.from({ length: this.nodes }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rnd.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const faulty = new Set(order.slice(0, count));
    const rates = RATES[intensity];
    this.plans = order
      .slice()
      .sort((a, b) => a - b)
      .map((node): DiskFaultPlan => {
        const benign: SimDiskFaultRates = { ...NO_DISK_FAULTS, fsyncErrorProbability: rates.fsyncErrorProbability, enospcProbability: rates.enospcProbability };
        if (!faulty.has(node)) return { node, corrupting: false, zones: [], rates: benign };
        const zones = rnd.pick<readonly StorageZone[]>([['wal'], ['snapshot'], ['wal', 'snapshot']]);
        return { node, corrupting: true, zones, rates };
      });
  }

  get faultyNodes(): readonly number[] {
    return this.plans.filter((p) => p.corrupting).map((p) => p.node);
  }

  /** The SimDisk options that carry out node `node`'s plan. */
  diskOptions(node: number): Pick<SimDiskOptions, 'faults' | 'corruptible' | 'corruptingFaultsPerLifeMax'> {
    const plan = this.plans[node];
    assert(plan !== undefined, `no node ${node} in the atlas`);
    const zones = new Set(plan.zones);
    return { faults: plan.rates, corruptible: (path) => zones.has(zoneOf(path)), corruptingFaultsPerLifeMax: 1 };
  }

  /**
   * Checks what the disks did against the atlas; returns the violations (empty when it held).
   * `records[node]` is that node's SimDisk.faultRecords().
   */
  audit(records: readonly (readonly FaultRecord[])[]): string[] {
    const problems: string[] = [];
    const damaged = new Set<number>();
    records.forEach((list, node) => {
      const plan = this.plans[node];
      let sinceCrash = 0;
      for (const r of list) {
        if (r.type === 'crash') sinceCrash = 0;
        if (!r.corrupting) continue;
        damaged.add(node);
        if (!r.injected && ++sinceCrash > 1) problems.push(`node ${node}: a second random corrupting fault (${r.type} on ${r.path}) before a crash`);
        if (plan === undefined || !plan.corrupting) problems.push(`node ${node}: ${r.type} on ${r.path}, but the node is not allowed corrupting faults`);
        else if (!plan.zones.includes(zoneOf(r.path))) problems.push(`node ${node}: ${r.type} on ${r.path} outside its zones ${plan.zones.join(', ')}`);
      }
    });
    if (damaged.size > this.faultTolerance) problems.push(`${damaged.size} nodes suffered corrupting faults, more than f = ${this.faultTolerance}`);
    return problems;
  }

  /** One line per node, for the simulator's printed setup. */
  describe(): string {
    return this.plans
      .map((p) => `node ${p.node}: ${p.corrupting ? `corrupting faults in ${p.zones.join(' and ')}` : 'crash, fsync and ENOSPC faults only'}`)
      .join('\n');
  }
}
