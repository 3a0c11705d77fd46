/**
 * What the client commands print for each response, in etcdctl 3.4's formats: simple (the
 * default), json (Go's encoding/json of etcd's Go structs: the same field names, base64 bytes,
 * numbers), fields ("Name" : value lines), table, and protobuf where etcdctl has it.
 */
import type {
  AlarmResponse,
  DeleteRangeResponse,
  HashKVResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberAddResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnResponse,
  WatchResponse,
} from '../api/proto/generated/etcdserverpb.js';
import { encodeDeleteRangeResponse, encodeMemberListResponse, encodePutResponse, encodeRangeResponse, encodeTxnResponse, encodeAlarmResponse } from '../api/proto/generated/etcdserverpb.js';
import { encodeEvent, type Event, type KeyValue } from '../api/proto/generated/mvccpb.js';
import { CtlError, Exit } from './ctl-flags.js';
import { goQuote, goStrings, hex, hex16, humanizeBytes, jArr, jBool, jBytes, jNum, jObj, jStr, jU64, renderTable, type Json } from './ctl-format.js';

export type OutputFormat = 'simple' | 'json' | 'fields' | 'table' | 'protobuf';

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['simple', 'json', 'fields', 'table', 'protobuf'];

export interface PrintOptions {
  readonly format: OutputFormat;
  /** --hex: keys and values as \x-escaped hex. */
  readonly hex: boolean;
  /** --print-value-only. */
  readonly valueOnly?: boolean;
}

