/**
 * Watch streams across faults. Half the clients put unique values under a prefix; the other half
 * each keep a watch on the prefix from the start revision. A watcher whose stream breaks, is
 * cancelled, or goes quiet (a paused member answers nothing, not even the progress requests sent
 * every second) opens a new one on the next member, from the revision after the last it saw —
 * what an etcd client does to resume. After the faults are healed the watchers catch up with the
 * last write, and a fresh watch from the start revision gives the reference (check-watch.ts).
 */
import { bytes, errorText, prefixEnd, text, type EtcdConnection } from '../bench/etcd-client.js';
import { CHAOS_WATCH_CATCHUP_MS, CHAOS_WATCH_PROGRESS_MS, CHAOS_WATCH_STALL_MS } from '../core/limits.js';
import { checkWatch, type WatchEvent, type WatchHistory, type WatchInput, type WatchOutput } from './check-watch.js';
import type { Recorder, RecordedOp } from './history.js';
import { endWrite, FINAL_CLIENT, pause, type CheckOutcome, type ClientContext, type FinalContext, type Workload } from './workload.js';

const WATCH_KEYS = 4;

export class WatchWorkload implements Workload {
  readonly name = 'watch';
  private startRevision = 0;
  private lastRevision = Infinity;
  private readonly events = new Map<number, WatchEvent[]>();
  private readonly watchers: Promise<void>[] = [];
  private reference: WatchEvent[] | null = null;
  private readonly stopWatchers = new AbortController();

  constructor(private readonly clientCount: number) {}

  private isWriter(index: number): boolean {
    const watchers = Math.max(1, Math.floor(this.clientCount / 2));
    return index >= watchers || this.clientCount === 1;
  }

  async prepare(ctx: FinalContext): Promise<void> {
    const { conn } = await ctx.healthyConnection();
    const r = await conn.get(`${ctx.keyPrefix}watch-start`, { deadlineMs: ctx.opTimeoutMs });
    this.startRevision = r.revision;
  }

  async client(ctx: ClientContext): Promise<void> {
    if (this.isWriter(ctx.index)) return this.writer(ctx);
    const events: WatchEvent[] = [];
    this.events.set(ctx.index, events);
    const task = this.watcher(ctx, events);
    this.watchers.push(task);
    // The watcher outlives the load phase: it must catch up after the faults are healed (finish()).
    await new Promise<void>((resolve) => (ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true })));
  }

  private async writer(ctx: ClientContext): Promise<void> {
    const prefix = `${ctx.keyPrefix}watch/`;
    let n = 0;
    while (!ctx.signal.aborted) {
      await ctx.throttle();
      const key = `${prefix}${ctx.random.int(WATCH_KEYS)}`;
      const value = `${ctx.index}-${n++}`;
      const h = ctx.recorder.invoke<WatchInput, WatchOutput>(ctx.index, ctx.member, { type: 'put', key, value });
      try {
        const r = await ctx.conn.put(bytes(key), bytes(value), { deadlineMs: ctx.opTimeoutMs });
        h.ok({ revision: r.revision });
      } catch (e) {
        endWrite(h, e);
      }
    }
  }

  private async watcher(ctx: ClientContext, events: WatchEvent[]): Promise<void> {
    const prefix = `${ctx.keyPrefix}watch/`;
    let next = this.startRevision + 1;
    let m = ctx.members.indexOf(ctx.member);
    const stop = this.stopWatchers.signal;
    while (!stop.aborted && next <= this.lastRevision) {
      const member = ctx.members[m % ctx.members.length]!;
      const r = await watchSession({ recorder: ctx.recorder, client: ctx.index, member, conn: ctx.connectionTo(member), prefix, from: next, until: () => this.lastRevision, stop, onEvent: (e) => events.push(e) });
      next = Math.max(next, r.lastRevision + 1);
      if (!r.ok) {
        m++; // resume on the next member
        await pause(100, stop);
      }
    }
  }

  async finish(ctx: FinalContext): Promise<void> {
    const { member, conn } = await ctx.healthyConnection();
    const prefix = `${ctx.keyPrefix}watch/`;
    // The last write under the prefix (nothing is deleted there): watchers must reach it.
    const latest = await conn.range({ key: bytes(prefix), rangeEnd: prefixEnd(prefix), sortOrder: 2 /* DESCEND */, sortTarget: 3 /* MOD */, limit: 1 }, { deadlineMs: ctx.opTimeoutMs });
    this.lastRevision = latest.kvs[0]?.modRevision ?? this.startRevision;
    const deadline = pause(CHAOS_WATCH_CATCHUP_MS, ctx.signal);
    await Promise.race([Promise.all(this.watchers), deadline]);
    this.stopWatchers.abort();
    await Promise.all(this.watchers);
    // The reference: one watch from the start, on a healthy member.
    const reference: WatchEvent[] = [];
    const r = await watchSession({ recorder: ctx.recorder, client: FINAL_CLIENT, member, conn, prefix, from: this.startRevision + 1, until: () => this.lastRevision, stop: ctx.signal, onEvent: (e) => reference.push({ ...e, session: -1 }), deadlineMs: CHAOS_WATCH_CATCHUP_MS });
    this.reference = r.lastRevision >= this.lastRevision || this.lastRevision === this.startRevision ? reference : null;
  }

  history(): WatchHistory {
    return {
      startRevision: this.startRevision,
      lastRevision: Number.isFinite(this.lastRevision) ? this.lastRevision : this.startRevision,
      watchers: [...this.events].sort(([a], [b]) => a - b).map(([client, events]) => ({ client, events })),
      reference: this.reference,
    };
  }

  check(ops: readonly RecordedOp[]): CheckOutcome {
    return checkWatch(ops, this.history());
  }

  extra(): unknown {
    return this.history();
  }
}

