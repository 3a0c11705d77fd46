/** The Multi-Paxos engine (docs/paxos.md): a drop-in ConsensusEngine beside the Raft engine. */
export { PaxosEngine } from './engine.js';
export { type PaxosConfig, type PaxosPlantedBug, PAXOS_PLANTED_BUGS, defaultPaxosConfig, quorumSizes } from './config.js';
export { PaxosError, type PaxosErrorCode } from './errors.js';
export type { PaxosMessage } from './messages.js';
export { type Ballot, makeBallot, ballotRound } from './ballot.js';
export { encodeConfigChange, decodeConfigChange, encodeHardState as encodePaxosHardState, decodeHardState as decodePaxosHardState, type PaxosHardState } from './codec.js';
