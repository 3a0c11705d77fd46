/**
 * The replicated command: what a normal log entry's data holds. An envelope carries the request id
 * (the proposing member and its counter, so that member can hand the applied result to the waiting
 * client), an optional client-session tag for exactly-once writes, and one operation.
 *
 * The encoding is Bulwark's own compact binary form (ByteWriter/ByteReader), not protobuf: a
 * version byte, then fields in a fixed order. Decoding validates every length, count, enum and
 * nesting depth and throws DecodeError on anything else, so a corrupt or hostile entry is an error
 * for that entry, never a crash of the replica.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { leaseId, nodeIdFromBigInt, nodeIdToBigInt, type LeaseId, type NodeId } from '../core/ids.js';
import { assert, assertNever } from '../core/assert.js';
import { KEY_BYTES_MAX, MEMBER_NAME_BYTES_MAX, MEMBER_URL_BYTES_MAX, MEMBER_URLS_MAX, MEMBERS_MAX, REQUEST_BYTES_MAX, TXN_NESTING_DEPTH_MAX } from '../core/limits.js';

/** Identifies a proposal: the member that proposed it and a counter of that member. */
export interface RequestId {
  readonly member: NodeId;
  readonly counter: number;
}

/**
 * Exactly-once tag: the client's session id (from SessionOpen), this request's sequence number, and
 * the lowest sequence number the client still waits for (responses below it may be forgotten).
 */
export interface SessionTag {
  readonly clientId: number;
  readonly seq: number;
  readonly lowestUnacked: number;
}

export type SortOrder = 'none' | 'ascend' | 'descend';
export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

export interface RangeOp {
  readonly type: 'range';
  readonly key: Uint8Array;
  /** Empty: the single key. `\0`: every key >= key. Otherwise [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** 0 or less: no limit. */
  readonly limit: number;
  /** 0 or less: the current revision. */
  readonly revision: number;
  readonly sortOrder: SortOrder;
  readonly sortTarget: SortTarget;
  readonly serializable: boolean;
  readonly keysOnly: boolean;
  readonly countOnly: boolean;
  /** Each 0: no bound. */
  readonly minModRevision: number;
  readonly maxModRevision: number;
  readonly minCreateRevision: number;
  readonly maxCreateRevision: number;
}

export interface PutOp {
  readonly type: 'put';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** 0n: no lease. */
  readonly lease: LeaseId;
  readonly prevKv: boolean;
  readonly ignoreValue: boolean;
  readonly ignoreLease: boolean;
}

export interface DeleteRangeOp {
  readonly type: 'delete-range';
  readonly key: Uint8Array;
  readonly rangeEnd: Uint8Array;
  readonly prevKv: boolean;
}

export type CompareResult = 'equal' | 'greater' | 'less' | 'not-equal';

export type CompareOperand =
  | { readonly type: 'version'; readonly version: number }
  | { readonly type: 'create'; readonly revision: number }
  | { readonly type: 'mod'; readonly revision: number }
  | { readonly type: 'value'; readonly value: Uint8Array }
  | { readonly type: 'lease'; readonly lease: LeaseId };

export interface Compare {
  readonly key: Uint8Array;
  /** As in RangeOp: empty for one key; the compare must hold for every key of the range. */
  readonly rangeEnd: Uint8Array;
  readonly result: CompareResult;
  readonly operand: CompareOperand;
}

