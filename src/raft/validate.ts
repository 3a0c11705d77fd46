/**
 * The shape checks `step` makes before believing a message: indexes and terms that cannot be,
 * entries that do not follow on, batches beyond the bounds, snapshot chunks whose CRC does not
 * match their data. Returns the reason to count the message under, or null when it is sound.
 * Checks that need the engine's state (who is a member, how long the leader's log is) live in
 * the engine.
 */
import { crc32c } from '../core/crc32c.js';
import { ENTRIES_PER_MESSAGE_MAX, MESSAGE_BYTES_MAX, RAFT_ENTRY_BYTES_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import { assertNever } from '../core/assert.js';
import type { Entry, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { configProblem } from './config-change.js';
import type { AppendMessage, RaftMessage } from './messages.js';

const isUint = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBool = (v: unknown): boolean => typeof v === 'boolean';

export function messageProblem(m: RaftMessage): string | null {
  if (!isUint(m.term)) return 'invalid-term';
  switch (m.type) {
    case 'append':
      return appendProblem(m);
    case 'appendResponse':
      if (!isUint(m.index) || !isUint(m.hintIndex) || !isUint(m.hintTerm) || !isBool(m.reject)) return 'invalid-field';
      if (m.reject && m.hintTerm > m.term) return 'impossible-term';
      return null;
    case 'heartbeat':
      return isUint(m.commit) && isUint(m.round) ? null : 'invalid-field';
    case 'heartbeatResponse':
      return isUint(m.round) ? null : 'invalid-field';
    case 'voteRequest':
      if (!isUint(m.lastIndex) || !isUint(m.lastTerm) || !isBool(m.preVote) || !isBool(m.transfer)) return 'invalid-field';
      if (m.lastTerm > m.term) return 'impossible-term';
      if ((m.lastIndex === 0) !== (m.lastTerm === 0)) return 'impossible-index';
      return null;
    case 'voteResponse':
      if (!isBool(m.preVote) || !isBool(m.granted) || !isUint(m.commit) || !isUint(m.commitTerm)) return 'invalid-field';
      return (m.commit === 0) !== (m.commitTerm === 0) ? 'impossible-index' : null;
    case 'snapshot':
      if (!isUint(m.attempt)) return 'invalid-field';
      return chunkProblem(m.snapshotChunk, m.term);
    case 'snapshotResponse':
      if (!isUint(m.index) || !isUint(m.attempt) || !isUint(m.nextOffset) || !isBool(m.reject) || !isBool(m.done)) return 'invalid-field';
      return null;
    case 'timeoutNow':
      return null;
    case 'readIndex':
      return isUint(m.requestId) ? null : 'invalid-field';
    case 'readIndexResponse':
      return isUint(m.requestId) && isUint(m.index) && isBool(m.reject) ? null : 'invalid-field';
    case 'propose':
      if (m.kind !== 'normal' && m.kind !== 'config') return 'invalid-field';
      if (!(m.data instanceof Uint8Array)) return 'invalid-field';
      return m.data.length <= RAFT_ENTRY_BYTES_MAX ? null : 'oversized-entry';
    default:
      return assertNever(m, 'raft message');
  }
}

function appendProblem(m: AppendMessage): string | null {
  if (!isUint(m.prevIndex) || !isUint(m.prevTerm) || !isUint(m.commit) || !Array.isArray(m.entries)) return 'invalid-field';
  if (m.prevTerm > m.term) return 'impossible-term';
  if ((m.prevIndex === 0) !== (m.prevTerm === 0)) return 'impossible-index';
  if (m.entries.length > ENTRIES_PER_MESSAGE_MAX) return 'oversized-batch';
  let bytes = 0;
  let lastTerm = m.prevTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e: Entry = m.entries[i]!;
    if (e.index !== m.prevIndex + 1 + i) return 'non-contiguous-entries';
    if (!isUint(e.term) || e.term < lastTerm || e.term > m.term || e.term === 0) return 'impossible-term';
    if (e.kind !== 'normal' && e.kind !== 'config' && e.kind !== 'empty') return 'invalid-field';
    if (!(e.data instanceof Uint8Array)) return 'invalid-field';
    if (e.data.length > RAFT_ENTRY_BYTES_MAX) return 'oversized-entry';
    bytes += e.data.length;
    lastTerm = e.term;
  }
  // One entry may exceed the message bound (it goes alone); a batch may not.
  if (m.entries.length > 1 && bytes > MESSAGE_BYTES_MAX) return 'oversized-batch';
  if (!Number.isSafeInteger(m.prevIndex + m.entries.length)) return 'impossible-index';
  return null;
}

export function snapshotMetaProblem(meta: SnapshotMeta, t: number): string | null {
  if (!isUint(meta.index) || !isUint(meta.term) || !isUint(meta.sizeBytes) || !isUint(meta.crc32c)) return 'invalid-field';
  if (meta.index === 0 || meta.term === 0 || meta.term > t) return 'impossible-snapshot';
  if (configProblem(meta.config) !== null || meta.config.voters.length === 0) return 'invalid-snapshot-config';
  return null;
}

function chunkProblem(c: SnapshotChunk | undefined, t: number): string | null {
  if (c === undefined || c === null) return 'invalid-field';
  const metaProblem = snapshotMetaProblem(c.meta, t);
  if (metaProblem !== null) return metaProblem;
  if (!isUint(c.offset) || !isUint(c.crc32c) || !isBool(c.last)) return 'invalid-field';
  if (c.data === null || !(c.data instanceof Uint8Array)) return 'chunk-without-data';
  if (c.data.length > SNAPSHOT_CHUNK_BYTES) return 'oversized-chunk';
  const end = c.offset + c.data.length;
  if (end > c.meta.sizeBytes || c.last !== (end === c.meta.sizeBytes)) return 'chunk-outside-snapshot';
  if (crc32c(c.data) !== c.crc32c) return 'chunk-crc-mismatch';
  return null;
}