/** The output of one print: what goes to stdout, and (rarely) to stderr. */
export interface Printed {
  readonly out: string;
  readonly err?: string;
  /** Raw bytes (the protobuf format). */
  readonly bytes?: Uint8Array;
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');
const notSupported = (format: OutputFormat): CtlError => new CtlError(`${format} not supported as output format`, Exit.badFeature);

function hexEscaped(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += `\\x${x.toString(16).padStart(2, '0')}`;
  return s;
}

/** etcdctl's printKV: the key on a line, then the value (or the value only). */
export function simpleKv(kv: KeyValue, o: PrintOptions): string {
  const k = o.hex ? hexEscaped(kv.key) : text(kv.key);
  const v = o.hex ? hexEscaped(kv.value) : text(kv.value);
  return o.valueOnly === true ? `${v}\n` : `${k}\n${v}\n`;
}

// ---- JSON of etcd's messages -------------------------------------------------------------------

export function jHeader(h: ResponseHeader | undefined): Json {
  if (h === undefined) return undefined;
  return jObj([
    ['cluster_id', jU64(h.clusterId)],
    ['member_id', jU64(h.memberId)],
    ['revision', jNum(h.revision)],
    ['raft_term', jNum(h.raftTerm)],
  ]);
}

/** The header's fields inline (clientv3 structs that embed *ResponseHeader). */
function headerFields(h: ResponseHeader | undefined): [string, Json][] {
  if (h === undefined) return [];
  return [
    ['cluster_id', jU64(h.clusterId)],
    ['member_id', jU64(h.memberId)],
    ['revision', jNum(h.revision)],
    ['raft_term', jNum(h.raftTerm)],
  ];
}

export function jKv(kv: KeyValue | undefined): Json {
  if (kv === undefined) return undefined;
  return jObj([
    ['key', jBytes(kv.key)],
    ['create_revision', jNum(kv.createRevision)],
    ['mod_revision', jNum(kv.modRevision)],
    ['version', jNum(kv.version)],
    ['value', jBytes(kv.value)],
    ['lease', jNum(kv.lease)],
  ]);
}

const jRange = (r: RangeResponse): string =>
  jObj([
    ['header', jHeader(r.header)],
    ['kvs', jArr(r.kvs.map((kv) => jKv(kv)!))],
    ['more', jBool(r.more)],
    ['count', jNum(r.count)],
  ]);
const jPut = (r: PutResponse): string => jObj([['header', jHeader(r.header)], ['prev_kv', jKv(r.prevKv)]]);
const jDel = (r: DeleteRangeResponse): string =>
  jObj([
    ['header', jHeader(r.header)],
    ['deleted', jNum(r.deleted)],
    ['prev_kvs', jArr(r.prevKvs.map((kv) => jKv(kv)!))],
  ]);

function jTxn(r: TxnResponse): string {
  const responses = r.responses.map((op) => {
    const v = op.response;
    if (v === undefined) return '{}';
    switch (v.type) {
      case 'responseRange':
        return `{"Response":{"ResponseRange":${jRange(v.value)}}}`;
      case 'responsePut':
        return `{"Response":{"ResponsePut":${jPut(v.value)}}}`;
      case 'responseDeleteRange':
        return `{"Response":{"ResponseDeleteRange":${jDel(v.value)}}}`;
      case 'responseTxn':
        return `{"Response":{"ResponseTxn":${jTxn(v.value)}}}`;
    }
  });
  return jObj([
    ['header', jHeader(r.header)],
    ['succeeded', jBool(r.succeeded)],
    ['responses', jArr(responses)],
  ]);
}

const jEvent = (e: Event): string =>
  jObj([
    ['type', jNum(e.type)],
    ['kv', jKv(e.kv)],
    ['prev_kv', jKv(e.prevKv)],
  ]);

const jMember = (m: Member): string =>
  jObj([
    ['ID', jU64(m.ID)],
    ['name', jStr(m.name)],
    ['peerURLs', jArr(m.peerURLs.map((u) => jStr(u, false)!))],
    ['clientURLs', jArr(m.clientURLs.map((u) => jStr(u, false)!))],
    ['isLearner', jBool(m.isLearner)],
  ]);

// ---- Fields format ----------------------------------------------------------------------------

function fHeader(h: ResponseHeader | undefined): string {
  const x = h ?? { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 };
  return `"ClusterID" : ${BigInt.asUintN(64, x.clusterId)}\n"MemberID" : ${BigInt.asUintN(64, x.memberId)}\n"Revision" : ${x.revision}\n"RaftTerm" : ${x.raftTerm}\n`;
}

function fKv(prefix: string, kv: KeyValue): string {
  return (
    `"${prefix}Key" : ${goQuote(kv.key)}\n"${prefix}CreateRevision" : ${kv.createRevision}\n"${prefix}ModRevision" : ${kv.modRevision}\n` +
    `"${prefix}Version" : ${kv.version}\n"${prefix}Value" : ${goQuote(kv.value)}\n"${prefix}Lease" : ${kv.lease}\n`
  );
}

const EVENT_TYPES = ['PUT', 'DELETE'];

// ---- KV ---------------------------------------------------------------------------------------

export function printGet(r: RangeResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: r.kvs.map((kv) => simpleKv(kv, o)).join('') };
    case 'json':
      return { out: jRange(r) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + r.kvs.map((kv) => fKv('', kv)).join('') + `"More" : ${r.more}\n"Count" : ${r.count}\n` };
    case 'protobuf':
      return { out: '', bytes: encodeRangeResponse(r) };
    case 'table':
      throw notSupported(o.format);
  }
}

/** `get --count-only` (etcdctl 3.5): the count alone in simple format. */
export function printCount(r: RangeResponse, o: PrintOptions): Printed {
  return o.format === 'simple' ? { out: `${r.count}\n` } : printGet(r, o);
}

export function printPut(r: PutResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: 'OK\n' + (r.prevKv === undefined ? '' : simpleKv(r.prevKv, o)) };
    case 'json':
      return { out: jPut(r) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + (r.prevKv === undefined ? '' : fKv('Prev', r.prevKv)) };
    case 'protobuf':
      return { out: '', bytes: encodePutResponse(r) };
    case 'table':
      throw notSupported(o.format);
  }
}

