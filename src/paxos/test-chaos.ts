/**
 * A random fault schedule over the in-memory network, for the property tests and the planted-bug
 * tests: messages lost, duplicated and reordered, members crashing and restarting, partitions,
 * snapshots; then healing and a liveness check. Everything derives from the seed.
 */
import { utf8 } from '../core/bytes.js';
import { SeededRandom } from '../env/random.js';
import type { PaxosConfig } from './config.js';
import { PaxosTestNetwork } from './test-network.js';

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
  const net = new PaxosTestNetwork({ members: s.members, seed, ...(s.config ? { config: s.config } : {}), ...(configFor ? { configFor } : {}) });
  const rnd = new SeededRandom(seed * 7919 + 1);
  let proposals = 0;
  const check = (): string | null => net.chosenConflict() ?? net.executedConflict();
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
      if (m.up && [...net.members.values()].filter((x) => !x.up).length < Math.floor((s.members - 1) / 2)) net.crash(m.id);
      else if (!m.up) net.restart(m.id);
    } else if (r < 0.89 + crashRate && s.snapshots) {
      const m = net.member(rnd.pick(net.ids));
      if (m.up && m.appliedIndex > 0) net.snapshot(m.id);
    } else if (r < 0.89 + crashRate + partitionRate) {
      net.cut(rnd.pick(net.ids), rnd.pick(net.ids));
    } else if (r < 0.89 + crashRate + 2 * partitionRate) {
      net.heal();
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
    net.runUntil(() => [...net.members.values()].every((m) => net.commands(m.id).includes('final')), 2000);
  } catch (e) {
    debug?.(net);
    return { violation: `no progress after healing: ${(e as Error).message}`, executed: executed() };
  }
  return { violation: check(), executed: executed() };
}

