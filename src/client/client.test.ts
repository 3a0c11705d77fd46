/**
 * The failover client against an in-memory cluster on a manual clock: routing, retries, deadlines,
 * exactly-once sessions, watch resume and lease doubt/loss, all deterministic and instant.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { Status } from '../api/grpc/status.js';
import { BulwarkClient, type ClientCoreOptions } from './client.js';
import { type ClientError, isClientError } from './errors.js';
import type { ClientEvent } from './events.js';
import { text } from './kv.js';
import { FakeCluster } from './testing/fake-cluster.js';
import { ManualClock } from './testing/manual-clock.js';
import type { WatchItem } from './watch.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
};

function setup(o: { size?: number; sessions?: boolean; client?: Partial<ClientCoreOptions> } = {}) {
  const cluster = new FakeCluster({ size: o.size ?? 3, sessions: o.sessions ?? true });
  const clock = new ManualClock();
  const events: ClientEvent[] = [];
  const client = new BulwarkClient({ endpoints: cluster.endpoints, connector: cluster, clock, random: new SeededRandom(7), ...o.client });
  client.on((e) => events.push(e));
  /** Runs `p` to completion, moving the clock in small steps while it is pending. */
  const run = async <T>(p: Promise<T>, maxMs = 60_000): Promise<T> => {
    let done = false;
    const guarded = p.finally(() => (done = true));
    guarded.catch(() => {});
    for (let t = 0; t < maxMs && !done; t += 50) await clock.advance(50, settle);
    await settle();
    if (!done) throw new Error(`still pending after ${maxMs} virtual ms`);
    return guarded;
  };
  return { cluster, clock, client, events, run };
}

test('writes go to the leader once it is known; serializable reads spread over members', async () => {
  const { cluster, client, run } = setup();
  cluster.elect(2);
  await run(client.refreshLeader());
  assert.equal(client.leader().endpoint, cluster.members[2]!.endpoint);
  cluster.calls.length = 0;
  for (let i = 0; i < 4; i++) await run(client.put(`k${i}`, 'v'));
  assert.deepEqual(new Set(cluster.calls.map((c) => c.split(' ')[0])), new Set([cluster.members[2]!.endpoint]), 'every put went to the leader');
  cluster.calls.length = 0;
  for (let i = 0; i < 6; i++) await run(client.get('k0', { serializable: true }));
  assert.equal(new Set(cluster.calls.map((c) => c.split(' ')[0])).size, 3, 'serializable reads went to every member');
  await run(client.close());
});

test('a write whose connection was refused is retried on another member, even without sessions', async () => {
  const { cluster, client, events, run } = setup({ sessions: false });
  cluster.crash(0);
  cluster.crash(1);
  for (let i = 0; i < 5; i++) await run(client.put(`k${i}`, 'v'));
  assert.equal(cluster.appliedWrites, 5);
  assert.equal(cluster.value('k4'), 'v');
  assert.ok(events.some((e) => e.type === 'disconnected'), 'a disconnected event');
  assert.ok(events.some((e) => e.type === 'session-unsupported'), 'etcd-like server: no session');
  await run(client.close());
});

test('exactly-once: a write whose response was lost is retried and applied once', async () => {
  const { cluster, client, run } = setup({ sessions: true });
  let lost = 0;
  cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Put' && lost++ < 2 ? { type: 'lose-response' } : undefined);
  const r = await run(client.put('counter', '1'));
  assert.equal(lost, 3, 'two lost responses, then an answer');
  assert.equal(cluster.appliedWrites, 1, 'applied once although sent three times');
  assert.equal(r.header?.revision, 2, 'the answer is the first application');
  assert.deepEqual(client.session(), { type: 'open', clientId: 1 });
  await run(client.close());
});

test('without sessions a write whose response was lost is not retried and says it may have applied', async () => {
  const { cluster, client, run } = setup({ sessions: false });
  cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Put' ? { type: 'lose-response' } : undefined);
  const err = await run(client.put('k', 'v')).catch((e: unknown) => e);
  assert.ok(isClientError(err, 'unavailable'), `got ${String(err)}`);
  assert.equal((err as ClientError).mayHaveApplied, true);
  assert.equal(cluster.appliedWrites, 1);
  // A read is retried after the same failure.
  let once = 0;
  cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Range' && once++ === 0 ? { type: 'lose-response' } : undefined);
  assert.equal(await run(client.getString('k')), 'v');
  await run(client.close());
});