export function printDel(r: DeleteRangeResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `${r.deleted}\n` + r.prevKvs.map((kv) => simpleKv(kv, o)).join('') };
    case 'json':
      return { out: jDel(r) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + `"Deleted" : ${r.deleted}\n` + r.prevKvs.map((kv) => fKv('Prev', kv)).join('') };
    case 'protobuf':
      return { out: '', bytes: encodeDeleteRangeResponse(r) };
    case 'table':
      throw notSupported(o.format);
  }
}

export function printTxn(r: TxnResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple': {
      let out = r.succeeded ? 'SUCCESS\n' : 'FAILURE\n';
      for (const op of r.responses) {
        out += '\n';
        const v = op.response;
        if (v?.type === 'responseRange') out += printGet(v.value, o).out;
        else if (v?.type === 'responsePut') out += printPut(v.value, o).out;
        else if (v?.type === 'responseDeleteRange') out += printDel(v.value, o).out;
        else out += `unexpected response ${JSON.stringify(v?.type)}\n`;
      }
      return { out };
    }
    case 'json':
      return { out: jTxn(r) + '\n' };
    case 'fields': {
      let out = fHeader(r.header) + `"Succeeded" : ${r.succeeded}\n`;
      for (const op of r.responses) {
        const v = op.response;
        if (v?.type === 'responseRange') out += printGet(v.value, o).out;
        else if (v?.type === 'responsePut') out += printPut(v.value, o).out;
        else if (v?.type === 'responseDeleteRange') out += printDel(v.value, o).out;
      }
      return { out };
    }
    case 'protobuf':
      return { out: '', bytes: encodeTxnResponse(r) };
    case 'table':
      throw notSupported(o.format);
  }
}

/** One watch response (clientv3's WatchResponse: Header, Events, CompactRevision, Canceled, Created). */
export function printWatch(r: WatchResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple': {
      let out = '';
      for (const e of r.events) {
        out += `${EVENT_TYPES[e.type] ?? e.type}\n`;
        if (e.prevKv !== undefined) out += simpleKv(e.prevKv, o);
        if (e.kv !== undefined) out += simpleKv(e.kv, o);
      }
      return { out };
    }
    case 'json':
      return {
        out:
          jObj([
            ['Header', jHeader(r.header ?? { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 })],
            // clientv3 converts the events into a fresh slice: empty, it is [] rather than null.
            ['Events', `[${r.events.map(jEvent).join(',')}]`],
            ['CompactRevision', jNum(r.compactRevision, false)],
            ['Canceled', jBool(r.canceled, false)],
            ['Created', jBool(r.created, false)],
          ]) + '\n',
      };
    case 'fields': {
      let out = fHeader(r.header);
      for (const e of r.events) {
        out += `"Type" : ${EVENT_TYPES[e.type] ?? e.type}\n`;
        if (e.prevKv !== undefined) out += fKv('Prev', e.prevKv);
        if (e.kv !== undefined) out += fKv('', e.kv);
      }
      return { out };
    }
    case 'protobuf':
      return { out: '', bytes: Buffer.concat(r.events.map((e) => encodeEvent(e))) };
    case 'table':
      throw notSupported(o.format);
  }
}

// ---- Leases ------------------------------------------------------------------------------------

export function printGrant(r: LeaseGrantResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `lease ${hex16(r.ID)} granted with TTL(${r.TTL}s)\n` };
    case 'json':
      return { out: jObj([...headerFields(r.header), ['ID', jNum(r.ID, false)], ['TTL', jNum(r.TTL, false)], ['Error', jStr(r.error, false)]]) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + `"ID" : ${r.ID}\n"TTL" : ${r.TTL}\n` };
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

export function printRevoke(id: bigint, r: { header: ResponseHeader | undefined }, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `lease ${hex16(id)} revoked\n` };
    case 'json':
      return { out: jObj([['header', jHeader(r.header)]]) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) };
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

export function printKeepAlive(r: LeaseKeepAliveResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `lease ${hex16(r.ID)} keepalived with TTL(${r.TTL})\n` };
    case 'json':
      return { out: jObj([...headerFields(r.header), ['ID', jNum(r.ID, false)], ['TTL', jNum(r.TTL, false)]]) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + `"ID" : ${r.ID}\n"TTL" : ${r.TTL}\n` };
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

