import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deleteRangeOp, prefixEnd, putOp, txnOp } from './command.js';
import { KvStore } from './kv-store.js';
import type { WatchStream } from './watch-stream.js';
import { STREAM_WATCH_ID, WATCH_DUPLICATE_ID_REASON, WATCH_EMPTY_RANGE_REASON, watchRequest, type WatchResponse } from './watch-types.js';
import { Applier, b, s } from '../../test/kv/helpers.js';

function drain(st: WatchStream, max = 1_000_000): WatchResponse[] {
  const out: WatchResponse[] = [];
  for (let i = 0; i < max; i++) {
    const r = st.next();
    if (r === null) {
      if (st.catchingUp) continue;
      break;
    }
    out.push(r);
  }
  return out;
}

const eventsOf = (rs: WatchResponse[], id?: number): string[] =>
  rs.flatMap((r) => (r.type === 'events' && (id === undefined || r.watchId === id) ? r.events.map((e) => `${e.type}:${s(e.kv.key)}@${e.kv.modRevision}`) : []));

test('a watcher gets created, then events from its start revision, with prev_kv and filters', () => {
  const st = new KvStore();
  const a = new Applier(st);
  a.apply(putOp('a', '1')); // 2
  a.apply(putOp('a', '2')); // 3
  const w = st.openWatchStream();
  w.create(watchRequest(b('a'), { startRevision: 3, prevKv: true, watchId: 7 }));
  w.create(watchRequest(b('a'), { watchId: 8, noPut: true }));
  a.apply(deleteRangeOp('a')); // 4
  const rs = drain(w);
  assert.deepEqual(rs[0], { type: 'created', watchId: 7, revision: 3 });
  assert.deepEqual(eventsOf(rs, 7), ['put:a@3', 'delete:a@4']);
  assert.deepEqual(eventsOf(rs, 8), ['delete:a@4']);
  const del = rs.flatMap((r) => (r.type === 'events' && r.watchId === 7 ? r.events : [])).find((e) => e.type === 'delete')!;
  assert.equal(s(del.prevKv!.value), '2');
  assert.deepEqual({ c: del.kv.createRevision, v: del.kv.version, value: del.kv.value.length }, { c: 0, v: 0, value: 0 });
});

test('create refusals carry etcd reasons; a compacted start revision is created then cancelled', () => {
  const st = new KvStore();
  const a = new Applier(st);
  for (let i = 0; i < 5; i++) a.apply(putOp('k', `${i}`));
  a.apply({ type: 'compaction', revision: 4, physical: true });
  const w = st.openWatchStream();
  w.create(watchRequest(b('k'), { watchId: 1 }));
  w.create(watchRequest(b('k'), { watchId: 1 }));
  w.create(watchRequest(b('z'), { rangeEnd: b('a'), watchId: 2 }));
  w.create(watchRequest(b('k'), { startRevision: 3, watchId: 3 }));
  w.create(watchRequest(b('k'), { startRevision: 4, watchId: 4 }));
  const rs = drain(w);
  assert.deepEqual(
    rs.filter((r) => r.type === 'create-refused').map((r) => r.type === 'create-refused' && r.reason),
    [WATCH_DUPLICATE_ID_REASON, WATCH_EMPTY_RANGE_REASON],
  );
  const c3 = rs.filter((r) => r.watchId === 3);
  assert.deepEqual(c3.map((r) => r.type), ['created', 'canceled']);
  assert.ok(c3[1]!.type === 'canceled' && c3[1]!.compactRevision === 4);
  // Starting exactly at the compact revision is allowed and complete.
  assert.deepEqual(eventsOf(rs, 4), ['put:k@4', 'put:k@5', 'put:k@6']);
  // Auto ids start at 0, as etcd's.
  w.create(watchRequest(b('k')));
  assert.deepEqual(drain(w)[0], { type: 'created', watchId: 0, revision: 6 });
});

test('a slow consumer cannot starve others and its memory stays bounded; it catches up from history later', () => {
  const st = new KvStore({ watchLimits: { queueEventsMax: 16, responseEventsMax: 8, catchUpScanRecordsMax: 64 } });
  const a = new Applier(st);
  const slow = st.openWatchStream();
  const fast = st.openWatchStream();
  slow.create(watchRequest(b('k'), { rangeEnd: prefixEnd('k'), watchId: 1, prevKv: true }));
  fast.create(watchRequest(b('k'), { rangeEnd: prefixEnd('k'), watchId: 1 }));
  const got: string[] = [];
  for (let i = 0; i < 5000; i++) {
    a.apply(putOp(`k${i % 100}`, 'x'.repeat(100)));
    got.push(...eventsOf(drain(fast)));
    // The fast consumer is never more than the current revision behind.
    assert.equal(got.length, i + 1);
    const q = slow.watcherStates()[0]!;
    assert.ok(q.queuedEvents <= 16, `slow watcher queued ${q.queuedEvents}`);
  }
  assert.equal(slow.watcherStates()[0]!.state, 'unsynced');
  assert.equal(st.watchHub.unsyncedCount, 1);
  // Now the slow one reads: everything, in order, exactly once, then it is synced again.
  const late = eventsOf(drain(slow));
  assert.deepEqual(late, got);
  assert.equal(slow.watcherStates()[0]!.state, 'synced');
  a.apply(putOp('k1', 'y'));
  assert.deepEqual(eventsOf(drain(slow)), [`put:k1@${st.revision}`]);
});