test('the deadline error says whether a write may have been applied', async () => {
  const { cluster, client, run } = setup({ sessions: false, client: { callTimeoutMs: 3000 } });
  for (const m of cluster.members) m.down = true;
  const refused = await run(client.put('k', 'v')).catch((e: unknown) => e);
  assert.ok(isClientError(refused, 'deadline'), `got ${String(refused)}`);
  assert.equal((refused as ClientError).mayHaveApplied, false, 'never sent anywhere');
  for (const m of cluster.members) {
    m.down = false;
    m.paused = true;
  }
  const hung = await run(client.put('k', 'v')).catch((e: unknown) => e);
  assert.ok(isClientError(hung, 'deadline'), `got ${String(hung)}`);
  assert.equal((hung as ClientError).mayHaveApplied, true, 'it reached a member that never answered');
  const read = await run(client.get('k')).catch((e: unknown) => e);
  assert.ok(isClientError(read, 'deadline'));
  assert.equal((read as ClientError).mayHaveApplied, false, 'a read never applies anything');
  await run(client.close());
});

test('a stuck member does not hold a read: another member answers after the attempt timeout', async () => {
  const { cluster, client, clock, run } = setup({ client: { attemptTimeoutMs: 1000 } });
  cluster.members[0]!.paused = true;
  cluster.members[1]!.paused = true;
  await run(client.put('k', 'v'));
  const start = clock.nowMs();
  assert.equal(await run(client.getString('k')), 'v');
  assert.ok(clock.nowMs() - start <= 2500, `answered within two attempt timeouts (${clock.nowMs() - start} ms)`);
  await run(client.close());
});

test('"no leader" is retried after a pause until a leader is elected', async () => {
  const { cluster, client, clock, run } = setup({ sessions: false });
  cluster.leaderIndex = -1;
  const p = client.put('k', 'v');
  clock.setTimeout(() => cluster.elect(1), 700);
  await run(p);
  assert.equal(cluster.value('k'), 'v');
  assert.equal(cluster.appliedWrites, 1);
  await run(client.close());
});

test('final server errors are returned at once with etcd\'s message', async () => {
  const { cluster, client, run } = setup();
  cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Range' ? { type: 'status', status: Status.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' } : undefined);
  const err = await run(client.get('k', { revision: 1 })).catch((e: unknown) => e);
  assert.ok(isClientError(err, 'server'));
  assert.equal((err as ClientError).kind, 'compacted');
  assert.equal((err as ClientError).message, 'etcdserver: mvcc: required revision has been compacted');
  assert.equal(cluster.calls.filter((c) => c.endsWith('Range')).length, 1, 'not retried');
  await run(client.close());
});

test('the retry budget stops retry storms', async () => {
  const { cluster, client, run } = setup({ client: { retryBudget: { percent: 0, minPerSecond: 0.2 } } });
  for (const m of cluster.members) m.down = true;
  const first = await run(client.get('k')).catch((e: unknown) => e);
  assert.ok(isClientError(first, 'unavailable'));
  assert.match((first as ClientError).message, /retry budget exhausted/);
  const calls = cluster.calls.length;
  assert.ok(calls <= 3, `a handful of attempts, not a storm (${calls})`);
  await run(client.close());
});

test('an expired session is reopened and a write that never applied is retried', async () => {
  const { cluster, client, events, run } = setup({ sessions: true });
  await run(client.put('a', '1'));
  cluster.expireSessions();
  await run(client.put('b', '2'));
  assert.equal(cluster.value('b'), '2');
  assert.deepEqual(
    events.filter((e) => e.type === 'session-opened' || e.type === 'session-expired').map((e) => e.type),
    ['session-opened', 'session-expired', 'session-opened'],
  );
  await run(client.close());
});

test('a lease grant whose answer was lost is recognized by its client-chosen id', async () => {
  const { cluster, client, run } = setup({ sessions: false });
  let lost = 0;
  cluster.faultFor = (_e, path) => (path === '/etcdserverpb.Lease/LeaseGrant' && lost++ === 0 ? { type: 'lose-response' } : undefined);
  const lease = await run(client.lease(10, { keepAlive: false }));
  assert.ok(cluster.hasLease(lease.id));
  assert.equal(lease.grantedTtlSeconds, 10);
  await run(client.close());
});

