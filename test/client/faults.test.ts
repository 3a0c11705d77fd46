/**
 * The client and its recipes on real processes while members are killed (SIGKILL), restarted and
 * paused (SIGSTOP): a counter ends exactly at N, a mutex holder frozen past its lease has its stale
 * fencing token refused while a later holder's is accepted, a watcher sees
 * every event once and in order, a queue delivers every item once. Each test is bounded in
 * operations and time, and every process is stopped at the end, also on failure.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient, isClientError, Op, type BulwarkClient, type ClientEvent, type WatchItem } from '../../src/client/index.js';
import { Counter, Mutex, Queue, Session, stm } from '../../src/client/recipes/index.js';
import { text } from '../../src/client/kv.js';
import { skipUnlessCluster, startTestCluster, type TestCluster } from './cluster-under-test.js';

const skip = skipUnlessCluster();
let cluster: TestCluster;
const clients: BulwarkClient[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function client(o: { exactlyOnce?: 'auto' | 'require'; callTimeoutMs?: number } = {}): BulwarkClient {
  const c = createClient({ endpoints: cluster.endpoints, callTimeoutMs: o.callTimeoutMs ?? 20_000, attemptTimeoutMs: 2000, ...(o.exactlyOnce === undefined ? {} : { exactlyOnce: o.exactlyOnce }) });
  clients.push(c);
  return c;
}

before(async () => {
  if (skip === false) cluster = await startTestCluster();
});

after(async () => {
  for (const c of clients) await c.close();
  if (skip === false) await cluster.stop();
});

/**
 * Kills the leader (or, with `pause`, freezes a member) every so often until `stop()` is called,
 * bringing each victim back before the next fault so a quorum always returns.
 */
function faultLoop(o: { everyMs: number; downMs: number; pause?: boolean; log?: (line: string) => void }): { stop: () => Promise<number>; count: () => number } {
  let running = true;
  let faults = 0;
  const done = (async () => {
    let k = 0;
    while (running) {
      await sleep(o.everyMs);
      if (!running) break;
      const leader = await cluster.leaderIndex().catch(() => null);
      if (process.env['FAULTS_DEBUG'] !== undefined) console.log('fault: leader is', leader, o.pause === true && k % 2 === 1 ? 'pause' : 'kill');
      const victim = leader ?? k % cluster.size;
      const freeze = o.pause === true && k % 2 === 1;
      o.log?.(`${freeze ? 'pause' : 'kill'} member ${victim} (leader ${leader ?? 'unknown'})`);
      if (freeze) cluster.pause(victim);
      else await cluster.kill(victim);
      faults++;
      await sleep(o.downMs);
      if (freeze) cluster.resume(victim);
      else await cluster.start(victim);
      o.log?.(`member ${victim} back`);
      k++;
      await cluster.waitReady(20_000).catch(() => {});
    }
  })();
  return {
    stop: async () => {
      running = false;
      await done;
      return faults;
    },
    count: () => faults,
  };
}

/** Runs `op` until it succeeds, retrying failures that certainly did not apply; an ambiguous one fails the test. */
async function untilDone<T>(op: () => Promise<T>, what: string): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (isClientError(e) && e.mayHaveApplied) throw new Error(`${what}: an ambiguous failure reached the application: ${e.message}`);
      if (attempt > 50) throw e;
      await sleep(200);
    }
  }
}

const opts = { skip, timeout: 120_000 };

test('a counter incremented by several clients while the leader is killed and restarted ends at exactly N', opts, async () => {
  const key = 'faults/counter';
  const sessions = await Promise.all([0, 1, 2].map(() => Session.create(client(), { ttlSeconds: 30 })));
  const faults = faultLoop({ everyMs: 500, downMs: 700 });
  let increments = 0;
  const deadline = Date.now() + 6000;
  try {
    await Promise.all(
      sessions.map(async (s) => {
        const counter = new Counter(s.client, key, s);
        for (let i = 0; i < 300 && Date.now() < deadline; i++) {
          await untilDone(() => counter.increment(), 'increment');
          increments++;
        }
      }),
    );
  } finally {
    const n = await faults.stop();
    assert.ok(n >= 2, `the leader was killed at least twice (${n})`);
  }
  const c = client();
  assert.equal(Number(await c.getString(key)), increments, `${increments} increments`);
  for (const s of sessions) await s.close().catch(() => {});
});

