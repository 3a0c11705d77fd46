/**
 * One simulated run: a cluster of real drivers and engines on virtual time, a packet network, a
 * disk with sync semantics, clients recording a history, and a nemesis injecting faults. A safety
 * phase with faults, then a liveness phase: heal everything, restart every member, and within a
 * stated bound a leader must commit a new entry and every member apply it. Checkers run
 * throughout and at the end; the history is checked for linearizability.
 */
import { nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import { SIM_EVENTS_MAX } from '../core/limits.js';
import { nullLogger, type Logger } from '../env/logger.js';
import { SeededRandom, type Random } from '../env/random.js';
import type { ConfigState } from '../consensus/types.js';
import type { History } from '../check/history.js';
import { checkHistory } from '../check/linearizability.js';
import { SafetyCheckers, type Violation } from './checkers.js';
import { SimClient } from './client.js';
import { engineFactory, type ConsensusKind, type PaxosQuorums } from './engines.js';
import { quorumSizes } from '../paxos/index.js';
import { EventLoop } from './event-loop.js';
import { HistoryRecorder } from './history-recorder.js';
import { SimNetwork, type NetworkCounters } from './network.js';
import { SimNode, type NodeObserver } from './node.js';
import { deriveParams, type SimParams } from './params.js';
import { applyProfile, type Profile } from './profiles.js';
import { exponential } from './random-util.js';
import { FaultAtlas } from './fault-atlas.js';
import { SimRaidDevice, addRaidStats, emptyRaidStats, withRaidStorage, type RaidSimStats } from './raid-device.js';

export interface SimOptions {
  readonly seed: number;
  readonly consensus: ConsensusKind;
  readonly plantedBug?: string | null;
  /**
   * Flexible Paxos quorum sizes (consensus 'paxos' only; they must intersect for the run's cluster
   * size, quorumSizes checks). The durability checker then counts phase-2 quorums, and corrupting
   * disk faults stay on fewer nodes than either quorum can spare.
   */
  readonly paxosQuorums?: PaxosQuorums;
  /** A named overlay on the derived parameters (profiles.ts). */
  readonly profile?: Profile;
  /** Every member's write-ahead log and snapshots on a RAID volume of this level (raid-device.ts), over the profile's storage. */
  readonly raid?: 1 | 5;
  /** Adjusts the parameters further (tests). */
  readonly tweak?: (p: SimParams) => SimParams;
  /** Stop at the first violation instead of finishing the run. */
  readonly stopOnViolation?: boolean;
  readonly logger?: Logger;
}

export interface SimStats {
  events: number;
  simulatedMs: number;
  opsInvoked: number;
  opsCompleted: number;
  opsIndeterminate: number;
  committedEntries: number;
  crashes: number;
  restarts: number;
  /** Members that stopped on a fatal error (a failed fsync) and restarted. */
  fatalStops: number;
  partitions: number;
  clogs: number;
  network: NetworkCounters;
  /** Virtual ms from healing until the probe write was acknowledged (null: never). */
  livenessMs: number | null;
  /** Set when the linearizability search gave up (too large); not a violation. */
  linearizabilityUnknown: string | null;
  /** Corrupting disk faults that happened (within the fault atlas), over all members. */
  diskFaults: number;
  /** Member-disk losses, replacements, repairs and rebuilds, when members run on RAID volumes. */
  raid: RaidSimStats | null;
}

export interface SimResult {
  readonly seed: number;
  readonly consensus: ConsensusKind;
  readonly plantedBug: string | null;
  readonly profile: Profile;
  readonly params: SimParams;
  readonly violations: readonly Violation[];
  readonly stats: SimStats;
  readonly traceHash: number;
  readonly history: History;
  /** One line per member at the end. */
  readonly members: readonly string[];
}

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const profiled = applyProfile(options.profile ?? 'swarm', deriveParams(options.seed));
  const stored = options.raid === undefined ? profiled : withRaidStorage(profiled, options.raid, options.seed);
  const params = (options.tweak ?? ((p) => p))(stored);
  return new Simulation(options, params).run();
}

class Simulation {
  private readonly loop = new EventLoop();
  private readonly random: Random;
  private readonly nemesisRandom: Random;
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly checkers: SafetyCheckers;
  private readonly recorder: HistoryRecorder;
  private readonly clients: SimClient[] = [];
  private faultsOn = true;
  private readonly stats: SimStats;
  private readonly atlas: FaultAtlas;

