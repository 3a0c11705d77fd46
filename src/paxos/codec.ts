/**
 * Wire and disk formats of the Multi-Paxos engine: peer messages, the hard state and the data of
 * configuration entries. Little-endian, ByteWriter/ByteReader; decoding trusts nothing and throws
 * only DecodeError.
 */
import { assertNever } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { type NodeId, isNodeId, logIndex, term } from '../core/ids.js';
import { ENTRIES_PER_MESSAGE_MAX, LEARNERS_MAX, MEMBERS_MAX, MESSAGE_BYTES_MAX, PAXOS_CONFIG_HISTORY_MAX, SNAPSHOT_CHUNK_BYTES } from '../core/limits.js';
import type { ConfigState, Entry, EntryKind, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { type Ballot, type Promised } from './ballot.js';
import type { ConfigEpoch } from './membership.js';
import type { PaxosMessage, PaxosMessageType } from './messages.js';

const MESSAGE_VERSION = 1;
const HARD_STATE_MAGIC = 0x50; // 'P': a Raft hard state (or garbage) fails here, not later.
const HARD_STATE_VERSION = 1;
/** Request ids and read indexes are safe integers; so are slots and ballots. */
const FORWARD_BATCH_MAX = ENTRIES_PER_MESSAGE_MAX;

const MESSAGE_TYPES: readonly PaxosMessageType[] = [
  'prepare',
  'promise',
  'nack',
  'accept',
  'accepted',
  'heartbeat',
  'heartbeat-ack',
  'decided',
  'decided-ack',
  'snapshot',
  'snapshot-ack',
  'forward',
  'read-index',
  'read-index-resp',
  'timeout-now',
  'catchup',
];
const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'config', 'empty'];

// ---------------------------------------------------------------------------------------------
// Small pieces.

/** A member id as a little-endian uint64, written as two u32 halves (no BigInt on the hot path). */
function writeNodeId(w: ByteWriter, id: NodeId): void {
  w.u32(Number.parseInt(id.slice(8), 16));
  w.u32(Number.parseInt(id.slice(0, 8), 16));
}

function readNodeId(r: ByteReader, what: string): NodeId {
  const low = r.u32(what);
  const high = r.u32(what);
  if (low === 0 && high === 0) throw new DecodeError(`${what}: member id 0`);
  const id = high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
  if (!isNodeId(id)) throw new DecodeError(`${what}: bad member id`);
  return id;
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.varint(ids.length);
  for (const id of ids) writeNodeId(w, id);
}

function readIds(r: ByteReader, max: number, what: string): NodeId[] {
  const n = r.varint(`${what} count`);
  if (n > max) throw new DecodeError(`${what}: ${n} members, at most ${max}`);
  const out: NodeId[] = [];
  for (let i = 0; i < n; i++) out.push(readNodeId(r, what));
  if (new Set(out).size !== out.length) throw new DecodeError(`${what}: duplicate member`);
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
  const voters = readIds(r, MEMBERS_MAX, 'voters');
  const learners = readIds(r, LEARNERS_MAX, 'learners');
  const votersOutgoing = readIds(r, MEMBERS_MAX, 'outgoing voters');
  const learnersNext = readIds(r, LEARNERS_MAX, 'next learners');
  const autoLeave = r.bool('autoLeave');
  if (voters.some((v) => learners.includes(v))) throw new DecodeError('configuration: a member is both voter and learner');
  return { voters, learners, votersOutgoing, learnersNext, autoLeave };
}

function writeEntry(w: ByteWriter, e: Entry): void {
  w.u53(e.index);
  w.u53(e.term);
  w.u8(ENTRY_KINDS.indexOf(e.kind));
  w.bytes(e.data);
}

function readEntry(r: ByteReader): Entry {
  const index = r.u53('entry index');
  if (index < 1) throw new DecodeError('entry index 0');
  const t = r.u53('entry ballot');
  const k = r.u8('entry kind');
  const kind = ENTRY_KINDS[k];
  if (kind === undefined) throw new DecodeError(`unknown entry kind ${k}`);
  // Copy: the input buffer belongs to the transport and may be reused.
  const data = r.bytes(MESSAGE_BYTES_MAX, 'entry data').slice();
  return { index: logIndex(index), term: term(t), kind, data };
}

function writeEntries(w: ByteWriter, entries: readonly Entry[]): void {
  w.varint(entries.length);
  for (const e of entries) writeEntry(w, e);
}

