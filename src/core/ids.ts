/**
 * Branded identifiers. Values that must not mix (a term and a log index are both numbers) get
 * distinct types, so the compiler catches `index = term`. Brands cost nothing at run time.
 */

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A Raft term. Starts at 0; monotonically increasing on every server. */
export type Term = Brand<number, 'Term'>;
/** A position in the replicated log (a Raft index or a Paxos slot). The first entry is 1; 0 means none. */
export type LogIndex = Brand<number, 'LogIndex'>;
/**
 * A member id: the uint64 member id of etcd, as 16 lowercase hex digits ("8e9e05c52164694d").
 * Strings keep the full 64 bits exactly and are cheap map keys.
 */
export type NodeId = Brand<string, 'NodeId'>;
/** A cluster id, in the same 16-hex-digit form as NodeId. */
export type ClusterId = Brand<string, 'ClusterId'>;
/** An MVCC store revision. Starts at 1 on a fresh store. */
export type Revision = Brand<number, 'Revision'>;
/** A lease id: etcd's int64, kept as bigint so ids chosen by clients survive exactly. */
export type LeaseId = Brand<bigint, 'LeaseId'>;

export const term = (n: number): Term => n as Term;
export const logIndex = (n: number): LogIndex => n as LogIndex;
export const revision = (n: number): Revision => n as Revision;
export const leaseId = (n: bigint): LeaseId => n as LeaseId;

const HEX16 = /^[0-9a-f]{16}$/;

export function isNodeId(s: string): s is NodeId {
  return HEX16.test(s);
}

/** Parses a member id given as hex (with or without 0x) or as a decimal uint64. */
export function parseNodeId(text: string): NodeId | null {
  const t = text.trim().toLowerCase();
  let v: bigint;
  try {
    if (t.startsWith('0x')) v = BigInt(t);
    else if (/^[0-9a-f]{1,16}$/.test(t) && /[a-f]/.test(t)) v = BigInt('0x' + t);
    else if (/^[0-9]{1,20}$/.test(t)) v = BigInt(t);
    else return null;
  } catch {
    return null;
  }
  if (v <= 0n || v >= 1n << 64n) return null;
  return nodeIdFromBigInt(v);
}

export function nodeIdFromBigInt(v: bigint): NodeId {
  if (v <= 0n || v >= 1n << 64n) throw new RangeError(`member id out of range: ${v}`);
  return v.toString(16).padStart(16, '0') as NodeId;
}

export function nodeIdToBigInt(id: NodeId | ClusterId): bigint {
  return BigInt('0x' + id);
}

export function clusterIdFromBigInt(v: bigint): ClusterId {
  return nodeIdFromBigInt(v) as string as ClusterId;
}
