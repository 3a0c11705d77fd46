/**
 * Builds the consensus engine a cluster runs (--consensus) with the member's timing, and says how
 * that engine's config entries and bulk messages look. Everything else in the member is the same
 * for both protocols.
 */
import type { NodeId } from '../core/ids.js';
import type { ConfigChange, ConsensusEngine, DurableState, EngineMessage } from '../consensus/types.js';
import type { Random } from '../env/random.js';
import { RaftEngine, decodeConfigEntry, defaultRaftConfig, validateRaftConfig, PLANTED_BUGS, type PlantedBug } from '../raft/index.js';
import { ConfigError, type ServerConfig } from './config.js';

export interface EngineBundle {
  readonly engine: ConsensusEngine<EngineMessage>;
  /** Reads the ConfigChange (and so the member context) out of a `config` entry's data. */
  readonly decodeConfigChange: (data: Uint8Array) => ConfigChange;
  /** Milliseconds per engine tick. */
  readonly tickMs: number;
}

export function createEngine(o: { protocol: 'raft' | 'paxos'; id: NodeId; config: ServerConfig; durable: DurableState; random: Random }): EngineBundle {
  const tickMs = o.config.heartbeatIntervalMs;
  const electionTicks = Math.max(2, Math.round(o.config.electionTimeoutMs / tickMs));
  switch (o.protocol) {
    case 'raft': {
      const bug = o.config.unsafePlantedBug;
      if (bug !== '' && bug !== 'stale-reads' && !(PLANTED_BUGS as readonly string[]).includes(bug)) {
        throw new ConfigError(`--unsafe-planted-bug ${bug} is unknown for raft; known: stale-reads, ${PLANTED_BUGS.join(', ')}`);
      }
      const rc = {
        ...defaultRaftConfig(o.id),
        heartbeatTicks: 1,
        electionTicks,
        preVote: o.config.preVote,
        checkQuorum: true,
        leaseReads: o.config.leaseReads,
        ...(bug !== '' && bug !== 'stale-reads' ? { plantedBug: bug as PlantedBug } : {}),
      };
      validateRaftConfig(rc);
      return {
        engine: new RaftEngine(rc, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>,
        decodeConfigChange: (data) => decodeConfigEntry(data).change,
        tickMs,
      };
    }
    case 'paxos':
      throw new ConfigError('--consensus paxos is not available in this build yet');
  }
}