test('exactly-once sessions: plain read-modify-write increments retried across leader kills end at exactly N', { ...opts, skip: skip !== false ? skip : undefined }, async (t) => {
  if (!cluster.exactlyOnce) {
    t.skip(`${cluster.kind} has no exactly-once client sessions (no /bulwark.v1.Session/Open); this variant runs when it has`);
    return;
  }
  const key = 'faults/counter-eo';
  const faults = faultLoop({ everyMs: 500, downMs: 700 });
  let increments = 0;
  const deadline = Date.now() + 6000;
  try {
    await Promise.all(
      [0, 1, 2].map(async () => {
        const c = client({ exactlyOnce: 'require' });
        for (let i = 0; i < 300 && Date.now() < deadline; i++) {
          await untilDone(
            () =>
              stm(c, async (tx) => {
                tx.put(key, String(Number((await tx.get(key)) ?? '0') + 1));
              }),
            'increment',
          );
          increments++;
        }
      }),
    );
  } finally {
    await faults.stop();
  }
  assert.equal(Number(await client().getString(key)), increments);
});

test('a mutex holder frozen past its lease while members are killed and paused: the resource refuses its stale token', opts, async () => {
  const name = 'faults/mutex';
  const guarded = 'faults/mutex-guarded';
  /** The protected resource: it remembers the highest token it accepted and refuses smaller ones. */
  const resource = { highest: 0, log: [] as { token: number; holder: string; accepted: boolean }[] };
  const act = (token: number, holder: string): boolean => {
    const accepted = token >= resource.highest;
    if (accepted) resource.highest = token;
    resource.log.push({ token, holder, accepted });
    return accepted;
  };
  // Each round: the stale-to-be holder takes the lock and acts; then it freezes (its keep-alives
  // stop, as in a long GC pause) while a member fails; the other client waits for the lease to
  // expire, takes the lock and acts; then the frozen one wakes and acts on its old token. The
  // order is forced by the lock itself, not by timing: the second holder cannot act before the
  // first one's lease has expired.
  const faultsPlan = [
    { what: 'kill', who: 'leader' },
    { what: 'pause', who: 'leader' },
    { what: 'kill', who: 'follower' },
    { what: 'pause', who: 'follower' },
  ] as const;
  const clientsByName = { a: client(), b: client() };
  let faults = 0;
  for (const [round, plan] of faultsPlan.entries()) {
    const [stale, fresh] = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    const staleSession = await untilDone(() => Session.create(clientsByName[stale], { ttlSeconds: 2 }), 'session');
    const staleMutex = new Mutex(staleSession, name);
    const staleToken = await staleMutex.lock();
    assert.ok(act(staleToken, stale), `round ${round}: the first holder's action is accepted`);
    const staleGuard = staleMutex.isOwner();
    staleSession.lease.release(); // frozen: no more keep-alives; the lease runs out on the server

    const leader = await cluster.leaderIndex();
    assert.notEqual(leader, null, `round ${round}: a leader before the fault`);
    const victim = plan.who === 'leader' ? leader! : (leader! + 1) % cluster.size;
    if (plan.what === 'kill') await cluster.kill(victim);
    else cluster.pause(victim);
    faults++;
    let freshSession: Session | null = null;
    try {
      freshSession = await untilDone(() => Session.create(clientsByName[fresh], { ttlSeconds: 10 }), 'session');
      const freshMutex = new Mutex(freshSession, name);
      const freshToken = await freshMutex.lock();
      assert.ok(freshToken > staleToken, `round ${round}: the new holder's token ${freshToken} is above the old ${staleToken}`);
      assert.ok(act(freshToken, fresh), `round ${round}: the new holder's action is accepted`);
      const t = await untilDone(() => clientsByName[fresh].txn().if(freshMutex.isOwner()).then(Op.put(guarded, `${fresh}${round}`)).commit(), 'guarded put');
      assert.equal(t.succeeded, true, `round ${round}: the new holder's guarded write applies`);
    } finally {
      if (plan.what === 'kill') await cluster.start(victim);
      else cluster.resume(victim);
      await cluster.waitReady(30_000).catch(() => {});
    }
    // The frozen holder wakes up still believing it holds the lock.
    assert.equal(act(staleToken, stale), false, `round ${round}: the resource refuses the stale token ${staleToken}`);
    const t = await untilDone(() => clientsByName[stale].txn().if(staleGuard).then(Op.put(guarded, `${stale}${round}-stale`)).commit(), 'stale guarded put');
    assert.equal(t.succeeded, false, `round ${round}: the stale holder's guarded write is refused`);
    assert.equal(await clientsByName[fresh].getString(guarded), `${fresh}${round}`);
    await freshSession.close().catch(() => {});
  }
  assert.equal(faults, faultsPlan.length);
  const refused = resource.log.filter((e) => !e.accepted);
  assert.equal(refused.length, faultsPlan.length, 'every stale action was refused');
  assert.ok(refused.length > 0);
  const accepted = resource.log.filter((e) => e.accepted);
  assert.equal(accepted.length, 2 * faultsPlan.length, 'every current holder acted');
  // Accepted actions are in token order, and every change of holder came with a larger token.
  for (let i = 1; i < accepted.length; i++) {
    assert.ok(accepted[i]!.token > accepted[i - 1]!.token, `accepted actions in token order: ${JSON.stringify(accepted)}`);
  }
});

