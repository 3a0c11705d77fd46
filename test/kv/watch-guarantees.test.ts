/**
 * etcd's watch guarantees, each checked by a validator over random workloads with slow consumers,
 * tiny queue bounds (so watchers keep falling behind and catching up from history), fragmentation,
 * compaction, cancellation, resumption, progress requests and snapshot restores:
 *
 * - ordered: a watcher's events come in (revision, sub-revision) order;
 * - unique: no event comes twice;
 * - atomic: a revision's events come in one response, or in one chain of fragments;
 * - reliable: a watcher gets every matching event from its start revision on, with the right
 *   kv and prev_kv, unless it is cancelled for falling behind the compaction (and then what it got
 *   is still an exact prefix);
 * - resumable: a watch restarted from the revision after the last one seen continues exactly;
 * - bookmarkable: after a progress notification at R, every event at or below R was delivered and
 *   none comes later;
 * - bounded: no watcher ever queues more than its bound (or one revision, if a single revision is larger).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leaseId } from '../../src/core/ids.js';
import { deleteRangeOp, prefixEnd, putOp, txnOp, type Op } from '../../src/kv/command.js';
import { KvStore } from '../../src/kv/kv-store.js';
import { bytesFromLatin1, latin1FromBytes } from '../../src/kv/latin1.js';
import type { KeyValue } from '../../src/kv/results.js';
import type { WatchStream } from '../../src/kv/watch-stream.js';
import { STREAM_WATCH_ID, watchRequest, type WatchEvent, type WatchResponse } from '../../src/kv/watch-types.js';
import { Applier, copySnapshot, show } from './helpers.js';
import { kv, Model, type MRec } from './reference-model.js';

const LIMITS = { queueEventsMax: 4, queueBytesMax: 4096, responseEventsMax: 3, fragmentBytesMax: 300, catchUpScanRecordsMax: 3, watchersMax: 1000 };
const KEYS = ['a', 'ab', 'b', 'ba', 'bb', 'c'];

type WatchRange = { t: 'key' | 'prefix' | 'all'; key: string };

interface Tracked {
  readonly stream: number;
  readonly id: number;
  readonly range: WatchRange;
  readonly start: number;
  readonly noPut: boolean;
  readonly noDelete: boolean;
  readonly prevKv: boolean;
  readonly fragment: boolean;
  created: boolean;
  /** Messages: fragment chains joined. */
  messages: WatchEvent[][];
  open: WatchEvent[] | null;
  canceled: { compactRevision: number } | null;
  userCanceled: boolean;
  /** Progress marks: [revision, number of events delivered when it arrived]. */
  marks: [number, number][];
  /** A watcher this one resumes: their deliveries concatenate. */
  resumes: Tracked | null;
}

const action = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('put' as const), key: fc.constantFrom(...KEYS), v: fc.nat(99), lease: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('delete' as const), key: fc.constantFrom(...KEYS), prefix: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('txn' as const), keys: fc.uniqueArray(fc.constantFrom(...KEYS), { minLength: 2, maxLength: 6 }), big: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'revoke' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 10 }) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('watch' as const),
      stream: fc.nat(2),
      range: fc.record({ t: fc.constantFrom('key' as const, 'prefix' as const, 'all' as const), key: fc.constantFrom(...KEYS) }),
      back: fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 25 })),
      noPut: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      noDelete: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      prevKv: fc.boolean(),
      fragment: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('resume' as const), pick: fc.nat(50) }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('pull' as const), stream: fc.nat(2), n: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('progress' as const), stream: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'tick' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'restore' as const }) },
);

const b = (k: string): Uint8Array => bytesFromLatin1(k);

function rangeBytes(r: WatchRange): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (r.t === 'key') return { key: b(r.key), rangeEnd: new Uint8Array(0) };
  if (r.t === 'prefix') return { key: b(r.key), rangeEnd: prefixEnd(b(r.key)) };
  return { key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) };
}

function matches(w: Tracked, r: MRec): boolean {
  if (r.version > 0 ? w.noPut : w.noDelete) return false;
  if (w.range.t === 'key') return r.key === w.range.key;
  if (w.range.t === 'prefix') return r.key.startsWith(w.range.key);
  return true;
}

const kvEq = (a: KeyValue | null, e: KeyValue | null): boolean => show(a) === show(e);