  constructor(
    private readonly options: SimOptions,
    private readonly params: SimParams,
  ) {
    this.random = new SeededRandom(options.seed);
    this.nemesisRandom = this.random.fork();
    const ids: NodeId[] = Array.from({ length: params.clusterSize }, (_, i) => nodeIdFromBigInt(BigInt(i + 1)));
    this.network = new SimNetwork(this.loop, this.random.fork(), params.network, ids);
    const pq = options.paxosQuorums;
    const flexible = pq === undefined ? null : quorumSizes({ ...(pq.phase1 === undefined ? {} : { phase1QuorumSize: pq.phase1 }), ...(pq.phase2 === undefined ? {} : { phase2QuorumSize: pq.phase2 }) }, ids.length);
    // A decision is durable on a phase-2 quorum (a majority unless Flexible Paxos says otherwise).
    this.checkers = new SafetyCheckers(this.loop, this.nodes, flexible === null ? Math.floor(ids.length / 2) + 1 : flexible.phase2);
    this.recorder = new HistoryRecorder(this.loop);
    this.stats = {
      events: 0,
      simulatedMs: 0,
      opsInvoked: 0,
      opsCompleted: 0,
      opsIndeterminate: 0,
      committedEntries: 0,
      crashes: 0,
      restarts: 0,
      fatalStops: 0,
      partitions: 0,
      clogs: 0,
      network: this.network.counters,
      livenessMs: null,
      linearizabilityUnknown: null,
      diskFaults: 0,
      raid: params.storage.raid === undefined || params.storage.kind === 'memory' ? null : emptyRaidStats(),
    };
    const factory = engineFactory(options.consensus, options.paxosQuorums);
    const initialConfig: ConfigState = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    const observer: NodeObserver = {
      onSoftState: (n, s) => this.checkers.onSoftState(n, s),
      onApply: (n, e) => this.checkers.onApply(n, e),
      onFatal: (n, e) => {
        this.checkers.onFatal(n, e);
        this.stats.fatalStops++;
        this.loop.trace(`fatal ${n.id}`);
        this.scheduleRestart(n);
      },
      onInjectedCrash: (n, when) => {
        this.stats.crashes++;
        this.loop.trace(`crash ${when} ${n.id}`);
        this.scheduleRestart(n);
      },
      onLostAcknowledged: (n, what) => this.checkers.report('storage-durability', `${n.id}: ${what}`),
    };
    // Disk faults come from their own stream, so adding them left every other draw of a seed alone.
    // With flexible quorums the atlas's f becomes: an intact copy of every decision survives on the
    // phase-2 quorum that decided it, and undamaged members still form a phase-1 and a phase-2
    // quorum (a member under repair neither promises nor accepts the slots it lost), so a leader can
    // be elected and can decide the slots that repair the rest. For majorities this is f.
    const faultyNodesMax = flexible === null ? undefined : Math.min(flexible.phase2 - 1, ids.length - flexible.phase1, ids.length - flexible.phase2);
    this.atlas = new FaultAtlas({ nodes: ids.length, random: new SeededRandom(BigInt(options.seed) ^ 0xd15c_a71a5n), intensity: params.storage.faultIntensity, ...(faultyNodesMax === undefined ? {} : { faultyNodesMax }) });
    const nodeRandom = this.random.fork();
    for (const id of ids) {
      this.nodes.push(
        new SimNode({
          id,
          loop: this.loop,
          network: this.network,
          factory,
          random: nodeRandom.fork(),
          params: params.node,
          observer,
          initialConfig,
          plantedBug: options.plantedBug ?? null,
          logger: options.logger ?? nullLogger,
          storage: params.storage,
          diskFaults: this.atlas.diskOptions(this.nodes.length),
        }),
      );
    }
    const clientRandom = this.random.fork();
    for (let c = 1; c <= params.clientCount; c++) {
      this.clients.push(new SimClient(c, this.loop, clientRandom.fork(), this.nodes, this.recorder, params.client));
    }
  }