test('a watcher sees every event of a stream of writes exactly once and in order across member restarts', opts, async () => {
  const prefix = 'faults/watch/';
  const writer = client();
  const watcherClient = client();
  if (process.env['FAULTS_DEBUG'] !== undefined) {
    const t0 = Date.now();
    writer.on((e) => console.log(Date.now() - t0, 'writer', JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))));
  }
  const start = (await writer.get('faults/none')).header!.revision + 1;
  const w = watcherClient.watch(prefix, { prefix: true, startRevision: start });
  const seen: { rev: number; key: string; value: string }[] = [];
  const collecting = (async () => {
    for await (const item of w) {
      if (item.type === 'compacted') throw new Error('compacted');
      if (item.type === 'events') for (const e of item.events) seen.push({ rev: e.kv!.modRevision, key: text(e.kv!.key), value: text(e.kv!.value) });
    }
  })();
  const faults = faultLoop({ everyMs: 1500, downMs: 600 });
  let last = 0;
  let writes = 0;
  const deadline = Date.now() + 20_000;
  try {
    // Write until the watcher's members have failed three times (bounded in count and time).
    for (let i = 0; i < 1000 && (faults.count() < 3 || i < 100) && Date.now() < deadline; i++) {
      const t0 = Date.now();
      const r = await untilDone(() => writer.put(`${prefix}${i % 10}`, String(i)), 'put').catch((e: unknown) => {
        if (process.env['FAULTS_DEBUG'] !== undefined) console.log('put failed', String(e));
        return null;
      });
      if (process.env['FAULTS_DEBUG'] !== undefined && Date.now() - t0 > 300) console.log('slow put', Date.now() - t0, r === null ? 'failed' : 'ok');
      if (r !== null) last = Math.max(last, r.header!.revision);
      writes++;
      await sleep(10);
    }
  } finally {
    const n = await faults.stop();
    assert.ok(n >= 3, `members failed during the stream (${n})`);
  }
  await cluster.waitReady();
  const end = (await writer.get(prefix, { prefix: true, countOnly: true })).header!.revision;
  const caughtUpBy = Date.now() + 15_000;
  while ((seen.at(-1)?.rev ?? 0) < Math.max(last, end) && Date.now() < caughtUpBy) await sleep(100);
  w.close();
  await collecting.catch(() => {});
  // The truth: the history replayed by a fresh watch on a healthy cluster.
  const truth: { rev: number; key: string; value: string }[] = [];
  const fresh = client().watch(prefix, { prefix: true, startRevision: start });
  for await (const item of fresh as AsyncIterable<WatchItem>) {
    if (item.type === 'events') for (const e of item.events) truth.push({ rev: e.kv!.modRevision, key: text(e.kv!.key), value: text(e.kv!.value) });
    if ((truth.at(-1)?.rev ?? 0) >= end) break;
  }
  // Against etcd a put cut off by a kill is not retried (it may have applied), so the history, not
  // the count of puts, is the reference.
  assert.ok(truth.length >= Math.min(20, writes / 2), `writes were applied (${truth.length} of ${writes})`);
  assert.deepEqual(seen.slice(0, truth.length), truth, 'the resumed watcher saw exactly the history');
});

