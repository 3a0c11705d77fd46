/**
 * Watch requests and responses (etcd's WatchCreateRequest and WatchResponse without the header;
 * `revision` is what the server puts in the header).
 */
import type { KeyValue } from './record.js';
import {
  WATCH_CATCHUP_SCAN_RECORDS_MAX,
  WATCH_FRAGMENT_BYTES_MAX,
  WATCH_QUEUE_BYTES_MAX,
  WATCH_QUEUE_EVENTS_MAX,
  WATCH_RESPONSE_EVENTS_MAX,
  WATCHERS_MAX,
} from '../core/limits.js';
import { assert } from '../core/assert.js';

export interface WatchCreateRequest {
  readonly key: Uint8Array;
  /** As in a range: empty for one key, `\0` for every key >= key, else [key, rangeEnd). */
  readonly rangeEnd: Uint8Array;
  /** Inclusive; 0 or less: from the next revision ("now"). */
  readonly startRevision: number;
  readonly progressNotify: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  /** 0: the stream picks one (etcd's AutoWatchID). */
  readonly watchId: number;
  /** Split a revision whose events exceed the response bound into several responses. */
  readonly fragment: boolean;
}

export function watchRequest(key: Uint8Array, opts: Partial<Omit<WatchCreateRequest, 'key'>> = {}): WatchCreateRequest {
  return {
    key,
    rangeEnd: opts.rangeEnd ?? new Uint8Array(0),
    startRevision: opts.startRevision ?? 0,
    progressNotify: opts.progressNotify ?? false,
    noPut: opts.noPut ?? false,
    noDelete: opts.noDelete ?? false,
    prevKv: opts.prevKv ?? false,
    watchId: opts.watchId ?? 0,
    fragment: opts.fragment ?? false,
  };
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** For a delete: the key and the deletion revision as mod_revision, other fields zero (as etcd). */
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | null;
}

/** etcd's stream-wide progress notification uses this watch id (clientv3's InvalidWatchID). */
export const STREAM_WATCH_ID = -1;

export type WatchResponse =
  /** The watcher exists; events follow. */
  | { readonly type: 'created'; readonly watchId: number; readonly revision: number }
  /** etcd answers a refused create with created=true, canceled=true, watch_id=-1 and a reason. */
  | { readonly type: 'create-refused'; readonly watchId: number; readonly revision: number; readonly reason: string }
  | { readonly type: 'events'; readonly watchId: number; readonly revision: number; readonly events: readonly WatchEvent[]; readonly fragment: boolean }
  /** Every event at or below `revision` has been delivered (for one watcher, or the whole stream with STREAM_WATCH_ID). */
  | { readonly type: 'progress'; readonly watchId: number; readonly revision: number }
  /** The watcher is gone: cancelled by the client, or behind the compaction (compactRevision > 0). */
  | { readonly type: 'canceled'; readonly watchId: number; readonly revision: number; readonly compactRevision: number; readonly reason: string };

/** etcd's cancel reasons, word for word. */
export const WATCH_DUPLICATE_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
export const WATCH_EMPTY_RANGE_REASON = 'mvcc: watcher range is empty';
export const WATCH_TOO_MANY_REASON = 'bulwark: too many watchers';

export interface WatchLimits {
  readonly watchersMax: number;
  readonly queueEventsMax: number;
  readonly queueBytesMax: number;
  readonly catchUpScanRecordsMax: number;
  readonly responseEventsMax: number;
  readonly fragmentBytesMax: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  watchersMax: WATCHERS_MAX,
  queueEventsMax: WATCH_QUEUE_EVENTS_MAX,
  queueBytesMax: WATCH_QUEUE_BYTES_MAX,
  catchUpScanRecordsMax: WATCH_CATCHUP_SCAN_RECORDS_MAX,
  responseEventsMax: WATCH_RESPONSE_EVENTS_MAX,
  fragmentBytesMax: WATCH_FRAGMENT_BYTES_MAX,
};

export function checkWatchLimits(l: WatchLimits): void {
  assert(l.watchersMax > 0 && l.catchUpScanRecordsMax > 0 && l.fragmentBytesMax > 0, 'watch limits are positive');
  assert(l.queueEventsMax >= l.responseEventsMax && l.responseEventsMax > 0, 'a watcher queue holds a full response');
  assert(l.queueBytesMax >= l.fragmentBytesMax, 'a watcher queue holds a full-size response');
}
