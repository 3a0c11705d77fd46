/**
 * A random fault schedule over the in-memory network, for the property tests and the planted-bug
 * tests: messages lost, duplicated and reordered, members crashing and restarting, partitions,
 * snapshots; then healing and a liveness check. Everything derives from the seed.
 */
import { utf8 } from '../core/bytes.js';
import { SeededRandom } from '../env/random.js';
import type { PaxosConfig } from './config.js';
import { simpleConfig } from './membership.js';
import { PaxosTestNetwork, memberId } from './test-network.js';

export interface Scenario {
  readonly members: number;
  readonly steps: number;
  readonly loss: number;
  readonly dup: number;
  readonly crashes: boolean;
  readonly snapshots: boolean;
  /** Share of steps that crash or restart a member when `crashes` (default 0.03). */
  readonly crashRate?: number;
  /** Share of steps that cut a random link (default 0.01); as many heal every link. */
  readonly partitionRate?: number;
  readonly config?: Partial<Omit<PaxosConfig, 'id'>>;
  /**
   * Spare members (not in the initial configuration) and membership changes during the run: the
   * leader adds, promotes, demotes and removes members at random. The "one value per slot" check
   * then uses the executed logs only, since quorums change from slot to slot.
   */
  readonly spares?: number;
  /** Voter id numbers instead of 1..members. */
  readonly memberNumbers?: readonly number[];
  readonly reconfigRate?: number;
}

export interface ChaosResult {
  /** The first violation found, or null. */
  readonly violation: string | null;
  /** Slots the most advanced member executed (to tell a run that decided nothing). */
  readonly executed: number;
}

/** Runs a random schedule; returns the first violation found (or null) and how far it got. */
export function runChaos(seed: number, s: Scenario, configFor?: (id: string) => Partial<Omit<PaxosConfig, 'id'>>, debug?: (net: PaxosTestNetwork) => void): ChaosResult {
  const crashRate = s.crashes ? (s.crashRate ?? 0.03) : 0;
  const partitionRate = s.partitionRate ?? 0.01;
  const net = new PaxosTestNetwork({
    members: s.members,
    seed,
    ...(s.memberNumbers ? { memberNumbers: s.memberNumbers } : {}),
    ...(s.config ? { config: s.config } : {}),
    ...(configFor ? { configFor } : {}),
  });
  for (let i = 0; i < (s.spares ?? 0); i++) net.addMember(memberId(100_000 + i), simpleConfig([]));
  const total = net.ids.length;
  const reconfigRate = s.reconfigRate ?? 0;
  const rnd = new SeededRandom(seed * 7919 + 1);
  let proposals = 0;
  const check = (): string | null => (reconfigRate > 0 ? null : net.chosenConflict()) ?? net.executedConflict();
  const executed = (): number => Math.max(...[...net.members.values()].map((m) => m.appliedIndex));
  for (let step = 0; step < s.steps; step++) {
    for (const id of net.ids) net.process(id);
    const r = rnd.float();
    if (r < 0.55 && net.queue.length > 0) {
      // Reordering: any queued message may go next.
      const i = rnd.int(net.queue.length);
      const msg = net.queue[i]!;
      if (rnd.chance(s.dup)) net.queue.push(msg);
      if (rnd.chance(s.loss)) net.queue.splice(i, 1);
      else net.deliverAt(i);
    } else if (r < 0.75) {
      const m = net.member(rnd.pick(net.ids));
      if (m.up) {
        m.engine.tick();
        net.process(m.id);
      }
    } else if (r < 0.87) {
      const m = net.member(rnd.pick(net.ids));
      if (m.up) {
        m.engine.propose(utf8(`p${proposals++}`));
        net.process(m.id);
      }
    } else if (r < 0.87 + crashRate) {
      const m = net.member(rnd.pick(net.ids));
      if (m.up && [...net.members.values()].filter((x) => !x.up).length < Math.floor((total - 1) / 2)) net.crash(m.id);
      else if (!m.up) net.restart(m.id);
    } else if (r < 0.89 + crashRate && s.snapshots) {
      const m = net.member(rnd.pick(net.ids));
      if (m.up && m.appliedIndex > 0) net.snapshot(m.id);
    } else if (r < 0.89 + crashRate + partitionRate) {
      net.cut(rnd.pick(net.ids), rnd.pick(net.ids));
    } else if (r < 0.89 + crashRate + 2 * partitionRate) {
      net.heal();
    } else if (r < 0.89 + crashRate + 2 * partitionRate + reconfigRate) {
      reconfigure(net, rnd);
    }
    const v = check();
    if (v !== null) return { violation: `step ${step}: ${v}`, executed: executed() };
  }
  // Heal and check that the cluster converges and still decides.
  net.heal();
  for (const m of net.members.values()) if (!m.up) net.restart(m.id);
  try {
    const leader = net.electLeader(2000);
    net.engine(leader).propose(utf8('final'));
    // Every member of the leader's configuration executes it (a removed member need not).
    const config = net.engine(leader).status().config;
    const members = [...config.voters, ...config.learners];
    net.runUntil(() => members.every((id) => net.commands(id).includes('final')), 2000);
  } catch (e) {
    debug?.(net);
    return { violation: `no progress after healing: ${(e as Error).message}`, executed: executed() };
  }
  return { violation: check(), executed: executed() };
}


/** A random membership change proposed on the leader (refused when one is pending or invalid). */
function reconfigure(net: PaxosTestNetwork, rnd: SeededRandom): void {
  const leader = net.leader();
  if (leader === null) return;
  const e = net.engine(leader);
  const config = e.status().config;
  const node = rnd.pick(net.ids);
  const isVoter = config.voters.includes(node);
  const isLearner = config.learners.includes(node);
  const type = isVoter ? rnd.pick(['remove', 'add-learner'] as const) : isLearner ? rnd.pick(['remove', 'add-voter'] as const) : rnd.pick(['add-voter', 'add-learner'] as const);
  // Keep at least three voters, so a crash or two does not stop every run.
  if (isVoter && config.voters.length <= 3) return;
  e.proposeConfigChange({ ops: [{ type, node }], context: new Uint8Array() });
  net.process(leader);
}
