/** Log replication and commitment: Raft §5.3, §5.4.2 (Figure 8), §10.2.1, flow control, proposals. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../core/bytes.js';
import type { RaftConfig } from './config.js';
import type { RaftMessage } from './messages.js';
import { nodeId, TestNetwork } from './test-network.js';

const classic = (c: RaftConfig): RaftConfig => ({ ...c, preVote: false, checkQuorum: false });
const n1 = nodeId(1);
const n3 = nodeId(3);

test('§5.3: the leader commits an entry once a majority stores it; every member applies in log order', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(3);
  for (const v of ['a', 'b', 'c']) assert.equal(net.propose(1, v).type, 'accepted');
  net.stabilize();
  assert.equal(net.engine(1).status().commitIndex, 4, 'two of three is a majority');
  assert.deepEqual(net.node(2).sm.values(), ['a', 'b', 'c']);
  assert.deepEqual(net.node(3).sm.values(), []);
  net.heal();
  net.tick(1);
  net.stabilize();
  assert.deepEqual(net.node(3).sm.values(), ['a', 'b', 'c'], 'the isolated member catches up');
  assert.deepEqual(net.violations, []);
});

test('§5.3: a follower whose log conflicts with the leader’s drops the conflicting suffix and takes the leader’s entries', () => {
  const net = new TestNetwork({ voters: 3, configure: classic });
  net.elect(1);
  net.isolate(1);
  for (const v of ['lost1', 'lost2']) net.propose(1, v); // never reach a majority
  net.heal();
  net.isolate(1);
  net.elect(2);
  net.propose(2, 'kept');
  net.stabilize();
  net.heal();
  net.tick(2);
  net.stabilize();
  const log = net.engine(1).logView();
  assert.equal(log.lastIndex, net.engine(2).logView().lastIndex);
  assert.deepEqual(net.node(1).sm.values(), ['kept']);
  net.checkLogMatching();
  assert.deepEqual(net.violations, []);
});

test('§5.3 fast back-off: the leader skips a whole conflicting term per round trip, not one entry', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...classic(c), entriesPerMessageMax: 64 }) });
  net.elect(1);
  net.isolate(1);
  for (let i = 0; i < 100; i++) net.propose(1, `stale${i}`); // 100 uncommitted entries of term 1
  net.heal();
  net.isolate(1);
  net.elect(2);
  for (let i = 0; i < 5; i++) net.propose(2, `new${i}`);
  net.stabilize();
  // A new leader starts probing member 1 at the end of its own log, deep in 1's stale term.
  net.elect(3);
  net.heal();
  net.tick(3);
  const rejects: RaftMessage[] = [];
  net.filter = (m) => {
    if (m.type === 'appendResponse' && m.reject && m.from === n1) rejects.push(m);
    return true;
  };
  net.stabilize();
  assert.ok(rejects.length >= 1 && rejects.length <= 3, `${rejects.length} rejections to find the meeting point`);
  assert.equal(net.engine(1).status().lastIndex, net.engine(3).status().lastIndex);
  net.checkLogMatching();
  assert.deepEqual(net.violations, []);
});

/**
 * Figure 8 of the Raft paper, five members. (a) S1 leads term t1 and replicates X at index i to
 * S2 only. (b) S5 wins term t2 with S3 and S4 and appends its own entry at i, replicated nowhere.
 * (c) S1 wins term t3 and copies X to S3: X is now on a majority, but of an earlier term. (d) S1
 * fails; S5 wins term t4 and overwrites index i everywhere. Had S1 committed X in (c) by counting
 * replicas, a committed entry would be lost.
 */