export function printTimeToLive(r: LeaseTimeToLiveResponse, keys: boolean, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple': {
      if (r.grantedTTL === 0 && r.TTL === -1) return { out: `lease ${hex16(r.ID)} already expired\n` };
      let line = `lease ${hex16(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`;
      if (keys) line += `, attached keys(${goStrings(r.keys.map(text))})`;
      return { out: line + '\n' };
    }
    case 'json':
      return {
        out:
          jObj([
            ...headerFields(r.header),
            ['id', jNum(r.ID, false)],
            ['ttl', jNum(r.TTL, false)],
            ['granted-ttl', jNum(r.grantedTTL, false)],
            ['keys', jArr(r.keys.map((k) => jBytes(k, false)!), false)],
          ]) + '\n',
      };
    case 'fields':
      return { out: fHeader(r.header) + `"ID" : ${r.ID}\n"TTL" : ${r.TTL}\n"GrantedTTL" : ${r.grantedTTL}\n` + r.keys.map((k) => `"Key" : ${goQuote(k)}\n`).join('') };
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

export function printLeases(r: LeaseLeasesResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `found ${r.leases.length} leases\n` + r.leases.map((l) => `${hex16(l.ID)}\n`).join('') };
    case 'json':
      return { out: jObj([...headerFields(r.header), ['leases', jArr(r.leases.map((l) => jObj([['id', jNum(l.ID, false)]])), false)]]) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + r.leases.map((l) => `"ID" : ${l.ID}\n`).join('') };
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

// ---- Cluster -----------------------------------------------------------------------------------

function memberRows(members: readonly Member[]): string[][] {
  return members.map((m) => [hex(m.ID), m.name === '' ? 'unstarted' : 'started', m.name, m.peerURLs.join(','), m.clientURLs.join(','), String(m.isLearner)]);
}

const MEMBER_HEADER = ['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'];

export function printMemberList(r: MemberListResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: memberRows(r.members).map((row) => row.join(', ') + '\n').join('') };
    case 'table':
      return { out: renderTable(MEMBER_HEADER, memberRows(r.members)) };
    case 'json':
      return { out: jObj([['header', jHeader(r.header)], ['members', jArr(r.members.map(jMember))]]) + '\n' };
    case 'fields': {
      let out = fHeader(r.header);
      for (const m of r.members) {
        out += `"ID" : ${m.ID}\n"Name" : ${goQuote(m.name)}\n`;
        for (const u of m.peerURLs) out += `"PeerURL" : ${goQuote(u)}\n`;
        for (const u of m.clientURLs) out += `"ClientURL" : ${goQuote(u)}\n`;
        out += `"IsLearner" : ${m.isLearner}\n\n`;
      }
      return { out };
    }
    case 'protobuf':
      return { out: '', bytes: encodeMemberListResponse(r) };
  }
}

