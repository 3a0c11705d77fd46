/** Linearizable reads: ReadIndex (dissertation §6.4) and lease-based reads. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeId, TestNetwork } from './test-network.js';
import { defaultRaftConfig } from './config.js';

test('§6.4 ReadIndex: the leader answers once a heartbeat round confirms it still leads, with its commit index', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.propose(1, 'a');
  net.stabilize();
  assert.deepEqual(net.engine(1).readIndex(7), { type: 'pending' });
  net.processReady(nodeId(1));
  assert.deepEqual(net.node(1).readStates, [], 'not before the heartbeat round');
  const heartbeats = net.queue.filter((m) => m.type === 'heartbeat');
  assert.equal(heartbeats.length, 2);
  net.deliver();
  assert.deepEqual(net.node(1).readStates, [{ requestId: 7, index: 2 }]);
});

test('§6.4 ReadIndex: one heartbeat round confirms a whole batch of reads', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (let id = 1; id <= 50; id++) net.engine(1).readIndex(id);
  net.processReady(nodeId(1));
  assert.equal(net.queue.filter((m) => m.type === 'heartbeat').length, 2);
  net.deliver();
  assert.equal(net.node(1).readStates.length, 50);
});

test('§6.4 ReadIndex: a leader cut off from its quorum never answers; its reads are dropped when it steps down', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(1);
  net.engine(1).readIndex(1);
  for (let i = 0; i < 30; i++) {
    net.tick(1);
    net.deliver();
  }
  assert.deepEqual(net.node(1).readStates, []);
  assert.deepEqual(net.node(1).readsDropped, [1]);
});

test('§6.4 ReadIndex: a read waits until the new leader has committed an entry of its term', () => {
  const net = new TestNetwork({ voters: 3 });
  net.filter = (m) => m.type !== 'append';
  net.elect(1);
  net.engine(1).readIndex(1);
  net.processReady(nodeId(1));
  net.deliver();
  assert.deepEqual(net.node(1).readStates, [], 'no answer while the no-op is uncommitted');
  net.heal();
  net.tick(1);
  net.stabilize();
  assert.deepEqual(net.node(1).readStates, [{ requestId: 1, index: 1 }]);
});

test('§6.4 ReadIndex on a follower: asked of the leader, answered through a message', () => {
  const net = new TestNetwork({ voters: 3, learners: 1 });
  net.elect(1);
  net.propose(1, 'a');
  net.stabilize();
  assert.deepEqual(net.engine(2).readIndex(11), { type: 'pending' });
  assert.deepEqual(net.engine(4).readIndex(12), { type: 'pending' });
  net.stabilize();
  assert.deepEqual(net.node(2).readStates, [{ requestId: 11, index: 2 }]);
  assert.deepEqual(net.node(4).readStates, [{ requestId: 12, index: 2 }], 'learners read too');
});

test('§6.4 ReadIndex on a follower: requests are dropped when the leader changes, and time out', () => {
  const net = new TestNetwork({ voters: 3 });
  assert.deepEqual(net.engine(2).readIndex(1), { type: 'rejected', reason: 'no-leader', leader: null });
  net.elect(1);
  net.isolate(1);
  net.engine(2).readIndex(2);
  for (let i = 0; i < 60; i++) {
    net.tick(2);
    net.tick(3);
    net.deliver();
  }
  assert.deepEqual(net.node(2).readStates, []);
  assert.deepEqual(net.node(2).readsDropped, [2]);
});

test('lease-based reads (option, with check-quorum): the leader answers at once', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, leaseReads: true }) });
  net.elect(1);
  net.engine(1).readIndex(5);
  net.processReady(nodeId(1));
  assert.deepEqual(net.node(1).readStates, [{ requestId: 5, index: 1 }]);
  assert.throws(() => new TestNetwork({ voters: 1, configure: (c) => ({ ...c, leaseReads: true, checkQuorum: false }) }), /leaseReads requires checkQuorum/);
});

test('lease-based reads: a leader paused past an election timeout has no lease when it resumes (the missed ticks arrive in a burst)', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, leaseReads: true }) });
  net.elect(1);
  net.stabilize();
  const electionTicks = defaultRaftConfig(nodeId(1)).electionTicks;
  // A pause of 1.5 election timeouts: the driver delivers the missed ticks before the next input,
  // with no message from the followers in between. The first check-quorum boundary passes on the
  // activity seen before the pause, so the leader still leads; its lease must not.
  for (let i = 0; i < Math.ceil(electionTicks * 1.5); i++) net.engine(1).tick();
  assert.equal(net.engine(1).status().role, 'leader', 'check-quorum alone keeps it in office here');
  net.engine(1).readIndex(9);
  net.processReady(nodeId(1));
  assert.deepEqual(net.node(1).readStates, [], 'no read answered from an expired lease');
  // It takes the ReadIndex path instead: answered once a heartbeat round confirms it still leads.
  net.stabilize();
  assert.deepEqual(net.node(1).readStates.map((r) => r.requestId), [9]);
});