function figure8(plantedBug: boolean): TestNetwork {
  const net = new TestNetwork({
    voters: 5,
    configure: (c) => ({ ...classic(c), entriesPerMessageMax: 1, ...(plantedBug ? { plantedBug: 'commit-earlier-term-by-count' as const } : {}) }),
  });
  net.elect(1);
  // (a)
  for (const id of [3, 4, 5]) net.isolate(id);
  net.propose(1, 'X');
  net.stabilize();
  // (b)
  net.heal();
  net.isolate(1);
  net.cut(5, 2);
  net.filter = (m) => !(m.from === nodeId(5) && m.type === 'append');
  net.elect(5);
  net.dropAll();
  net.heal();
  // (c): S5 crashes, S1 restarts; S4 away; S3 may receive index i but nothing after it.
  net.crash(5);
  net.crash(1);
  net.restart(1);
  net.isolate(4);
  net.filter = (m) => !(m.type === 'append' && m.to === n3 && m.entries.some((e) => e.index > 2) && net.engine(3).logView().lastIndex >= 2);
  net.elect(1);
  net.tick(1, 3);
  net.stabilize();
  // (d): S1 crashes, S5 restarts and wins with S3 and S4.
  net.crash(1);
  net.restart(5);
  net.heal();
  net.isolate(1);
  net.isolate(2);
  net.elect(5);
  net.tick(5, 3);
  net.stabilize();
  return net;
}

test('§5.4.2 Figure 8: a leader does not commit an entry of an earlier term by counting replicas', () => {
  const net = figure8(false);
  assert.equal(net.node(1).sm.appliedIndex, 1, 'S1 did not commit X');
  assert.ok(net.engine(5).status().commitIndex >= 2, 'S5 committed its own entry at index 2');
  assert.deepEqual(net.violations, []);
});

test('§5.4.2 Figure 8, with the planted bug commit-earlier-term-by-count: a committed entry is overwritten', () => {
  const net = figure8(true);
  assert.ok(
    net.violations.some((v) => v.startsWith('state-machine safety') || v.startsWith('leader completeness')),
    `violations: ${net.violations.join('; ')}`,
  );
});

test('§10.2.1: leader appends go out before its own write; it counts its own log only once durable', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(3);
  const e1 = net.engine(1);
  assert.equal(e1.propose(utf8('x')).type, 'accepted');
  assert.ok(net.beginReady(n1), 'the leader has a Ready');
  const inFlight = net.node(1).inFlight!;
  assert.ok(inFlight.sendBeforePersist.some((m) => m.type === 'append' && m.entries.length === 1));
  assert.equal(inFlight.entries.length, 1);
  // The follower stores and acknowledges; the leader's own write is still running.
  net.deliver();
  assert.equal(e1.status().commitIndex, 1, 'one durable copy of two needed is not enough');
  net.completeReady(n1);
  net.processReady(n1);
  assert.equal(e1.status().commitIndex, 2);
});

test('persist before you speak: a follower’s acknowledgement goes out only after its entries are durable', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.propose(1, 'x');
  const append = net.queue.find((m) => m.type === 'append' && m.to === nodeId(2))!;
  net.queue = [];
  const e2 = net.engine(2);
  e2.step(append);
  const rd = e2.ready();
  assert.equal(rd.sendBeforePersist.length, 0);
  assert.equal(rd.entries.length, 1);
  assert.ok(rd.messages.some((m) => m.type === 'appendResponse' && !m.reject && m.index === 2));
  e2.advance(rd);
});

test('flow control: at most inflightMessagesMax appends in flight to a follower, each within the batch bounds', () => {
  const net = new TestNetwork({ voters: 2, configure: (c) => ({ ...c, inflightMessagesMax: 3, entriesPerMessageMax: 4 }) });
  net.elect(1);
  for (let i = 0; i < 50; i++) net.engine(1).propose(utf8(`p${i}`));
  net.processReady(n1);
  const appends = net.queue.filter((m) => m.type === 'append');
  assert.equal(appends.length, 3, 'the window is full after three appends');
  for (const m of appends) assert.ok(m.type === 'append' && m.entries.length <= 4);
  net.stabilize();
  assert.equal(net.engine(1).status().commitIndex, 51);
  assert.equal(net.engine(2).status().commitIndex, 51);
});

