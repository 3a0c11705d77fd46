/**
 * The watch hub: every watcher of one store, fed by apply.
 *
 * etcd's design, in short: a watcher is *synced* when it has been given every event up to the
 * store revision, and then it receives each new revision as it is applied; it is *unsynced* when
 * it is behind, and then it catches up by reading the store's history (the revision log) instead
 * of holding events in memory.
 *
 * What keeps memory bounded and slow consumers harmless:
 * - Each watcher queues at most queueEventsMax events / queueBytesMax bytes (estimated), as
 *   references to immutable history records, not copies. A revision that does not fit is not
 *   queued in part: the watcher becomes unsynced from that revision and stops receiving live
 *   events. Synced watchers are served in O(1) each, whatever the unsynced ones do.
 * - Catching up is pulled by the watcher's consumer (WatchStream.next) and bounded per call
 *   (catchUpScanRecordsMax records scanned), so a far-behind watcher can neither stall apply nor
 *   starve others; a watcher nobody pulls from costs nothing.
 * - An unsynced watcher whose next revision falls below the compaction point is cancelled with
 *   the compact revision, as etcd does.
 *
 * Guarantees (tested by the validators in test/kv/watch-guarantees.test.ts): per watcher, events are ordered by
 * revision, never repeated, a revision's events arrive together (one response, or consecutive
 * fragments when the watcher asked for fragmentation), nothing within the retained history is
 * skipped, and a watch started at revision r after seeing r-1 continues exactly.
 */
import { assert } from '../core/assert.js';
import { inKeyRange, type KeyRange } from './key-index.js';
import type { RevLog } from './rev-log.js';
import type { RevRecord } from './record.js';
import { checkWatchLimits, DEFAULT_WATCH_LIMITS, type WatchLimits } from './watch-types.js';

/** What the hub reads from the store: the current revision, the compaction point, the history. */
export interface WatchHistory {
  readonly revision: number;
  readonly compactRevision: number;
  readonly revlog: RevLog;
}

/** The stream that owns watchers: told when a watcher has something to deliver or changes state. */
export interface WatcherOwner {
  enqueued(w: Watcher): void;
  unsyncedAdded(w: Watcher): void;
  unsyncedRemoved(w: Watcher): void;
  flushSignal(): void;
}

export type QueueItem =
  | { readonly type: 'created'; readonly revision: number }
  | { readonly type: 'progress'; readonly revision: number }
  | { readonly type: 'canceled'; readonly revision: number; readonly compactRevision: number; readonly reason: string }
  | EventsItem;

export interface EventsItem {
  readonly type: 'events';
  readonly records: RevRecord[];
  /** Header revision of the response. */
  revision: number;
  readonly firstRev: number;
  lastRev: number;
  /** Estimated bytes of the events not yet delivered. */
  bytes: number;
  /** Events already delivered as fragments. */
  cursor: number;
}

export class Watcher {
  state: 'synced' | 'unsynced' | 'canceled' = 'synced';
  /** Unsynced: the next revision to read from history. */
  nextRev = 0;
  readonly queue: QueueItem[] = [];
  queuedEvents = 0;
  queuedBytes = 0;
  /** Highest revision whose events were queued: what makes delivery ordered and unique. */
  lastEventRev = 0;
  /** Whether the owner has this watcher in its ready list. */
  inReady = false;

  constructor(
    readonly id: number,
    readonly owner: WatcherOwner,
    readonly range: KeyRange,
    /** Events below this revision are never delivered (the start revision, or "now"). */
    readonly minRev: number,
    readonly options: { readonly noPut: boolean; readonly noDelete: boolean; readonly prevKv: boolean; readonly progressNotify: boolean; readonly fragment: boolean },
  ) {}

  matches(r: RevRecord): boolean {
    if (r.version > 0 ? this.options.noPut : this.options.noDelete) return false;
    return inKeyRange(this.range, r.key);
  }

  /** The first revision with events queued but not fully delivered, or null. */
  firstQueuedEventRev(): number | null {
    for (const it of this.queue) if (it.type === 'events') return it.firstRev;
    return null;
  }
}

