/**
 * The server-side v3lockpb.Lock and v3electionpb.Election services under contention, over gRPC on
 * a three-member cluster (requests spread over the members): waiting, fencing tokens, a waiter
 * that gives up, lease expiry releasing a lock, leadership handed over on resign, Observe. Once
 * per consensus protocol (PROTOCOLS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GrpcError, Status } from '../../src/api/grpc/index.js';
import { KVService, LeaseService } from '../../src/api/proto/generated/etcdserverpb.js';
import { ElectionService } from '../../src/api/proto/generated/v3electionpb.js';
import { LockService } from '../../src/api/proto/generated/v3lockpb.js';
import { PROTOCOLS, startCluster, waitFor, type TestCluster } from '../cluster/harness.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

for (const consensus of PROTOCOLS) describe(`Lock and Election services under contention (${consensus})`, () => {
  let t: TestCluster;

  before(async () => {
    t = await startCluster({ size: 3, consensus });
  });

  after(async () => {
    await t?.close();
  });

  const grant = async (ttl: number): Promise<bigint> => (await t.channel('m1').call(LeaseService.LeaseGrant, { TTL: ttl }, { deadlineMs: 5000 })).ID;

  test('a second locker waits for the first; revisions fence; a waiter that gives up leaves no key', async () => {
    const [l1, l2, l3] = await Promise.all([grant(30), grant(30), grant(30)]);
    const name = enc.encode('jobs');
    const first = await t.channel('m1').call(LockService.Lock, { name, lease: l1 }, { deadlineMs: 5000 });
    let secondDone = false;
    const second = t
      .channel('m2')
      .call(LockService.Lock, { name, lease: l2 }, { deadlineMs: 20_000 })
      .then((r) => {
        secondDone = true;
        return r;
      });
    // A third locker that gives up while waiting.
    const third = await t
      .channel('m3')
      .call(LockService.Lock, { name, lease: l3 }, { deadlineMs: 800 })
      .catch((e: unknown) => e);
    assert.ok(third instanceof GrpcError && third.status === Status.DEADLINE_EXCEEDED, `third: ${String(third)}`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(secondDone, false, 'the second locker got the lock while the first held it');
    // The key names the lease (as etcd's), and its revision is the fencing token.
    assert.equal(dec.decode(first.key), `jobs/${l1.toString(16)}`);
    const token1 = (await t.channel('m1').call(KVService.Range, { key: first.key }, { deadlineMs: 5000 })).kvs[0]!.createRevision;
    await t.channel('m1').call(LockService.Unlock, { key: first.key }, { deadlineMs: 5000 });
    const got = await second;
    const token2 = (await t.channel('m2').call(KVService.Range, { key: got.key }, { deadlineMs: 5000 })).kvs[0]!.createRevision;
    assert.ok(token2 > token1, 'fencing tokens increase');
    assert.ok(Number(got.header!.revision) >= token2);
    await waitFor('the abandoned waiter key to go', async () => {
      const r = await t.channel('m1').call(KVService.Range, { key: enc.encode(`jobs/${l3.toString(16)}`) }, { deadlineMs: 5000 });
      return r.kvs.length === 0;
    });
    // Locking again with the same lease returns the same key at once.
    const again = await t.channel('m3').call(LockService.Lock, { name, lease: l2 }, { deadlineMs: 5000 });
    assert.deepEqual([...again.key], [...got.key]);
    await t.channel('m1').call(LockService.Unlock, { key: got.key }, { deadlineMs: 5000 });
  });

  test('a lock held with a lease is released when the lease expires', async () => {
    const short = await grant(2);
    const name = enc.encode('expiring');
    await t.channel('m1').call(LockService.Lock, { name, lease: short }, { deadlineMs: 5000 });
    const other = await grant(30);
    const started = Date.now();
    const r = await t.channel('m2').call(LockService.Lock, { name, lease: other }, { deadlineMs: 20_000 });
    assert.ok(Date.now() - started >= 500, 'the second lock waited for the expiry');
    assert.equal(dec.decode(r.key), `expiring/${other.toString(16)}`);
  });

  test('election: one leader, proclaim by the leader only, observe, resign hands over', async () => {
    const [a, b] = await Promise.all([grant(30), grant(30)]);
    const name = enc.encode('primary');
    const observed: string[] = [];
    const ac = new AbortController();
    const observer = (async () => {
      try {
        for await (const r of t.channel('m3').stream(ElectionService.Observe, { name }, { signal: ac.signal })) observed.push(dec.decode(r.kv!.value));
      } catch {
        /* cancelled at the end */
      }
    })();
    const ca = await t.channel('m1').call(ElectionService.Campaign, { name, lease: a, value: enc.encode('alpha') }, { deadlineMs: 5000 });
    let bElected = false;
    const cb = t
      .channel('m2')
      .call(ElectionService.Campaign, { name, lease: b, value: enc.encode('beta') }, { deadlineMs: 20_000 })
      .then((r) => {
        bElected = true;
        return r;
      });
    const leader = await t.channel('m2').call(ElectionService.Leader, { name }, { deadlineMs: 5000 });
    assert.equal(dec.decode(leader.kv!.value), 'alpha');
    await t.channel('m1').call(ElectionService.Proclaim, { leader: ca.leader!, value: enc.encode('alpha-2') }, { deadlineMs: 5000 });
    assert.equal(bElected, false);
    await t.channel('m1').call(ElectionService.Resign, { leader: ca.leader! }, { deadlineMs: 5000 });
    const rb = await cb;
    assert.equal(dec.decode((await t.channel('m1').call(ElectionService.Leader, { name }, { deadlineMs: 5000 })).kv!.value), 'beta');
    // The deposed leader can no longer proclaim.
    const stale = await t
      .channel('m1')
      .call(ElectionService.Proclaim, { leader: ca.leader!, value: enc.encode('zombie') }, { deadlineMs: 5000 })
      .catch((e: unknown) => e);
    assert.ok(stale instanceof GrpcError && stale.details === 'election: not leader', String(stale));
    await waitFor('the observer to see every leader value', async () => ['alpha', 'alpha-2', 'beta'].every((v) => observed.includes(v)), 10_000);
    assert.deepEqual(observed.slice(0, 3), ['alpha', 'alpha-2', 'beta']);
    await t.channel('m2').call(ElectionService.Resign, { leader: rb.leader! }, { deadlineMs: 5000 });
    const none = await t
      .channel('m3')
      .call(ElectionService.Leader, { name }, { deadlineMs: 5000 })
      .catch((e: unknown) => e);
    assert.ok(none instanceof GrpcError && none.status === Status.UNKNOWN && none.details === 'election: no leader', String(none));
    ac.abort();
    await observer;
  });
});
