/** Leadership transfer: dissertation §3.10 (TimeoutNow). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../core/bytes.js';
import { nodeId, TestNetwork } from './test-network.js';

test('§3.10: transfer to an up-to-date follower: TimeoutNow, it campaigns at once past the leases, and wins', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  const t = net.engine(1).status().term;
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(2)), { type: 'started' });
  net.processReady(nodeId(1));
  assert.ok(net.queue.some((m) => m.type === 'timeoutNow' && m.to === nodeId(2)));
  const delivered = net.deliver();
  assert.ok(delivered.some((d) => d.msg.type === 'voteRequest' && d.msg.transfer && d.outcome === 'ok'));
  assert.equal(net.engine(2).status().role, 'leader');
  assert.equal(net.engine(2).status().term, t + 1);
  assert.equal(net.engine(1).status().leader, nodeId(2));
  assert.deepEqual(net.violations, []);
});

test('§3.10: transfer to a lagging follower first catches it up; proposals are refused meanwhile', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(3);
  for (const v of ['a', 'b', 'c']) net.propose(1, v);
  net.stabilize();
  net.heal();
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(3)), { type: 'started' });
  assert.deepEqual(net.engine(1).propose(utf8('during')), { type: 'rejected', reason: 'transferring', leader: nodeId(1) });
  net.processReady(nodeId(1));
  net.stabilize();
  assert.equal(net.engine(3).status().role, 'leader');
  assert.deepEqual(net.node(3).sm.values(), ['a', 'b', 'c']);
});

test('§3.10: a transfer whose target does not answer is aborted after an election timeout; proposals resume', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, electionTicks: 10 }) });
  net.elect(1);
  net.isolate(3);
  net.propose(1, 'x');
  net.stabilize();
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(3)), { type: 'started' });
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(2)), { type: 'rejected', reason: 'transferring' });
  for (let i = 0; i < 10; i++) {
    net.tick(1);
    net.deliver();
  }
  assert.equal(net.engine(1).status().role, 'leader');
  assert.equal(net.engine(1).propose(utf8('after')).type, 'accepted');
});

test('transfer requests that cannot be are refused', () => {
  const net = new TestNetwork({ voters: 2, learners: 1 });
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(2)), { type: 'rejected', reason: 'not-leader' });
  net.elect(1);
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(1)), { type: 'rejected', reason: 'already-leader' });
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(9)), { type: 'rejected', reason: 'unknown-member' });
  assert.deepEqual(net.engine(1).transferLeadership(nodeId(3)), { type: 'rejected', reason: 'learner' });
});

test('TimeoutNow from anyone but the leader is ignored', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  const t = net.engine(2).status().term;
  const r = net.engine(2).step({ type: 'timeoutNow', from: nodeId(3), to: nodeId(2), term: net.engine(3).status().term });
  assert.deepEqual(r, { type: 'dropped', reason: 'timeout-now-not-from-leader' });
  assert.equal(net.engine(2).status().term, t);
  assert.equal(net.engine(2).status().role, 'follower');
});
