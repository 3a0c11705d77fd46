/**
 * What applying a command yields: etcd's responses without the header (the server adds cluster
 * id, member id, revision and term), or a typed error. Results are plain data so the client-session
 * table can keep them and a snapshot can carry them; the codec here is used for that.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { assertNever } from '../core/assert.js';
import { leaseId, nodeIdToBigInt, type LeaseId, type LogIndex, type Revision } from '../core/ids.js';
import { KEY_BYTES_MAX, MEMBERS_MAX, REQUEST_BYTES_MAX } from '../core/limits.js';
import type { AlarmMember } from './alarms.js';
import { readCount, readEnum, readInt, readNodeId, writeInt, type AlarmType, type RequestId } from './command.js';
import { isKvErrorCode, type KvErrorCode } from './errors.js';
import { readMemberInfo, writeMemberInfo, type MemberInfo } from './members.js';
import type { KeyValue } from './record.js';

export type { KeyValue } from './record.js';

export interface RangeResult {
  readonly type: 'range';
  readonly kvs: readonly KeyValue[];
  readonly more: boolean;
  /** Keys in the range at the read revision, before limit and the min/max filters. */
  readonly count: number;
}

export interface PutResult {
  readonly type: 'put';
  readonly prevKv: KeyValue | null;
}

export interface DeleteRangeResult {
  readonly type: 'delete-range';
  readonly deleted: number;
  readonly prevKvs: readonly KeyValue[];
}

