/**
 * The Raft wire format, written with ByteWriter and read with ByteReader. Decoding checks shape and
 * bounds (lengths, counts, tags, ids) and throws only DecodeError; whether a well-formed message
 * makes sense (contiguous entries, possible indexes) is for `step` to judge.
 *
 *   message = u8 version, u8 type, u64 from, u64 to, u53 term, body
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, nodeIdFromBigInt, nodeIdToBigInt, term, type LogIndex, type NodeId, type Term } from '../core/ids.js';
import { ENTRIES_PER_MESSAGE_MAX, MEMBERS_MAX, RAFT_ENTRY_BYTES_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import { assertNever } from '../core/assert.js';
import type { ConfigState, Entry, EntryKind, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { RAFT_MESSAGE_TYPES, type RaftMessage, type RaftMessageType } from './messages.js';

const CODEC_VERSION = 1;
const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'config', 'empty'];
const TYPE_TAG = new Map<RaftMessageType, number>(RAFT_MESSAGE_TYPES.map((t, i) => [t, i]));
/** Fixed bytes of an entry besides its data: index, term, kind, length prefix. */
const ENTRY_OVERHEAD_BYTES = 8 + 8 + 1 + 5;

export function writeNodeId(w: ByteWriter, id: NodeId): void {
  w.u64(nodeIdToBigInt(id));
}

export function readNodeId(r: ByteReader, what: string): NodeId {
  const v = r.u64(what);
  if (v === 0n) throw new DecodeError(`${what}: member id 0 is not a member`);
  return nodeIdFromBigInt(v);
}

function readIndex(r: ByteReader, what: string): LogIndex {
  return logIndex(r.u53(what));
}

function readTerm(r: ByteReader, what: string): Term {
  return term(r.u53(what));
}

function readCount(r: ByteReader, max: number, what: string): number {
  const n = r.varint(what);
  if (n > max) throw new DecodeError(`${what}: ${n} exceeds ${max}`);
  return n;
}

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u53(e.index).u53(e.term).u8(ENTRY_KINDS.indexOf(e.kind)).bytes(e.data);
}

export function readEntry(r: ByteReader): Entry {
  const index = readIndex(r, 'entry index');
  const t = readTerm(r, 'entry term');
  const kindTag = r.u8('entry kind');
  const kind = ENTRY_KINDS[kindTag];
  if (kind === undefined) throw new DecodeError(`entry kind ${kindTag} unknown`);
  // Copy: the input buffer may be reused by the transport, and entries live on in the log.
  const data = r.bytes(RAFT_ENTRY_BYTES_MAX, 'entry data').slice();
  return { index, term: t, kind, data };
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.varint(ids.length);
  for (const id of ids) writeNodeId(w, id);
}

function readIds(r: ByteReader, what: string): NodeId[] {
  const n = readCount(r, MEMBERS_MAX, `${what} count`);
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(readNodeId(r, what));
  return out;
}

export function writeConfigState(w: ByteWriter, c: ConfigState): void {
  writeIds(w, c.voters);
  writeIds(w, c.learners);
  writeIds(w, c.votersOutgoing);
  writeIds(w, c.learnersNext);
  w.bool(c.autoLeave);
}

export function readConfigState(r: ByteReader): ConfigState {
  const voters = readIds(r, 'voters');
  const learners = readIds(r, 'learners');
  const votersOutgoing = readIds(r, 'outgoing voters');
  const learnersNext = readIds(r, 'next learners');
  const autoLeave = r.bool('autoLeave');
  return { voters, learners, votersOutgoing, learnersNext, autoLeave };
}

export function writeSnapshotMeta(w: ByteWriter, m: SnapshotMeta): void {
  w.u53(m.index).u53(m.term);
  writeConfigState(w, m.config);
  w.u53(m.sizeBytes).u32(m.crc32c);
}

export function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = readIndex(r, 'snapshot index');
  const t = readTerm(r, 'snapshot term');
  const config = readConfigState(r);
  const sizeBytes = r.u53('snapshot size');
  const crc32c = r.u32('snapshot crc');
  return { index, term: t, config, sizeBytes, crc32c };
}

function writeChunk(w: ByteWriter, c: SnapshotChunk): void {
  writeSnapshotMeta(w, c.meta);
  w.u53(c.offset);
  w.bool(c.data !== null);
  if (c.data !== null) w.bytes(c.data);
  w.u32(c.crc32c).bool(c.last);
}

function readChunk(r: ByteReader): SnapshotChunk {
  const meta = readSnapshotMeta(r);
  const offset = r.u53('chunk offset');
  const data = r.bool('chunk has data') ? r.bytes(SNAPSHOT_CHUNK_BYTES, 'chunk data').slice() : null;
  const crc32c = r.u32('chunk crc');
  const last = r.bool('chunk last');
  return { meta, offset, data, crc32c, last };
}

function sizeHint(msg: RaftMessage): number {
  if (msg.type === 'append') {
    let n = 64;
    for (const e of msg.entries) n += ENTRY_OVERHEAD_BYTES + e.data.length;
    return n;
  }
  if (msg.type === 'snapshot') return 256 + (msg.snapshotChunk.data?.length ?? 0) + 32 * MEMBERS_MAX;
  if (msg.type === 'propose') return 64 + msg.data.length;
  return 64;
}

