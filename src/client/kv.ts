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
  const given = [o.prefix === true, o.fromKey === true, o.end !== undefined].filter(Boolean).length;
  if (given > 1) throw new ClientError('invalid-argument', 'give at most one of prefix, fromKey and end');
  if (o.prefix === true) return key.length === 0 ? { key: ZERO, rangeEnd: ZERO } : { key, rangeEnd: prefixEnd(key) };
  if (o.fromKey === true) return { key: key.length === 0 ? ZERO : key, rangeEnd: ZERO };
  if (o.end !== undefined) return { key, rangeEnd: toBytes(o.end) };
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
  return {
    ...rangeOf(toBytes(key), o),
    limit: o.limit,
    revision: o.revision,
    serializable: o.serializable,
    keysOnly: o.keysOnly,
    countOnly: o.countOnly,
    sortTarget: o.sort?.target === undefined ? undefined : SORT_TARGETS[o.sort.target],
    sortOrder: o.sort?.order === undefined ? undefined : SORT_ORDERS[o.sort.order],
    minModRevision: o.minModRevision,
    maxModRevision: o.maxModRevision,
    minCreateRevision: o.minCreateRevision,
    maxCreateRevision: o.maxCreateRevision,
  };
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
