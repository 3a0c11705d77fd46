/** The Multi-Paxos engine's configuration: the shared EngineConfig plus Paxos-only options. */
import { type NodeId } from '../core/ids.js';
import {
  ELECTION_TICKS_DEFAULT,
  ENTRIES_PER_MESSAGE_MAX,
  HEARTBEAT_TICKS_DEFAULT,
  INFLIGHT_MESSAGES_MAX,
  MESSAGE_BYTES_MAX,
  UNCOMMITTED_BYTES_MAX,
} from '../core/limits.js';
import type { EngineConfig } from '../consensus/types.js';
import { PaxosError } from './errors.js';

/**
 * Bugs planted on purpose, for tests only: the simulator must find each within a bounded number
 * of seeds. Never set in production.
 */
export type PaxosPlantedBug =
  /** The acceptor's promise is left out of the hard state and its Promise goes out before any fsync. */
  | 'forget-promise-on-restart'
  /** A new leader ignores the accepted values reported in phase 1 and proposes over them. */
  | 'skip-phase1-on-takeover'
  /**
   * After recovery found damage, the acceptor trusts its recovered (possibly older) promise and
   * accepts phase-2 requests at once, as the engine did before `promiseLost` existed.
   */
  | 'accept-after-lost-promise';

export const PAXOS_PLANTED_BUGS: readonly PaxosPlantedBug[] = ['forget-promise-on-restart', 'skip-phase1-on-takeover', 'accept-after-lost-promise'];

export interface PaxosConfig extends EngineConfig {
  /**
   * Flexible Paxos (Howard, Malkhi, Spiegelman 2016): phase-1 and phase-2 quorum sizes, in voters.
   * Any sizes with |Q1| + |Q2| > N are safe; absent, a size is the majority (or, when only the
   * other one is given, the smallest size that intersects it). Every member must use the same.
   */
  readonly phase1QuorumSize?: number;
  readonly phase2QuorumSize?: number;
  readonly plantedBug?: PaxosPlantedBug;
}

export function defaultPaxosConfig(id: NodeId): PaxosConfig {
  return {
    id,
    heartbeatTicks: HEARTBEAT_TICKS_DEFAULT,
    electionTicks: ELECTION_TICKS_DEFAULT,
    preVote: true,
    checkQuorum: true,
    leaseReads: false,
    entriesPerMessageMax: ENTRIES_PER_MESSAGE_MAX,
    messageBytesMax: MESSAGE_BYTES_MAX,
    inflightMessagesMax: INFLIGHT_MESSAGES_MAX,
    uncommittedBytesMax: UNCOMMITTED_BYTES_MAX,
  };
}

export interface QuorumSizes {
  readonly phase1: number;
  readonly phase2: number;
}

/**
 * The quorum sizes for `voterCount` voters, or a PaxosError saying why the configured sizes are
 * unsafe (they must intersect: phase1 + phase2 > voters) or unusable (more than the voters).
 */
export function quorumSizes(config: Pick<PaxosConfig, 'phase1QuorumSize' | 'phase2QuorumSize'>, voterCount: number): QuorumSizes {
  const n = voterCount;
  const majority = Math.floor(n / 2) + 1;
  const p1Given = config.phase1QuorumSize;
  const p2Given = config.phase2QuorumSize;
  const phase2 = p2Given ?? (p1Given === undefined ? majority : n - p1Given + 1);
  const phase1 = p1Given ?? (p2Given === undefined ? majority : n - p2Given + 1);
  for (const [name, size] of [['phase-1', phase1], ['phase-2', phase2]] as const) {
    if (!Number.isSafeInteger(size) || size < 1 || size > n) {
      throw new PaxosError('invalid-quorums', `${name} quorum size ${size} does not fit ${n} voter(s): it must be between 1 and ${n}`);
    }
  }
  if (phase1 + phase2 <= n) {
    throw new PaxosError(
      'invalid-quorums',
      `phase-1 quorum ${phase1} and phase-2 quorum ${phase2} do not intersect for ${n} voters: their sum must exceed ${n} (Flexible Paxos)`,
    );
  }
  return { phase1, phase2 };
}

/** Checks the timing and bound options; throws PaxosError('invalid-config') with what to fix. */
export function validatePaxosConfig(config: PaxosConfig): void {
  const positive: [string, number][] = [
    ['heartbeatTicks', config.heartbeatTicks],
    ['electionTicks', config.electionTicks],
    ['entriesPerMessageMax', config.entriesPerMessageMax],
    ['messageBytesMax', config.messageBytesMax],
    ['inflightMessagesMax', config.inflightMessagesMax],
    ['uncommittedBytesMax', config.uncommittedBytesMax],
  ];
  for (const [name, v] of positive) {
    if (!Number.isSafeInteger(v) || v < 1) throw new PaxosError('invalid-config', `${name} must be a positive integer, got ${v}`);
  }
  if (config.electionTicks <= config.heartbeatTicks * 2) {
    throw new PaxosError('invalid-config', `electionTicks (${config.electionTicks}) must exceed twice heartbeatTicks (${config.heartbeatTicks})`);
  }
}
