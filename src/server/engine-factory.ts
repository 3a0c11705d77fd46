/**
 * Builds the consensus engine a cluster runs (--consensus) with the member's timing, and says how
 * that engine's config entries and bulk messages look. Everything else in the member is the same
 * for both protocols.
 */
import { assertNever } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { ConfigChange, ConsensusEngine, DurableState, EngineMessage } from '../consensus/types.js';
import type { Random } from '../env/random.js';
import { PAXOS_PLANTED_BUGS, PaxosEngine, PaxosError, decodeConfigChange as decodePaxosConfigChange, defaultPaxosConfig, type PaxosPlantedBug } from '../paxos/index.js';
import { RaftEngine, decodeConfigEntry, defaultRaftConfig, validateRaftConfig, PLANTED_BUGS, type PlantedBug } from '../raft/index.js';
import { ConfigError, type ServerConfig } from './config.js';

export interface EngineBundle {
  readonly engine: ConsensusEngine<EngineMessage>;
  /** Reads the ConfigChange (and so the member context) out of a `config` entry's data. */
  readonly decodeConfigChange: (data: Uint8Array) => ConfigChange;
  /** Milliseconds per engine tick. */
  readonly tickMs: number;
  /**
   * Missed ticks the driver delivers after a pause (DriverOptions.tickCatchUpMax): two election
   * timeouts, enough for a paused leader to see its lease and its quorum lapse before it answers.
   */
  readonly tickCatchUpMax: number;
}

/** Planted bugs the server itself implements, for either protocol (TESTING ONLY). */
const SERVER_PLANTED_BUGS = ['stale-reads'] as const;

export function createEngine(o: { protocol: 'raft' | 'paxos'; id: NodeId; config: ServerConfig; durable: DurableState; random: Random }): EngineBundle {
  // One tick per heartbeat; the election timeout in whole heartbeats (at least 3, which both
  // engines need to tell a slow heartbeat from a dead leader).
  const tickMs = o.config.heartbeatIntervalMs;
  const electionTicks = Math.max(3, Math.round(o.config.electionTimeoutMs / tickMs));
  const tickCatchUpMax = 2 * electionTicks;
  const bug = o.config.unsafePlantedBug;
  const engineBug = bug === '' || (SERVER_PLANTED_BUGS as readonly string[]).includes(bug) ? null : bug;
  switch (o.protocol) {
    case 'raft': {
      if (engineBug !== null && !(PLANTED_BUGS as readonly string[]).includes(engineBug)) {
        throw new ConfigError(`--unsafe-planted-bug ${bug} is unknown for raft; known: ${[...SERVER_PLANTED_BUGS, ...PLANTED_BUGS].join(', ')}`);
      }
      const rc = {
        ...defaultRaftConfig(o.id),
        heartbeatTicks: 1,
        electionTicks,
        preVote: o.config.preVote,
        checkQuorum: true,
        leaseReads: o.config.leaseReads,
        ...(engineBug !== null ? { plantedBug: engineBug as PlantedBug } : {}),
      };
      validateRaftConfig(rc);
      return {
        engine: new RaftEngine(rc, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>,
        decodeConfigChange: (data) => decodeConfigEntry(data).change,
        tickMs,
        tickCatchUpMax,
      };
    }
    case 'paxos': {
      if (engineBug !== null && !(PAXOS_PLANTED_BUGS as readonly string[]).includes(engineBug)) {
        throw new ConfigError(`--unsafe-planted-bug ${bug} is unknown for paxos; known: ${[...SERVER_PLANTED_BUGS, ...PAXOS_PLANTED_BUGS].join(', ')}`);
      }
      const pc = {
        ...defaultPaxosConfig(o.id),
        heartbeatTicks: 1,
        electionTicks,
        // Accepted for symmetry with Raft; leader stickiness plays pre-vote's part (docs/paxos.md).
        preVote: o.config.preVote,
        checkQuorum: true,
        leaseReads: o.config.leaseReads,
        ...(o.config.paxosPhase1Quorum !== null ? { phase1QuorumSize: o.config.paxosPhase1Quorum } : {}),
        ...(o.config.paxosPhase2Quorum !== null ? { phase2QuorumSize: o.config.paxosPhase2Quorum } : {}),
        ...(engineBug !== null ? { plantedBug: engineBug as PaxosPlantedBug } : {}),
      };
      try {
        return {
          engine: new PaxosEngine(pc, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>,
          decodeConfigChange: decodePaxosConfigChange,
          tickMs,
          tickCatchUpMax,
        };
      } catch (e) {
        // Options the operator can fix are a configuration error; a bad hard state is not.
        if (e instanceof PaxosError && (e.code === 'invalid-config' || e.code === 'invalid-quorums')) throw new ConfigError(e.message);
        throw e;
      }
    }
    default:
      return assertNever(o.protocol);
  }
}
