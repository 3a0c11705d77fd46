/**
 * The etcd v3 messages cluster-aware mode needs, encoded and decoded by hand (field numbers from
 * etcd's rpc.proto): MemberList to learn the members, Status to learn each one's view of the
 * leader, and a peek at RangeRequest.serializable to route reads. Everything else passes through
 * the balancer untouched.
 */
import { DecodeError } from '../core/errors.js';
import { ProtoWriter, protoFields, protoMessage, protoString, protoVarint } from './protobuf.js';

export interface EtcdMember {
  /** The member id (uint64). */
  readonly id: bigint;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export interface ResponseHeader {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly revision: bigint;
  readonly raftTerm: bigint;
}

export interface MemberListResponse {
  readonly header: ResponseHeader;
  readonly members: readonly EtcdMember[];
}

export interface StatusResponse {
  readonly header: ResponseHeader;
  readonly version: string;
  /** The member id of the leader as this member sees it; 0 when it knows none. */
  readonly leader: bigint;
  readonly raftTerm: bigint;
  readonly isLearner: boolean;
}

export const ETCD_PATH_MEMBER_LIST = '/etcdserverpb.Cluster/MemberList';
export const ETCD_PATH_STATUS = '/etcdserverpb.Maintenance/Status';
export const ETCD_PATH_RANGE = '/etcdserverpb.KV/Range';

/** MemberListRequest: linearizable=1 [3.5]. A serializable list answers even without a leader. */
export function encodeMemberListRequest(linearizable: boolean): Uint8Array {
  return new ProtoWriter().bool(1, linearizable).finish();
}

/** StatusRequest is empty. */
export function encodeStatusRequest(): Uint8Array {
  return new Uint8Array(0);
}

const EMPTY_HEADER: ResponseHeader = { clusterId: 0n, memberId: 0n, revision: 0n, raftTerm: 0n };

export function decodeResponseHeader(buf: Uint8Array): ResponseHeader {
  let h = { ...EMPTY_HEADER };
  for (const f of protoFields(buf)) {
    if (f.field === 1) h = { ...h, clusterId: protoVarint(f, 'header.cluster_id') };
    else if (f.field === 2) h = { ...h, memberId: protoVarint(f, 'header.member_id') };
    else if (f.field === 3) h = { ...h, revision: protoVarint(f, 'header.revision') };
    else if (f.field === 4) h = { ...h, raftTerm: protoVarint(f, 'header.raft_term') };
  }
  return h;
}

export function decodeMember(buf: Uint8Array): EtcdMember {
  let id = 0n;
  let name = '';
  const peerUrls: string[] = [];
  const clientUrls: string[] = [];
  let isLearner = false;
  for (const f of protoFields(buf)) {
    switch (f.field) {
      case 1:
        id = protoVarint(f, 'member.ID');
        break;
      case 2:
        name = protoString(f, 'member.name');
        break;
      case 3:
        peerUrls.push(protoString(f, 'member.peerURLs'));
        break;
      case 4:
        clientUrls.push(protoString(f, 'member.clientURLs'));
        break;
      case 5:
        isLearner = protoVarint(f, 'member.isLearner') !== 0n;
        break;
      default:
        break; // unknown fields are allowed (newer servers)
    }
  }
  if (id === 0n) throw new DecodeError('MemberListResponse: a member without an ID');
  return { id, name, peerUrls, clientUrls, isLearner };
}

export function decodeMemberListResponse(buf: Uint8Array): MemberListResponse {
  let header = EMPTY_HEADER;
  const members: EtcdMember[] = [];
  for (const f of protoFields(buf)) {
    if (f.field === 1) header = decodeResponseHeader(protoMessage(f, 'header'));
    else if (f.field === 2) members.push(decodeMember(protoMessage(f, 'members')));
  }
  return { header, members };
}

export function decodeStatusResponse(buf: Uint8Array): StatusResponse {
  let header = EMPTY_HEADER;
  let version = '';
  let leader = 0n;
  let raftTerm = 0n;
  let isLearner = false;
  for (const f of protoFields(buf)) {
    switch (f.field) {
      case 1:
        header = decodeResponseHeader(protoMessage(f, 'header'));
        break;
      case 2:
        version = protoString(f, 'version');
        break;
      case 4:
        leader = protoVarint(f, 'leader');
        break;
      case 6:
        raftTerm = protoVarint(f, 'raftTerm');
        break;
      case 10:
        isLearner = protoVarint(f, 'isLearner') !== 0n;
        break;
      default:
        break;
    }
  }
  return { header, version, leader, raftTerm, isLearner };
}

/** RangeRequest.serializable is field 7; a bad message reads as "not serializable" (the leader will judge it). */
export function isSerializableRange(message: Uint8Array): boolean {
  try {
    let serializable = false;
    for (const f of protoFields(message)) if (f.field === 7) serializable = protoVarint(f, 'serializable') !== 0n;
    return serializable;
  } catch {
    return false;
  }
}

/** Encoders used by tests and by the health checker's own requests. */
export function encodeRangeRequest(r: { key: Uint8Array; serializable: boolean }): Uint8Array {
  return new ProtoWriter().bytes(1, r.key).bool(7, r.serializable).finish();
}

export function encodeMember(m: EtcdMember): Uint8Array {
  const w = new ProtoWriter().uint(1, m.id).string(2, m.name);
  for (const u of m.peerUrls) w.string(3, u);
  for (const u of m.clientUrls) w.string(4, u);
  return w.bool(5, m.isLearner).finish();
}

export function encodeHeader(h: ResponseHeader): Uint8Array {
  return new ProtoWriter().uint(1, h.clusterId).uint(2, h.memberId).uint(3, h.revision).uint(4, h.raftTerm).finish();
}

export function encodeMemberListResponse(r: MemberListResponse): Uint8Array {
  const w = new ProtoWriter().bytes(1, encodeHeader(r.header));
  for (const m of r.members) w.bytes(2, encodeMember(m));
  return w.finish();
}

export function encodeStatusResponse(r: StatusResponse): Uint8Array {
  return new ProtoWriter().bytes(1, encodeHeader(r.header)).string(2, r.version).uint(4, r.leader).uint(6, r.raftTerm).bool(10, r.isLearner).finish();
}
