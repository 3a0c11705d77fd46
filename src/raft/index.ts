/** The Raft core: a pure, synchronous ConsensusEngine. See docs/raft.md. */
export { RaftEngine, snapshotChunkLength, type RaftStats } from './raft-engine.js';
export { defaultRaftConfig, validateRaftConfig, snapshotChunkBytesOf, PLANTED_BUGS, type PlantedBug, type RaftConfig } from './config.js';
export type { RaftMessage, RaftMessageType } from './messages.js';
export { encodeMessage, decodeMessage } from './codec.js';
export { encodeHardState, decodeHardState, type HardState } from './hard-state.js';
export {
  applyConfigChange,
  decodeConfigChange,
  decodeConfigEntry,
  encodeConfigChange,
  encodeConfigEntry,
  type ConfigEntry,
} from './config-change.js';
export { RaftError, type RaftErrorCode } from './errors.js';