export interface TxnResult {
  readonly type: 'txn';
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export type ResponseOp = RangeResult | PutResult | DeleteRangeResult | TxnResult;

export type Outcome =
  | ResponseOp
  | { readonly type: 'compaction' }
  | { readonly type: 'lease-grant'; readonly id: LeaseId; readonly ttlSec: number }
  | { readonly type: 'lease-revoke' }
  | { readonly type: 'lease-checkpoint' }
  | { readonly type: 'lease-expire'; readonly revoked: readonly LeaseId[] }
  | { readonly type: 'alarm'; readonly alarms: readonly AlarmMember[] }
  | { readonly type: 'members'; readonly members: readonly MemberInfo[] }
  | { readonly type: 'session-open'; readonly clientId: number }
  | { readonly type: 'session-close' }
  | { readonly type: 'noop' }
  | { readonly type: 'error'; readonly code: KvErrorCode; readonly detail: string };

export type ErrorOutcome = Extract<Outcome, { type: 'error' }>;

/** The result of applying one log entry. */
export interface ApplyResult {
  readonly index: LogIndex;
  /** The proposal this answers; null for empty and config entries and for undecodable data. */
  readonly requestId: RequestId | null;
  /** The store revision after the entry (the response header's revision). */
  readonly revision: Revision;
  readonly outcome: Outcome;
  /** True when the outcome was replayed from the client-session table, not applied again. */
  readonly duplicate: boolean;
}

// ---------------------------------------------------------------------------------------------
// Codec.

const TAGS = {
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
  members: 11,
  'session-open': 12,
  'session-close': 13,
  noop: 14,
  error: 15,
} as const satisfies Record<Outcome['type'], number>;

const ALARM_TYPES: readonly AlarmType[] = ['nospace', 'corrupt'];
const NESTING_MAX = 64;

export function writeOutcome(w: ByteWriter, o: Outcome): void {
  w.u8(TAGS[o.type]);
  switch (o.type) {
    case 'range':
      w.varint(o.kvs.length);
      for (const kv of o.kvs) writeKeyValue(w, kv);
      w.bool(o.more).varint(o.count);
      return;
    case 'put':
      writeOptionalKv(w, o.prevKv);
      return;
    case 'delete-range':
      w.varint(o.deleted).varint(o.prevKvs.length);
      for (const kv of o.prevKvs) writeKeyValue(w, kv);
      return;
    case 'txn':
      w.bool(o.succeeded).varint(o.responses.length);
      for (const r of o.responses) writeOutcome(w, r);
      return;
    case 'lease-grant':
      w.i64(o.id);
      writeInt(w, o.ttlSec);
      return;
    case 'lease-expire':
      w.varint(o.revoked.length);
      for (const id of o.revoked) w.i64(id);
      return;
    case 'alarm':
      w.varint(o.alarms.length);
      for (const a of o.alarms) w.u64(nodeIdToBigInt(a.member)).u8(ALARM_TYPES.indexOf(a.alarm));
      return;
    case 'members':
      w.varint(o.members.length);
      for (const m of o.members) writeMemberInfo(w, m);
      return;
    case 'session-open':
      w.varint(o.clientId);
      return;
    case 'error':
      w.string(o.code).string(o.detail);
      return;
    case 'compaction':
    case 'lease-revoke':
    case 'lease-checkpoint':
    case 'session-close':
    case 'noop':
      return;
    default:
      assertNever(o, 'outcome');
  }
}

export function readOutcome(r: ByteReader, depth = 0): Outcome {
  if (depth > NESTING_MAX) throw new DecodeError('outcome nested too deeply');
  const tag = r.u8('outcome tag');
  switch (tag) {
    case TAGS.range: {
      const n = readCount(r, 'range kvs');
      const kvs: KeyValue[] = [];
      for (let i = 0; i < n; i++) kvs.push(readKeyValue(r));
      return { type: 'range', kvs, more: r.bool('range more'), count: r.varint('range count') };
    }
    case TAGS.put:
      return { type: 'put', prevKv: readOptionalKv(r) };
    case TAGS['delete-range']: {
      const deleted = r.varint('deleted');
      const n = readCount(r, 'prev kvs');
      const prevKvs: KeyValue[] = [];
      for (let i = 0; i < n; i++) prevKvs.push(readKeyValue(r));
      return { type: 'delete-range', deleted, prevKvs };
    }
    case TAGS.txn: {
      const succeeded = r.bool('txn succeeded');
      const n = readCount(r, 'txn responses');
      const responses: ResponseOp[] = [];
      for (let i = 0; i < n; i++) {
        const o = readOutcome(r, depth + 1);
        if (o.type !== 'range' && o.type !== 'put' && o.type !== 'delete-range' && o.type !== 'txn') throw new DecodeError(`a ${o.type} result inside a txn result`);
        responses.push(o);
      }
      return { type: 'txn', succeeded, responses };
    }
    case TAGS.compaction:
      return { type: 'compaction' };
    case TAGS['lease-grant']:
      return { type: 'lease-grant', id: leaseId(r.i64('lease id')), ttlSec: readInt(r, 'lease ttl') };
    case TAGS['lease-revoke']:
      return { type: 'lease-revoke' };
    case TAGS['lease-checkpoint']:
      return { type: 'lease-checkpoint' };
    case TAGS['lease-expire']: {
      const n = readCount(r, 'revoked leases');
      const revoked: LeaseId[] = [];
      for (let i = 0; i < n; i++) revoked.push(leaseId(r.i64('lease id')));
      return { type: 'lease-expire', revoked };
    }
    case TAGS.alarm: {
      const n = readCount(r, 'alarms');
      const alarms: AlarmMember[] = [];
      for (let i = 0; i < n; i++) alarms.push({ member: readNodeId(r, 'alarm member'), alarm: readEnum(r, ALARM_TYPES, 'alarm type') });
      return { type: 'alarm', alarms };
    }
    case TAGS.members: {
      const n = readCount(r, 'members');
      if (n > MEMBERS_MAX) throw new DecodeError(`${n} members, at most ${MEMBERS_MAX}`);
      const members: MemberInfo[] = [];
      for (let i = 0; i < n; i++) members.push(readMemberInfo(r));
      return { type: 'members', members };
    }
    case TAGS['session-open']:
      return { type: 'session-open', clientId: r.varint('client id') };
    case TAGS['session-close']:
      return { type: 'session-close' };
    case TAGS.noop:
      return { type: 'noop' };
    case TAGS.error: {
      const code = r.string(64, 'error code');
      if (!isKvErrorCode(code)) throw new DecodeError(`unknown error code ${JSON.stringify(code)}`);
      return { type: 'error', code, detail: r.string(REQUEST_BYTES_MAX, 'error detail') };
    }
    default:
      throw new DecodeError(`unknown outcome tag ${tag}`);
  }
}

export function encodeOutcome(o: Outcome): Uint8Array {
  const w = new ByteWriter(64);
  writeOutcome(w, o);
  return w.finish().slice();
}

export function decodeOutcome(data: Uint8Array): Outcome {
  const r = new ByteReader(data);
  const o = readOutcome(r);
  r.done('outcome');
  return o;
}

function writeKeyValue(w: ByteWriter, kv: KeyValue): void {
  w.bytes(kv.key).varint(kv.createRevision).varint(kv.modRevision).varint(kv.version).bytes(kv.value).i64(kv.lease);
}

function readKeyValue(r: ByteReader): KeyValue {
  return {
    key: r.bytes(KEY_BYTES_MAX, 'kv key').slice(),
    createRevision: r.varint('kv create revision'),
    modRevision: r.varint('kv mod revision'),
    version: r.varint('kv version'),
    value: r.bytes(REQUEST_BYTES_MAX, 'kv value').slice(),
    lease: leaseId(r.i64('kv lease')),
  };
}

function writeOptionalKv(w: ByteWriter, kv: KeyValue | null): void {
  w.bool(kv !== null);
  if (kv !== null) writeKeyValue(w, kv);
}

function readOptionalKv(r: ByteReader): KeyValue | null {
  return r.bool('has kv') ? readKeyValue(r) : null;
}

/** An estimate of the memory an outcome holds, deterministic (it decides what sessions keep). */
export function outcomeSizeBytes(o: Outcome): number {
  const kv = (x: KeyValue): number => 64 + x.key.length + x.value.length;
  switch (o.type) {
    case 'range':
      return o.kvs.reduce((s, x) => s + kv(x), 32);
    case 'put':
      return 32 + (o.prevKv === null ? 0 : kv(o.prevKv));
    case 'delete-range':
      return o.prevKvs.reduce((s, x) => s + kv(x), 32);
    case 'txn':
      return o.responses.reduce((s, x) => s + outcomeSizeBytes(x), 32);
    case 'lease-expire':
      return 32 + 16 * o.revoked.length;
    case 'alarm':
      return 32 + 32 * o.alarms.length;
    case 'members':
      return 32 + 256 * o.members.length;
    case 'error':
      return 64 + o.detail.length;
    case 'compaction':
    case 'lease-grant':
    case 'lease-revoke':
    case 'lease-checkpoint':
    case 'session-open':
    case 'session-close':
    case 'noop':
      return 32;
    default:
      return assertNever(o, 'outcome');
  }
}