test('an unsynced watcher behind a compaction is cancelled at once, with the compact revision', () => {
  const st = new KvStore({ watchLimits: { queueEventsMax: 2, responseEventsMax: 1 } });
  const a = new Applier(st);
  const w = st.openWatchStream();
  let signals = 0;
  w.onReadable = () => signals++;
  w.create(watchRequest(b('k'), { watchId: 5 }));
  for (let i = 0; i < 10; i++) a.apply(putOp('k', `${i}`));
  a.apply({ type: 'compaction', revision: 8, physical: false });
  const rs = drain(w);
  assert.deepEqual(rs.map((r) => r.type), ['created', 'events', 'events', 'canceled']);
  assert.ok(rs[3]!.type === 'canceled' && rs[3]!.compactRevision === 8);
  assert.equal(st.watchHub.watcherCount, 0);
  assert.ok(signals >= 1 && signals <= 2, `${signals} signals`);
});

test('a large revision is fragmented only when the watcher asks', () => {
  const st = new KvStore({ watchLimits: { fragmentBytesMax: 1000, responseEventsMax: 100, queueEventsMax: 100, queueBytesMax: 4000 } });
  const a = new Applier(st);
  const w = st.openWatchStream();
  w.create(watchRequest(b('k'), { rangeEnd: prefixEnd('k'), watchId: 1, fragment: true }));
  w.create(watchRequest(b('k'), { rangeEnd: prefixEnd('k'), watchId: 2 }));
  a.apply(txnOp([], Array.from({ length: 40 }, (_, i) => putOp(`k${String(i).padStart(2, '0')}`, 'v'.repeat(100)))));
  const rs = drain(w);
  const f = rs.filter((r) => r.type === 'events' && r.watchId === 1);
  assert.ok(f.length > 3, `${f.length} fragments`);
  assert.deepEqual(f.map((r) => r.type === 'events' && r.fragment), [...Array<boolean>(f.length - 1).fill(true), false]);
  assert.equal(eventsOf(f).length, 40);
  const whole = rs.filter((r) => r.type === 'events' && r.watchId === 2);
  assert.equal(whole.length, 1);
  assert.equal(eventsOf(whole).length, 40);
});

test('progress: periodic per watcher, and on request for the stream once everything below is delivered', () => {
  const st = new KvStore({ watchLimits: { queueEventsMax: 2, responseEventsMax: 1, catchUpScanRecordsMax: 1 } });
  const a = new Applier(st);
  const w = st.openWatchStream();
  w.create(watchRequest(b('a'), { watchId: 1, progressNotify: true }));
  w.create(watchRequest(b('b'), { watchId: 2 }));
  drain(w);
  st.watchHub.progressTick();
  assert.deepEqual(drain(w), [{ type: 'progress', watchId: 1, revision: 1 }]);
  for (let i = 0; i < 6; i++) a.apply(putOp('b', `${i}`)); // watcher 2 falls behind
  w.requestProgress();
  const rs = drain(w);
  const p = rs.findIndex((r) => r.type === 'progress');
  assert.equal(rs[p]!.watchId, STREAM_WATCH_ID);
  assert.equal(rs[p]!.revision, 7);
  // The notification comes after every event at or below it.
  assert.deepEqual(eventsOf(rs.slice(0, p)), ['put:b@2', 'put:b@3', 'put:b@4', 'put:b@5', 'put:b@6', 'put:b@7']);
});

test('cancel drops pending events; onReadable fires once per empty read and may pull at once', () => {
  const st = new KvStore();
  const a = new Applier(st);
  const w = st.openWatchStream();
  const pulled: WatchResponse[] = [];
  let calls = 0;
  w.onReadable = () => {
    calls++;
    for (let r = w.next(); r !== null; r = w.next()) pulled.push(r);
  };
  w.create(watchRequest(b('a'), { watchId: 1 }));
  a.apply(putOp('a', '1'));
  a.apply(putOp('a', '2'));
  assert.deepEqual(eventsOf(pulled), ['put:a@2', 'put:a@3']);
  assert.equal(calls, 3);
  w.onReadable = null;
  a.apply(putOp('a', '3'));
  assert.ok(w.cancel(1));
  assert.deepEqual(drain(w).map((r) => r.type), ['canceled']);
  assert.equal(w.cancel(1), false);
  w.close();
  assert.equal(st.watchHub.watcherCount, 0);
});
