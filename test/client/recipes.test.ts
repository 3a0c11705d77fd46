/**
 * The coordination recipes against a real three-member cluster (etcd 3.4 now, Bulwark once
 * `bulwark serve` exists): mutex with fencing, read-write lock, election, barriers, queues,
 * counter, STM, service discovery and configuration.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, type BulwarkClient } from '../../src/client/index.js';
import { Barrier, Counter, DoubleBarrier, Election, Mutex, PriorityQueue, Queue, RwLock, Session, listInstances, parsers, registerInstance, stm, watchConfig, watchInstances } from '../../src/client/recipes/index.js';
import { text } from '../../src/client/kv.js';
import { skipUnlessCluster, startTestCluster, type TestCluster } from './cluster-under-test.js';

const skip = skipUnlessCluster();
let cluster: TestCluster;
const clients: BulwarkClient[] = [];
let n = 0;
/** A fresh key prefix per test, so tests do not see each other's keys. */
const ns = (name: string): string => `recipes/${++n}-${name}`;

function client(): BulwarkClient {
  const c = createClient({ endpoints: cluster.endpoints, callTimeoutMs: 15_000 });
  clients.push(c);
  return c;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

before(async () => {
  if (skip === false) cluster = await startTestCluster();
});

after(async () => {
  for (const c of clients) await c.close();
  if (skip === false) await cluster.stop();
});

const opts = { skip, timeout: 60_000 };

test('mutex: one holder at a time, fencing tokens grow, tryLock refuses a held lock', opts, async () => {
  const name = ns('mutex');
  const a = await Session.create(client(), { ttlSeconds: 10 });
  const b = await Session.create(client(), { ttlSeconds: 10 });
  const ma = new Mutex(a, name);
  const mb = new Mutex(b, name);
  const ta = await ma.lock();
  await assert.rejects(new Mutex(b, name).tryLock(), /held by another session/);
  let bHeld = false;
  const pb = mb.lock().then((t) => {
    bHeld = true;
    return t;
  });
  await sleep(300);
  assert.equal(bHeld, false, 'b waits while a holds the lock');
  // a's lock guards writes: a write guarded by isOwner succeeds only for the holder.
  const guard = ma.isOwner();
  const guarded = await a.client.txn().if(guard).then().commit();
  assert.equal(guarded.succeeded, true);
  await ma.unlock();
  const tb = await pb;
  assert.ok(tb > ta, `fencing token grows: ${ta} then ${tb}`);
  const stale = await a.client.txn().if(guard).then().commit();
  assert.equal(stale.succeeded, false, 'the old holder no longer passes the guard');
  await mb.unlock();
  await a.close();
  await b.close();
});

test('mutex: a holder whose lease ends loses the lock to the next contender', opts, async () => {
  const name = ns('mutex-lease');
  const a = await Session.create(client(), { ttlSeconds: 10 });
  const b = await Session.create(client(), { ttlSeconds: 10 });
  const ma = new Mutex(a, name);
  const ta = await ma.lock();
  const pb = new Mutex(b, name).lock();
  await a.close(); // the lease goes: as if a crashed
  const tb = await pb;
  assert.ok(tb > ta);
  assert.equal(ma.held, false);
  await b.close();
});

test('read-write lock: readers share, a writer excludes', opts, async () => {
  const name = ns('rw');
  const s = await Session.create(client(), { ttlSeconds: 10 });
  const r1 = new RwLock(s, name);
  const r2 = new RwLock(s, name);
  const w = new RwLock(s, name);
  await r1.readLock();
  await r2.readLock();
  let written = false;
  const pw = w.writeLock().then(() => (written = true));
  await sleep(300);
  assert.equal(written, false, 'the writer waits for the readers');
  await r1.unlock();
  await sleep(200);
  assert.equal(written, false);
  await r2.unlock();
  await pw;
  let read = false;
  const r3 = new RwLock(s, name);
  const pr = r3.readLock().then(() => (read = true));
  await sleep(300);
  assert.equal(read, false, 'a reader waits for the writer');
  await w.unlock();
  await pr;
  await r3.unlock();
  await s.close();
});

test('election: campaign, observe, proclaim, resign', opts, async () => {
  const name = ns('election');
  const sa = await Session.create(client(), { ttlSeconds: 10 });
  const sb = await Session.create(client(), { ttlSeconds: 10 });
  const ea = new Election(sa, name);
  const eb = new Election(sb, name);
  await ea.campaign('a');
  const observer = new Election(sa, name);
  const ac = new AbortController();
  const seen: string[] = [];
  const observing = (async () => {
    for await (const kv of observer.observe({ signal: ac.signal })) {
      seen.push(text(kv.value));
      if (seen.length === 3) break;
    }
  })();
  let bLeads = false;
  const pb = eb.campaign('b').then(() => (bLeads = true));
  await sleep(300);
  assert.equal(bLeads, false);
  assert.equal(text((await eb.leader())?.value), 'a');
  await ea.proclaim('a2');
  await assert.rejects(eb.proclaim('x'), /not a leader|no longer/);
  await sleep(200);
  await ea.resign();
  await pb;
  assert.equal(text((await ea.leader())?.value), 'b');
  await observing;
  ac.abort();
  assert.deepEqual(seen, ['a', 'a2', 'b']);
  await eb.resign();
  await sa.close();
  await sb.close();
});

test('barrier and double barrier', opts, async () => {
  const c = client();
  const b = new Barrier(c, ns('barrier'));
  await b.hold();
  let passed = false;
  const pw = b.wait().then(() => (passed = true));
  await sleep(200);
  assert.equal(passed, false);
  await b.release();
  await pw;

  const key = ns('double');
  const sessions = await Promise.all([0, 1, 2].map(() => Session.create(client(), { ttlSeconds: 10 })));
  const entered: number[] = [];
  const bars = sessions.map((s) => new DoubleBarrier(s, key, 3));
  const p0 = bars[0]!.enter().then(() => entered.push(0));
  const p1 = bars[1]!.enter().then(() => entered.push(1));
  await sleep(300);
  assert.deepEqual(entered, [], 'nobody enters before the third');
  await bars[2]!.enter();
  await Promise.all([p0, p1]);
  assert.equal(entered.length, 2);
  let left = false;
  const l0 = bars[0]!.leave().then(() => (left = true));
  await sleep(200);
  assert.equal(left, false, 'nobody leaves before everyone leaves');
  await Promise.all([bars[1]!.leave(), bars[2]!.leave(), l0]);
  for (const s of sessions) await s.close();
});

test('queue: FIFO, each item to exactly one of several consumers, dequeue waits for items', opts, async () => {
  const name = ns('queue');
  const producer = new Queue(client(), name);
  for (let i = 0; i < 20; i++) await producer.enqueue(`item-${i}`);
  assert.equal(await producer.size(), 20);
  const first = await new Queue(client(), name).dequeueString();
  assert.equal(first, 'item-0', 'first in, first out');
  const consumers = [0, 1, 2].map(() => new Queue(client(), name));
  const got: string[] = [first];
  await Promise.all(
    consumers.map(async (q) => {
      for (let v = await q.tryTake(); v !== undefined; v = await q.tryTake()) got.push(text(v));
    }),
  );
  assert.equal(got.length, 20);
  assert.equal(new Set(got).size, 20, 'no item twice');
  assert.equal(await producer.size(), 0);
  const waiting = new Queue(client(), name).dequeueString();
  await sleep(200);
  await producer.enqueue('late');
  assert.equal(await waiting, 'late');
});

test('priority queue: smallest priority first, FIFO within a priority', opts, async () => {
  const q = new PriorityQueue(client(), ns('pq'));
  await q.enqueue('low-1', 5);
  await q.enqueue('high-1', 1);
  await q.enqueue('low-2', 5);
  await q.enqueue('high-2', 1);
  await q.enqueue('urgent', 0);
  const out: string[] = [];
  for (let i = 0; i < 5; i++) out.push(text(await q.dequeue()));
  assert.deepEqual(out, ['urgent', 'high-1', 'high-2', 'low-1', 'low-2']);
});

test('counter and STM: concurrent increments and transfers lose nothing', opts, async () => {
  const key = ns('counter');
  const counters = [0, 1, 2].map(() => new Counter(client(), key));
  await Promise.all(counters.map(async (c) => {
    for (let i = 0; i < 10; i++) await c.increment();
  }));
  assert.equal(await counters[0]!.value(), 30);

  const a = ns('acct-a');
  const b = ns('acct-b');
  const c0 = client();
  await c0.put(a, '100');
  await c0.put(b, '100');
  const transfer = (c: BulwarkClient, from: string, to: string, amount: number): Promise<void> =>
    stm(c, async (tx) => {
      const f = Number(await tx.get(from));
      const t = Number(await tx.get(to));
      tx.put(from, String(f - amount));
      tx.put(to, String(t + amount));
    });
  const workers = [0, 1, 2].map(() => client());
  await Promise.all(workers.map(async (c, i) => {
    for (let k = 0; k < 8; k++) await transfer(c, i % 2 === 0 ? a : b, i % 2 === 0 ? b : a, k + 1);
  }));
  const sum = Number(await c0.getString(a)) + Number(await c0.getString(b));
  assert.equal(sum, 200, 'money is conserved');
});

test('service discovery: register, list, watch an instance come and go', opts, async () => {
  const c = client();
  const prefix = `${ns('svc')}/`;
  const r1 = await registerInstance(c, { service: 'api', id: 'i1', value: '10.0.0.1:80', prefix });
  const ac = new AbortController();
  const snapshots: string[][] = [];
  const watching = (async () => {
    for await (const set of watchInstances(c, 'api', { prefix, signal: ac.signal })) {
      snapshots.push([...set.keys()].sort());
      if (snapshots.length === 3) break;
    }
  })();
  await sleep(200);
  const r2 = await registerInstance(c, { service: 'api', id: 'i2', value: '10.0.0.2:80', prefix });
  const listed = await listInstances(c, 'api', { prefix });
  assert.deepEqual([...listed.instances.entries()].sort(), [['i1', '10.0.0.1:80'], ['i2', '10.0.0.2:80']]);
  await sleep(200);
  await r1.close();
  await watching;
  ac.abort();
  assert.deepEqual(snapshots, [['i1'], ['i1', 'i2'], ['i2']]);
  await r2.close();
});

test('configuration: a typed object follows its keys; a bad value keeps the old one', opts, async () => {
  const c = client();
  const prefix = `${ns('config')}/`;
  await c.put(`${prefix}port`, '8080');
  const cfg = watchConfig(c, prefix, {
    port: { key: 'port', parse: parsers.number, default: 80 },
    debug: { key: 'debug', parse: parsers.boolean, default: false },
    name: { key: 'name', parse: parsers.string, default: 'svc' },
  });
  const changes: string[] = [];
  cfg.on((ch) => changes.push(ch.type === 'changed' ? `changed:${ch.fields.join(',')}` : `invalid:${String(ch.field)}`));
  assert.deepEqual(await cfg.ready, { port: 8080, debug: false, name: 'svc' });
  await c.put(`${prefix}debug`, 'true');
  await c.put(`${prefix}port`, 'not-a-number');
  await c.put(`${prefix}name`, 'edge');
  await c.delete(`${prefix}debug`);
  const deadline = Date.now() + 5000;
  while (changes.length < 5 && Date.now() < deadline) await sleep(50);
  assert.deepEqual(cfg.current, { port: 8080, debug: false, name: 'edge' });
  assert.deepEqual(changes, ['changed:port', 'changed:debug', 'invalid:port', 'changed:name', 'changed:debug']);
  cfg.close();
});
