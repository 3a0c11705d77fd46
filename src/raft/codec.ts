/**
 * The Raft wire format, written with ByteWriter and read with ByteReader. Decoding checks shape and
 * bounds (lengths, counts, tags, ids) and throws only DecodeError; whether a well-formed message
 * makes sense (contiguous entries, possible indexes) is for `step` to judge.
 *
 *   message = u8 version, u8 type, u64 from, u64 to, u53 term, body
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, term, type LogIndex, type NodeId, type Term } from '../core/ids.js';
import { ENTRIES_PER_MESSAGE_MAX, MEMBERS_MAX, RAFT_ENTRY_BYTES_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import { assertNever } from '../core/assert.js';
import type { ConfigState, Entry, EntryKind, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { RAFT_MESSAGE_TYPES, type RaftMessage, type RaftMessageType } from './messages.js';

const CODEC_VERSION = 1;
const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'config', 'empty'];
const TYPE_TAG = new Map<RaftMessageType, number>(RAFT_MESSAGE_TYPES.map((t, i) => [t, i]));
/** Fixed bytes of an entry besides its data: index, term, kind, length prefix. */
const ENTRY_OVERHEAD_BYTES = 8 + 8 + 1 + 5;

const TWO_32 = 0x1_0000_0000;

/**
 * A u64 member id, written as two little-endian u32 halves straight from its 16 hex digits: the
 * same bytes as ByteWriter.u64, without a BigInt per message.
 */
export function writeNodeId(w: ByteWriter, id: NodeId): void {
  w.u32(parseInt(id.slice(8), 16)).u32(parseInt(id.slice(0, 8), 16));
}

export function readNodeId(r: ByteReader, what: string): NodeId {
  const lo = r.u32(what);
  const hi = r.u32(what);
  if (lo === 0 && hi === 0) throw new DecodeError(`${what}: member id 0 is not a member`);
  return (hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')) as NodeId;
}

/** A non-negative safe integer as 8 little-endian bytes: ByteWriter.u53's format, without BigInt. */
export function writeU53(w: ByteWriter, v: number): ByteWriter {
  return w.u32(v % TWO_32).u32(Math.floor(v / TWO_32));
}

export function readU53(r: ByteReader, what: string): number {
  const lo = r.u32(what);
  const hi = r.u32(what);
  if (hi > 0x1f_ffff) throw new DecodeError(`${what} out of range`);
  return hi * TWO_32 + lo;
}

function readIndex(r: ByteReader, what: string): LogIndex {
  return logIndex(readU53(r, what));
}

function readTerm(r: ByteReader, what: string): Term {
  return term(readU53(r, what));
}

function readCount(r: ByteReader, max: number, what: string): number {
  const n = r.varint(what);
  if (n > max) throw new DecodeError(`${what}: ${n} exceeds ${max}`);
  return n;
}

export function writeEntry(w: ByteWriter, e: Entry): void {
  writeU53(writeU53(w, e.index), e.term).u8(ENTRY_KINDS.indexOf(e.kind)).bytes(e.data);
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
  writeU53(writeU53(w, m.index), m.term);
  writeConfigState(w, m.config);
  writeU53(w, m.sizeBytes).u32(m.crc32c);
}

export function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = readIndex(r, 'snapshot index');
  const t = readTerm(r, 'snapshot term');
  const config = readConfigState(r);
  const sizeBytes = readU53(r, 'snapshot size');
  const crc32c = r.u32('snapshot crc');
  return { index, term: t, config, sizeBytes, crc32c };
}

function writeChunk(w: ByteWriter, c: SnapshotChunk): void {
  writeSnapshotMeta(w, c.meta);
  writeU53(w, c.offset);
  w.bool(c.data !== null);
  if (c.data !== null) w.bytes(c.data);
  w.u32(c.crc32c).bool(c.last);
}

function readChunk(r: ByteReader): SnapshotChunk {
  const meta = readSnapshotMeta(r);
  const offset = readU53(r, 'chunk offset');
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
  writeU53(w, msg.term);
  writeBody(w, msg);
  return w.finish();
}

function writeBody(w: ByteWriter, msg: RaftMessage): void {
  switch (msg.type) {
    case 'append':
      writeU53(writeU53(writeU53(w, msg.prevIndex), msg.prevTerm), msg.commit).varint(msg.entries.length);
      for (const e of msg.entries) writeEntry(w, e);
      return;
    case 'appendResponse':
      writeU53(writeU53(writeU53(w, msg.index).bool(msg.reject), msg.hintIndex), msg.hintTerm);
      return;
    case 'heartbeat':
      writeU53(writeU53(w, msg.commit), msg.round);
      return;
    case 'heartbeatResponse':
      writeU53(w, msg.round);
      return;
    case 'voteRequest':
      writeU53(writeU53(w.bool(msg.preVote).bool(msg.transfer), msg.lastIndex), msg.lastTerm);
      return;
    case 'voteResponse':
      writeU53(writeU53(w.bool(msg.preVote).bool(msg.granted), msg.commit), msg.commitTerm);
      return;
    case 'snapshot':
      writeU53(w, msg.attempt);
      writeChunk(w, msg.snapshotChunk);
      return;
    case 'snapshotResponse':
      writeU53(writeU53(writeU53(w, msg.index), msg.attempt), msg.nextOffset).bool(msg.reject).bool(msg.done);
      return;
    case 'timeoutNow':
      return;
    case 'readIndex':
      writeU53(w, msg.requestId);
      return;
    case 'readIndexResponse':
      writeU53(writeU53(w, msg.requestId), msg.index).bool(msg.reject);
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
      return { type, ...h, commit, round: readU53(r, 'round') };
    }
    case 'heartbeatResponse':
      return { type, ...h, round: readU53(r, 'round') };
    case 'voteRequest': {
      const preVote = r.bool('preVote');
      const transfer = r.bool('transfer');
      const lastIndex = readIndex(r, 'lastIndex');
      return { type, ...h, preVote, transfer, lastIndex, lastTerm: readTerm(r, 'lastTerm') };
    }
    case 'voteResponse': {
      const preVote = r.bool('preVote');
      const granted = r.bool('granted');
      const commit = readIndex(r, 'commit');
      return { type, ...h, preVote, granted, commit, commitTerm: readTerm(r, 'commitTerm') };
    }
    case 'snapshot': {
      const attempt = readU53(r, 'attempt');
      return { type, ...h, attempt, snapshotChunk: readChunk(r) };
    }
    case 'snapshotResponse': {
      const index = readIndex(r, 'index');
      const attempt = readU53(r, 'attempt');
      const nextOffset = readU53(r, 'nextOffset');
      const reject = r.bool('reject');
      return { type, ...h, index, attempt, nextOffset, reject, done: r.bool('done') };
    }
    case 'timeoutNow':
      return { type, ...h };
    case 'readIndex':
      return { type, ...h, requestId: readU53(r, 'requestId') };
    case 'readIndexResponse': {
      const requestId = readU53(r, 'requestId');
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
