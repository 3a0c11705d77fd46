/**
 * Keys, ranges and the request options of the KV API, turned into etcd's request messages. Keys
 * and values are strings (UTF-8) or bytes.
 */
import type { LeaseId } from '../core/ids.js';
import type { DeleteRangeRequestInit, PutRequestInit, RangeRequestInit } from '../api/proto/generated/etcdserverpb.js';
import { RangeRequest_SortOrder, RangeRequest_SortTarget } from '../api/proto/generated/etcdserverpb.js';
import { ClientError } from './errors.js';

export type Bytes = string | Uint8Array;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function toBytes(b: Bytes): Uint8Array {
  return typeof b === 'string' ? encoder.encode(b) : b;
}

/** Bytes as text (invalid UTF-8 becomes U+FFFD). */
export function text(b: Uint8Array | undefined): string {
  return b === undefined ? '' : decoder.decode(b);
}

/**
 * The end of the range of keys starting with `prefix`: the prefix with its last byte that is not
 * 0xff incremented and what follows dropped ("a" -> "b", "a\xff" -> "b"); "\0" (every key) when
 * there is no such byte, as etcd's clientv3 does.
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i]!++;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** Which keys: one key, a prefix, every key from `key` on, or [key, end). At most one of the three options. */
export interface RangeSpec {
  readonly prefix?: boolean;
  readonly fromKey?: boolean;
  readonly end?: Bytes;
}

const ZERO = new Uint8Array([0]);

/**
 * The [key, rangeEnd) of a key and its range options. An empty key with `prefix` or `fromKey`
 * means every key, which etcd spells key = rangeEnd = "\0" (it refuses an empty key).
 */
export function rangeOf(key: Uint8Array, o: RangeSpec): { key: Uint8Array; rangeEnd: Uint8Array | undefined } {
  const prefix = o.prefix === true;
  const fromKey = o.fromKey === true;
  const end = o.end !== undefined;
  if ((prefix ? 1 : 0) + (fromKey ? 1 : 0) + (end ? 1 : 0) > 1) throw new ClientError('invalid-argument', 'give at most one of prefix, fromKey and end');
  if (prefix) return key.length === 0 ? { key: ZERO, rangeEnd: ZERO } : { key, rangeEnd: prefixEnd(key) };
  if (fromKey) return { key: key.length === 0 ? ZERO : key, rangeEnd: ZERO };
  if (end) return { key, rangeEnd: toBytes(o.end!) };
  return { key, rangeEnd: undefined };
}

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

export interface GetOptions extends RangeSpec {
  readonly limit?: number;
  /** Read at this revision (0: the latest). */
  readonly revision?: number;
  /** A member-local read, not linearizable: it may be stale, but any member can answer it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly sort?: { readonly target?: SortTarget; readonly order?: SortOrder };
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

const SORT_TARGETS: Record<SortTarget, number> = {
  key: RangeRequest_SortTarget.KEY,
  version: RangeRequest_SortTarget.VERSION,
  create: RangeRequest_SortTarget.CREATE,
  mod: RangeRequest_SortTarget.MOD,
  value: RangeRequest_SortTarget.VALUE,
};
const SORT_ORDERS: Record<SortOrder, number> = { none: RangeRequest_SortOrder.NONE, ascend: RangeRequest_SortOrder.ASCEND, descend: RangeRequest_SortOrder.DESCEND };

export function rangeRequest(key: Bytes, o: GetOptions = {}): RangeRequestInit {
  const r = rangeOf(toBytes(key), o);
  // Only the options given: most reads set none, and an object of undefined fields costs on every call.
  const req: { -readonly [K in keyof RangeRequestInit]: RangeRequestInit[K] } = { key: r.key };
  if (r.rangeEnd !== undefined) req.rangeEnd = r.rangeEnd;
  if (o.limit !== undefined) req.limit = o.limit;
  if (o.revision !== undefined) req.revision = o.revision;
  if (o.serializable !== undefined) req.serializable = o.serializable;
  if (o.keysOnly !== undefined) req.keysOnly = o.keysOnly;
  if (o.countOnly !== undefined) req.countOnly = o.countOnly;
  if (o.sort?.target !== undefined) req.sortTarget = SORT_TARGETS[o.sort.target];
  if (o.sort?.order !== undefined) req.sortOrder = SORT_ORDERS[o.sort.order];
  if (o.minModRevision !== undefined) req.minModRevision = o.minModRevision;
  if (o.maxModRevision !== undefined) req.maxModRevision = o.maxModRevision;
  if (o.minCreateRevision !== undefined) req.minCreateRevision = o.minCreateRevision;
  if (o.maxCreateRevision !== undefined) req.maxCreateRevision = o.maxCreateRevision;
  return req;
}

export interface PutOptions {
  readonly lease?: LeaseId | bigint;
  /** Return the previous key-value pair. */
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

export function putRequest(key: Bytes, value: Bytes, o: PutOptions = {}): PutRequestInit {
  return { key: toBytes(key), value: toBytes(value), lease: o.lease, prevKv: o.prevKv, ignoreValue: o.ignoreValue, ignoreLease: o.ignoreLease };
}

export interface DeleteOptions extends RangeSpec {
  readonly prevKv?: boolean;
}

export function deleteRequest(key: Bytes, o: DeleteOptions = {}): DeleteRangeRequestInit {
  return { ...rangeOf(toBytes(key), o), prevKv: o.prevKv };
}