export function printMemberAdd(r: MemberAddResponse, name: string, o: PrintOptions): Printed {
  const m = r.member;
  switch (o.format) {
    case 'simple': {
      const id = m?.ID ?? 0n;
      let out = `Member ${hex(id, 16)} added to cluster ${hex(r.header?.clusterId ?? 0n, 16)}\n`;
      const conf: string[] = [];
      for (const x of r.members) {
        for (const u of x.peerURLs) {
          const n = x.ID === id ? name : x.name;
          if (n !== '') conf.push(`${n}=${u}`);
        }
      }
      out += `\nETCD_NAME=${JSON.stringify(name)}\nETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}\n`;
      out += `ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify((m?.peerURLs ?? []).join(','))}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`;
      return { out };
    }
    case 'json':
      return { out: jObj([['header', jHeader(r.header)], ['member', m === undefined ? undefined : jMember(m)], ['members', jArr(r.members.map(jMember))]]) + '\n' };
    case 'fields':
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

/** Member remove, update and promote: a sentence, or the response's header and members. */
export function printMemberChange(verb: 'removed from' | 'updated in' | 'promoted in', id: bigint, r: { header: ResponseHeader | undefined; members: Member[] }, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `Member ${hex(id, 16)} ${verb} cluster ${hex(r.header?.clusterId ?? 0n, 16)}\n` };
    case 'json':
      return { out: jObj([['header', jHeader(r.header)], ['members', jArr(r.members.map(jMember))]]) + '\n' };
    case 'fields':
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

// ---- Endpoints ---------------------------------------------------------------------------------

export interface EndpointStatus {
  readonly endpoint: string;
  readonly status: StatusResponse;
}

function statusRows(list: readonly EndpointStatus[]): string[][] {
  return list.map(({ endpoint, status: s }) => [
    endpoint,
    hex(s.header?.memberId ?? 0n),
    s.version,
    humanizeBytes(s.dbSize),
    String(s.leader === (s.header?.memberId ?? 0n)),
    String(s.isLearner),
    String(s.raftTerm),
    String(s.raftIndex),
    String(s.raftAppliedIndex),
    s.errors.join(', '),
  ]);
}

const STATUS_HEADER = ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors'];

function jStatus(s: StatusResponse): string {
  return jObj([
    ['header', jHeader(s.header)],
    ['version', jStr(s.version)],
    ['dbSize', jNum(s.dbSize)],
    ['leader', jU64(s.leader)],
    ['raftIndex', jNum(s.raftIndex)],
    ['raftTerm', jNum(s.raftTerm)],
    ['raftAppliedIndex', jNum(s.raftAppliedIndex)],
    ['errors', jArr(s.errors.map((e) => jStr(e, false)!))],
    ['dbSizeInUse', jNum(s.dbSizeInUse)],
    ['isLearner', jBool(s.isLearner)],
  ]);
}

export function printStatus(list: readonly EndpointStatus[], o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: statusRows(list).map((r) => r.join(', ') + '\n').join('') };
    case 'table':
      return { out: renderTable(STATUS_HEADER, statusRows(list)) };
    case 'json':
      return { out: `[${list.map((e) => jObj([['Endpoint', jStr(e.endpoint, false)], ['Status', jStatus(e.status)]])).join(',')}]\n` };
    case 'fields': {
      let out = '';
      for (const { endpoint, status: s } of list) {
        out += fHeader(s.header);
        out += `"Version" : ${goQuote(s.version)}\n"DBSize" : ${s.dbSize}\n"Leader" : ${s.leader}\n"IsLearner" : ${s.isLearner}\n"RaftIndex" : ${s.raftIndex}\n`;
        out += `"RaftTerm" : ${s.raftTerm}\n"RaftAppliedIndex" : ${s.raftAppliedIndex}\n"Errors" : ${goStrings(s.errors)}\n"Endpoint" : ${goQuote(endpoint)}\n\n`;
      }
      return { out };
    }
    case 'protobuf':
      throw new CtlError('only support simple or json as output format', Exit.badFeature);
  }
}

export interface EndpointHealth {
  readonly endpoint: string;
  readonly health: boolean;
  /** Go duration text. */
  readonly took: string;
  readonly error: string;
}

export function printHealth(list: readonly EndpointHealth[], o: PrintOptions): Printed {
  const rows = list.map((h) => [h.endpoint, String(h.health), h.took, h.error]);
  switch (o.format) {
    case 'simple':
      // etcdctl writes health to stderr.
      return {
        out: '',
        err: list.map((h) => (h.error === '' ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}\n` : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}\n`)).join(''),
      };
    case 'table':
      return { out: renderTable(['endpoint', 'health', 'took', 'error'], rows) };
    case 'json':
      return { out: `[${list.map((h) => jObj([['endpoint', jStr(h.endpoint, false)], ['health', jBool(h.health, false)], ['took', jStr(h.took, false)], ['error', jStr(h.error)]])).join(',')}]\n` };
    case 'fields':
      return { out: list.map((h) => `"Endpoint" : ${goQuote(h.endpoint)}\n"Health" : ${h.health}\n"Took" : ${h.took}\n"Error" : ${h.error}\n\n`).join('') };
    case 'protobuf':
      throw new CtlError('only support simple or json as output format', Exit.badFeature);
  }
}