  async run(): Promise<SimResult> {
    try {
      await this.safetyPhase();
      if (!this.stopped()) await this.livenessPhase();
      if (!this.stopped()) this.finalChecks();
    } catch (e) {
      this.checkers.report('crash', `the simulation threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    this.stats.events = this.loop.eventsExecuted;
    this.stats.simulatedMs = this.loop.nowMs;
    this.stats.opsInvoked = this.recorder.size;
    this.stats.opsCompleted = this.recorder.completed;
    this.stats.opsIndeterminate = this.clients.reduce((n, c) => n + c.indeterminate, 0);
    this.stats.committedEntries = this.checkers.highestCommitted;
    const records = this.nodes.map((n) => n.disk?.faultRecords() ?? []);
    this.stats.diskFaults = records.reduce((sum, r) => sum + r.filter((x) => x.corrupting).length, 0);
    for (const problem of this.atlas.audit(records)) this.checkers.report('crash', `the fault atlas was not respected: ${problem}`);
    for (const n of this.nodes) {
      if (!(n.disk instanceof SimRaidDevice)) continue;
      for (const problem of n.disk.audit()) this.checkers.report('storage-durability', problem);
      if (this.stats.raid !== null) addRaidStats(this.stats.raid, n.disk.stats());
    }
    return {
      seed: this.options.seed,
      consensus: this.options.consensus,
      plantedBug: this.options.plantedBug ?? null,
      profile: this.options.profile ?? 'swarm',
      params: this.params,
      violations: this.checkers.violations,
      stats: this.stats,
      traceHash: this.loop.traceHash,
      history: this.recorder.history(),
      members: this.nodes.map((n) => n.describe()),
    };
  }

  private stopped(): boolean {
    return this.options.stopOnViolation === true && this.checkers.violations.length > 0;
  }

  private async runUntil(untilMs: number, stop?: () => boolean): Promise<void> {
    const why = await this.loop.run({
      untilMs,
      eventsMax: SIM_EVENTS_MAX,
      stop: () => this.stopped() || (stop?.() ?? false),
      afterEach: () => this.checkers.afterEvent(),
    });
    if (why === 'events') this.checkers.report('liveness', `event budget of ${SIM_EVENTS_MAX} exhausted at ${this.loop.nowMs} ms (a livelock?)`);
  }

  private async safetyPhase(): Promise<void> {
    for (const n of this.nodes) void n.start();
    for (const c of this.clients) c.start();
    if (Number.isFinite(this.params.faults.actionMsMean)) this.scheduleNemesis();
    this.schedulePeriodicChecks();
    await this.runUntil(this.params.safetyMs);
  }

  private async livenessPhase(): Promise<void> {
    this.faultsOn = false;
    this.network.heal();
    this.network.setParams({ ...this.params.network, lossRate: 0, duplicateRate: 0, reorderRate: 0 });
    for (const n of this.nodes) {
      n.setParams({ ...this.params.node, syncFailRate: 0, crashInSyncRate: 0, crashAfterApplyRate: 0 });
      n.healDisk();
    }
    for (const c of this.clients) c.stop();
    for (const n of this.nodes) {
      if (!n.up) {
        this.stats.restarts++;
        void n.start();
      }
    }
    this.loop.trace('healed');
    const healedAt = this.loop.nowMs;
    const deadline = healedAt + this.params.livenessBoundMs;
    const probe = new SimClient(0, this.loop, this.random.fork(), this.nodes, this.recorder, { ...this.params.client, lossRate: 0 });
    let acked = false;
    let target = 0;
    const tryProbe = (): void => {
      probe.runOne({ type: 'put', key: this.params.client.keys[0]!, value: 'liveness-probe' }, (out) => {
        if (out === null) {
          if (this.loop.nowMs < deadline) tryProbe();
          return;
        }
        acked = true;
        this.stats.livenessMs = Math.round((this.loop.nowMs - healedAt) * 1000) / 1000;
        target = this.checkers.highestCommitted;
      });
    };
    tryProbe();
    const converged = (): boolean => acked && this.nodes.every((n) => (n.stateMachine?.appliedIndex ?? 0) >= target && n.up);
    await this.runUntil(deadline, converged);
    if (this.stopped()) return;
    if (!acked) {
      this.checkers.report('liveness', `no write was committed within ${this.params.livenessBoundMs} ms of healing; members: ${this.nodes.map((n) => n.describe()).join('; ')}`);
    } else if (!converged()) {
      this.checkers.report('liveness', `a write committed ${this.stats.livenessMs} ms after healing, but not every member applied index ${target} within ${this.params.livenessBoundMs} ms; members: ${this.nodes.map((n) => n.describe()).join('; ')}`);
    }
  }

  private finalChecks(): void {
    this.checkers.checkLogMatching();
    this.checkers.checkCommittedDurability();
    this.checkers.checkConvergedState();
    const r = checkHistory(this.recorder.history());
    switch (r.type) {
      case 'ok':
        break;
      case 'violation':
        this.checkers.report('linearizability', r.report);
        break;
      case 'unknown':
        this.stats.linearizabilityUnknown = `key ${r.key}: ${r.reason}`;
        break;
    }
  }

  private schedulePeriodicChecks(): void {
    const every = 100 * this.params.node.tickMs;
    const check = (): void => {
      this.checkers.checkLogMatching();
      this.checkers.checkCommittedDurability();
      if (this.faultsOn) this.loop.schedule(every, 'check', check);
    };
    this.loop.schedule(every, 'check', check);
  }

  private scheduleNemesis(): void {
    const f = this.params.faults;
    this.loop.schedule(exponential(this.nemesisRandom, f.actionMsMean), 'nemesis', () => {
      if (!this.faultsOn) return;
      this.nemesisAct();
      this.scheduleNemesis();
    });
  }

  /**
   * The leader as the members themselves report it (status(): the contract's view); of several
   * that think they lead, the one of the highest term or ballot.
   */
  private currentLeader(): NodeId | null {
    let leader: NodeId | null = null;
    let best = -1;
    for (const n of this.nodes) {
      const s = n.status();
      if (s !== null && s.role === 'leader' && s.term > best) {
        leader = n.id;
        best = s.term;
      }
    }
    return leader;
  }

  private nemesisAct(): void {
    const r = this.nemesisRandom;
    const f = this.params.faults;
    const w = f.weights;
    const actions: [string, number][] = [
      ['partition', f.partitionModes.length > 0 ? w.partition : 0],
      ['heal', w.heal],
      ['crash', w.crash],
      ['restart', w.restart],
      ['clog', w.clog],
    ];
    const total = actions.reduce((s, [, x]) => s + x, 0);
    if (total <= 0) return;
    let pick = r.float() * total;
    let action = 'heal';
    for (const [name, weight] of actions) {
      if ((pick -= weight) < 0) {
        action = name;
        break;
      }
    }
    switch (action) {
      case 'partition': {
        this.network.heal();
        const mode = r.pick(f.partitionModes);
        const leader = mode === 'isolate-leader' ? this.currentLeader() : null;
        const desc = this.network.partition(mode, leader);
        this.stats.partitions++;
        this.loop.trace(desc);
        return;
      }
      case 'heal':
        this.network.heal();
        this.loop.trace('heal');
        return;
      case 'crash': {
        const up = this.nodes.filter((n) => n.up);
        const down = this.nodes.length - up.length;
        if (up.length === 0 || down >= f.downMax) return;
        const victim = r.pick(up);
        victim.crash();
        this.stats.crashes++;
        this.loop.trace(`crash ${victim.id}`);
        this.scheduleRestart(victim);
        return;
      }
      case 'restart': {
        const down = this.nodes.filter((n) => !n.up);
        if (down.length === 0) return;
        const n = r.pick(down);
        this.stats.restarts++;
        this.loop.trace(`restart ${n.id}`);
        void n.start();
        return;
      }
      case 'clog': {
        if (this.nodes.length < 2) return;
        const a = r.pick(this.nodes);
        const b = r.pick(this.nodes.filter((n) => n !== a));
        this.network.clog(a.id, b.id, exponential(r, f.clogMsMean));
        this.stats.clogs++;
        this.loop.trace(`clog ${a.id}>${b.id}`);
        return;
      }
    }
  }

  private scheduleRestart(n: SimNode): void {
    this.loop.schedule(exponential(this.nemesisRandom, this.params.faults.restartDelayMsMean), `restart ${n.id}`, () => {
      if (n.up) return;
      this.stats.restarts++;
      void n.start();
    });
  }
}

export function describeViolation(v: Violation): string {
  return `[${v.checker}] at ${v.atMs} ms: ${v.message}`;
}

