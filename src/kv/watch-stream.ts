/**
 * One watch stream (etcd's gRPC Watch stream): the watchers one client multiplexes, and the pull
 * API its sender uses. The consumer is async (a gRPC stream with flow control); the stream never
 * pushes. The sender calls `next()` while it can write; when `next()` returns null it waits for
 * `onReadable`, except when `catchingUp` is set: then history is being replayed in bounded steps
 * and it should call `next()` again after yielding to the event loop.
 *
 *   stream.onReadable = pump;
 *   function pump() {
 *     while (socket.writable) {
 *       const r = stream.next();
 *       if (r === null) { if (stream.catchingUp) setImmediate(pump); return; }
 *       socket.write(r);
 *     }
 *   }
 *
 * Watchers with something to deliver are served round-robin, one response each, so one busy
 * watcher cannot starve the others on its stream. `onReadable` is called at most once per null
 * returned by `next()` (no signal storms) and never in the middle of applying an entry.
 */
import { assert, assertNever } from '../core/assert.js';
import { WATCH_STREAM_CONTROL_RESPONSES_MAX } from '../core/limits.js';
import { keyRange } from './key-index.js';
import { latin1FromBytes } from './latin1.js';
import { toKeyValue } from './record.js';
import { eventBytes, Watcher, type EventsItem, type WatchHub, type WatcherOwner } from './watch-hub.js';
import {
  STREAM_WATCH_ID,
  WATCH_DUPLICATE_ID_REASON,
  WATCH_EMPTY_RANGE_REASON,
  WATCH_TOO_MANY_REASON,
  type WatchCreateRequest,
  type WatchEvent,
  type WatchResponse,
} from './watch-types.js';

export class WatchStream implements WatcherOwner {
  private readonly watchers = new Map<number, Watcher>();
  private readonly ready: Watcher[] = [];
  private readonly control: WatchResponse[] = [];
  private readonly unsynced = new Set<Watcher>();
  private nextAutoId = 0;
  /** A stream-wide progress request waiting until everything up to this revision is delivered. */
  private progressRequestedAt: number | null = null;
  private wantSignal = true;
  private closed = false;
  /** Set when `next()` returned null while history is still being replayed: call again soon. */
  catchingUp = false;
  onReadable: (() => void) | null = null;

  constructor(private readonly hub: WatchHub) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  /**
   * False while refused-create responses pile up unsent: the API layer should stop reading the
   * client's requests until the sender catches up (backpressure on a client that does not read).
   */
  get canAcceptRequests(): boolean {
    return !this.closed && this.control.length < WATCH_STREAM_CONTROL_RESPONSES_MAX;
  }