export interface EndpointHashKV {
  readonly endpoint: string;
  readonly hashKV: HashKVResponse;
}

export function printHashKV(list: readonly EndpointHashKV[], o: PrintOptions): Printed {
  const rows = list.map((h) => [h.endpoint, String(h.hashKV.hash)]);
  switch (o.format) {
    case 'simple':
      return { out: rows.map((r) => r.join(', ') + '\n').join('') };
    case 'table':
      return { out: renderTable(['endpoint', 'hash'], rows) };
    case 'json':
      return {
        out: `[${list
          .map((h) =>
            jObj([
              ['Endpoint', jStr(h.endpoint, false)],
              ['HashKV', jObj([['header', jHeader(h.hashKV.header)], ['hash', jNum(h.hashKV.hash)], ['compact_revision', jNum(h.hashKV.compactRevision)]])],
            ]),
          )
          .join(',')}]\n`,
      };
    case 'fields':
      return { out: list.map((h) => `${fHeader(h.hashKV.header)}"Endpoint" : ${goQuote(h.endpoint)}\n"Hash" : ${h.hashKV.hash}\n\n`).join('') };
    case 'protobuf':
      throw new CtlError('only support simple or json as output format', Exit.badFeature);
  }
}

// ---- Maintenance -------------------------------------------------------------------------------

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'];

export function printAlarm(r: AlarmResponse, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      // Go's %+v of an AlarmMember.
      return { out: r.alarms.map((a) => `memberID:${BigInt.asUintN(64, a.memberID)} alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} \n`).join('') };
    case 'json':
      return { out: jObj([['header', jHeader(r.header)], ['alarms', jArr(r.alarms.map((a) => jObj([['memberID', jU64(a.memberID)], ['alarm', jNum(a.alarm)]])))]]) + '\n' };
    case 'fields':
      return { out: fHeader(r.header) + r.alarms.map((a) => `"MemberID" : ${BigInt.asUintN(64, a.memberID)}\n"AlarmType" : ${ALARM_NAMES[a.alarm] ?? a.alarm}\n\n`).join('') };
    case 'protobuf':
      return { out: '', bytes: encodeAlarmResponse(r) };
    case 'table':
      throw notSupported(o.format);
  }
}

export function printMoveLeader(from: bigint, to: bigint, r: { header: ResponseHeader | undefined }, o: PrintOptions): Printed {
  switch (o.format) {
    case 'simple':
      return { out: `Leadership transferred from ${hex(from)} to ${hex(to)}\n` };
    case 'json':
      return { out: jObj([['header', jHeader(r.header)]]) + '\n' };
    case 'fields':
    case 'table':
    case 'protobuf':
      throw notSupported(o.format);
  }
}

export interface SnapshotStatus {
  readonly hash: number;
  readonly revision: number;
  readonly totalKey: number;
  readonly totalSize: number;
}

export function printSnapshotStatus(s: SnapshotStatus, o: PrintOptions): Printed {
  const row = [s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)];
  switch (o.format) {
    case 'simple':
      return { out: row.join(', ') + '\n' };
    case 'table':
      return { out: renderTable(['hash', 'revision', 'total keys', 'total size'], [row]) };
    case 'json':
      return { out: jObj([['hash', jNum(s.hash, false)], ['revision', jNum(s.revision, false)], ['totalKey', jNum(s.totalKey, false)], ['totalSize', jNum(s.totalSize, false)]]) + '\n' };
    case 'fields':
      return { out: `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n` };
    case 'protobuf':
      throw new CtlError('only support simple or json as output format', Exit.badFeature);
  }
}