export function encodeMessage(msg: RaftMessage): Uint8Array {
  const w = new ByteWriter(sizeHint(msg));
  w.u8(CODEC_VERSION).u8(TYPE_TAG.get(msg.type)!);
  writeNodeId(w, msg.from);
  writeNodeId(w, msg.to);
  w.u53(msg.term);
  writeBody(w, msg);
  return w.finish();
}

function writeBody(w: ByteWriter, msg: RaftMessage): void {
  switch (msg.type) {
    case 'append':
      w.u53(msg.prevIndex).u53(msg.prevTerm).u53(msg.commit).varint(msg.entries.length);
      for (const e of msg.entries) writeEntry(w, e);
      return;
    case 'appendResponse':
      w.u53(msg.index).bool(msg.reject).u53(msg.hintIndex).u53(msg.hintTerm);
      return;
    case 'heartbeat':
      w.u53(msg.commit).u53(msg.round);
      return;
    case 'heartbeatResponse':
      w.u53(msg.round);
      return;
    case 'voteRequest':
      w.bool(msg.preVote).bool(msg.transfer).u53(msg.lastIndex).u53(msg.lastTerm);
      return;
    case 'voteResponse':
      w.bool(msg.preVote).bool(msg.granted);
      return;
    case 'snapshot':
      w.u53(msg.attempt);
      writeChunk(w, msg.snapshotChunk);
      return;
    case 'snapshotResponse':
      w.u53(msg.index).u53(msg.attempt).u53(msg.nextOffset).bool(msg.reject).bool(msg.done);
      return;
    case 'timeoutNow':
      return;
    case 'readIndex':
      w.u53(msg.requestId);
      return;
    case 'readIndexResponse':
      w.u53(msg.requestId).u53(msg.index).bool(msg.reject);
      return;
    case 'propose':
      w.u8(msg.kind === 'normal' ? 0 : 1).bytes(msg.data);
      return;
    default:
      assertNever(msg, 'raft message');
  }
}

/** Decodes a peer message; throws DecodeError (and nothing else) on malformed bytes. */
export function decodeMessage(bytes: Uint8Array): RaftMessage {
  try {
    const r = new ByteReader(bytes);
    const version = r.u8('version');
    if (version !== CODEC_VERSION) throw new DecodeError(`raft message version ${version} unknown`);
    const tag = r.u8('type');
    const type = RAFT_MESSAGE_TYPES[tag];
    if (type === undefined) throw new DecodeError(`raft message type ${tag} unknown`);
    const from = readNodeId(r, 'from');
    const to = readNodeId(r, 'to');
    const t = readTerm(r, 'term');
    const msg = readBody(r, type, { from, to, term: t });
    r.done(`raft ${type} message`);
    return msg;
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`raft message: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

interface Head {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: Term;
}

function readBody(r: ByteReader, type: RaftMessageType, h: Head): RaftMessage {
  switch (type) {
    case 'append': {
      const prevIndex = readIndex(r, 'prevIndex');
      const prevTerm = readTerm(r, 'prevTerm');
      const commit = readIndex(r, 'commit');
      const n = readCount(r, ENTRIES_PER_MESSAGE_MAX, 'entry count');
      const entries: Entry[] = [];
      for (let i = 0; i < n; i++) entries.push(readEntry(r));
      return { type, ...h, prevIndex, prevTerm, commit, entries };
    }
    case 'appendResponse': {
      const index = readIndex(r, 'index');
      const reject = r.bool('reject');
      const hintIndex = readIndex(r, 'hintIndex');
      const hintTerm = readTerm(r, 'hintTerm');
      return { type, ...h, index, reject, hintIndex, hintTerm };
    }
    case 'heartbeat': {
      const commit = readIndex(r, 'commit');
      return { type, ...h, commit, round: r.u53('round') };
    }
    case 'heartbeatResponse':
      return { type, ...h, round: r.u53('round') };
    case 'voteRequest': {
      const preVote = r.bool('preVote');
      const transfer = r.bool('transfer');
      const lastIndex = readIndex(r, 'lastIndex');
      return { type, ...h, preVote, transfer, lastIndex, lastTerm: readTerm(r, 'lastTerm') };
    }
    case 'voteResponse': {
      const preVote = r.bool('preVote');
      return { type, ...h, preVote, granted: r.bool('granted') };
    }
    case 'snapshot': {
      const attempt = r.u53('attempt');
      return { type, ...h, attempt, snapshotChunk: readChunk(r) };
    }
    case 'snapshotResponse': {
      const index = readIndex(r, 'index');
      const attempt = r.u53('attempt');
      const nextOffset = r.u53('nextOffset');
      const reject = r.bool('reject');
      return { type, ...h, index, attempt, nextOffset, reject, done: r.bool('done') };
    }
    case 'timeoutNow':
      return { type, ...h };
    case 'readIndex':
      return { type, ...h, requestId: r.u53('requestId') };
    case 'readIndexResponse': {
      const requestId = r.u53('requestId');
      const index = readIndex(r, 'index');
      return { type, ...h, requestId, index, reject: r.bool('reject') };
    }
    case 'propose': {
      const kindTag = r.u8('propose kind');
      if (kindTag > 1) throw new DecodeError(`propose kind ${kindTag} unknown`);
      const data = r.bytes(RAFT_ENTRY_BYTES_MAX, 'propose data').slice();
      return { type, ...h, kind: kindTag === 0 ? 'normal' : 'config', data };
    }
    default:
      return assertNever(type, 'raft message type');
  }
}
