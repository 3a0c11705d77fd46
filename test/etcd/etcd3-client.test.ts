/**
 * The `etcd3` npm client (over @grpc/grpc-js) against a three-member Bulwark: KV, the txn
 * builder, watch (including resuming after the member it watches through restarts), leases with
 * keep-alive, locks and elections. One cluster per consensus protocol (PROTOCOLS).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { PROTOCOLS, startCluster, waitFor, type TestCluster } from '../cluster/harness.js';

for (const consensus of PROTOCOLS) describe(`the etcd3 npm client against Bulwark (${consensus})`, () => {
  let t: TestCluster;
  let client: Etcd3;

  before(async () => {
    t = await startCluster({ size: 3, consensus });
    client = new Etcd3({ hosts: t.cluster.endpoints().map((e) => `http://${e}`), dialTimeout: 5000 });
  });

  after(async () => {
    client?.close();
    await t?.close();
  });

  test('kv: put, get, prefix, delete, count', async () => {
    await client.put('app/a').value('1');
    await client.put('app/b').value('2');
    await client.put('app/c').value('3');
    assert.equal(await client.get('app/a').string(), '1');
    assert.deepEqual(await client.getAll().prefix('app/').strings(), { 'app/a': '1', 'app/b': '2', 'app/c': '3' });
    assert.equal(await client.getAll().prefix('app/').count(), 3);
    assert.deepEqual(await client.getAll().prefix('app/').limit(2).sort('Key', 'Descend').keys(), ['app/c', 'app/b']);
    const del = await client.delete().key('app/c').exec();
    assert.equal(del.deleted, '1');
    assert.equal(await client.get('app/c').string(), null);
    const rev = Number((await client.get('app/a').exec()).header.revision);
    assert.ok(rev >= 5);
  });

  test('txn builder: compare and swap both ways', async () => {
    const ok = await client.if('app/a', 'Value', '==', '1').then(client.put('app/a').value('10')).else(client.get('app/a')).commit();
    assert.equal(ok.succeeded, true);
    const no = await client.if('app/a', 'Value', '==', '1').then(client.put('app/a').value('11')).else(client.get('app/a')).commit();
    assert.equal(no.succeeded, false);
    assert.equal(no.responses[0]!.response_range!.kvs[0]!.value.toString(), '10');
    const v = await client.if('app/a', 'Version', '>', 1).then(client.delete().key('app/b')).commit();
    assert.equal(v.succeeded, true);
    assert.equal(await client.get('app/b').string(), null);
  });

  test('watch: events in order, and resume after the watched member restarts', async () => {
    // Watch through m1 only, so restarting m1 forces the client to reconnect and resume.
    const one = new Etcd3({ hosts: `http://${t.cluster.endpoints()[0]}`, dialTimeout: 5000 });
    try {
      const seen: string[] = [];
      const watcher = await one.watch().prefix('w/').create();
      watcher.on('put', (kv) => seen.push(`${kv.key.toString()}=${kv.value.toString()}`));
      await client.put('w/1').value('a');
      await client.put('w/2').value('b');
      await waitFor('first events', async () => seen.length >= 2, 10_000);
      await t.cluster.restart('m1');
      await client.put('w/3').value('c'); // written while m1 is down or starting
      await t.cluster.waitHealthy('m1', 30_000);
      await client.put('w/4').value('d');
      await waitFor('events after the restart', async () => seen.length >= 4, 30_000);
      assert.deepEqual(seen, ['w/1=a', 'w/2=b', 'w/3=c', 'w/4=d']);
      await watcher.cancel();
    } finally {
      one.close();
    }
  });

  test('lease: grant, keep-alive, attached keys, revoke', async () => {
    const lease = client.lease(3, { autoKeepAlive: true });
    await lease.put('leased').value('x');
    const id = await lease.grant();
    assert.ok(id.length > 0);
    // Three seconds of TTL, kept alive well past it.
    await new Promise((r) => setTimeout(r, 4500));
    assert.equal(await client.get('leased').string(), 'x');
    const ka = await lease.keepaliveOnce();
    assert.equal(ka.TTL, '3');
    await lease.revoke();
    assert.equal(await client.get('leased').string(), null);
  });

  test('lock: held by one at a time, the next one gets it after release', async () => {
    // etcd3's lock is a try-lock: acquiring a held lock fails at once.
    const a = client.lock('locks/x').ttl(5);
    const b = client.lock('locks/x').ttl(5);
    await a.acquire();
    await assert.rejects(b.acquire(), /Failed to acquire a lock/);
    await a.release();
    await b.acquire();
    await b.release();
    assert.equal(await client.getAll().prefix('locks/').count(), 0);
  });

  test('election: campaign, observe, resign hands over', async () => {
    const election = client.election('elections/x', 5);
    const observer = await election.observe();
    const changes: (string | undefined)[] = [];
    observer.on('change', (v) => changes.push(v));
    const first = election.campaign('first');
    await new Promise<void>((resolve, reject) => {
      first.once('elected', () => resolve());
      first.once('error', reject);
    });
    const second = election.campaign('second');
    let secondElected = false;
    second.once('elected', () => (secondElected = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(secondElected, false, 'two leaders at once');
    assert.equal(await election.leader(), 'first');
    await first.resign();
    await waitFor('the second candidate to lead', async () => secondElected, 15_000);
    assert.equal(await election.leader(), 'second');
    await waitFor('the observer to see both leaders', async () => changes.includes('first') && changes.includes('second'), 15_000);
    await second.resign();
    await observer.cancel();
  });
});
