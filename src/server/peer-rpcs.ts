/**
 * Requests a member sends to its leader over the peer transport, for what only the leader knows or
 * may do: lease renewals and remaining TTLs (the leader's lessor), and membership changes and
 * leadership transfers asked of a follower. Payloads are small and binary.
 */
import { ByteReader, ByteWriter, fromUtf8, utf8 } from '../core/bytes.js';
import { leaseId } from '../core/ids.js';
import { TransportError } from '../transport/errors.js';
import { ServerError } from './errors.js';
import type { Member } from './member.js';

export const PEER_METHOD = {
  leaseRenew: 'lease-renew',
  leaseTtl: 'lease-ttl',
  admin: 'admin',
} as const;

/** Runs `local` when this member leads, else sends `method` to the leader. */
export async function onLeader<T>(
  member: Member,
  o: { method: string; payload: Uint8Array; local: () => Promise<T>; decode: (b: Uint8Array) => T; timeoutMs: number },
): Promise<T> {
  const leader = member.leader;
  if (leader === null) throw new ServerError('no-leader');
  if (leader === member.id) return o.local();
  try {
    return o.decode(await member.transport.rpc(leader, o.method, o.payload, o.timeoutMs));
  } catch (e) {
    throw fromPeerError(e);
  }
}

/** A peer's error comes back as "<code>: <message>"; known server codes keep their meaning. */
function fromPeerError(e: unknown): Error {
  if (e instanceof TransportError) {
    if (e.code === 'rpc-failed') {
      const code = e.message.split(':')[0] ?? '';
      if (code === 'not-leader' || code === 'leader-changed' || code === 'no-leader') return new ServerError('leader-changed');
      if (code === 'member-not-found' || code === 'member-not-learner' || code === 'learner-not-ready' || code === 'bad-transferee' || code === 'peer-url-exists' || code === 'too-many-learners' || code === 'config-change-pending') {
        return new ServerError(code, e.message);
      }
      return new ServerError('unhealthy-cluster', e.message);
    }
    return new ServerError(e.code === 'rpc-timeout' ? 'timeout' : 'leader-changed', e.message);
  }
  return e instanceof Error ? e : new Error(String(e));
}

export function encodeLeaseId(id: bigint): Uint8Array {
  return new ByteWriter(8).i64(id).finish().slice();
}

export function decodeLeaseId(b: Uint8Array): bigint {
  const r = new ByteReader(b);
  const id = r.i64('lease id');
  r.done('lease id');
  return id;
}

export function encodeTtl(ttl: number): Uint8Array {
  return new ByteWriter(8).i64(BigInt(ttl)).finish().slice();
}

export function decodeTtl(b: Uint8Array): number {
  return Number(decodeLeaseId(b));
}

export function encodeJson(v: unknown): Uint8Array {
  return utf8(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? { $bigint: x.toString() } : x)));
}

export function decodeJson<T>(b: Uint8Array): T {
  return JSON.parse(fromUtf8(b), (_k, x: unknown) =>
    x !== null && typeof x === 'object' && '$bigint' in (x as Record<string, unknown>) ? BigInt((x as { $bigint: string }).$bigint) : x,
  ) as T;
}

/** Leader side of the lease RPCs. */
export function registerLeasePeerRpcs(member: Member): void {
  member.transport.handle(PEER_METHOD.leaseRenew, async (_from, payload) => {
    const id = decodeLeaseId(payload);
    const { ttlSec } = await member.renewLease(id);
    return encodeTtl(ttlSec);
  });
  member.transport.handle(PEER_METHOD.leaseTtl, async (_from, payload) => {
    const id = decodeLeaseId(payload);
    const ttl = member.leaseTtlSec(leaseId(id));
    if (ttl === null) throw new ServerError(member.isLeader ? 'leader-changed' : 'not-leader');
    return encodeTtl(ttl);
  });
}