/** Entries in strictly increasing slot order, at most ENTRIES_PER_MESSAGE_MAX. */
function readEntries(r: ByteReader): Entry[] {
  const n = r.varint('entry count');
  if (n > ENTRIES_PER_MESSAGE_MAX) throw new DecodeError(`${n} entries in one message, at most ${ENTRIES_PER_MESSAGE_MAX}`);
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const e = readEntry(r);
    if (out.length > 0 && e.index <= out[out.length - 1]!.index) throw new DecodeError('entries out of slot order');
    out.push(e);
  }
  return out;
}

function writeSnapshotMeta(w: ByteWriter, m: SnapshotMeta): void {
  w.u53(m.index);
  w.u53(m.term);
  writeConfigState(w, m.config);
  w.u53(m.sizeBytes);
  w.u32(m.crc32c);
}

function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = logIndex(r.u53('snapshot index'));
  const t = term(r.u53('snapshot term'));
  const config = readConfigState(r);
  const sizeBytes = r.u53('snapshot size');
  const crc = r.u32('snapshot crc');
  return { index, term: t, config, sizeBytes, crc32c: crc };
}

function writeChunk(w: ByteWriter, c: SnapshotChunk): void {
  writeSnapshotMeta(w, c.meta);
  w.u53(c.offset);
  w.bool(c.data !== null);
  if (c.data !== null) w.bytes(c.data);
  w.u32(c.crc32c);
  w.bool(c.last);
}

function readChunk(r: ByteReader): SnapshotChunk {
  const meta = readSnapshotMeta(r);
  const offset = r.u53('chunk offset');
  const data = r.bool('chunk has data') ? r.bytes(SNAPSHOT_CHUNK_BYTES, 'chunk data').slice() : null;
  const crc = r.u32('chunk crc');
  const last = r.bool('chunk last');
  if (offset > meta.sizeBytes) throw new DecodeError(`chunk offset ${offset} beyond snapshot size ${meta.sizeBytes}`);
  return { meta, offset, data, crc32c: crc, last };
}

function writeEpochs(w: ByteWriter, epochs: readonly ConfigEpoch[]): void {
  w.varint(epochs.length);
  for (const e of epochs) {
    w.u53(e.effectiveSlot);
    writeConfigState(w, e.config);
  }
}

