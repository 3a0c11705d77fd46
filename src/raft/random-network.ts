/**
 * FOR TESTS ONLY: a randomized run of a TestNetwork. Messages are delivered in random order, lost,
 * duplicated; members tick at random, hold Readys half done, crash (losing what was not yet
 * durable) and restart, take snapshots; links are cut and healed. Then everything heals and the
 * cluster must elect a leader and commit. Every choice comes from the seed.
 */
import { assert } from '../core/assert.js';
import { SeededRandom } from '../env/random.js';
import type { RaftConfig } from './config.js';
import type { NodeId } from '../core/ids.js';
import type { ConfigChange, ConfigChangeOp, ConfigState } from '../consensus/types.js';
import { nodeId, TestNetwork } from './test-network.js';

export interface RandomRunOptions {
  readonly seed: number;
  readonly steps: number;
  /** Optional override of the member configuration (planted bugs, timings). */
  readonly configure?: (c: RaftConfig, random: SeededRandom) => RaftConfig;
  /** Probability that a step crashes a member. */
  readonly crashRate?: number;
}

export interface RandomRunResult {
  readonly violations: readonly string[];
  readonly voters: number;
  readonly leaderAtEnd: boolean;
  readonly committedAtEnd: number;
  readonly proposals: number;
  /** The network at the end, for a closer look at a failure. */
  readonly net: TestNetwork;
}

export function randomRun(o: RandomRunOptions): RandomRunResult {
  const rnd = new SeededRandom(o.seed);
  const voters = rnd.intBetween(1, 5);
  const preVote = rnd.chance(0.5);
  const checkQuorum = rnd.chance(0.5);
  const electionTicks = rnd.intBetween(3, 10);
  const net = new TestNetwork({
    voters,
    learners: rnd.chance(0.3) ? 1 : 0,
    seed: o.seed,
    configure: (c) => {
      const base: RaftConfig = {
        ...c,
        preVote,
        checkQuorum,
        electionTicks,
        inflightMessagesMax: rnd.intBetween(1, 8),
        entriesPerMessageMax: rnd.intBetween(1, 4),
        snapshotChunkBytes: rnd.intBetween(16, 256),
      };
      return o.configure === undefined ? base : o.configure(base, rnd);
    },
  });
  // Spare members start with an empty configuration and join through config changes.
  const spares = rnd.intBetween(0, 2);
  const empty: ConfigState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  for (let i = 1; i <= spares; i++) net.addNode(nodeId(voters + 10 + i), empty);
  const ids = net.ids();
  const crashRate = o.crashRate ?? rnd.pick([0, 0.002, 0.01]);
  const lossRate = rnd.pick([0, 0.05, 0.2]);
  const dupRate = rnd.pick([0, 0.05, 0.2]);
  let proposals = 0;
  for (let step = 0; step < o.steps; step++) {
    const r = rnd.float();
    const id = rnd.pick(ids);
    const node = net.node(id);
    if (r < 0.3) {
      if (!node.crashed) {
        node.engine.tick();
        if (rnd.chance(0.3)) net.beginReady(id);
        else net.processReady(id);
      }
    } else if (r < 0.6) {
      deliverRandom(net, rnd, lossRate, dupRate);
    } else if (r < 0.7) {
      net.completeReady(id);
      net.processReady(id);
    } else if (r < 0.8) {
      if (!node.crashed) {
        node.engine.propose(new TextEncoder().encode(`v${proposals++}`));
        net.processReady(id);
      }
    } else if (r < 0.8 + crashRate) {
      net.crash(id);
    } else if (r < 0.85) {
      if (node.crashed) {
        net.restart(id);
        net.processReady(id);
      }
    } else if (r < 0.88) {
      const other = rnd.pick(ids);
      if (other !== id) net.cut(id, other);
    } else if (r < 0.9) {
      net.heal();
    } else if (r < 0.92) {
      if (!node.crashed && node.inFlight === null) net.compact(id);
    } else if (r < 0.94) {
      if (!node.crashed) {
        node.engine.readIndex(step);
        net.processReady(id);
      }
    } else if (r < 0.955) {
      if (!node.crashed) {
        node.engine.proposeConfigChange(randomChange(node.engine.status().config, ids, rnd));
        net.processReady(id);
      }
    } else if (r < 0.96) {
      if (!node.crashed) {
        node.engine.transferLeadership(rnd.pick(ids));
        net.processReady(id);
      }
    } else {
      // Finish everything half done, so Readys do not stay blocked forever.
      for (const x of ids) {
        net.completeReady(x);
        net.processReady(x);
      }
    }
  }
  net.checkLogMatching();
  const live = liveness(net, ids);
  net.checkLogMatching();
  return { violations: net.violations, voters, leaderAtEnd: live.leader, committedAtEnd: live.committed, proposals, net };
}

/** Heals everything and runs until some member leads and commits a fresh entry. */
function liveness(net: TestNetwork, ids: readonly NodeId[]): { leader: boolean; committed: number } {
  net.heal();
  for (const id of ids) {
    if (net.node(id).crashed) net.restart(id);
    net.completeReady(id);
    net.processReady(id);
  }
  for (let round = 0; round < 400; round++) {
    net.tickAll();
    net.deliver();
    const leader = ids.find((id) => net.engine(id).status().role === 'leader');
    if (leader === undefined) continue;
    const r = net.engine(leader).propose(new TextEncoder().encode('final'));
    if (r.type !== 'accepted') continue;
    for (let i = 0; i < 50; i++) {
      net.stabilize();
      net.tickAll();
      const s = net.engine(leader).status();
      if (s.commitIndex >= r.index) return { leader: true, committed: s.commitIndex };
      if (s.role !== 'leader') break;
    }
  }
  return { leader: false, committed: 0 };
}

function deliverRandom(net: TestNetwork, rnd: SeededRandom, lossRate: number, dupRate: number): void {
  if (net.queue.length === 0) return;
  const i = rnd.int(net.queue.length);
  const m = net.queue[i]!;
  if (rnd.chance(lossRate)) {
    net.queue.splice(i, 1);
    return;
  }
  if (!rnd.chance(dupRate)) net.queue.splice(i, 1); // else: duplicated, the copy stays queued
  net.deliverOne(m);
  assert(net.queue.length < 100_000, 'queue bounded');
}

/** A random membership change: often valid, sometimes not (the engine must refuse those). */
function randomChange(c: ConfigState, ids: readonly NodeId[], rnd: SeededRandom): ConfigChange {
  if (c.votersOutgoing.length > 0 && rnd.chance(0.5)) return { ops: [], context: new Uint8Array(0) };
  const op = (): ConfigChangeOp => {
    const node = rnd.pick(ids);
    const type = rnd.pick(['add-voter', 'add-learner', 'remove'] as const);
    return { type, node };
  };
  const ops = rnd.chance(0.3) ? [op(), op()] : [op()];
  return rnd.chance(0.2) ? { ops, joint: true, context: new Uint8Array(0) } : { ops, context: new Uint8Array(0) };
}
