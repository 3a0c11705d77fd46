/** Membership changes: Raft §6 / dissertation ch. 4 (single-server changes, joint consensus), learners. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { utf8 } from '../core/bytes.js';
import type { ConfigChange, ConfigState } from '../consensus/types.js';
import { nodeId, TestNetwork } from './test-network.js';

const EMPTY: ConfigState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const ctx = utf8('member context');
const ids = (...ns: number[]) => ns.map(nodeId);

function change(net: TestNetwork, leader: number, c: ConfigChange): void {
  const r = net.engine(leader).proposeConfigChange(c);
  assert.equal(r.type, 'accepted', JSON.stringify(r));
  net.processReady(nodeId(leader));
  net.stabilize();
  net.tick(leader);
  net.stabilize();
}

test('learners: a new member joins as a learner, catches up without counting toward commit, then is promoted (add-voter of a learner)', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.propose(1, 'before');
  net.stabilize();
  net.addNode(nodeId(4), EMPTY);
  change(net, 1, { ops: [{ type: 'add-learner', node: nodeId(4) }], context: ctx });
  assert.deepEqual(net.engine(4).status().config.learners, ids(4), 'the joining member learned the configuration from the log');
  assert.equal(net.engine(4).status().role, 'learner');
  assert.deepEqual(net.node(4).sm.values(), ['before']);
  // With two voters away, the learner does not make a quorum.
  net.isolate(2);
  net.isolate(3);
  const c = net.engine(1).status().commitIndex;
  net.propose(1, 'needs-a-voter');
  net.tick(1);
  net.stabilize();
  assert.equal(net.engine(1).status().commitIndex, c);
  net.heal();
  net.tick(1);
  net.stabilize();
  change(net, 1, { ops: [{ type: 'add-voter', node: nodeId(4) }], context: ctx });
  assert.deepEqual(net.engine(4).status().config.voters, ids(1, 2, 3, 4));
  assert.equal(net.engine(4).status().role, 'follower');
  assert.deepEqual(net.violations, []);
});

test('§6: a change is refused until the leader has committed an entry of its term', () => {
  const net = new TestNetwork({ voters: 3 });
  net.filter = (m) => m.type !== 'append';
  net.elect(1);
  assert.equal(net.engine(1).status().role, 'leader');
  const r = net.engine(1).proposeConfigChange({ ops: [{ type: 'remove', node: nodeId(3) }], context: ctx });
  assert.deepEqual(r, { type: 'rejected', reason: 'config-change-pending', leader: nodeId(1) });
});

test('§6: a change is refused until the previous one is committed and applied', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  const e = net.engine(1);
  assert.equal(e.proposeConfigChange({ ops: [{ type: 'add-learner', node: nodeId(4) }], context: ctx }).type, 'accepted');
  assert.deepEqual(e.proposeConfigChange({ ops: [{ type: 'add-learner', node: nodeId(5) }], context: ctx }), {
    type: 'rejected',
    reason: 'config-change-pending',
    leader: nodeId(1),
  });
  net.stabilize();
  net.tick(1);
  net.stabilize();
  assert.equal(e.proposeConfigChange({ ops: [{ type: 'add-learner', node: nodeId(5) }], context: ctx }).type, 'accepted');
});

test('§6: changes that cannot be are refused: removing every voter, a no-op, leaving without a joint configuration', () => {
  const net = new TestNetwork({ voters: 1 });
  net.elect(1);
  const e = net.engine(1);
  const refused = (c: ConfigChange): void => assert.deepEqual(e.proposeConfigChange(c), { type: 'rejected', reason: 'invalid-config-change', leader: nodeId(1) });
  refused({ ops: [{ type: 'remove', node: nodeId(1) }], context: ctx });
  refused({ ops: [{ type: 'add-voter', node: nodeId(1) }], context: ctx });
  refused({ ops: [{ type: 'remove', node: nodeId(7) }], context: ctx });
  refused({ ops: [], context: ctx });
});

test('§6 (dissertation §4.2.2): a leader removed from the configuration steps down once the change is committed; the rest elect a leader', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  change(net, 1, { ops: [{ type: 'remove', node: nodeId(1) }], context: ctx });
  assert.notEqual(net.engine(1).status().role, 'leader');
  assert.deepEqual(net.engine(2).status().config.voters, ids(2, 3));
  for (let i = 0; i < 100; i++) net.tick(1);
  assert.equal(net.engine(1).status().role, 'follower', 'a removed member does not campaign');
  for (let i = 0; i < 100 && net.leader() === null; i++) {
    net.tickAll();
    net.stabilize();
  }
  const leader = net.leader();
  assert.ok(leader !== null && leader.id !== nodeId(1));
  net.propose(leader.id, 'after');
  net.stabilize();
  assert.deepEqual(net.node(3).sm.values(), ['after']);
  assert.deepEqual(net.violations, []);
});

test('§6 joint consensus: a multi-member change passes through C_old,new, where both majorities must agree, and the leader leaves it by itself', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (const n of [4, 5]) net.addNode(nodeId(n), EMPTY);
  const r = net.engine(1).proposeConfigChange({
    ops: [
      { type: 'add-voter', node: nodeId(4) },
      { type: 'add-voter', node: nodeId(5) },
      { type: 'remove', node: nodeId(3) },
    ],
    context: ctx,
  });
  assert.equal(r.type, 'accepted');
  // Commit the joint entry with 4 and 5 cut off from the leader, so the auto-leave stalls.
  net.cut(1, 4);
  net.cut(1, 5);
  net.processReady(nodeId(1));
  net.stabilize();
  const joint = net.engine(1).status().config;
  assert.deepEqual(joint.voters, ids(1, 2, 4, 5));
  assert.deepEqual(joint.votersOutgoing, ids(1, 2, 3));
  assert.ok(joint.autoLeave);
  // The old majority {1,2,3} alone cannot commit in C_old,new: the new one {1,2,4,5} must agree.
  const c = net.engine(1).status().commitIndex;
  net.propose(1, 'joint');
  net.tick(1);
  net.stabilize();
  assert.equal(net.engine(1).status().commitIndex, c);
  net.heal();
  for (let i = 0; i < 3; i++) {
    net.tick(1);
    net.stabilize();
  }
  const final = net.engine(1).status().config;
  assert.deepEqual(final.voters, ids(1, 2, 4, 5));
  assert.deepEqual(final.votersOutgoing, []);
  assert.deepEqual(net.node(5).sm.values(), ['joint']);
  assert.deepEqual(net.engine(5).status().config, final);
  assert.deepEqual(net.violations, []);
});

test('§6 joint consensus with joint: true stays joint until asked to leave; a demoted voter becomes a learner on leaving', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  change(net, 1, { ops: [{ type: 'add-learner', node: nodeId(3) }], joint: true, context: ctx });
  const joint = net.engine(2).status().config;
  assert.deepEqual(joint.voters, ids(1, 2));
  assert.deepEqual(joint.votersOutgoing, ids(1, 2, 3));
  assert.deepEqual(joint.learnersNext, ids(3));
  assert.equal(joint.autoLeave, false);
  change(net, 1, { ops: [], context: ctx });
  const left = net.engine(3).status().config;
  assert.deepEqual(left.voters, ids(1, 2));
  assert.deepEqual(left.learners, ids(3));
  assert.equal(net.engine(3).status().role, 'learner');
});

test('disruptive removed servers (dissertation §4.2.3): a member removed while partitioned cannot depose the leader', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, preVote: false }) });
  net.elect(1);
  net.isolate(3);
  change(net, 1, { ops: [{ type: 'remove', node: nodeId(3) }], context: ctx });
  const t = net.engine(1).status().term;
  for (let i = 0; i < 60; i++) net.tick(3); // never learned of its removal: campaigns on
  assert.ok(net.engine(3).status().term > t);
  net.heal();
  for (let i = 0; i < 30; i++) {
    net.tick(3);
    net.tick(1);
    net.deliver();
  }
  assert.equal(net.engine(1).status().role, 'leader');
  assert.equal(net.engine(1).status().term, t);
  assert.ok((net.engine(2).stats().dropped['vote-in-lease'] ?? 0) > 0, 'its vote requests were ignored');
});