function readEpochs(r: ByteReader): ConfigEpoch[] {
  const n = r.varint('config epoch count');
  if (n < 1 || n > PAXOS_CONFIG_HISTORY_MAX) throw new DecodeError(`${n} config epochs, expected 1 to ${PAXOS_CONFIG_HISTORY_MAX}`);
  const out: ConfigEpoch[] = [];
  for (let i = 0; i < n; i++) {
    const effectiveSlot = r.u53('effective slot');
    if (out.length > 0 && effectiveSlot <= out[out.length - 1]!.effectiveSlot) throw new DecodeError('config epochs out of order');
    out.push({ effectiveSlot, config: readConfigState(r) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Messages.

export function encodePaxosMessage(m: PaxosMessage): Uint8Array {
  const w = new ByteWriter(64);
  w.u8(MESSAGE_VERSION);
  w.u8(MESSAGE_TYPES.indexOf(m.type));
  writeNodeId(w, m.from);
  writeNodeId(w, m.to);
  switch (m.type) {
    case 'prepare':
      w.u53(m.ballot).u53(m.fromSlot).bool(m.transfer);
      break;
    case 'promise':
      w.u53(m.ballot).u53(m.fromSlot);
      writeEntries(w, m.entries);
      w.u53(m.throughSlot).bool(m.complete).u53(m.compactedThrough).u53(m.commit);
      break;
    case 'nack':
      w.u53(m.ballot).u53(m.promised);
      break;
    case 'accept':
      w.u53(m.ballot);
      writeEntries(w, m.entries);
      w.u53(m.commit);
      break;
    case 'accepted':
      w.u53(m.ballot).u53(m.fromSlot).u53(m.throughSlot).u53(m.commit);
      break;
    case 'heartbeat':
      w.u53(m.ballot).u53(m.commit).u53(m.round);
      break;
    case 'heartbeat-ack':
      w.u53(m.ballot).u53(m.round).u53(m.commit).u53(m.leaderCommit);
      break;
    case 'decided':
      w.u53(m.ballot);
      writeEntries(w, m.entries);
      w.u53(m.commit);
      writeEpochs(w, m.configs);
      w.u53(m.configsValidFrom);
      break;
    case 'decided-ack':
      w.u53(m.ballot).u53(m.commit);
      break;
    case 'snapshot':
      w.u53(m.ballot);
      writeChunk(w, m.snapshotChunk);
      writeEpochs(w, m.configs);
      w.u53(m.configsValidFrom);
      break;
    case 'snapshot-ack':
      w.u53(m.ballot).u53(m.index).u53(m.nextOffset).bool(m.ok);
      break;
    case 'forward':
      w.u8(ENTRY_KINDS.indexOf(m.kind));
      w.varint(m.data.length);
      for (const d of m.data) w.bytes(d);
      break;
    case 'read-index':
      w.u53(m.requestId);
      break;
    case 'read-index-resp':
      w.u53(m.requestId).u53(m.index).bool(m.ok);
      break;
    case 'timeout-now':
      w.u53(m.ballot);
      break;
    case 'catchup':
      w.u53(m.commit);
      break;
    default:
      assertNever(m, 'paxos message');
  }
  return w.finish().slice();
}

/** Decodes and validates a peer message; throws DecodeError (only) on anything malformed. */
export function decodePaxosMessage(bytes: Uint8Array): PaxosMessage {
  try {
    return decodeUnchecked(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(`malformed paxos message: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

function decodeUnchecked(bytes: Uint8Array): PaxosMessage {
  const r = new ByteReader(bytes);
  const version = r.u8('version');
  if (version !== MESSAGE_VERSION) throw new DecodeError(`paxos message version ${version}, expected ${MESSAGE_VERSION}`);
  const t = r.u8('type');
  const type = MESSAGE_TYPES[t];
  if (type === undefined) throw new DecodeError(`unknown paxos message type ${t}`);
  const from = readNodeId(r, 'from');
  const to = readNodeId(r, 'to');
  const ballot = (): Ballot => term(r.u53('ballot'));
  let m: PaxosMessage;
  switch (type) {
    case 'prepare':
      m = { type, from, to, ballot: ballot(), fromSlot: r.u53('fromSlot'), transfer: r.bool('transfer') };
      break;
    case 'promise': {
      const b = ballot();
      const fromSlot = r.u53('fromSlot');
      const entries = readEntries(r);
      const throughSlot = r.u53('throughSlot');
      const complete = r.bool('complete');
      const compactedThrough = r.u53('compactedThrough');
      const commit = r.u53('commit');
      if (entries.some((e) => e.index < fromSlot || e.index > throughSlot)) throw new DecodeError('promise: entry outside its slot range');
      m = { type, from, to, ballot: b, fromSlot, entries, throughSlot, complete, compactedThrough, commit };
      break;
    }
    case 'nack':
      m = { type, from, to, ballot: ballot(), promised: term(r.u53('promised')) };
      break;
    case 'accept': {
      const b = ballot();
      const entries = readEntries(r);
      if (entries.some((e) => e.term !== b)) throw new DecodeError('accept: an entry at another ballot');
      m = { type, from, to, ballot: b, entries, commit: r.u53('commit') };
      break;
    }
    case 'accepted': {
      const b = ballot();
      const fromSlot = r.u53('fromSlot');
      const throughSlot = r.u53('throughSlot');
      if (throughSlot < fromSlot || throughSlot - fromSlot >= ENTRIES_PER_MESSAGE_MAX) throw new DecodeError('accepted: bad slot range');
      m = { type, from, to, ballot: b, fromSlot, throughSlot, commit: r.u53('commit') };
      break;
    }
    case 'heartbeat':
      m = { type, from, to, ballot: ballot(), commit: r.u53('commit'), round: r.u53('round') };
      break;
    case 'heartbeat-ack':
      m = { type, from, to, ballot: ballot(), round: r.u53('round'), commit: r.u53('commit'), leaderCommit: r.u53('leaderCommit') };
      break;
    case 'decided': {
      const b = ballot();
      const entries = readEntries(r);
      for (let i = 1; i < entries.length; i++) if (entries[i]!.index !== entries[i - 1]!.index + 1) throw new DecodeError('decided: slots not contiguous');
      const commit = r.u53('commit');
      const configs = readEpochs(r);
      m = { type, from, to, ballot: b, entries, commit, configs, configsValidFrom: r.u53('configsValidFrom') };
      break;
    }
    case 'decided-ack':
      m = { type, from, to, ballot: ballot(), commit: r.u53('commit') };
      break;
    case 'snapshot': {
      const b = ballot();
      const snapshotChunk = readChunk(r);
      const configs = readEpochs(r);
      m = { type, from, to, ballot: b, snapshotChunk, configs, configsValidFrom: r.u53('configsValidFrom') };
      break;
    }
    case 'snapshot-ack':
      m = { type, from, to, ballot: ballot(), index: r.u53('index'), nextOffset: r.u53('nextOffset'), ok: r.bool('ok') };
      break;
    case 'forward': {
      const k = ENTRY_KINDS[r.u8('kind')];
      if (k !== 'normal' && k !== 'config') throw new DecodeError('forward: kind must be normal or config');
      const n = r.varint('forward count');
      if (n < 1 || n > FORWARD_BATCH_MAX) throw new DecodeError(`forward: ${n} proposals, expected 1 to ${FORWARD_BATCH_MAX}`);
      const data: Uint8Array[] = [];
      for (let i = 0; i < n; i++) data.push(r.bytes(MESSAGE_BYTES_MAX, 'proposal').slice());
      m = { type, from, to, kind: k, data };
      break;
    }
    case 'read-index':
      m = { type, from, to, requestId: r.u53('requestId') };
      break;
    case 'read-index-resp':
      m = { type, from, to, requestId: r.u53('requestId'), index: r.u53('index'), ok: r.bool('ok') };
      break;
    case 'timeout-now':
      m = { type, from, to, ballot: ballot() };
      break;
    case 'catchup':
      m = { type, from, to, commit: r.u53('commit') };
      break;
    default:
      return assertNever(type, 'paxos message type');
  }
  r.done(`paxos ${type}`);
  if (from === to) throw new DecodeError(`paxos ${type}: sender and receiver are the same member`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// Hard state: what an acceptor must not forget.

export interface PaxosHardState {
  /** The acceptor's promise. Persisted before any Promise or Accepted that depends on it is sent. */
  readonly promised: Promised;
  /** Every slot up to here is decided and its decided value is in the log (or in a snapshot). */
  readonly commit: number;
  /**
   * Recovery found the log corrupt and dropped entries up to this slot (DurableState.repairUntil):
   * the member gives no promise, and accepts no phase-2 request at or below this slot, until its
   * commit index reaches it; decided values from the leader repair it. 0 when whole.
   */
  readonly repairUntil: number;
  /**
   * The acceptor's log lost accepted values up to this slot when a snapshot replaced it: its
   * promise is intact, so it accepts phase-2 requests, but it gives no promise (it cannot report
   * what it accepted) until its commit index reaches this slot. 0 when whole.
   */
  readonly reportGapUntil: number;
  /** The configurations of the slots not yet decided (the α-window), and back to the snapshot when kept. */
  readonly configs: readonly ConfigEpoch[];
  /** `configs` are exact for every slot from here on. */
  readonly configsValidFrom: number;
  /**
   * Recovery found damage, so the promise above may be older than one this acceptor gave before
   * the crash: it accepts no phase-2 request until it has promised a fresh ballot (see the engine's
   * `promiseLost`). Absent (false) in hard states written before this field existed.
   */
  readonly promiseLost?: boolean;
}

export function encodeHardState(h: PaxosHardState): Uint8Array {
  const w = new ByteWriter(128);
  w.u8(HARD_STATE_MAGIC).u8(HARD_STATE_VERSION);
  w.u53(h.promised.ballot);
  w.bool(h.promised.node !== null);
  if (h.promised.node !== null) writeNodeId(w, h.promised.node);
  w.u53(h.commit).u53(h.repairUntil).u53(h.reportGapUntil);
  writeEpochs(w, h.configs);
  w.u53(h.configsValidFrom);
  // Appended last and only when set, so hard states written before the field existed still decode.
  if (h.promiseLost === true) w.bool(true);
  return w.finish().slice();
}

export function decodeHardState(bytes: Uint8Array): PaxosHardState {
  const r = new ByteReader(bytes);
  const magic = r.u8('magic');
  if (magic !== HARD_STATE_MAGIC) throw new DecodeError('not a Multi-Paxos hard state (was this data directory written by the Raft engine?)');
  const version = r.u8('version');
  if (version !== HARD_STATE_VERSION) throw new DecodeError(`paxos hard state version ${version}, expected ${HARD_STATE_VERSION}`);
  const ballot = term(r.u53('promised ballot'));
  const node = r.bool('promised has node') ? readNodeId(r, 'promised node') : null;
  const commit = r.u53('commit');
  const repairUntil = r.u53('repairUntil');
  const reportGapUntil = r.u53('reportGapUntil');
  const configs = readEpochs(r);
  const configsValidFrom = r.u53('configsValidFrom');
  const promiseLost = r.remainingBytes > 0 ? r.bool('promiseLost') : false;
  r.done('paxos hard state');
  return { promised: { ballot, node }, commit, repairUntil, reportGapUntil, configs, configsValidFrom, ...(promiseLost ? { promiseLost } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Configuration entries.

// The shared encoding (src/consensus/config-change-codec.ts): a `config` entry's data is exactly one.
export { encodeConfigChange, decodeConfigChange } from '../consensus/config-change-codec.js';
