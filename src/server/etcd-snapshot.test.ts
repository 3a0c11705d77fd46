import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeIdFromBigInt, logIndex, term, leaseId } from '../core/ids.js';
import { KvStore } from '../kv/kv-store.js';
import { deleteRangeOp, encodeCommand, putOp, type Op } from '../kv/command.js';
import { BoltReader } from './bbolt-reader.js';
import { etcdBoltImage, readEtcdDatabase, recordsInRevisionOrder, revisionKey } from './etcd-snapshot.js';
import { concatBytes } from '../core/bytes.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const self = nodeIdFromBigInt(1n);

function store(ops: Op[]): KvStore {
  const s = new KvStore({ members: [{ id: self, name: 'm1', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [], isLearner: false }] });
  ops.forEach((op, i) => s.apply({ index: logIndex(i + 1), term: term(1), kind: 'normal', data: encodeCommand({ requestId: { member: self, counter: i + 1 }, session: null, op }) }));
  return s;
}


test('the store as etcd lays it out: revision keys, KeyValue records, meta, buckets', () => {
  const s = store([
    { type: 'lease-grant', id: leaseId(7n), ttlSec: 100 },
    putOp('a', '1'),
    putOp('b', '2', { lease: leaseId(7n) }),
    putOp('a', '3'),
    deleteRangeOp('b'),
    { type: 'compaction', revision: 3, physical: true },
  ]);
  const file = concatBytes(etcdBoltImage(s.snapshotImage(), { pageSize: 4096 }).pages());
  const r = new BoltReader(file);
  assert.deepEqual(r.entries([]).map((e) => dec.decode(e.key)), ['alarm', 'auth', 'authRoles', 'authUsers', 'cluster', 'key', 'lease', 'members', 'members_removed', 'meta']);
  const keys = r.entries([enc.encode('key')]);
  // Compaction at 3 keeps each key's state at 3 (a@2, b@3) and everything after.
  assert.deepEqual(keys.map((e) => [...e.key]), [[...revisionKey(2, 0, false)], [...revisionKey(3, 0, false)], [...revisionKey(4, 0, false)], [...revisionKey(5, 0, true)]]);
  const data = readEtcdDatabase(file);
  assert.equal(data.compactRevision, 3);
  assert.equal(data.consistentIndex, 6);
  assert.deepEqual(data.records.map((x) => [dec.decode(x.key), x.main, x.tombstone, dec.decode(x.value), x.lease]), [
    ['a', 2, false, '1', 0n],
    ['b', 3, false, '2', 7n],
    ['a', 4, false, '3', 0n],
    ['b', 5, true, '', 0n],
  ]);
  assert.deepEqual(data.leases, [{ id: 7n, ttlSec: 100, remainingTtlSec: 0 }]);
  const members = r.entries([enc.encode('members')]);
  assert.equal(dec.decode(members[0]!.key), '1');
  assert.equal(dec.decode(members[0]!.value), '{"id":1,"peerURLs":["http://127.0.0.1:2380"],"name":"m1"}');
  assert.equal(recordsInRevisionOrder(s.snapshotImage()).length, 4);
});

test('a large store spans branch pages and reads back whole', () => {
  const ops: Op[] = [];
  for (let i = 0; i < 3000; i++) ops.push(putOp(`key-${i % 700}`, `value-${i}-${'x'.repeat(i % 50)}`));
  const s = store(ops);
  const img = etcdBoltImage(s.snapshotImage(), { pageSize: 4096 });
  const data = readEtcdDatabase(concatBytes(img.pages()));
  assert.equal(data.records.length, 3000);
  assert.equal(data.records[2999]!.main, 3001);
  assert.ok(img.pageCount > 50);
});
