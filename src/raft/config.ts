/** The Raft engine's configuration: the shared EngineConfig plus Raft's own knobs. */
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
import type { EngineConfig } from '../consensus/types.js';
import { RaftError } from './errors.js';

/**
 * TEST-ONLY deliberate bugs, each a one-line switch in the engine, off unless set. The simulator's
 * checkers must catch every one of them; never set one outside a test.
 *
 * - `commit-earlier-term-by-count`: a leader commits any entry a quorum stores, whatever its term
 *   (breaks §5.4.2 / Figure 8: a committed entry can be overwritten).
 * - `vote-without-persist`: a vote is sent before the vote is durable (in `sendBeforePersist`), so
 *   a crash at the wrong moment lets a member vote twice in one term.
 * - `stale-read-without-quorum`: a leader answers readIndex at once, without a heartbeat round, so
 *   a deposed leader that does not know it serves stale reads.
 * - `skip-up-to-date-check`: votes are granted without the §5.4.1 log comparison, so a candidate
 *   with a stale log can win and overwrite committed entries.
 * - `skip-prev-term-check`: a follower accepts an append whose prevIndex it holds without comparing
 *   the term there (§5.3's consistency check), so it keeps a stale entry under the leader's newer
 *   ones and the logs stop matching.
 */
export type PlantedBug = 'commit-earlier-term-by-count' | 'vote-without-persist' | 'stale-read-without-quorum' | 'skip-up-to-date-check' | 'skip-prev-term-check';

export const PLANTED_BUGS: readonly PlantedBug[] = [
  'commit-earlier-term-by-count',
  'vote-without-persist',
  'stale-read-without-quorum',
  'skip-up-to-date-check',
  'skip-prev-term-check',
];

export interface RaftConfig extends EngineConfig {
  /**
   * Bytes of snapshot data per chunk; SNAPSHOT_CHUNK_BYTES when absent (so a plain EngineConfig
   * works). The sending driver must read exactly `snapshotChunkLength(meta, offset,
   * snapshotChunkBytes)` bytes for a chunk at `offset`: the consensus driver reads
   * SNAPSHOT_CHUNK_BYTES, so change this only with a driver that reads the same.
   */
  readonly snapshotChunkBytes?: number;
  /** TEST-ONLY: see PlantedBug. */
  readonly plantedBug?: PlantedBug;
}

export function defaultRaftConfig(id: NodeId): RaftConfig {
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
    snapshotChunkBytes: SNAPSHOT_CHUNK_BYTES,
  };
}

export function snapshotChunkBytesOf(c: RaftConfig): number {
  return c.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES;
}

/** Throws RaftError('raft-invalid-config') when the configuration cannot work. */
export function validateRaftConfig(c: RaftConfig): void {
  const bad = (why: string): never => {
    throw new RaftError('raft-invalid-config', `raft config: ${why}`);
  };
  const positive = (v: number, name: string): void => {
    if (!Number.isSafeInteger(v) || v < 1) bad(`${name} must be a positive integer, got ${v}`);
  };
  positive(c.heartbeatTicks, 'heartbeatTicks');
  positive(c.electionTicks, 'electionTicks');
  positive(c.entriesPerMessageMax, 'entriesPerMessageMax');
  positive(c.messageBytesMax, 'messageBytesMax');
  positive(c.inflightMessagesMax, 'inflightMessagesMax');
  positive(c.uncommittedBytesMax, 'uncommittedBytesMax');
  const chunkBytes = snapshotChunkBytesOf(c);
  positive(chunkBytes, 'snapshotChunkBytes');
  if (c.electionTicks <= c.heartbeatTicks) bad('electionTicks must exceed heartbeatTicks');
  // Receivers validate against the global bounds, so a sender may not exceed them.
  if (c.entriesPerMessageMax > ENTRIES_PER_MESSAGE_MAX) bad(`entriesPerMessageMax above ${ENTRIES_PER_MESSAGE_MAX}`);
  if (c.messageBytesMax > MESSAGE_BYTES_MAX) bad(`messageBytesMax above ${MESSAGE_BYTES_MAX}`);
  if (c.inflightMessagesMax > INFLIGHT_MESSAGES_MAX) bad(`inflightMessagesMax above ${INFLIGHT_MESSAGES_MAX}`);
  if (chunkBytes > SNAPSHOT_CHUNK_BYTES) bad(`snapshotChunkBytes above ${SNAPSHOT_CHUNK_BYTES}`);
  // A lease is only as good as the leader's promise to step down when it loses its quorum.
  if (c.leaseReads && !c.checkQuorum) bad('leaseReads requires checkQuorum');
}