test('watch guarantees hold under random workloads with slow consumers', () => {
  fc.assert(
    fc.property(fc.array(action, { minLength: 20, maxLength: 120, size: 'max' }), (actions) => {
      const store = new KvStore({ watchLimits: LIMITS });
      const a = new Applier(store);
      const model = new Model({ leaseTtlMinSec: 1, sessionsMax: 4, idleEntriesMax: 1e9, responsesMax: 4 });
      const streams: WatchStream[] = [store.openWatchStream(), store.openWatchStream(), store.openWatchStream()];
      const tracked: Tracked[] = [];
      const live = new Map<string, Tracked>(); // `${stream}/${id}` -> the current watcher with that id
      let nextId = 1;
      let leaseOn = false;
      const apply = (op: Op): void => {
        const got = a.apply(op);
        const want = model.apply(op, a.index, null);
        assert.equal(got.outcome.type, want.outcome.type, `${show(op)}: ${show(got.outcome)} vs ${show(want.outcome)}`);
      };
      apply({ type: 'lease-grant', id: leaseId(1n), ttlSec: 100 });
      leaseOn = true;

      const deliver = (si: number, r: WatchResponse): void => {
        if (r.watchId === STREAM_WATCH_ID) {
          assert.equal(r.type, 'progress', `stream ${si}: ${show(r)}`);
          if (r.type === 'progress') for (const t of live.values()) if (t.stream === si && t.created && t.canceled === null) t.marks.push([r.revision, delivered(t).length]);
          return;
        }
        const t = live.get(`${si}/${r.watchId}`);
        assert.ok(t !== undefined, `response for unknown watcher ${si}/${r.watchId}: ${show(r)}`);
        switch (r.type) {
          case 'created':
            assert.equal(t.created, false, 'created once');
            t.created = true;
            return;
          case 'create-refused':
            assert.fail(`refused: ${r.reason}`);
            return;
          case 'events':
            assert.ok(t.created, 'events after created');
            assert.ok(t.canceled === null, 'no events after cancel');
            assert.ok(!r.fragment || t.fragment, 'fragments only when asked');
            assert.ok(r.events.length > 0, 'no empty event responses');
            if (t.open === null) t.open = [];
            t.open.push(...r.events);
            if (!r.fragment) {
              t.messages.push(t.open);
              t.open = null;
            }
            return;
          case 'progress':
            assert.equal(t.open, null, 'no progress inside a fragment chain');
            t.marks.push([r.revision, delivered(t).length]);
            return;
          case 'canceled':
            assert.equal(t.canceled, null, 'canceled once');
            t.canceled = { compactRevision: r.compactRevision };
            live.delete(`${si}/${t.id}`);
            return;
        }
      };
      const pull = (si: number, n: number): void => {
        const s = streams[si]!;
        for (let i = 0; i < n; i++) {
          const r = s.next();
          if (r === null) {
            if (!s.catchingUp) return;
            continue;
          }
          deliver(si, r);
        }
      };
      const checkBounds = (): void => {
        for (const s of streams) {
          for (const w of s.watcherStates()) {
            // A single revision may exceed the bound (it is never split); the txns here write at most 6 keys.
            assert.ok(w.queuedEvents <= Math.max(LIMITS.queueEventsMax, 6) + 6, `queue of ${w.queuedEvents} events`);
          }
        }
      };

      for (const act of actions) {
        switch (act.t) {
          case 'put':
            apply(putOp(act.key, `v${act.v}`, { lease: act.lease && leaseOn ? leaseId(1n) : leaseId(0n) }));
            break;
          case 'delete':
            apply(deleteRangeOp(act.key, { rangeEnd: act.prefix ? prefixEnd(act.key) : new Uint8Array(0) }));
            break;
          case 'txn': {
            const value = act.big ? 'x'.repeat(120) : 'y';
            apply(txnOp([], act.keys.map((k, i) => (i % 3 === 2 ? deleteRangeOp(k) : putOp(k, value)))));
            break;
          }
          case 'revoke':
            if (leaseOn) {
              apply({ type: 'lease-revoke', id: leaseId(1n) });
              apply({ type: 'lease-grant', id: leaseId(1n), ttlSec: 100 });
            }
            break;
          case 'compact': {
            const rev = store.revision - act.back;
            if (rev > store.compactRevision) apply({ type: 'compaction', revision: rev, physical: act.back % 2 === 0 });
            break;
          }
          case 'watch': {
            const start = act.back === null ? 0 : Math.max(1, store.revision - act.back);
            const id = nextId++;
            const t: Tracked = {
              stream: act.stream,
              id,
              range: act.range,
              start: start === 0 ? store.revision + 1 : start,
              noPut: act.noPut,
              noDelete: act.noDelete,
              prevKv: act.prevKv,
              fragment: act.fragment,
              created: false,
              messages: [],
              open: null,
              canceled: null,
              userCanceled: false,
              marks: [],
              resumes: null,
            };
            tracked.push(t);
            live.set(`${act.stream}/${id}`, t);
            streams[act.stream]!.create(watchRequest(rangeBytes(act.range).key, { ...rangeBytes(act.range), startRevision: start, noPut: act.noPut, noDelete: act.noDelete, prevKv: act.prevKv, fragment: act.fragment, watchId: id }));
            break;
          }
          case 'cancel':
          case 'resume': {
            const cands = [...live.values()].filter((t) => t.created && t.open === null);
            if (cands.length === 0) break;
            const t = cands[act.pick % cands.length]!;
            // False when compaction already cancelled it and the response is still queued.
            t.userCanceled = streams[t.stream]!.cancel(t.id);
            // Drain to the canceled response.
            while (live.has(`${t.stream}/${t.id}`)) {
              const r = streams[t.stream]!.next();
              if (r === null && !streams[t.stream]!.catchingUp) assert.fail('canceled response never came');
              if (r !== null) deliver(t.stream, r);
            }
            if (act.t === 'resume' && t.userCanceled) {
              const d = delivered(t);
              const from = d.length > 0 ? d[d.length - 1]!.kv.modRevision + 1 : t.start;
              if (from < store.compactRevision) break;
              const id = nextId++;
              const r: Tracked = { ...t, id, start: from, created: false, messages: [], open: null, canceled: null, userCanceled: false, marks: [], resumes: t };
              tracked.push(r);
              live.set(`${t.stream}/${id}`, r);
              streams[t.stream]!.create(watchRequest(rangeBytes(t.range).key, { ...rangeBytes(t.range), startRevision: from, noPut: t.noPut, noDelete: t.noDelete, prevKv: t.prevKv, fragment: t.fragment, watchId: id }));
            }
            break;
          }
          case 'pull':
            pull(act.stream, act.n);
            break;
          case 'progress':
            streams[act.stream]!.requestProgress();
            break;
          case 'tick':
            store.watchHub.progressTick();
            break;
          case 'restore':
            copySnapshot(store, store);
            break;
        }
        checkBounds();
      }
      // Drain everything.
      for (let round = 0; round < 100_000; round++) {
        let any = false;
        for (let si = 0; si < streams.length; si++) {
          const r = streams[si]!.next();
          if (r !== null) {
            deliver(si, r);
            any = true;
          } else if (streams[si]!.catchingUp) any = true;
        }
        if (!any) break;
      }

      // Validate each watcher against the model's history.
      for (const t of tracked) {
        const where = `watcher ${t.stream}/${t.id} ${show({ range: t.range, start: t.start, noPut: t.noPut, noDelete: t.noDelete })}`;
        assert.ok(t.created, `${where}: created`);
        assert.equal(t.open, null, `${where}: an unfinished fragment chain`);
        const got = delivered(t);
        // Ordered and unique.
        for (let i = 1; i < got.length; i++) {
          const p = got[i - 1]!.kv;
          const c = got[i]!.kv;
          assert.ok(p.modRevision < c.modRevision || (p.modRevision === c.modRevision && latin1FromBytes(p.key) !== latin1FromBytes(c.key)), `${where}: order at ${i}`);
        }
        // Reliable: an exact prefix of what the history holds; all of it unless cancelled.
        const want = model.events(t.start).filter((e) => matches(t, e.rec));
        assert.ok(got.length <= want.length, `${where}: ${got.length} events delivered, history has ${want.length}`);
        for (let i = 0; i < got.length; i++) {
          const g = got[i]!;
          const w = want[i]!;
          assert.equal(g.type, w.rec.version > 0 ? 'put' : 'delete', `${where}: type of event ${i}`);
          assert.ok(kvEq(g.kv, kv(w.rec)), `${where}: event ${i}: ${show(g.kv)} vs ${show(kv(w.rec))}`);
          assert.ok(kvEq(g.prevKv, t.prevKv && w.prev !== null ? kv(w.prev) : null), `${where}: prev_kv of event ${i}`);
        }
        if (t.canceled === null) assert.equal(got.length, want.length, `${where}: every event delivered`);
        else if (!t.userCanceled) {
          assert.ok(t.canceled.compactRevision > 0 && t.canceled.compactRevision <= model.compactRev, `${where}: compact revision ${t.canceled.compactRevision}`);
        }
        // Atomic: messages never split a revision.
        for (let i = 1; i < t.messages.length; i++) {
          const prev = t.messages[i - 1]!;
          assert.ok(prev[prev.length - 1]!.kv.modRevision < t.messages[i]![0]!.kv.modRevision, `${where}: revision split across responses`);
        }
        // Bookmarkable.
        for (const [rev, n] of t.marks) {
          const due = want.filter((e) => e.rec.main <= rev).length;
          assert.ok(n >= due, `${where}: progress at ${rev} with ${n} of ${due} events delivered`);
          assert.ok(got.slice(n).every((e) => e.kv.modRevision > rev), `${where}: event at or below ${rev} after its progress notification`);
        }
      }
      // Resumable: a resumed watcher continues the one it replaced exactly.
      for (const t of tracked) {
        if (t.resumes === null || t.canceled !== null) continue;
        const chain: WatchEvent[] = [];
        let first: Tracked = t;
        while (first.resumes !== null) first = first.resumes;
        for (let x: Tracked | null = t; x !== null; x = x.resumes) chain.unshift(...delivered(x));
        const want = model.events(first.start).filter((e) => matches(t, e.rec));
        assert.equal(chain.length, want.length, `resumed watcher ${t.stream}/${t.id}: ${chain.length} of ${want.length}`);
      }
    }),
    { numRuns: 120 },
  );
});

function delivered(t: Tracked): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (const m of t.messages) out.push(...m);
  return out;
}
