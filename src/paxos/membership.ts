/**
 * Membership under the α-window (Lamport, "Paxos Made Simple" §3; van Renesse & Altinbuken,
 * "Paxos Made Moderately Complex" §3 "reconfiguration"): a configuration change decided in slot i
 * governs every slot from i + α on. Each slot therefore has exactly one configuration, known to
 * whoever has executed every slot up to s − α, and a change takes effect in one step: the quorums of
 * slot s are those of config(s) alone, for phase 1 and phase 2 alike. Joint quorums are not needed.
 */
import { assert } from '../core/assert.js';
import { type NodeId } from '../core/ids.js';
import { LEARNERS_MAX, MEMBERS_MAX, PAXOS_ALPHA_SLOTS, PAXOS_CONFIG_HISTORY_MAX } from '../core/limits.js';
import type { ConfigChange, ConfigState } from '../consensus/types.js';
import { type PaxosConfig, quorumSizes } from './config.js';
import { PaxosError } from './errors.js';

/** A configuration and the first slot it governs. */
export interface ConfigEpoch {
  readonly effectiveSlot: number;
  readonly config: ConfigState;
}

export function isVoter(config: ConfigState, id: NodeId): boolean {
  return config.voters.includes(id);
}

export function isMember(config: ConfigState, id: NodeId): boolean {
  return config.voters.includes(id) || config.learners.includes(id);
}

/** A single-step configuration: the α-window needs no joint phase, so outgoing sets stay empty. */
export function simpleConfig(voters: readonly NodeId[], learners: readonly NodeId[] = []): ConfigState {
  return { voters: [...voters].sort(), learners: [...learners].sort(), votersOutgoing: [], learnersNext: [], autoLeave: false };
}

/** The configuration after `change`. Lenient (an op that changes nothing is skipped), so execution never fails. */
export function applyConfigChange(config: ConfigState, change: ConfigChange): ConfigState {
  const voters = new Set(config.voters);
  const learners = new Set(config.learners);
  // A joint configuration handed over from outside collapses into its incoming side plus learnersNext.
  for (const l of config.learnersNext) if (!voters.has(l)) learners.add(l);
  for (const op of change.ops) {
    switch (op.type) {
      case 'add-voter':
        learners.delete(op.node);
        voters.add(op.node);
        break;
      case 'add-learner':
        voters.delete(op.node);
        learners.add(op.node);
        break;
      case 'remove':
        voters.delete(op.node);
        learners.delete(op.node);
        break;
      default:
        op satisfies never;
    }
  }
  return simpleConfig([...voters], [...learners]);
}

/** Why `change` may not be proposed on top of `config`, or null when it may. */
export function configChangeProblem(config: ConfigState, change: ConfigChange, quorums: Pick<PaxosConfig, 'phase1QuorumSize' | 'phase2QuorumSize'>): string | null {
  if (change.ops.length === 0) return 'a configuration change needs at least one op';
  const touched = new Set<NodeId>();
  for (const op of change.ops) {
    if (touched.has(op.node)) return `member ${op.node} appears in two ops`;
    touched.add(op.node);
    if (op.type === 'remove' && !isMember(config, op.node)) return `member ${op.node} is not in the configuration`;
    if (op.type === 'add-voter' && isVoter(config, op.node)) return `member ${op.node} is already a voter`;
    if (op.type === 'add-learner' && config.learners.includes(op.node)) return `member ${op.node} is already a learner`;
  }
  const next = applyConfigChange(config, change);
  if (next.voters.length === 0) return 'the change would leave no voters';
  if (next.learners.length > LEARNERS_MAX) return `at most ${LEARNERS_MAX} learners`;
  if (next.voters.length + next.learners.length > MEMBERS_MAX) return `at most ${MEMBERS_MAX} members`;
  try {
    quorumSizes(quorums, next.voters.length);
  } catch (e) {
    if (e instanceof PaxosError) return e.message;
    throw e;
  }
  return null;
}

export function configsEqual(a: ConfigState, b: ConfigState): boolean {
  const same = (x: readonly NodeId[], y: readonly NodeId[]): boolean => x.length === y.length && x.every((v, i) => v === y[i]);
  return same(a.voters, b.voters) && same(a.learners, b.learners);
}

/**
 * The configurations of the slots not yet decided: epochs in effectiveSlot order, the first one
 * governing every slot from its effectiveSlot (or from the start) until the next one begins.
 */
export class ConfigHistory {
  private epochs: ConfigEpoch[];
  /** The history is exact for every slot from here on (earlier epochs were pruned). */
  private validFromSlot: number;

  constructor(epochs: readonly ConfigEpoch[], validFromSlot: number) {
    assert(epochs.length > 0, 'a config history has at least one epoch');
    for (let i = 1; i < epochs.length; i++) assert(epochs[i]!.effectiveSlot > epochs[i - 1]!.effectiveSlot, 'epochs in slot order');
    this.epochs = [...epochs];
    this.validFromSlot = validFromSlot;
  }

  get validFrom(): number {
    return this.validFromSlot;
  }

  get all(): readonly ConfigEpoch[] {
    return this.epochs;
  }

  /** The newest configuration decided (it may govern only slots not yet proposed). */
  get newest(): ConfigEpoch {
    return this.epochs[this.epochs.length - 1]!;
  }

  /** The configuration that governs slot `slot`. */
  at(slot: number): ConfigState {
    let found = this.epochs[0]!;
    for (const e of this.epochs) {
      if (e.effectiveSlot <= slot) found = e;
      else break;
    }
    return found.config;
  }

  /** The distinct configurations governing slots in [from, to]. */
  between(from: number, to: number): ConfigState[] {
    const out: ConfigState[] = [this.at(from)];
    for (const e of this.epochs) if (e.effectiveSlot > from && e.effectiveSlot <= to) out.push(e.config);
    return out;
  }

  /**
   * Records the change executed in slot `slot`; it governs from slot + α. Idempotent, because a
   * restarted member executes again the slots between its snapshot and its commit index.
   */
  executed(slot: number, change: ConfigChange): void {
    const effectiveSlot = slot + PAXOS_ALPHA_SLOTS;
    if (this.epochs.some((e) => e.effectiveSlot >= effectiveSlot)) return;
    this.epochs.push({ effectiveSlot, config: applyConfigChange(this.newest.config, change) });
  }

  /**
   * Forgets epochs that no slot after `keepAfter` uses. The engine keeps the configurations of
   * every slot after its snapshot (a snapshot sent to a peer carries them), unless that grows past
   * the bound; then it keeps only those after its commit index (`commit`).
   */
  prune(keepAfter: number, commit: number): void {
    const upTo = this.epochs.length >= PAXOS_CONFIG_HISTORY_MAX ? commit : Math.min(keepAfter, commit);
    while (this.epochs.length > 1 && this.epochs[1]!.effectiveSlot <= upTo + 1) {
      this.epochs.shift();
      this.validFromSlot = Math.max(this.validFromSlot, upTo + 1);
    }
    assert(this.epochs.length <= PAXOS_CONFIG_HISTORY_MAX, `config history grew past ${PAXOS_CONFIG_HISTORY_MAX}`);
  }

  clone(): ConfigHistory {
    return new ConfigHistory(this.epochs, this.validFromSlot);
  }
}
