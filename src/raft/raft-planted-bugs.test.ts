/**
 * The test-only planted bugs do what they say: each breaks the property it is meant to break, in a
 * scenario the correct engine handles. (commit-earlier-term-by-count: see Figure 8 in
 * raft-replication.test.ts.) The simulator's checkers are meant to find them on their own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PlantedBug, RaftConfig } from './config.js';
import { nodeId, TestNetwork } from './test-network.js';

const withBug =
  (bug: PlantedBug | null) =>
  (c: RaftConfig): RaftConfig => ({ ...c, preVote: false, checkQuorum: false, ...(bug === null ? {} : { plantedBug: bug }) });

/** 1 and 2 campaign in the same term; 3 grants 1, crashes before its vote is durable, restarts, grants 2. */
function doubleVote(bug: PlantedBug | null): TestNetwork {
  const net = new TestNetwork({ voters: 3, configure: withBug(bug) });
  net.campaign(1);
  net.campaign(2);
  assert.equal(net.engine(1).status().term, net.engine(2).status().term);
  const n3 = nodeId(3);
  // 3 steps 1's request and hands out its Ready, but crashes before persisting it.
  const req1 = net.queue.find((m) => m.type === 'voteRequest' && m.from === nodeId(1) && m.to === n3)!;
  const req2 = net.queue.find((m) => m.type === 'voteRequest' && m.from === nodeId(2) && m.to === n3)!;
  net.queue = net.queue.filter((m) => m !== req1 && m !== req2 && m.to !== n3);
  net.engine(3).step(req1);
  net.beginReady(n3);
  net.crash(3);
  net.restart(3);
  net.deliverOne(req2);
  net.deliver();
  return net;
}

test('planted bug vote-without-persist: a crash lets a member vote twice in a term (two leaders); the correct engine votes once', () => {
  const good = doubleVote(null);
  assert.deepEqual(good.violations, []);
  const bad = doubleVote('vote-without-persist');
  assert.ok(bad.violations.some((v) => v.startsWith('election safety')), bad.violations.join('; '));
});

/** Old leader 1 is cut off; 2 and 3 elect 2 and commit a write; a client reads at 1. */
function staleRead(bug: PlantedBug | null): { readIndex: number | null; committed: number } {
  const net = new TestNetwork({ voters: 3, configure: withBug(bug) });
  net.elect(1);
  net.isolate(1);
  net.elect(2);
  net.propose(2, 'new');
  net.stabilize();
  net.engine(1).readIndex(1);
  for (let i = 0; i < 5; i++) {
    net.tick(1);
    net.deliver();
  }
  const rs = net.node(1).readStates[0];
  return { readIndex: rs === undefined ? null : rs.index, committed: net.engine(2).status().commitIndex };
}

test('planted bug stale-read-without-quorum: a deposed leader answers a read behind a committed write; the correct one does not answer', () => {
  assert.equal(staleRead(null).readIndex, null);
  const bad = staleRead('stale-read-without-quorum');
  assert.ok(bad.readIndex !== null && bad.readIndex < bad.committed, `read at ${bad.readIndex}, committed ${bad.committed}`);
});

/** 3 misses committed entries; 1 goes away; 3 campaigns and asks 2. */
function staleCandidate(bug: PlantedBug | null): TestNetwork {
  const net = new TestNetwork({ voters: 3, configure: withBug(bug) });
  net.elect(1);
  net.isolate(3);
  for (const v of ['a', 'b']) net.propose(1, v);
  net.stabilize();
  net.heal();
  net.crash(1);
  for (let i = 0; i < 50 && net.leader()?.id !== nodeId(3) && net.engine(2).status().role !== 'leader'; i++) {
    net.tick(3);
    net.stabilize();
  }
  if (net.engine(3).status().role === 'leader') {
    net.propose(3, 'overwrite');
    net.tick(3);
    net.stabilize();
  }
  return net;
}

test('planted bug skip-up-to-date-check: a candidate with a stale log wins and committed entries are lost; the correct engine refuses it (§5.4.1)', () => {
  const good = staleCandidate(null);
  assert.notEqual(good.engine(3).status().role, 'leader');
  assert.deepEqual(good.violations, []);
  const bad = staleCandidate('skip-up-to-date-check');
  assert.equal(bad.engine(3).status().role, 'leader');
  assert.ok(bad.violations.some((v) => v.startsWith('leader completeness')), bad.violations.join('; '));
});

/**
 * 1 leads term 1, is cut off and appends 'x1', 'x2' alone; 2 leads term 2 with 3 and commits 'y'
 * at x2's index; then 2 is cut off and 3 leads term 3 with 1's vote. 3 probes 1 at 'y': 1 holds
 * 'x2' there, of another term.
 */
function divergentFollower(bug: PlantedBug | null): TestNetwork {
  const net = new TestNetwork({ voters: 3, configure: withBug(bug) });
  net.elect(1);
  net.propose(1, 'a');
  net.stabilize();
  net.isolate(1);
  for (const v of ['x1', 'x2']) net.propose(1, v);
  net.stabilize();
  net.elect(2);
  net.propose(2, 'y');
  net.stabilize();
  net.heal();
  net.isolate(2);
  net.elect(3);
  net.propose(3, 'z');
  net.stabilize();
  net.checkLogMatching();
  return net;
}

test('planted bug skip-prev-term-check: a follower keeps a stale entry under newer ones (log matching, §5.3); the correct engine replaces it', () => {
  const good = divergentFollower(null);
  assert.deepEqual(good.violations, []);
  assert.deepEqual(good.node(1).sm.values(), good.node(3).sm.values());
  assert.ok(!good.node(1).sm.values().includes('x2'), 'the stale entry is replaced');
  const bad = divergentFollower('skip-prev-term-check');
  assert.ok(bad.violations.some((v) => v.startsWith('log matching')), bad.violations.join('; '));
});