  /** Creates a watcher; its 'created' (or 'create-refused') response comes out of `next()`. */
  create(req: WatchCreateRequest): void {
    assert(!this.closed, 'create on a closed watch stream');
    const range = keyRange(latin1FromBytes(req.key), latin1FromBytes(req.rangeEnd));
    const refuse = (reason: string): void => {
      this.control.push({ type: 'create-refused', watchId: STREAM_WATCH_ID, revision: this.hub.revision, reason });
      this.signalNow();
    };
    if (range.type === 'range' && range.end !== null && range.start >= range.end) return refuse(WATCH_EMPTY_RANGE_REASON);
    let id = req.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
      id = this.nextAutoId++;
    } else if (this.watchers.has(id)) return refuse(WATCH_DUPLICATE_ID_REASON);
    if (this.hub.watcherCount >= this.hub.limits.watchersMax) return refuse(WATCH_TOO_MANY_REASON);
    const minRev = req.startRevision > 0 ? req.startRevision : this.hub.revision + 1;
    const w = new Watcher(id, this, range, minRev, {
      noPut: req.noPut,
      noDelete: req.noDelete,
      prevKv: req.prevKv,
      progressNotify: req.progressNotify,
      fragment: req.fragment,
    });
    this.watchers.set(id, w);
    w.queue.push({ type: 'created', revision: this.hub.revision });
    this.enqueued(w);
    this.hub.add(w);
    this.signalNow();
  }

  /** Cancels a watcher: pending events are dropped and a 'canceled' response follows. */
  cancel(watchId: number): boolean {
    const w = this.watchers.get(watchId);
    if (w === undefined || w.state === 'canceled') return false;
    this.hub.remove(w);
    w.queue.length = 0;
    w.queuedEvents = 0;
    w.queuedBytes = 0;
    w.queue.push({ type: 'canceled', revision: this.hub.revision, compactRevision: 0, reason: '' });
    this.enqueued(w);
    this.signalNow();
    return true;
  }

  /** Asks for a stream-wide progress notification (etcd's WatchProgressRequest). */
  requestProgress(): void {
    if (this.progressRequestedAt === null) this.progressRequestedAt = this.hub.revision;
    this.signalNow();
  }

  /** The next response to send, or null (see the module comment for when to call again). */
  next(): WatchResponse | null {
    this.catchingUp = false;
    const c = this.control.shift();
    if (c !== undefined) return c;
    const r = this.takeReady();
    if (r !== null) return r;
    if (this.unsynced.size > 0) {
      let budget = this.hub.limits.catchUpScanRecordsMax;
      for (const w of [...this.unsynced]) {
        if (budget <= 0) break;
        if (w.state !== 'unsynced') continue;
        // Rotate so the next call starts with another watcher.
        this.unsynced.delete(w);
        this.unsynced.add(w);
        budget -= Math.max(1, this.hub.catchUp(w, budget));
        if (this.ready.length > 0) break;
      }
      const r2 = this.takeReady();
      if (r2 !== null) return r2;
      if (this.unsynced.size > 0) {
        this.catchingUp = true;
        return null;
      }
    }
    if (this.progressRequestedAt !== null) {
      const d = this.deliveredThrough();
      if (d >= this.progressRequestedAt) {
        this.progressRequestedAt = null;
        return { type: 'progress', watchId: STREAM_WATCH_ID, revision: d };
      }
    }
    this.wantSignal = true;
    return null;
  }

  /** Each watcher's state and queue size (metrics, tests). */
  watcherStates(): { id: number; state: 'synced' | 'unsynced' | 'canceled'; queuedEvents: number; queuedBytes: number }[] {
    return [...this.watchers.values()].map((w) => ({ id: w.id, state: w.state, queuedEvents: w.queuedEvents, queuedBytes: w.queuedBytes }));
  }

  /** Removes every watcher; the stream is done. */
  close(): void {
    for (const w of this.watchers.values()) this.hub.remove(w);
    this.watchers.clear();
    this.ready.length = 0;
    this.unsynced.clear();
    this.control.length = 0;
    this.closed = true;
  }

  // -------------------------------------------------------------------------------------------
  // WatcherOwner.

  enqueued(w: Watcher): void {
    if (!w.inReady) {
      w.inReady = true;
      this.ready.push(w);
    }
  }

  unsyncedAdded(w: Watcher): void {
    this.unsynced.add(w);
  }

  unsyncedRemoved(w: Watcher): void {
    this.unsynced.delete(w);
  }

  flushSignal(): void {
    if (this.closed || !this.wantSignal || this.onReadable === null) return;
    this.wantSignal = false;
    this.onReadable();
  }

  private signalNow(): void {
    this.flushSignal();
  }

  // -------------------------------------------------------------------------------------------

  private takeReady(): WatchResponse | null {
    for (;;) {
      const w = this.ready.shift();
      if (w === undefined) return null;
      w.inReady = false;
      if (w.queue.length === 0) continue;
      const resp = this.take(w);
      if (w.queue.length > 0) {
        w.inReady = true;
        this.ready.push(w);
      } else if (w.state === 'canceled' && this.watchers.get(w.id) === w) {
        this.watchers.delete(w.id);
      }
      return resp;
    }
  }

  private take(w: Watcher): WatchResponse {
    const item = w.queue[0]!;
    switch (item.type) {
      case 'created':
        w.queue.shift();
        return { type: 'created', watchId: w.id, revision: item.revision };
      case 'progress':
        w.queue.shift();
        return { type: 'progress', watchId: w.id, revision: item.revision };
      case 'canceled':
        w.queue.shift();
        return { type: 'canceled', watchId: w.id, revision: item.revision, compactRevision: item.compactRevision, reason: item.reason };
      case 'events':
        return this.takeEvents(w, item);
      default:
        return assertNever(item, 'queue item');
    }
  }

  private takeEvents(w: Watcher, item: EventsItem): WatchResponse {
    const recs = item.records;
    let end = recs.length;
    let bytes = item.bytes;
    if (w.options.fragment && item.bytes > this.hub.limits.fragmentBytesMax) {
      // A revision larger than a response: send it in fragments, each under the bound (but at least one event).
      bytes = 0;
      end = item.cursor;
      while (end < recs.length) {
        const b = eventBytes(recs[end]!, w.options.prevKv);
        if (end > item.cursor && bytes + b > this.hub.limits.fragmentBytesMax) break;
        bytes += b;
        end++;
      }
    }
    const events: WatchEvent[] = [];
    for (let i = item.cursor; i < end; i++) {
      const r = recs[i]!;
      const prev = r.prev;
      events.push({
        type: r.version > 0 ? 'put' : 'delete',
        kv: toKeyValue(r),
        prevKv: w.options.prevKv && prev !== null && prev.version > 0 ? toKeyValue(prev) : null,
      });
    }
    w.queuedEvents -= end - item.cursor;
    w.queuedBytes -= bytes;
    item.bytes -= bytes;
    const fragment = end < recs.length;
    if (fragment) item.cursor = end;
    else w.queue.shift();
    return { type: 'events', watchId: w.id, revision: item.revision, events, fragment };
  }

  /** The highest revision through which every watcher of the stream has delivered all its events. */
  private deliveredThrough(): number {
    let d = this.hub.revision;
    for (const w of this.watchers.values()) {
      if (w.state === 'canceled') continue;
      const q = w.firstQueuedEventRev();
      if (q !== null) d = Math.min(d, q - 1);
      if (w.state === 'unsynced') d = Math.min(d, w.nextRev - 1);
    }
    return d;
  }
}