/** Estimated bytes of one event as delivered. */
export function eventBytes(r: RevRecord, prevKv: boolean): number {
  let n = 48 + r.key.length + r.value.length;
  if (prevKv && r.prev !== null && r.prev.version > 0) n += 48 + r.prev.key.length + r.prev.value.length;
  return n;
}

export class WatchHub {
  private readonly singles = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private readonly progressWatchers = new Set<Watcher>();
  private readonly signals = new Set<WatcherOwner>();
  private total = 0;
  readonly limits: WatchLimits;

  constructor(
    private readonly history: WatchHistory,
    limits: Partial<WatchLimits> = {},
  ) {
    this.limits = { ...DEFAULT_WATCH_LIMITS, ...limits };
    checkWatchLimits(this.limits);
  }

  get revision(): number {
    return this.history.revision;
  }

  get compactRevision(): number {
    return this.history.compactRevision;
  }

  get watcherCount(): number {
    return this.total;
  }

  get unsyncedCount(): number {
    return this.unsynced.size;
  }

  /** Registers a watcher; it starts synced when its start revision is in the future, else unsynced. */
  add(w: Watcher): void {
    assert(this.total < this.limits.watchersMax, 'watcher limit checked by the caller');
    this.total++;
    if (w.options.progressNotify) this.progressWatchers.add(w);
    if (w.minRev <= this.history.revision) {
      w.state = 'unsynced';
      w.nextRev = w.minRev;
      this.unsynced.add(w);
      w.owner.unsyncedAdded(w);
    } else {
      this.addSynced(w);
    }
  }

  /** Forgets a watcher (cancelled by its client or its stream closed). */
  remove(w: Watcher): void {
    if (w.state === 'canceled') return;
    if (w.state === 'synced') this.removeSynced(w);
    else {
      this.unsynced.delete(w);
      w.owner.unsyncedRemoved(w);
    }
    this.progressWatchers.delete(w);
    w.state = 'canceled';
    this.total--;
  }

  private addSynced(w: Watcher): void {
    w.state = 'synced';
    if (w.range.type === 'single') {
      let set = this.singles.get(w.range.key);
      if (set === undefined) this.singles.set(w.range.key, (set = new Set()));
      set.add(w);
    } else this.ranges.add(w);
  }

  private removeSynced(w: Watcher): void {
    if (w.range.type === 'single') {
      const set = this.singles.get(w.range.key);
      set?.delete(w);
      if (set !== undefined && set.size === 0) this.singles.delete(w.range.key);
    } else this.ranges.delete(w);
  }

  private makeUnsynced(w: Watcher, fromRev: number): void {
    this.removeSynced(w);
    w.state = 'unsynced';
    w.nextRev = fromRev;
    this.unsynced.add(w);
    w.owner.unsyncedAdded(w);
    this.signals.add(w.owner);
  }

  private makeSynced(w: Watcher): void {
    this.unsynced.delete(w);
    w.owner.unsyncedRemoved(w);
    this.addSynced(w);
  }

  // -------------------------------------------------------------------------------------------
  // Fed by apply.

  /** A revision was applied with these changes (in sub-revision order). */
  notify(revision: number, changes: readonly RevRecord[]): void {
    if (this.total === this.unsynced.size) return;
    const hits = new Map<Watcher, RevRecord[]>();
    const hit = (w: Watcher, r: RevRecord): void => {
      const list = hits.get(w);
      if (list === undefined) hits.set(w, [r]);
      else list.push(r);
    };
    for (const c of changes) {
      const set = this.singles.get(c.key);
      if (set !== undefined) for (const w of set) hit(w, c);
      for (const w of this.ranges) if (inKeyRange(w.range, c.key)) hit(w, c);
    }
    for (const [w, recs] of hits) {
      if (revision < w.minRev) continue;
      const events = recs.filter((r) => (r.version > 0 ? !w.options.noPut : !w.options.noDelete));
      if (events.length === 0) continue;
      if (!this.enqueueEvents(w, events, revision, revision)) this.makeUnsynced(w, revision);
    }
  }

  /** The compaction point moved: unsynced watchers now behind it are cancelled. */
  compacted(): void {
    const c = this.history.compactRevision;
    for (const w of [...this.unsynced]) if (w.nextRev < c) this.cancelCompacted(w);
  }

