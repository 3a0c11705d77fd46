/**
 * Member and cluster ids, derived as etcd derives them: a member's id from its peer URLs and the
 * cluster token (so every member computes the same ids from the same --initial-cluster), the
 * cluster id from the member ids. A member added at runtime also mixes in the time of the request,
 * so re-adding the same URLs gives a new id.
 */
import { createHash } from 'node:crypto';
import { clusterIdFromBigInt, nodeIdFromBigInt, type ClusterId, type NodeId } from '../core/ids.js';

function first8(h: Buffer): bigint {
  const v = h.readBigUInt64BE(0);
  return v === 0n ? 1n : v;
}

export function memberIdFor(peerUrls: readonly string[], token: string, addedAtMs?: number): NodeId {
  const h = createHash('sha1');
  for (const u of [...peerUrls].sort()) h.update(u);
  h.update(token);
  if (addedAtMs !== undefined) h.update(String(addedAtMs));
  return nodeIdFromBigInt(first8(h.digest()));
}

export function clusterIdFor(memberIds: readonly NodeId[], token: string): ClusterId {
  const h = createHash('sha1');
  for (const id of [...memberIds].sort()) h.update(id);
  h.update(token);
  return clusterIdFromBigInt(first8(h.digest()));
}