test('a queue delivers every item exactly once across failovers', opts, async () => {
  const name = 'faults/queue';
  const items = 60;
  // The leader is killed every ~2 s here, and each kill costs a second or more without a leader:
  // on a loaded machine a write can meet several in a row. A longer deadline than the other tests'
  // keeps the test about delivery, not about how fast the cluster recovers (the client still
  // fails the test if anything ambiguous reaches the application).
  const producerClient = client({ callTimeoutMs: 45_000 });
  const producerSession = await Session.create(producerClient, { ttlSeconds: 30 });
  const producer = new Queue(producerClient, name, { leaseId: producerSession.leaseId });
  const delivered: string[] = [];
  const log: string[] = [];
  const t0 = Date.now();
  producerClient.on((e) => {
    if (e.type === 'leader-changed') log.push(`${Date.now() - t0} ms: producer sees leader ${e.leader ?? 'none'} term ${e.term}`);
    if (e.type === 'retry') log.push(`${Date.now() - t0} ms: producer retry ${e.method} on ${e.endpoint} in ${Math.round(e.delayMs)} ms: ${e.reason}`);
  });
  const faults = faultLoop({ everyMs: 500, downMs: 700, log: (line) => log.push(`${Date.now() - t0} ms: ${line}`) });
  // Consumers stop when the test ends, also when it fails: a consumer still looping after the
  // clients are closed would keep the test process alive.
  let stopped = false;
  let consumers: Promise<void>[] = [];
  const consumerErrors: unknown[] = [];
  try {
    const producing = (async () => {
      for (let i = 0; i < items; i++) {
        await untilDone(() => producer.enqueue(`item-${i}`), 'enqueue').catch((e: unknown) => {
          // The retries the client made, and the faults between them, say why the call ran out.
          throw new Error(`${e instanceof Error ? e.message : String(e)}\n${log.join('\n')}`);
        });
        // Spread the items over several failovers.
        if (faults.count() < 2) await sleep(60);
      }
    })();
    consumers = [0, 1, 2].map(async () => {
      const c = client();
      const s = await Session.create(c, { ttlSeconds: 30 });
      const q = new Queue(s.client, name, { leaseId: s.leaseId });
      c.on((e) => {
        if (e.type === 'retry') log.push(`consumer ${s.leaseId.toString(16)} retry ${e.method} ${e.reason}`);
      });
      while (delivered.length < items && !stopped) {
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), 1000);
        try {
          const v = await q.dequeueString({ signal: ac.signal });
          delivered.push(v);
          log.push(`consumer ${s.leaseId.toString(16)} got ${v}`);
        } catch (e) {
          if (!isClientError(e)) throw e;
          if (e.mayHaveApplied) throw new Error(`dequeue: an ambiguous failure reached the application: ${e.message}`);
          await sleep(50);
        } finally {
          clearTimeout(timer);
        }
      }
    }).map((p) => p.catch((e: unknown) => void consumerErrors.push(e)));
    await producing;
    const deadline = Date.now() + 30_000;
    while (delivered.length < items && Date.now() < deadline) await sleep(100);
  } finally {
    stopped = true;
    await Promise.race([Promise.all(consumers), sleep(5000)]);
    const n = await faults.stop();
    assert.ok(n >= 2, `the leader failed while the queue was in use (${n})`);
  }
  if (consumerErrors.length > 0) throw consumerErrors[0];
  const counts = new Map<string, number>();
  for (const d of delivered) counts.set(d, (counts.get(d) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  assert.equal(delivered.length, items, `every item delivered once; twice: ${twice.join(', ')}\n${log.join('\n')}`);
  assert.equal(new Set(delivered).size, items, 'no item delivered twice');
});

test('a kept-alive lease survives leader kills, and the client reports the changes as events', opts, async () => {
  const c = client();
  const events: ClientEvent[] = [];
  c.on((e) => events.push(e));
  // Long enough to outlive a few failovers on a loaded machine; short enough to need several renewals.
  const lease = await c.lease(15);
  await c.put('faults/leased', 'x', { lease: lease.id });
  const faults = faultLoop({ everyMs: 800, downMs: 1000 });
  const deadline = Date.now() + 20_000;
  try {
    while (faults.count() < 3 && Date.now() < deadline) await sleep(100);
  } finally {
    const n = await faults.stop();
    assert.ok(n >= 3, `the leader was killed three times (${n})`);
  }
  await sleep(1000);
  assert.notEqual(lease.state, 'lost', 'the lease was kept alive through the failovers');
  assert.equal((await c.get('faults/leased')).count, 1, 'the key attached to the lease is still there');
  assert.ok(!events.some((e) => e.type === 'lease-lost'), 'no lease-lost event');
  assert.ok(events.some((e) => e.type === 'disconnected'), 'a disconnected event');
  assert.ok(events.some((e) => e.type === 'leader-changed'), 'a leader-changed event');
  await lease.revoke();
});
