/**
 * Watches that survive member failures. All watchers of a client share one Watch stream to one
 * member. Each watcher remembers the revision it needs next (the last delivered revision + 1);
 * when the stream fails, a new one is opened on another member and every watcher is created again
 * from that revision, so the application sees every event once and in order. If the revision it
 * needs was compacted meanwhile, the watcher ends with a `compacted` item: the events are gone and
 * the application must read the current state again.
 *
 * Watchers are created one at a time on a stream and matched to the server's `created` answers in
 * order, which works whether or not the server honours client-chosen watch ids. A reader that falls
 * behind pauses its watcher (cancelled on the server, created again from its next revision once the
 * reader catches up), so a slow reader costs neither memory nor the other watchers.
 */
import { assert, assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { CLIENT_STREAM_PROBE_INTERVAL_MS, CLIENT_STREAM_SILENCE_MS_MAX, CLIENT_WATCH_BUFFERED_EVENTS_MAX, CLIENT_WATCHERS_MAX } from '../core/limits.js';
import type { Timer } from '../env/clock.js';
import type { ClientDuplex } from '../api/grpc/client.js';
import { WatchCreateRequest_FilterType, WatchService, type ResponseHeader, type WatchRequestInit, type WatchResponse } from '../api/proto/generated/etcdserverpb.js';
import type { Event as MvccEvent } from '../api/proto/generated/mvccpb.js';
import { backoffDelayMs } from './backoff.js';
import { classifyFailure } from './failure.js';
import { ClientError } from './errors.js';
import { rangeOf, toBytes, type Bytes, type RangeSpec } from './kv.js';
import type { StreamManagerDeps } from './stream-deps.js';

export interface WatchOptions extends RangeSpec {
  /** First revision to deliver (inclusive). Default: changes after the watch is created. */
  readonly startRevision?: number;
  /** Deliver each event's previous key-value pair. */
  readonly prevKv?: boolean;
  readonly noPut?: boolean;
  readonly noDelete?: boolean;
  /** Ask the server for periodic progress items (delivered as `{ type: 'progress' }`). */
  readonly progressNotify?: boolean;
  /** Closes the watcher. */
  readonly signal?: AbortSignal;
}

export type WatchItem =
  /** The events of one or more revisions, in order; `revision` is the last one's; `header` is the answering member's. */
  | { readonly type: 'events'; readonly revision: number; readonly events: readonly MvccEvent[]; readonly header: ResponseHeader | undefined }
  /** No events up to `revision` (a progress notification). */
  | { readonly type: 'progress'; readonly revision: number; readonly header: ResponseHeader | undefined }
  /** The revisions the watcher needed were compacted away; the watcher has ended. */
  | { readonly type: 'compacted'; readonly compactRevision: number; readonly header?: ResponseHeader | undefined };

type WatcherState = 'pending' | 'creating' | 'active' | 'paused' | 'closed';

export class Watcher implements AsyncIterable<WatchItem> {
  /** Resolves with the first revision this watcher delivers, once the server has created it. */
  readonly ready: Promise<number>;
  private resolveReady!: (rev: number) => void;
  private rejectReady!: (e: unknown) => void;
  state: WatcherState = 'pending';
  /** The revision the watcher needs next; 0 until the server tells "now". */
  nextRevision: number;
  serverId: bigint | null = null;
  private readonly items: WatchItem[] = [];
  private bufferedEvents = 0;
  private ended: { error: unknown } | null = null;
  private wake: (() => void) | null = null;
  private abortListener: (() => void) | undefined;

  constructor(
    readonly clientId: bigint,
    readonly key: Uint8Array,
    readonly rangeEnd: Uint8Array | undefined,
    readonly options: WatchOptions,
    private readonly manager: WatchManager,
  ) {
    this.nextRevision = options.startRevision ?? 0;
    this.ready = new Promise<number>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    const signal = options.signal;
    if (signal !== undefined) {
      this.abortListener = () => this.close();
      if (signal.aborted) this.state = 'closed';
      else signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Stops the watcher; a pending iteration ends. */
  close(): void {
    this.manager.close(this);
  }

  /** @internal */
  createRequest(): WatchRequestInit {
    const filters: number[] = [];
    if (this.options.noPut === true) filters.push(WatchCreateRequest_FilterType.NOPUT);
    if (this.options.noDelete === true) filters.push(WatchCreateRequest_FilterType.NODELETE);
    return {
      requestUnion: {
        type: 'createRequest',
        value: {
          key: this.key,
          rangeEnd: this.rangeEnd,
          startRevision: this.nextRevision,
          prevKv: this.options.prevKv,
          progressNotify: this.options.progressNotify,
          filters,
          watchId: this.clientId,
        },
      },
    };
  }

  /** @internal The server created the watcher; `headerRevision` is "now" for a watcher without a start. */
  created(serverId: bigint, headerRevision: number): void {
    this.serverId = serverId;
    if (this.nextRevision === 0) this.nextRevision = headerRevision + 1;
    if (this.state === 'creating') this.state = 'active';
    this.resolveReady(this.nextRevision);
  }

  /** @internal Events from the server: those below the next revision are repeats and dropped. */
  deliver(events: readonly MvccEvent[], header: ResponseHeader | undefined): void {
    if (this.state === 'closed') return;
    const fresh = events.filter((e) => (e.kv?.modRevision ?? 0) >= this.nextRevision);
    if (fresh.length === 0) return;
    const revision = fresh[fresh.length - 1]!.kv!.modRevision;
    this.nextRevision = revision + 1;
    this.push({ type: 'events', revision, events: fresh, header });
    this.bufferedEvents += fresh.length;
    if (this.bufferedEvents > CLIENT_WATCH_BUFFERED_EVENTS_MAX && this.state === 'active') this.manager.pause(this);
  }

  /** @internal A progress notification: nothing this watcher wants exists up to `revision`. */
  progress(revision: number, header: ResponseHeader | undefined): void {
    if (this.state === 'closed' || revision < this.nextRevision) return;
    this.nextRevision = revision + 1;
    if (this.options.progressNotify === true) this.push({ type: 'progress', revision, header });
  }

  /** @internal The watcher ended: compacted (an item), or an error the iteration throws. */
  finish(how: { type: 'compacted'; compactRevision: number; header?: ResponseHeader | undefined } | { type: 'error'; error: unknown } | { type: 'closed' }): void {
    if (this.ended !== null) return;
    this.state = 'closed';
    if (this.abortListener !== undefined) this.options.signal?.removeEventListener('abort', this.abortListener);
    switch (how.type) {
      case 'compacted':
        this.items.push(how.header === undefined ? { type: 'compacted', compactRevision: how.compactRevision } : { type: 'compacted', compactRevision: how.compactRevision, header: how.header });
        this.ended = { error: undefined };
        this.rejectReady(new ClientError('watch-canceled', `watch start revision was compacted (compact revision ${how.compactRevision})`));
        break;
      case 'error':
        this.ended = { error: how.error };
        this.rejectReady(how.error);
        break;
      case 'closed':
        this.ended = { error: undefined };
        this.rejectReady(new ClientError('closed', 'the watcher was closed'));
        break;
      default:
        assertNever(how);
    }
    this.notify();
  }

  private push(item: WatchItem): void {
    this.items.push(item);
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchItem> {
    try {
      while (true) {
        const item = this.items.shift();
        if (item !== undefined) {
          if (item.type === 'events') {
            this.bufferedEvents -= item.events.length;
            if (this.state === 'paused' && this.bufferedEvents <= CLIENT_WATCH_BUFFERED_EVENTS_MAX / 2) this.manager.resume(this);
          }
          yield item;
          continue;
        }
        if (this.ended !== null) {
          if (this.ended.error !== undefined) throw this.ended.error;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      // A `break` out of `for await` ends the watcher.
      if (this.state !== 'closed') this.close();
    }
  }
}

export type WatchManagerDeps = StreamManagerDeps;

type WatchStream = ClientDuplex<WatchRequestInit, WatchResponse>;

export class WatchManager {
  private readonly watchers = new Set<Watcher>();
  private readonly byServerId = new Map<bigint, Watcher>();
  private readonly createQueue: Watcher[] = [];
  private creating: Watcher | null = null;
  private stream: WatchStream | null = null;
  private streamEndpoint: string | null = null;
  private generation = 0;
  private nextId = 1n;
  private reconnectTimer: Timer | null = null;
  private probeTimer: Timer | null = null;
  private failuresInARow = 0;
  private lastReceiveMs = 0;
  private probeSentMs: number | null = null;
  private everConnected = false;

  constructor(private readonly d: WatchManagerDeps) {}

  get size(): number {
    return this.watchers.size;
  }

  watch(key: Bytes, options: WatchOptions = {}): Watcher {
    if (this.d.closed.aborted) throw new ClientError('closed', 'the client is closed');
    if (this.watchers.size >= CLIENT_WATCHERS_MAX) throw new ClientError('invalid-argument', `more than ${CLIENT_WATCHERS_MAX} watchers on one client`);
    const r = rangeOf(toBytes(key), options);
    const w = new Watcher(this.nextId++, r.key, r.rangeEnd, options, this);
    if (w.closed) {
      w.finish({ type: 'closed' });
      return w;
    }
    this.watchers.add(w);
    this.enqueue(w);
    this.ensureStream();
    return w;
  }

  /** @internal */
  close(w: Watcher): void {
    if (w.closed) return;
    const wasCreated = w.serverId !== null && (w.state === 'active' || w.state === 'creating');
    w.finish({ type: 'closed' });
    this.watchers.delete(w);
    if (wasCreated) this.cancelOnServer(w);
    if (this.watchers.size === 0) this.closeStream();
  }

  /** @internal The reader fell behind: stop the server's watcher until it catches up. */
  pause(w: Watcher): void {
    if (w.state !== 'active') return;
    w.state = 'paused';
    this.cancelOnServer(w);
  }

  /** @internal */
  resume(w: Watcher): void {
    if (w.state !== 'paused') return;
    this.enqueue(w);
    this.pump();
  }

  private enqueue(w: Watcher): void {
    w.state = 'pending';
    w.serverId = null;
    this.createQueue.push(w);
  }

  private cancelOnServer(w: Watcher): void {
    const id = w.serverId;
    if (id === null) return;
    this.byServerId.delete(id);
    w.serverId = null;
    void this.stream?.write({ requestUnion: { type: 'cancelRequest', value: { watchId: id } } }).catch(() => {});
  }

  private ensureStream(): void {
    if (this.stream !== null || this.reconnectTimer !== null || this.d.closed.aborted) return;
    const exclude = new Set<string>(this.streamEndpoint === null ? [] : [this.streamEndpoint]);
    const endpoint = this.d.pool.pick({ type: 'any' }, exclude, null);
    const conn = this.d.pool.connection(endpoint);
    const stream = conn.duplex(WatchService.Watch, { metadata: this.d.metadata });
    const generation = ++this.generation;
    this.stream = stream;
    this.streamEndpoint = endpoint;
    this.creating = null;
    this.byServerId.clear();
    this.lastReceiveMs = this.d.clock.nowMs();
    this.probeSentMs = null;
    // Every live watcher is created again on the new stream, from the revision it needs next.
    this.createQueue.length = 0;
    for (const w of this.watchers) if (w.state !== 'closed' && w.state !== 'paused') this.enqueue(w);
    if (this.everConnected) this.d.events.emit({ type: 'watch-resumed', endpoint, watchers: this.createQueue.length });
    this.everConnected = true;
    void this.readLoop(stream, generation, endpoint, conn.neverSent.bind(conn));
    this.scheduleProbe(generation);
    this.pump();
  }

  private pump(): void {
    const stream = this.stream;
    if (stream === null || this.creating !== null) return;
    while (this.createQueue.length > 0) {
      const w = this.createQueue.shift()!;
      if (w.state !== 'pending') continue;
      w.state = 'creating';
      this.creating = w;
      stream.write(w.createRequest()).catch(() => {});
      return;
    }
  }

  private async readLoop(stream: WatchStream, generation: number, endpoint: string, neverSent: (e: unknown) => boolean): Promise<void> {
    let failure: unknown = null;
    try {
      for await (const r of stream) {
        if (generation !== this.generation) return;
        this.lastReceiveMs = this.d.clock.nowMs();
        this.probeSentMs = null;
        this.failuresInARow = 0;
        this.d.pool.succeeded(endpoint);
        this.d.runner.observe(endpoint, r.header);
        this.handle(r);
      }
    } catch (e) {
      failure = e;
    }
    if (generation !== this.generation) return;
    this.streamFailed(endpoint, failure, neverSent);
  }

  private handle(r: WatchResponse): void {
    if (r.created) {
      const w = this.creating;
      this.creating = null;
      if (w !== null) {
        if (w.state === 'closed') {
          // Closed while being created: cancel what the server just made.
          void this.stream?.write({ requestUnion: { type: 'cancelRequest', value: { watchId: r.watchId } } }).catch(() => {});
        } else if (!r.canceled) {
          this.byServerId.set(r.watchId, w);
          w.created(r.watchId, r.header?.revision ?? 0);
        } else {
          this.canceled(w, r);
        }
      }
      this.pump();
      return;
    }
    const w = this.byServerId.get(r.watchId);
    if (w === undefined) return; // a stream-wide progress answer, or a watcher we cancelled
    if (r.canceled) {
      this.byServerId.delete(r.watchId);
      this.canceled(w, r);
      return;
    }
    if (r.events.length > 0) w.deliver(r.events, r.header);
    else if (!r.fragment && r.header !== undefined) w.progress(r.header.revision, r.header);
  }

  private canceled(w: Watcher, r: WatchResponse): void {
    if (w.state === 'closed' || w.state === 'paused') return;
    if (r.compactRevision > 0) {
      this.watchers.delete(w);
      w.finish({ type: 'compacted', compactRevision: r.compactRevision, header: r.header });
      return;
    }
    const reason = r.cancelReason;
    if (/no leader|leader changed|stopped|timed out/.test(reason)) {
      // The member lost its leader: try again elsewhere.
      this.d.logger.debug('watch cancelled by a member without a leader; moving', { reason });
      this.restartStream(this.streamEndpoint, reason);
      return;
    }
    this.watchers.delete(w);
    w.finish({ type: 'error', error: new ClientError('watch-canceled', reason === '' ? 'watch canceled by the server' : `watch canceled by the server: ${reason}`) });
  }

  private streamFailed(endpoint: string, failure: unknown, neverSent: (e: unknown) => boolean): void {
    const f = failure === null ? null : classifyFailure(failure, neverSent(failure));
    const message = failure === null ? 'the server ended the watch stream' : errorMessage(failure);
    if (f !== null && f.type === 'final') {
      // A final status for the whole stream (permission denied, a malformed request): every watcher ends with it.
      for (const w of [...this.watchers]) w.finish({ type: 'error', error: new ClientError('watch-canceled', `watch stream failed: ${f.server.message}`, { server: f.server }) });
      this.watchers.clear();
      this.stream = null;
      return;
    }
    if (f === null || f.type === 'transport') this.d.pool.failed(endpoint, message);
    if (f !== null && f.type === 'retryable' && f.leader) this.d.runner.leaderLost();
    this.restartStream(endpoint, message);
  }

  /** Drops the current stream and opens another after a backoff (immediately after a first failure). */
  private restartStream(endpoint: string | null, reason: string): void {
    this.generation++;
    const old = this.stream;
    this.stream = null;
    this.streamEndpoint = endpoint;
    this.creating = null;
    this.byServerId.clear();
    this.probeTimer?.cancel();
    this.probeTimer = null;
    old?.cancel();
    if (this.watchers.size === 0 || this.d.closed.aborted) return;
    this.failuresInARow++;
    const delayMs = this.failuresInARow === 1 ? 0 : backoffDelayMs(this.failuresInARow - 1, this.d.backoff, this.d.random);
    this.d.logger.debug('watch stream lost; reconnecting', { endpoint, reason, delayMs });
    this.reconnectTimer = this.d.clock.setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureStream();
    }, delayMs);
  }

  /**
   * A member that stops answering (paused, cut off with its connection up) leaves the stream
   * silent; a progress request every so often must be answered, or the stream is replaced.
   */
  private scheduleProbe(generation: number): void {
    this.probeTimer = this.d.clock.setTimeout(() => {
      this.probeTimer = null;
      if (generation !== this.generation || this.stream === null) return;
      const now = this.d.clock.nowMs();
      if (this.probeSentMs !== null && now - this.probeSentMs >= CLIENT_STREAM_SILENCE_MS_MAX) {
        const endpoint = this.streamEndpoint;
        if (endpoint !== null) this.d.pool.failed(endpoint, `watch stream silent for ${CLIENT_STREAM_SILENCE_MS_MAX} ms`);
        this.restartStream(endpoint, 'silent');
        return;
      }
      if (this.probeSentMs === null && now - this.lastReceiveMs >= CLIENT_STREAM_PROBE_INTERVAL_MS) {
        this.probeSentMs = now;
        this.stream.write({ requestUnion: { type: 'progressRequest', value: {} } }).catch(() => {});
      }
      this.scheduleProbe(generation);
    }, CLIENT_STREAM_PROBE_INTERVAL_MS / 2);
  }

  private closeStream(): void {
    this.generation++;
    this.probeTimer?.cancel();
    this.probeTimer = null;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    const s = this.stream;
    this.stream = null;
    this.creating = null;
    this.byServerId.clear();
    this.createQueue.length = 0;
    if (s !== null) {
      s.end();
      s.cancel();
    }
  }

  /** Ends every watcher (the client is closing). */
  shutdown(): void {
    for (const w of [...this.watchers]) w.finish({ type: 'error', error: new ClientError('closed', 'the client is closed') });
    this.watchers.clear();
    this.closeStream();
    assert(this.stream === null, 'stream closed');
  }
}