interface SessionOptions {
  readonly recorder: Recorder;
  readonly client: number;
  readonly member: string;
  readonly conn: EtcdConnection;
  readonly prefix: string;
  readonly from: number;
  /** Done once an event at or past this revision arrived. */
  readonly until: () => number;
  readonly stop: AbortSignal;
  readonly onEvent: (e: WatchEvent) => void;
  /** Give up after this long in all (the reference watch). */
  readonly deadlineMs?: number;
}

/** One watch stream from `from`, recorded as one operation; resolves when it ends, for whatever reason. */
async function watchSession(o: SessionOptions): Promise<{ ok: boolean; lastRevision: number }> {
  const h = o.recorder.invoke<WatchInput, WatchOutput>(o.client, o.member, { type: 'watch', fromRevision: o.from });
  const stream = o.conn.watchStream();
  let last = o.from - 1;
  let count = 0;
  let quietTimer: NodeJS.Timeout | undefined;
  let reason: string | null = null;
  const end = (why: string | null): void => {
    if (reason === null) reason = why ?? 'done';
    stream.cancel();
  };
  const armQuiet = (): void => {
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => end(`no answer from ${o.member} for ${CHAOS_WATCH_STALL_MS} ms`), CHAOS_WATCH_STALL_MS);
  };
  const progress = setInterval(() => {
    stream.write({ requestUnion: { type: 'progressRequest', value: {} } }).catch(() => {});
  }, CHAOS_WATCH_PROGRESS_MS);
  const onStop = (): void => end(null);
  o.stop.addEventListener('abort', onStop, { once: true });
  const overall = o.deadlineMs === undefined ? undefined : setTimeout(() => end(`did not reach revision ${o.until()} in ${o.deadlineMs} ms`), o.deadlineMs);
  try {
    armQuiet();
    await stream.write({ requestUnion: { type: 'createRequest', value: { key: bytes(o.prefix), rangeEnd: prefixEnd(o.prefix), startRevision: o.from } } });
    for await (const r of stream) {
      armQuiet();
      if (r.canceled) {
        end(r.compactRevision > 0 ? `compacted at ${r.compactRevision}` : `cancelled by the server: ${r.cancelReason}`);
        break;
      }
      for (const ev of r.events) {
        const kv = ev.kv;
        if (kv === undefined) continue;
        o.onEvent({ revision: kv.modRevision, key: text(kv.key), value: text(kv.value), type: ev.type === 1 ? 'delete' : 'put', session: h.id });
        last = Math.max(last, kv.modRevision);
        count++;
      }
      if (last >= o.until()) {
        end(null);
        break;
      }
    }
    if (reason === null) reason = 'the stream ended';
  } catch (e) {
    if (reason === null) reason = errorText(e);
  } finally {
    clearTimeout(quietTimer);
    clearTimeout(overall);
    clearInterval(progress);
    o.stop.removeEventListener('abort', onStop);
    stream.cancel();
  }
  const ok = reason === 'done';
  if (ok) h.ok({ events: count, lastRevision: last });
  else h.fail(reason ?? 'ended');
  return { ok, lastRevision: last };
}
