import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meansLeaderMoved, refusedBeforeProposal, routeNeedsMessage, routeOf } from './cluster-router.js';
import { encodeRangeRequest } from './etcd-messages.js';

test('writes and linearizable reads go to the leader; serializable reads and watches anywhere', () => {
  const key = new Uint8Array([0x61]);
  for (const p of ['/etcdserverpb.KV/Put', '/etcdserverpb.KV/DeleteRange', '/etcdserverpb.KV/Txn', '/etcdserverpb.KV/Compact', '/etcdserverpb.Lease/LeaseGrant', '/etcdserverpb.Lease/LeaseKeepAlive', '/v3lockpb.Lock/Lock', '/v3electionpb.Election/Campaign', '/etcdserverpb.Cluster/MemberAdd']) {
    assert.equal(routeOf(p, null), 'leader', p);
  }
  assert.equal(routeNeedsMessage('/etcdserverpb.KV/Range'), true);
  assert.equal(routeNeedsMessage('/etcdserverpb.KV/Put'), false);
  assert.equal(routeOf('/etcdserverpb.KV/Range', encodeRangeRequest({ key, serializable: false })), 'leader');
  assert.equal(routeOf('/etcdserverpb.KV/Range', encodeRangeRequest({ key, serializable: true })), 'any');
  assert.equal(routeOf('/etcdserverpb.Watch/Watch', null), 'any');
});

test('which answers mean the leader moved, and which prove the request was not proposed', () => {
  assert.equal(meansLeaderMoved(14, 'etcdserver: leader changed'), true);
  assert.equal(meansLeaderMoved(9, 'etcdserver: not leader'), true);
  assert.equal(meansLeaderMoved(3, 'etcdserver: key not found'), false);
  assert.equal(refusedBeforeProposal(14, 'etcdserver: no leader'), true);
  assert.equal(refusedBeforeProposal(9, 'etcdserver: not leader'), true);
  assert.equal(refusedBeforeProposal(14, 'etcdserver: leader changed'), false, 'may have been proposed');
  assert.equal(refusedBeforeProposal(14, 'etcdserver: request timed out'), false);
});