  /**
   * The store's state was replaced (snapshot restore). Every watcher goes back to catching up from
   * the new history, from where it was; those now behind the compaction point are cancelled.
   */
  reset(previousRevision: number): void {
    const synced = [...this.ranges];
    for (const set of this.singles.values()) synced.push(...set);
    for (const w of synced) this.makeUnsynced(w, Math.max(w.minRev, previousRevision + 1));
    this.compacted();
  }

  /** Periodic progress notification (the server's timer): to every synced watcher that asked. */
  progressTick(): void {
    for (const w of this.progressWatchers) {
      if (w.state !== 'synced') continue;
      const tail = w.queue[w.queue.length - 1];
      if (tail !== undefined && tail.type === 'progress') continue;
      w.queue.push({ type: 'progress', revision: this.history.revision });
      this.signal(w);
    }
  }

  /** Tells owners that have something new; the store calls this at the end of each apply. */
  flush(): void {
    if (this.signals.size === 0) return;
    const owners = [...this.signals];
    this.signals.clear();
    for (const o of owners) o.flushSignal();
  }

  // -------------------------------------------------------------------------------------------
  // Pulled by streams.

  /**
   * Moves an unsynced watcher forward through history, queueing whole revisions while its queue
   * has room. Scans at least one revision and then stops once `budgetRecords` records were scanned.
   * Returns the number of records scanned.
   */
  catchUp(w: Watcher, budgetRecords: number): number {
    assert(w.state === 'unsynced', 'catch up an unsynced watcher');
    const h = this.history;
    if (w.nextRev < h.compactRevision) {
      this.cancelCompacted(w);
      return 0;
    }
    const log = h.revlog;
    const n = log.length;
    let pos = log.lowerBound(w.nextRev);
    let scanned = 0;
    while (pos < n && scanned < budgetRecords) {
      const rev = log.at(pos).main;
      const events: RevRecord[] = [];
      for (; pos < n; pos++, scanned++) {
        const r = log.at(pos);
        if (r.main !== rev) break;
        if (w.matches(r)) events.push(r);
      }
      if (events.length > 0 && !this.enqueueEvents(w, events, rev, h.revision)) return scanned;
      w.nextRev = rev + 1;
    }
    if (pos >= n) {
      w.nextRev = h.revision + 1;
      this.makeSynced(w);
    }
    return scanned;
  }

  /** Queues a revision's events (or several, merged) for a watcher; false when the queue is full. */
  private enqueueEvents(w: Watcher, events: RevRecord[], rev: number, headerRevision: number): boolean {
    const l = this.limits;
    let bytes = 0;
    for (const r of events) bytes += eventBytes(r, w.options.prevKv);
    if (w.queuedEvents > 0 && (w.queuedEvents + events.length > l.queueEventsMax || w.queuedBytes + bytes > l.queueBytesMax)) return false;
    assert(rev > w.lastEventRev, `watch ${w.id}: revision ${rev} queued after ${w.lastEventRev}`);
    const tail = w.queue[w.queue.length - 1];
    if (tail !== undefined && tail.type === 'events' && tail.cursor === 0 && tail.records.length + events.length <= l.responseEventsMax && tail.bytes + bytes <= l.fragmentBytesMax) {
      tail.records.push(...events);
      tail.lastRev = rev;
      tail.bytes += bytes;
      tail.revision = headerRevision;
    } else {
      w.queue.push({ type: 'events', records: events, revision: headerRevision, firstRev: rev, lastRev: rev, bytes, cursor: 0 });
    }
    w.queuedEvents += events.length;
    w.queuedBytes += bytes;
    w.lastEventRev = rev;
    this.signal(w);
    return true;
  }

  private cancelCompacted(w: Watcher): void {
    const c = this.history.compactRevision;
    this.remove(w);
    w.queue.push({ type: 'canceled', revision: this.history.revision, compactRevision: c, reason: '' });
    this.signal(w);
  }

  private signal(w: Watcher): void {
    w.owner.enqueued(w);
    this.signals.add(w.owner);
  }
}
