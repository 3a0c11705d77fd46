/**
 * The consensus engines the simulator can run, behind the contract only. Nothing else in src/sim
 * knows which protocol runs.
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import {
  ELECTION_TICKS_DEFAULT,
  ENTRIES_PER_MESSAGE_MAX,
  HEARTBEAT_TICKS_DEFAULT,
  INFLIGHT_MESSAGES_MAX,
  MESSAGE_BYTES_MAX,
  SNAPSHOT_CHUNK_BYTES,
  UNCOMMITTED_BYTES_MAX,
} from '../core/limits.js';
import type { Random } from '../env/random.js';
import type { ConsensusEngine, DurableState, EngineConfig, EngineMessage } from '../consensus/types.js';
import { StandInEngine, type StandInPlantedBug } from './stand-in-engine.js';
import { defaultRaftConfig, PLANTED_BUGS as RAFT_PLANTED_BUGS, RaftEngine, type PlantedBug as RaftPlantedBug, type RaftConfig } from '../raft/index.js';
import { decodePaxosHardState, PAXOS_PLANTED_BUGS, PaxosEngine, type PaxosPlantedBug } from '../paxos/index.js';

/** Flexible Paxos quorum sizes in voters (absent: the default rule of quorumSizes). */
export interface PaxosQuorums {
  readonly phase1?: number;
  readonly phase2?: number;
}

export const CONSENSUS_KINDS = ['raft', 'paxos', 'stand-in'] as const;
export type ConsensusKind = (typeof CONSENSUS_KINDS)[number];

/** The engine settings the swarm varies; the rest come from src/core/limits.ts. */
export interface EngineTuning {
  readonly heartbeatTicks: number;
  readonly electionTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly entriesPerMessageMax: number;
  readonly inflightMessagesMax: number;
}

export interface EngineCreateOptions {
  readonly id: NodeId;
  readonly durable: DurableState;
  readonly random: Random;
  readonly plantedBug: string | null;
  readonly tuning: EngineTuning;
  /** Bytes per snapshot chunk the member would like; see EngineFactory.snapshotChunkBytes. */
  readonly snapshotChunkBytes: number;
}

export interface EngineFactory {
  readonly kind: ConsensusKind;
  /** The test-only planted bugs this engine understands. */
  readonly plantedBugs: readonly string[];
  /**
   * The snapshot chunk size the engine will use when asked for `requested`: the sending driver must
   * read exactly the bytes of each chunk the engine cuts, so the node hands the driver this value.
   */
  snapshotChunkBytes(requested: number): number;
  create(options: EngineCreateOptions): ConsensusEngine<EngineMessage>;
  /**
   * How far a member's durable hard state bars it from voting or promising until it has caught up
   * on decided values (0: not at all). A member so barred stands behind every entry up to there even
   * when its log lost it, as a member under storage repair does (checkers: committed durability).
   * Absent: the engine has no such mark beyond the storage's own repair point.
   */
  durableRepairPoint?(hardState: Uint8Array): number;
}

export const DEFAULT_TUNING: EngineTuning = {
  heartbeatTicks: HEARTBEAT_TICKS_DEFAULT,
  electionTicks: ELECTION_TICKS_DEFAULT,
  preVote: true,
  checkQuorum: true,
  entriesPerMessageMax: ENTRIES_PER_MESSAGE_MAX,
  inflightMessagesMax: INFLIGHT_MESSAGES_MAX,
};

export function engineConfig(id: NodeId, tuning: EngineTuning): EngineConfig {
  return {
    id,
    ...tuning,
    leaseReads: false,
    messageBytesMax: MESSAGE_BYTES_MAX,
    uncommittedBytesMax: UNCOMMITTED_BYTES_MAX,
  };
}

const STAND_IN_BUGS: readonly StandInPlantedBug[] = ['stale-read-without-quorum', 'commit-earlier-term-by-count', 'vote-without-persist', 'skip-up-to-date-check'];

const standIn: EngineFactory = {
  kind: 'stand-in',
  plantedBugs: STAND_IN_BUGS,
  snapshotChunkBytes: () => SNAPSHOT_CHUNK_BYTES,
  create(o) {
    const bug = o.plantedBug as StandInPlantedBug | null;
    return new StandInEngine({ ...engineConfig(o.id, o.tuning), ...(bug === null ? {} : { plantedBug: bug }) }, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>;
  },
};

function paxosFactory(quorums: PaxosQuorums): EngineFactory {
  const sizes = { ...(quorums.phase1 === undefined ? {} : { phase1QuorumSize: quorums.phase1 }), ...(quorums.phase2 === undefined ? {} : { phase2QuorumSize: quorums.phase2 }) };
  return {
    kind: 'paxos',
    plantedBugs: PAXOS_PLANTED_BUGS,
    snapshotChunkBytes: () => SNAPSHOT_CHUNK_BYTES,
    create(o) {
      const bug = o.plantedBug as PaxosPlantedBug | null;
      return new PaxosEngine({ ...engineConfig(o.id, o.tuning), ...sizes, ...(bug === null ? {} : { plantedBug: bug }) }, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>;
    },
    // An acceptor whose snapshot install or recovery may have dropped accepted values answers no
    // phase 1 until its commit reaches reportGapUntil (engine.ts, beginInstall), so it cannot help
    // a new leader miss a value it lost.
    durableRepairPoint(hardState) {
      const hs = decodePaxosHardState(hardState);
      return Math.max(hs.repairUntil, hs.reportGapUntil);
    },
  };
}

const paxos = paxosFactory({});

const raft: EngineFactory = {
  kind: 'raft',
  plantedBugs: RAFT_PLANTED_BUGS,
  snapshotChunkBytes: (requested) => requested,
  create(o) {
    const bug = o.plantedBug as RaftPlantedBug | null;
    const config: RaftConfig = { ...defaultRaftConfig(o.id), ...o.tuning, snapshotChunkBytes: o.snapshotChunkBytes, ...(bug === null ? {} : { plantedBug: bug }) };
    return new RaftEngine(config, o.durable, o.random) as unknown as ConsensusEngine<EngineMessage>;
  },
};

/** The factory for a protocol; `paxosQuorums` (Paxos only) sets Flexible Paxos quorum sizes. */
export function engineFactory(kind: ConsensusKind, paxosQuorums?: PaxosQuorums): EngineFactory {
  if (paxosQuorums !== undefined && (paxosQuorums.phase1 !== undefined || paxosQuorums.phase2 !== undefined)) {
    assert(kind === 'paxos', 'quorum sizes are a Paxos option');
    return paxosFactory(paxosQuorums);
  }
  switch (kind) {
    case 'stand-in':
      return standIn;
    case 'raft':
      return raft;
    case 'paxos':
      return paxos;
  }
}