export interface TxnOp {
  readonly type: 'txn';
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

/** What a transaction branch may hold (etcd's RequestOp). */
export type RequestOp = RangeOp | PutOp | DeleteRangeOp | TxnOp;

export interface CompactionOp {
  readonly type: 'compaction';
  readonly revision: number;
  /** Finish removing the compacted history within this apply (etcd: answer after it is physical). */
  readonly physical: boolean;
}

export interface LeaseGrantOp {
  readonly type: 'lease-grant';
  /** 0n: the store chooses an id, deterministically from the entry. */
  readonly id: LeaseId;
  readonly ttlSec: number;
}

export interface LeaseRevokeOp {
  readonly type: 'lease-revoke';
  readonly id: LeaseId;
}

export interface LeaseCheckpoint {
  readonly id: LeaseId;
  /** Remaining TTL as the leader saw it; 0 resets the lease to its full TTL (after a renewal). */
  readonly remainingTtlSec: number;
}

export interface LeaseCheckpointOp {
  readonly type: 'lease-checkpoint';
  readonly checkpoints: readonly LeaseCheckpoint[];
}

/** Leases the leader's lessor found expired; revoked together in one revision. */
export interface LeaseExpireOp {
  readonly type: 'lease-expire';
  readonly ids: readonly LeaseId[];
}

export type AlarmType = 'nospace' | 'corrupt';

export interface AlarmOp {
  readonly type: 'alarm';
  readonly action: 'activate' | 'deactivate';
  /** null with deactivate: every member's alarm of that type. */
  readonly member: NodeId | null;
  readonly alarm: AlarmType;
}

/** Updates what the member table knows of a member; null fields are left as they are. */
export interface MemberUpdateOp {
  readonly type: 'member-update';
  readonly id: NodeId;
  readonly name: string | null;
  readonly peerUrls: readonly string[] | null;
  readonly clientUrls: readonly string[] | null;
}

export interface SessionOpenOp {
  readonly type: 'session-open';
}

export interface SessionCloseOp {
  readonly type: 'session-close';
  readonly clientId: number;
}

export interface NoopOp {
  readonly type: 'noop';
}

export type Op =
  | RangeOp
  | PutOp
  | DeleteRangeOp
  | TxnOp
  | CompactionOp
  | LeaseGrantOp
  | LeaseRevokeOp
  | LeaseCheckpointOp
  | LeaseExpireOp
  | AlarmOp
  | MemberUpdateOp
  | SessionOpenOp
  | SessionCloseOp
  | NoopOp;

export interface Command {
  readonly requestId: RequestId;
  readonly session: SessionTag | null;
  readonly op: Op;
}

// ---------------------------------------------------------------------------------------------
// Constructors with etcd's defaults, for the server, tests and tools.

const NONE = new Uint8Array(0);
const enc = new TextEncoder();
const asBytes = (k: Uint8Array | string): Uint8Array => (typeof k === 'string' ? enc.encode(k) : k);

export function rangeOp(key: Uint8Array | string, opts: Partial<Omit<RangeOp, 'type' | 'key' | 'rangeEnd'>> & { rangeEnd?: Uint8Array | string } = {}): RangeOp {
  return {
    type: 'range',
    key: asBytes(key),
    rangeEnd: asBytes(opts.rangeEnd ?? NONE),
    limit: opts.limit ?? 0,
    revision: opts.revision ?? 0,
    sortOrder: opts.sortOrder ?? 'none',
    sortTarget: opts.sortTarget ?? 'key',
    serializable: opts.serializable ?? false,
    keysOnly: opts.keysOnly ?? false,
    countOnly: opts.countOnly ?? false,
    minModRevision: opts.minModRevision ?? 0,
    maxModRevision: opts.maxModRevision ?? 0,
    minCreateRevision: opts.minCreateRevision ?? 0,
    maxCreateRevision: opts.maxCreateRevision ?? 0,
  };
}

export function putOp(key: Uint8Array | string, value: Uint8Array | string, opts: Partial<Omit<PutOp, 'type' | 'key' | 'value'>> = {}): PutOp {
  return {
    type: 'put',
    key: asBytes(key),
    value: asBytes(value),
    lease: opts.lease ?? leaseId(0n),
    prevKv: opts.prevKv ?? false,
    ignoreValue: opts.ignoreValue ?? false,
    ignoreLease: opts.ignoreLease ?? false,
  };
}

export function deleteRangeOp(key: Uint8Array | string, opts: { rangeEnd?: Uint8Array | string; prevKv?: boolean } = {}): DeleteRangeOp {
  return { type: 'delete-range', key: asBytes(key), rangeEnd: asBytes(opts.rangeEnd ?? NONE), prevKv: opts.prevKv ?? false };
}

export function txnOp(compare: readonly Compare[], success: readonly RequestOp[], failure: readonly RequestOp[] = []): TxnOp {
  return { type: 'txn', compare, success, failure };
}

export function compare(key: Uint8Array | string, result: CompareResult, operand: CompareOperand, rangeEnd: Uint8Array | string = NONE): Compare {
  return { key: asBytes(key), rangeEnd: asBytes(rangeEnd), result, operand };
}

/** The range end that selects every key with the given prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array | string): Uint8Array {
  const p = asBytes(prefix);
  for (let i = p.length - 1; i >= 0; i--) {
    if (p[i]! < 0xff) {
      const end = p.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  // All 0xff (or empty): no upper bound.
  return new Uint8Array([0]);
}

// ---------------------------------------------------------------------------------------------
// Encoding.

const FORMAT_VERSION = 1;

const OP_TAGS = {
  range: 1,
  put: 2,
  'delete-range': 3,
  txn: 4,
  compaction: 5,
  'lease-grant': 6,
  'lease-revoke': 7,
  'lease-checkpoint': 8,
  'lease-expire': 9,
  alarm: 10,
  'member-update': 11,
  'session-open': 12,
  'session-close': 13,
  noop: 14,
} as const satisfies Record<Op['type'], number>;

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'not-equal'];
const COMPARE_TARGETS: readonly CompareOperand['type'][] = ['version', 'create', 'mod', 'value', 'lease'];
const ALARM_TYPES: readonly AlarmType[] = ['nospace', 'corrupt'];

export function encodeCommand(cmd: Command): Uint8Array {
  const w = new ByteWriter(estimateOpBytes(cmd.op));
  w.u8(FORMAT_VERSION);
  w.u64(memberBits(cmd.requestId.member));
  w.varint(cmd.requestId.counter);
  w.u8(cmd.session === null ? 0 : 1);
  if (cmd.session !== null) {
    w.varint(cmd.session.clientId).varint(cmd.session.seq).varint(cmd.session.lowestUnacked);
  }
  writeOp(w, cmd.op);
  // A copy, so the caller does not share the writer's oversized buffer.
  return w.finish().slice();
}

export function decodeCommand(data: Uint8Array): Command {
  const r = new ByteReader(data);
  const version = r.u8('command version');
  if (version !== FORMAT_VERSION) throw new DecodeError(`unknown command format version ${version}`);
  const member = readNodeId(r, 'request member');
  const counter = r.varint('request counter');
  const flags = r.u8('command flags');
  if (flags > 1) throw new DecodeError(`unknown command flags ${flags}`);
  let session: SessionTag | null = null;
  if (flags === 1) {
    session = { clientId: r.varint('session client id'), seq: r.varint('session seq'), lowestUnacked: r.varint('session lowest unacked') };
  }
  const op = readOp(r, 0);
  r.done('command');
  return { requestId: { member, counter }, session, op };
}

/** Room to reserve for an encoded op, so the writer rarely grows (a put is most entries). */
function estimateOpBytes(op: Op): number {
  switch (op.type) {
    case 'put':
      return 64 + op.key.length + op.value.length;
    case 'range':
    case 'delete-range':
      return 96 + op.key.length + op.rangeEnd.length;
    default:
      return 256;
  }
}

/** Encodes one operation alone (used inside results and for size estimates). */
export function encodeOp(op: Op): Uint8Array {
  const w = new ByteWriter(64);
  writeOp(w, op);
  return w.finish().slice();
}

function writeOp(w: ByteWriter, op: Op): void {
  w.u8(OP_TAGS[op.type]);
  switch (op.type) {
    case 'range':
      w.bytes(op.key).bytes(op.rangeEnd);
      writeInt(w, op.limit);
      writeInt(w, op.revision);
      w.u8(SORT_ORDERS.indexOf(op.sortOrder)).u8(SORT_TARGETS.indexOf(op.sortTarget));
      w.u8((op.serializable ? 1 : 0) | (op.keysOnly ? 2 : 0) | (op.countOnly ? 4 : 0));
      writeInt(w, op.minModRevision);
      writeInt(w, op.maxModRevision);
      writeInt(w, op.minCreateRevision);
      writeInt(w, op.maxCreateRevision);
      return;
    case 'put':
      w.bytes(op.key).bytes(op.value).i64(op.lease);
      w.u8((op.prevKv ? 1 : 0) | (op.ignoreValue ? 2 : 0) | (op.ignoreLease ? 4 : 0));
      return;
    case 'delete-range':
      w.bytes(op.key).bytes(op.rangeEnd).bool(op.prevKv);
      return;
    case 'txn':
      w.varint(op.compare.length);
      for (const c of op.compare) writeCompare(w, c);
      w.varint(op.success.length);
      for (const o of op.success) writeOp(w, o);
      w.varint(op.failure.length);
      for (const o of op.failure) writeOp(w, o);
      return;
    case 'compaction':
      writeInt(w, op.revision);
      w.bool(op.physical);
      return;
    case 'lease-grant':
      w.i64(op.id);
      writeInt(w, op.ttlSec);
      return;
    case 'lease-revoke':
      w.i64(op.id);
      return;
    case 'lease-checkpoint':
      w.varint(op.checkpoints.length);
      for (const c of op.checkpoints) {
        w.i64(c.id);
        writeInt(w, c.remainingTtlSec);
      }
      return;
    case 'lease-expire':
      w.varint(op.ids.length);
      for (const id of op.ids) w.i64(id);
      return;
    case 'alarm':
      w.u8(op.action === 'activate' ? 1 : 2);
      w.u64(op.member === null ? 0n : nodeIdToBigInt(op.member));
      w.u8(ALARM_TYPES.indexOf(op.alarm) + 1);
      return;
    case 'member-update':
      w.u64(nodeIdToBigInt(op.id));
      w.u8((op.name !== null ? 1 : 0) | (op.peerUrls !== null ? 2 : 0) | (op.clientUrls !== null ? 4 : 0));
      if (op.name !== null) w.string(op.name);
      if (op.peerUrls !== null) writeStrings(w, op.peerUrls);
      if (op.clientUrls !== null) writeStrings(w, op.clientUrls);
      return;
    case 'session-open':
      return;
    case 'session-close':
      w.varint(op.clientId);
      return;
    case 'noop':
      return;
    default:
      assertNever(op, 'op');
  }
}

function writeCompare(w: ByteWriter, c: Compare): void {
  w.bytes(c.key).bytes(c.rangeEnd);
  w.u8(COMPARE_RESULTS.indexOf(c.result));
  w.u8(COMPARE_TARGETS.indexOf(c.operand.type));
  const o = c.operand;
  switch (o.type) {
    case 'version':
      writeInt(w, o.version);
      return;
    case 'create':
    case 'mod':
      writeInt(w, o.revision);
      return;
    case 'value':
      w.bytes(o.value);
      return;
    case 'lease':
      w.i64(o.lease);
      return;
    default:
      assertNever(o, 'compare operand');
  }
}

function readOp(r: ByteReader, depth: number): Op {
  const tag = r.u8('op tag');
  switch (tag) {
    case OP_TAGS.range: {
      const key = r.bytes(KEY_BYTES_MAX, 'range key');
      const rangeEnd = r.bytes(KEY_BYTES_MAX, 'range end');
      const limit = readInt(r, 'range limit');
      const revision = readInt(r, 'range revision');
      const sortOrder = readEnum(r, SORT_ORDERS, 'sort order');
      const sortTarget = readEnum(r, SORT_TARGETS, 'sort target');
      const flags = readFlags(r, 7, 'range flags');
      return {
        type: 'range',
        key,
        rangeEnd,
        limit,
        revision,
        sortOrder,
        sortTarget,
        serializable: (flags & 1) !== 0,
        keysOnly: (flags & 2) !== 0,
        countOnly: (flags & 4) !== 0,
        minModRevision: readInt(r, 'min mod revision'),
        maxModRevision: readInt(r, 'max mod revision'),
        minCreateRevision: readInt(r, 'min create revision'),
        maxCreateRevision: readInt(r, 'max create revision'),
      };
    }
    case OP_TAGS.put: {
      const key = r.bytes(KEY_BYTES_MAX, 'put key');
      const value = r.bytes(REQUEST_BYTES_MAX, 'put value');
      const lease = leaseId(r.i64('put lease'));
      const flags = readFlags(r, 7, 'put flags');
      return { type: 'put', key, value, lease, prevKv: (flags & 1) !== 0, ignoreValue: (flags & 2) !== 0, ignoreLease: (flags & 4) !== 0 };
    }
    case OP_TAGS['delete-range']:
      return { type: 'delete-range', key: r.bytes(KEY_BYTES_MAX, 'delete key'), rangeEnd: r.bytes(KEY_BYTES_MAX, 'delete range end'), prevKv: r.bool('delete prev_kv') };
    case OP_TAGS.txn: {
      if (depth >= TXN_NESTING_DEPTH_MAX) throw new DecodeError(`transactions nested deeper than ${TXN_NESTING_DEPTH_MAX}`);
      const compares: Compare[] = [];
      const nc = readCount(r, 'txn compares');
      for (let i = 0; i < nc; i++) compares.push(readCompare(r));
      const success = readRequestOps(r, depth, 'txn success');
      const failure = readRequestOps(r, depth, 'txn failure');
      return { type: 'txn', compare: compares, success, failure };
    }
    case OP_TAGS.compaction:
      return { type: 'compaction', revision: readInt(r, 'compaction revision'), physical: r.bool('compaction physical') };
    case OP_TAGS['lease-grant']:
      return { type: 'lease-grant', id: leaseId(r.i64('lease id')), ttlSec: readInt(r, 'lease ttl') };
    case OP_TAGS['lease-revoke']:
      return { type: 'lease-revoke', id: leaseId(r.i64('lease id')) };
    case OP_TAGS['lease-checkpoint']: {
      const n = readCount(r, 'lease checkpoints');
      const checkpoints: LeaseCheckpoint[] = [];
      for (let i = 0; i < n; i++) checkpoints.push({ id: leaseId(r.i64('lease id')), remainingTtlSec: readInt(r, 'remaining ttl') });
      return { type: 'lease-checkpoint', checkpoints };
    }
    case OP_TAGS['lease-expire']: {
      const n = readCount(r, 'expired leases');
      const ids: LeaseId[] = [];
      for (let i = 0; i < n; i++) ids.push(leaseId(r.i64('lease id')));
      return { type: 'lease-expire', ids };
    }
    case OP_TAGS.alarm: {
      const a = r.u8('alarm action');
      if (a !== 1 && a !== 2) throw new DecodeError(`unknown alarm action ${a}`);
      const m = r.u64('alarm member');
      const t = r.u8('alarm type');
      const alarm = ALARM_TYPES[t - 1];
      if (alarm === undefined) throw new DecodeError(`unknown alarm type ${t}`);
      return { type: 'alarm', action: a === 1 ? 'activate' : 'deactivate', member: m === 0n ? null : toNodeId(m, 'alarm member'), alarm };
    }
    case OP_TAGS['member-update']: {
      const id = readNodeId(r, 'member id');
      const flags = readFlags(r, 7, 'member update flags');
      const name = (flags & 1) !== 0 ? r.string(MEMBER_NAME_BYTES_MAX, 'member name') : null;
      const peerUrls = (flags & 2) !== 0 ? readStrings(r, 'peer urls') : null;
      const clientUrls = (flags & 4) !== 0 ? readStrings(r, 'client urls') : null;
      return { type: 'member-update', id, name, peerUrls, clientUrls };
    }
    case OP_TAGS['session-open']:
      return { type: 'session-open' };
    case OP_TAGS['session-close']:
      return { type: 'session-close', clientId: r.varint('session client id') };
    case OP_TAGS.noop:
      return { type: 'noop' };
    default:
      throw new DecodeError(`unknown op tag ${tag}`);
  }
}

function readRequestOps(r: ByteReader, depth: number, what: string): RequestOp[] {
  const n = readCount(r, what);
  const ops: RequestOp[] = [];
  for (let i = 0; i < n; i++) {
    const op = readOp(r, depth + 1);
    if (op.type !== 'range' && op.type !== 'put' && op.type !== 'delete-range' && op.type !== 'txn') {
      throw new DecodeError(`${what}: a ${op.type} op cannot appear in a transaction`);
    }
    ops.push(op);
  }
  return ops;
}

function readCompare(r: ByteReader): Compare {
  const key = r.bytes(KEY_BYTES_MAX, 'compare key');
  const rangeEnd = r.bytes(KEY_BYTES_MAX, 'compare range end');
  const result = readEnum(r, COMPARE_RESULTS, 'compare result');
  const target = readEnum(r, COMPARE_TARGETS, 'compare target');
  let operand: CompareOperand;
  switch (target) {
    case 'version':
      operand = { type: 'version', version: readInt(r, 'compare version') };
      break;
    case 'create':
    case 'mod':
      operand = { type: target, revision: readInt(r, 'compare revision') };
      break;
    case 'value':
      operand = { type: 'value', value: r.bytes(REQUEST_BYTES_MAX, 'compare value') };
      break;
    case 'lease':
      operand = { type: 'lease', lease: leaseId(r.i64('compare lease')) };
      break;
    default:
      assertNever(target, 'compare target');
  }
  return { key, rangeEnd, result, operand };
}

// ---------------------------------------------------------------------------------------------
// Field helpers shared with the result and snapshot codecs.

/** A signed safe integer: a sign byte and the magnitude as a varint. */
export function writeInt(w: ByteWriter, v: number): void {
  assert(Number.isSafeInteger(v), `not a safe integer: ${v}`);
  w.u8(v < 0 ? 1 : 0).varint(Math.abs(v));
}

export function readInt(r: ByteReader, what: string): number {
  const sign = r.u8(`${what} sign`);
  if (sign > 1) throw new DecodeError(`${what}: bad sign byte ${sign}`);
  const m = r.varint(what);
  if (sign === 1 && m === 0) throw new DecodeError(`${what}: negative zero`);
  return sign === 1 ? -m : m;
}

/** A count of items each at least one byte long: bounded by what remains of the input. */
export function readCount(r: ByteReader, what: string): number {
  const n = r.varint(`${what} count`);
  if (n > r.remainingBytes) throw new DecodeError(`${what}: count ${n} exceeds the ${r.remainingBytes} bytes left`);
  return n;
}

export function readEnum<T>(r: ByteReader, values: readonly T[], what: string): T {
  const i = r.u8(what);
  const v = values[i];
  if (v === undefined) throw new DecodeError(`unknown ${what} ${i}`);
  return v;
}

function readFlags(r: ByteReader, mask: number, what: string): number {
  const f = r.u8(what);
  if ((f & ~mask) !== 0) throw new DecodeError(`unknown ${what} ${f}`);
  return f;
}

// Member ids repeat in every entry; their conversions are cached (a few dozen members at most).
const nodeIds = new Map<bigint, NodeId>();
const nodeIdBits = new Map<NodeId, bigint>();

export function toNodeId(v: bigint, what: string): NodeId {
  if (v === 0n) throw new DecodeError(`${what}: member id 0`);
  let id = nodeIds.get(v);
  if (id === undefined) {
    if (nodeIds.size >= 4 * MEMBERS_MAX) nodeIds.clear();
    id = nodeIdFromBigInt(v);
    nodeIds.set(v, id);
  }
  return id;
}

function memberBits(id: NodeId): bigint {
  let v = nodeIdBits.get(id);
  if (v === undefined) {
    if (nodeIdBits.size >= 4 * MEMBERS_MAX) nodeIdBits.clear();
    v = nodeIdToBigInt(id);
    nodeIdBits.set(id, v);
  }
  return v;
}

export function readNodeId(r: ByteReader, what: string): NodeId {
  return toNodeId(r.u64(what), what);
}

export function writeStrings(w: ByteWriter, items: readonly string[]): void {
  w.varint(items.length);
  for (const s of items) w.string(s);
}

export function readStrings(r: ByteReader, what: string): string[] {
  const n = r.varint(`${what} count`);
  if (n > MEMBER_URLS_MAX) throw new DecodeError(`${what}: ${n} items, at most ${MEMBER_URLS_MAX}`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.string(MEMBER_URL_BYTES_MAX, what));
  return out;
}

/** A stable string for matching an applied result to the waiting request. */
export function requestKey(id: RequestId): string {
  return `${id.member}:${id.counter}`;
}