async function collect(items: AsyncIterator<WatchItem>, count: number, run: <T>(p: Promise<T>) => Promise<T>): Promise<WatchItem[]> {
  const out: WatchItem[] = [];
  while (out.length < count) {
    const r = await run(items.next());
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

test('a watch resumes on another member after its member fails, with no lost or repeated event', async () => {
  const { cluster, client, events, run } = setup();
  const w = client.watch('w/', { prefix: true });
  const it = w[Symbol.asyncIterator]();
  await run(w.ready);
  await run(client.put('w/1', 'a'));
  const watchMember = cluster.members.findIndex((m) => cluster.calls.includes(`${m.endpoint} /etcdserverpb.Watch/Watch`));
  assert.ok(watchMember >= 0);
  const first = await collect(it, 1, run);
  cluster.crash(watchMember);
  await run(client.put('w/2', 'b'));
  await run(client.put('w/3', 'c'));
  const rest = await collect(it, 2, run);
  const revisions = [...first, ...rest].flatMap((i) => (i.type === 'events' ? i.events.map((e) => e.kv!.modRevision) : []));
  const values = [...first, ...rest].flatMap((i) => (i.type === 'events' ? i.events.map((e) => text(e.kv!.value)) : []));
  assert.deepEqual(values, ['a', 'b', 'c']);
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'in revision order');
  assert.ok(events.some((e) => e.type === 'watch-resumed'), 'a watch-resumed event');
  w.close();
  await run(client.close());
});

test('a watch whose revisions were compacted while it was away ends with a compacted item', async () => {
  const { cluster, client, run } = setup();
  const w = client.watch('c');
  const it = w[Symbol.asyncIterator]();
  await run(w.ready);
  await run(client.put('c', '1'));
  assert.equal((await collect(it, 1, run))[0]?.type, 'events');
  const watchMember = cluster.members.findIndex((m) => cluster.calls.includes(`${m.endpoint} /etcdserverpb.Watch/Watch`));
  // The member fails; before the watcher is back, more writes happen and are compacted.
  cluster.crash(watchMember);
  cluster.write('c', '2');
  cluster.write('c', '3');
  cluster.compact(cluster.revision);
  const items = await collect(it, 2, run);
  assert.equal(items.length, 1);
  assert.equal(items[0]?.type, 'compacted');
  assert.equal(items[0]?.type === 'compacted' ? items[0].compactRevision : 0, cluster.revision);
  await run(client.close());
});

test('a kept lease goes in doubt when keep-alives stop, and is lost when its TTL passes', async () => {
  const { cluster, client, clock, events, run } = setup();
  const lease = await run(client.lease(6));
  const seen: string[] = [];
  lease.on((e) => seen.push(e.type));
  await clock.advance(5000, settle);
  assert.equal(lease.state, 'alive', 'keep-alives confirmed');
  for (let i = 0; i < cluster.members.length; i++) cluster.pause(i);
  await clock.advance(3000, settle);
  assert.equal(lease.state, 'in-doubt');
  for (let i = 0; i < cluster.members.length; i++) cluster.unpause(i);
  await clock.advance(3000, settle);
  assert.equal(lease.state, 'alive', 'confirmed again once a member answers');
  for (let i = 0; i < cluster.members.length; i++) cluster.crash(i);
  await clock.advance(8000, settle);
  assert.equal(lease.state, 'lost');
  assert.equal(await lease.lost, 'expired');
  assert.deepEqual(seen, ['in-doubt', 'confirmed', 'in-doubt', 'lost']);
  assert.ok(events.some((e) => e.type === 'lease-lost' && e.reason === 'expired'));
  await run(client.close());
});

test('a kept lease the server no longer has is lost at the next keep-alive', async () => {
  const { cluster, client, clock, run } = setup();
  const lease = await run(client.lease(3));
  cluster.expireLease(lease.id);
  await clock.advance(2000, settle);
  assert.equal(lease.state, 'lost');
  assert.equal(await lease.lost, 'not-found');
  await run(client.close());
});

test('a closed client refuses calls with a closed error', async () => {
  const { client, run } = setup();
  await run(client.close());
  await assert.rejects(client.put('k', 'v'), (e: unknown) => isClientError(e, 'closed'));
  assert.throws(() => client.watch('k'), (e: unknown) => isClientError(e, 'closed'));
});

test('leadership changes are events', async () => {
  const { cluster, client, events, run } = setup();
  await run(client.refreshLeader());
  cluster.elect(1);
  await run(client.put('k', 'v')); // the header's newer term starts a discovery round
  await run(client.refreshLeader());
  const changes = events.filter((e) => e.type === 'leader-changed');
  assert.deepEqual(
    changes.map((e) => (e.type === 'leader-changed' ? e.endpoint : null)),
    [cluster.members[0]!.endpoint, cluster.members[1]!.endpoint],
  );
  await run(client.close());
});

test('a member that ends an attempt at its deadline (DEADLINE_EXCEEDED from the server): a session write is retried, a plain write is not', async () => {
  const s = setup({ sessions: true });
  let expired = 0;
  s.cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Put' && expired++ < 2 ? { type: 'status', status: Status.DEADLINE_EXCEEDED, message: 'context deadline exceeded' } : undefined);
  await s.run(s.client.put('k', 'v'));
  assert.equal(expired, 3, 'two attempts ended by the member, then an answer');
  assert.equal(s.cluster.appliedWrites, 1);
  await s.run(s.client.close());

  const p = setup({ sessions: false });
  p.cluster.faultFor = (_e, path) => (path === '/etcdserverpb.KV/Put' ? { type: 'status', status: Status.DEADLINE_EXCEEDED, message: 'context deadline exceeded' } : undefined);
  const err = await p.run(p.client.put('k', 'v')).catch((e: unknown) => e);
  assert.ok(isClientError(err), `got ${String(err)}`);
  assert.equal((err as ClientError).mayHaveApplied, true, 'without a session the outcome is unknown');
  await p.run(p.client.close());
});
