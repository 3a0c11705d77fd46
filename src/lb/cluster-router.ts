/**
 * Cluster-aware routing rules for an etcd v3 (or Bulwark) cluster, pure: which requests must go to
 * the leader, which may go to any member, and which errors mean the leader has moved.
 *
 * Writes (KV Put/DeleteRange/Txn/Compact, leases, locks, elections, membership, auth) and
 * linearizable reads go to the leader: a follower would forward them anyway, one hop later.
 * Serializable reads (RangeRequest.serializable, field 7) and watches are answered from a member's
 * local state, so they are spread over all members by the configured policy.
 */
import { ETCD_PATH_RANGE, isSerializableRange } from './etcd-messages.js';

export type Route = 'leader' | 'any';

/** Streams any member can serve from its local state. */
const ANY_MEMBER_PATHS = new Set(['/etcdserverpb.Watch/Watch', '/grpc.health.v1.Health/Check', '/grpc.health.v1.Health/Watch', '/etcdserverpb.Maintenance/Status', '/etcdserverpb.Maintenance/Hash', '/etcdserverpb.Maintenance/HashKV', '/etcdserverpb.Maintenance/Alarm']);

/** True when the route depends on the request message (the balancer must read its first message first). */
export function routeNeedsMessage(path: string): boolean {
  return path === ETCD_PATH_RANGE;
}

export function routeOf(path: string, firstMessage: Uint8Array | null): Route {
  if (path === ETCD_PATH_RANGE) return firstMessage !== null && isSerializableRange(firstMessage) ? 'any' : 'leader';
  return ANY_MEMBER_PATHS.has(path) ? 'any' : 'leader';
}

const GRPC_UNAVAILABLE = 14;
const GRPC_FAILED_PRECONDITION = 9;

/** An answer that means the leader we sent to is not (or no longer) the leader: poll again. */
export function meansLeaderMoved(grpcStatus: number, message: string): boolean {
  if (grpcStatus === GRPC_UNAVAILABLE) return true;
  return grpcStatus === GRPC_FAILED_PRECONDITION && /not leader/.test(message);
}

/**
 * An answer that says the request was refused before it was proposed, so it is safe to send it
 * again to the new leader whatever it was: "not leader" and "no leader" are returned before a
 * proposal enters the log. ("leader changed" or a timeout may follow a proposal that still commits.)
 */
export function refusedBeforeProposal(grpcStatus: number, message: string): boolean {
  return (grpcStatus === GRPC_UNAVAILABLE || grpcStatus === GRPC_FAILED_PRECONDITION) && /etcdserver: (not leader|no leader)$/.test(message);
}