test('batches are bounded in bytes; an entry larger than the bound goes alone', () => {
  const net = new TestNetwork({ voters: 2, configure: (c) => ({ ...c, messageBytesMax: 1000 }) });
  net.elect(1);
  const e1 = net.engine(1);
  for (let i = 0; i < 10; i++) e1.propose(new Uint8Array(300));
  e1.propose(new Uint8Array(5000));
  net.stabilize();
  const sizes: number[][] = [];
  net.filter = (m) => {
    if (m.type === 'append' && m.entries.length > 0) sizes.push(m.entries.map((e) => e.data.length));
    return true;
  };
  for (let i = 0; i < 10; i++) e1.propose(new Uint8Array(300));
  e1.propose(new Uint8Array(5000));
  net.processReady(n1);
  net.stabilize();
  for (const batch of sizes) {
    const total = batch.reduce((a, b) => a + b, 0);
    assert.ok(batch.length === 1 || total <= 1000, `batch ${batch.join('+')}`);
  }
  assert.ok(sizes.some((b) => b.length === 1 && b[0] === 5000));
});

test('heartbeats carry the commit index clipped to the follower’s match', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(3);
  net.propose(1, 'a');
  net.stabilize();
  net.heal();
  net.dropAll();
  net.tick(1);
  const hb = net.queue.filter((m) => m.type === 'heartbeat');
  const to3 = hb.find((m) => m.to === n3);
  const to2 = hb.find((m) => m.to === nodeId(2));
  assert.ok(to2?.type === 'heartbeat' && to2.commit === 2);
  assert.ok(to3?.type === 'heartbeat' && to3.commit === 1, 'member 3 only matched up to 1');
});

test('proposals: a follower forwards to the leader, a learner too; without a leader they are refused', () => {
  const net = new TestNetwork({ voters: 3, learners: 1 });
  assert.deepEqual(net.propose(2, 'early'), { type: 'rejected', reason: 'no-leader', leader: null });
  net.elect(1);
  assert.deepEqual(net.propose(2, 'via2'), { type: 'forwarded', to: n1 });
  assert.deepEqual(net.propose(4, 'via4'), { type: 'forwarded', to: n1 });
  net.stabilize();
  assert.deepEqual(net.node(3).sm.values(), ['via2', 'via4']);
});

test('the leader refuses proposals beyond uncommittedBytesMax until entries commit', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, uncommittedBytesMax: 1000 }) });
  net.elect(1);
  net.isolate(1);
  const e1 = net.engine(1);
  assert.equal(e1.propose(new Uint8Array(600)).type, 'accepted');
  assert.equal(e1.propose(new Uint8Array(300)).type, 'accepted');
  assert.deepEqual(e1.propose(new Uint8Array(200)), { type: 'rejected', reason: 'too-many-uncommitted', leader: n1 });
  net.processReady(n1);
  net.heal();
  net.tick(1);
  net.stabilize();
  assert.equal(e1.propose(new Uint8Array(200)).type, 'accepted');
});

test('restart: an engine rebuilt from its durable state keeps its term, vote and log, and re-applies committed entries', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (const v of ['a', 'b']) net.propose(1, v);
  net.stabilize();
  const before = net.engine(2).status();
  net.crash(2);
  net.restart(2);
  net.processReady(n1);
  net.processReady(nodeId(2));
  const after = net.engine(2).status();
  assert.equal(after.term, before.term);
  assert.equal(after.lastIndex, before.lastIndex);
  assert.equal(after.commitIndex, before.commitIndex);
  assert.deepEqual(net.node(2).sm.values(), ['a', 'b']);
  assert.deepEqual(net.violations, []);
});

test('a crash loses a Ready that was not persisted; the leader’s unsynced entry survives on the follower', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.engine(1).propose(utf8('x'));
  net.beginReady(n1); // appends sent, own write not done
  net.crash(1);
  net.deliver();
  net.restart(1);
  assert.equal(net.engine(1).status().lastIndex, 1, 'the unsynced entry is gone from the leader');
  net.elect(2);
  net.tick(2);
  net.stabilize();
  assert.deepEqual(net.node(1).sm.values(), ['x'], 'a follower had it and the new leader committed it');
  assert.deepEqual(net.violations, []);
});

test('a single-member cluster commits each entry once it is durable', () => {
  const net = new TestNetwork({ voters: 1 });
  net.elect(1);
  net.propose(1, 'solo');
  assert.deepEqual(net.node(1).sm.values(), ['solo']);
});
