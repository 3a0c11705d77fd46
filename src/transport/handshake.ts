/**
 * The first frame on every peer connection says who is calling and for which cluster. A member of
 * another cluster, an unknown member, a member running the other consensus protocol or a wrong
 * recipient is refused with a reason, logged on both sides, and the connection closed.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { isNodeId, type ClusterId, type NodeId } from '../core/ids.js';

export const HANDSHAKE_MAGIC = 0x4b525742; // "BWRK" little-endian
export const TRANSPORT_VERSION = 1;

/** A peer connection carries either consensus traffic and RPCs, or bulk snapshot chunks. */
export type Lane = 'control' | 'bulk';

export interface Hello {
  readonly version: number;
  readonly clusterId: ClusterId;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly protocol: string;
  readonly lane: Lane;
}

export type RejectReason = 'version' | 'cluster' | 'recipient' | 'unknown-member' | 'protocol' | 'overloaded';

export interface Reject {
  readonly reason: RejectReason;
  readonly message: string;
}

const REASONS: readonly RejectReason[] = ['version', 'cluster', 'recipient', 'unknown-member', 'protocol', 'overloaded'];
const ID_BYTES_MAX = 64;

function readId(r: ByteReader, what: string): NodeId {
  const s = r.string(ID_BYTES_MAX, what);
  if (!isNodeId(s)) throw new DecodeError(`${what}: not a member id: ${JSON.stringify(s)}`);
  return s;
}

export function encodeHello(h: Hello): Uint8Array {
  return new ByteWriter(96)
    .u32(HANDSHAKE_MAGIC)
    .u8(h.version)
    .string(h.clusterId)
    .string(h.from)
    .string(h.to)
    .string(h.protocol)
    .u8(h.lane === 'control' ? 0 : 1)
    .finish()
    .slice();
}

export function decodeHello(b: Uint8Array): Hello {
  const r = new ByteReader(b);
  if (r.u32('magic') !== HANDSHAKE_MAGIC) throw new DecodeError('not a Bulwark peer (bad handshake magic)');
  const version = r.u8('version');
  const clusterId = readId(r, 'cluster id') as string as ClusterId;
  const from = readId(r, 'from');
  const to = readId(r, 'to');
  const protocol = r.string(16, 'protocol');
  const laneByte = r.u8('lane');
  if (laneByte > 1) throw new DecodeError(`unknown lane ${laneByte}`);
  r.done('hello');
  return { version, clusterId, from, to, protocol, lane: laneByte === 0 ? 'control' : 'bulk' };
}

export function encodeReject(j: Reject): Uint8Array {
  return new ByteWriter(64).u8(REASONS.indexOf(j.reason)).string(j.message.slice(0, 512)).finish().slice();
}

export function decodeReject(b: Uint8Array): Reject {
  const r = new ByteReader(b);
  const i = r.u8('reason');
  const reason = REASONS[i];
  if (reason === undefined) throw new DecodeError(`unknown reject reason ${i}`);
  const message = r.string(1024, 'message');
  r.done('reject');
  return { reason, message };
}

/** What the accepting member checks; null means welcome. */
export function checkHello(
  h: Hello,
  self: { clusterId: ClusterId; id: NodeId; protocol: string; isKnownMember: (id: NodeId) => boolean },
): Reject | null {
  if (h.version !== TRANSPORT_VERSION) {
    return { reason: 'version', message: `peer speaks transport version ${h.version}, this member ${TRANSPORT_VERSION}` };
  }
  if (h.clusterId !== self.clusterId) {
    return { reason: 'cluster', message: `peer ${h.from} belongs to cluster ${h.clusterId}, this member to ${self.clusterId}` };
  }
  if (h.to !== self.id) return { reason: 'recipient', message: `peer ${h.from} dialed member ${h.to}, but this is ${self.id}` };
  if (h.protocol !== self.protocol) {
    return { reason: 'protocol', message: `peer ${h.from} runs ${h.protocol}, this cluster runs ${self.protocol}` };
  }
  if (!self.isKnownMember(h.from)) return { reason: 'unknown-member', message: `${h.from} is not a member of cluster ${self.clusterId}` };
  return null;
}
