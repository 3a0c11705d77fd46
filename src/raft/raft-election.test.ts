/** Leader election: Raft §5.2, §5.4.1, pre-vote (dissertation §9.6), check-quorum, disruptive servers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, term } from '../core/ids.js';
import { SeededRandom } from '../env/random.js';
import type { DurableState } from '../consensus/types.js';
import { defaultRaftConfig, type RaftConfig } from './config.js';
import { decodeHardState } from './hard-state.js';
import type { RaftMessage } from './messages.js';
import { RaftEngine } from './raft-engine.js';
import { nodeId, TestNetwork } from './test-network.js';

const classic = (c: RaftConfig): RaftConfig => ({ ...c, preVote: false, checkQuorum: false });
const n1 = nodeId(1);
const n2 = nodeId(2);
const n3 = nodeId(3);

function fresh(config: Partial<RaftConfig> = {}, seed = 1): RaftEngine {
  const durable: DurableState = {
    hardState: null,
    snapshot: null,
    entries: [],
    initialConfig: { voters: [n1, n2, n3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
    repairUntil: null,
  };
  return new RaftEngine({ ...defaultRaftConfig(n1), ...config }, durable, new SeededRandom(seed));
}

test('§5.2: after an election timeout without a leader a follower becomes candidate, votes for itself and asks every voter once its vote is durable', () => {
  const e = fresh({ preVote: false });
  for (let i = 0; i < 20 && e.status().role === 'follower'; i++) e.tick();
  assert.equal(e.status().role, 'candidate');
  assert.equal(e.status().term, 1);
  const rd = e.ready();
  assert.ok(rd.hardState !== null);
  assert.deepEqual(decodeHardState(rd.hardState), { term: 1, vote: n1, commit: 0 });
  assert.equal(rd.sendBeforePersist.length, 0, 'vote requests wait for the durable vote');
  assert.deepEqual(
    rd.messages.map((m) => [m.type, m.to, m.term]),
    [
      ['voteRequest', n2, 1],
      ['voteRequest', n3, 1],
    ],
  );
});

test('§5.2: election timeouts are drawn from [electionTicks, 2·electionTicks)', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) {
    const e = fresh({ preVote: false, electionTicks: 10 }, seed);
    let ticks = 0;
    while (e.status().role === 'follower') {
      e.tick();
      ticks++;
    }
    assert.ok(ticks >= 10 && ticks < 20, `timeout of ${ticks} ticks`);
    seen.add(ticks);
  }
  assert.ok(seen.size >= 8, `timeouts are spread out (${[...seen].sort().join(',')})`);
});

test('§5.2: a candidate that wins a majority becomes leader and asserts itself with an append', () => {
  const net = new TestNetwork({ voters: 3, configure: classic });
  net.elect(1);
  assert.equal(net.engine(1).status().role, 'leader');
  for (const id of [2, 3]) assert.equal(net.engine(id).status().leader, n1);
  assert.deepEqual(net.violations, []);
});

test('§5.2: each server votes for at most one candidate in a term, first come first served', () => {
  const e = fresh({ preVote: false, checkQuorum: false });
  const ask = (from: typeof n2): RaftMessage => ({ type: 'voteRequest', from, to: n1, term: term(5), preVote: false, transfer: false, lastIndex: logIndex(0), lastTerm: term(0) });
  e.step(ask(n2));
  e.step(ask(n3));
  e.step(ask(n2));
  const votes = e.ready().messages.filter((m) => m.type === 'voteResponse');
  assert.deepEqual(
    votes.map((m) => [m.to, m.type === 'voteResponse' && m.granted]),
    [
      [n2, true],
      [n3, false],
      [n2, true],
    ],
  );
});

test('§5.2: a candidate that hears from a leader of its term returns to follower', () => {
  const net = new TestNetwork({ voters: 3, configure: classic });
  // 1 and 2 campaign in term 1; 3 hears only from 1 and elects it.
  net.campaign(1);
  net.campaign(2);
  net.cut(2, 3);
  assert.equal(net.engine(2).status().role, 'candidate');
  net.deliver();
  assert.equal(net.engine(1).status().role, 'leader');
  assert.equal(net.engine(1).status().term, 1);
  assert.equal(net.engine(2).status().role, 'follower', "the leader's append sent 2 back");
  assert.equal(net.engine(2).status().term, 1);
  assert.equal(net.engine(2).status().leader, n1);
  assert.deepEqual(net.violations, []);
});

test('§5.2: a split vote times out and a new election in a higher term decides', () => {
  const net = new TestNetwork({ voters: 4, configure: classic });
  // 1 and 2 campaign at once; 3 votes for 1 and 4 for 2: nobody has three votes.
  net.campaign(1);
  net.campaign(2);
  net.cut(1, 4);
  net.cut(2, 3);
  net.deliver();
  assert.equal(net.leader(), null);
  const t = net.engine(1).status().term;
  net.heal();
  net.elect(1);
  assert.ok(net.engine(1).status().term > t);
  assert.deepEqual(net.violations, []);
});

test('§5.4.1: a voter denies its vote to a candidate whose log is less up-to-date', () => {
  const net = new TestNetwork({ voters: 3, configure: classic });
  net.elect(1);
  net.isolate(3);
  net.propose(1, 'a');
  net.stabilize();
  net.isolate(1);
  net.heal();
  net.isolate(1);
  // 3 missed entry 2; 2 has it and must refuse 3.
  net.campaign(3);
  const results = net.deliver().filter((d) => d.msg.type === 'voteResponse');
  assert.ok(results.some((d) => d.msg.type === 'voteResponse' && d.msg.from === n2 && !d.msg.granted));
  assert.notEqual(net.engine(3).status().role, 'leader');
  net.elect(2);
  assert.deepEqual(net.node(2).sm.values(), ['a']);
  assert.deepEqual(net.violations, []);
});

test('pre-vote (dissertation §9.6): a partitioned member does not raise its term, and rejoining does not disrupt the leader', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  const t = net.engine(1).status().term;
  net.isolate(3);
  for (let i = 0; i < 100; i++) net.tick(3);
  assert.equal(net.engine(3).status().term, t, 'pre-votes that fail leave the term alone');
  assert.equal(net.engine(3).status().role, 'pre-candidate');
  net.heal();
  net.dropAll();
  net.tickAll(3);
  net.stabilize();
  assert.equal(net.engine(1).status().role, 'leader');
  assert.equal(net.engine(1).status().term, t);
  assert.equal(net.engine(3).status().leader, n1);
});

test('without pre-vote a rejoining partitioned member forces a new election (the disruption pre-vote prevents)', () => {
  const net = new TestNetwork({ voters: 3, configure: classic });
  net.elect(1);
  const t = net.engine(1).status().term;
  net.isolate(3);
  for (let i = 0; i < 60; i++) net.tick(3);
  assert.ok(net.engine(3).status().term > t + 1);
  net.heal();
  net.dropAll();
  net.tickAll(2);
  net.stabilize();
  assert.ok(net.engine(1).status().term > t, 'the leader saw the higher term');
});

test('check-quorum: a leader that hears from no quorum for an election timeout steps down', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, electionTicks: 10 }) });
  net.elect(1);
  net.isolate(1);
  for (let i = 0; i < 25; i++) net.tick(1);
  assert.equal(net.engine(1).status().role, 'follower');
  assert.equal(net.engine(1).status().leader, null);
});

test('check-quorum: a leader that hears from its quorum stays', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 50; i++) {
    net.tick(1);
    net.deliver();
  }
  assert.equal(net.engine(1).status().role, 'leader');
});

test('disruptive servers (dissertation §4.2.3): members that heard from the leader recently ignore vote requests, even without pre-vote', () => {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, preVote: false, checkQuorum: true }) });
  net.elect(1);
  const t = net.engine(1).status().term;
  net.isolate(3);
  for (let i = 0; i < 40; i++) net.tick(3);
  net.heal();
  net.dropAll();
  net.tick(3, 30);
  const answers = net.deliver();
  assert.ok(answers.some((d) => d.msg.type === 'voteRequest' && d.outcome === 'vote-in-lease'));
  assert.equal(net.engine(1).status().role, 'leader');
  assert.equal(net.engine(2).status().term, t);
});

test('learners never campaign', () => {
  const net = new TestNetwork({ voters: 1, learners: 1 });
  net.elect(1);
  net.isolate(2);
  for (let i = 0; i < 100; i++) net.tick(2);
  assert.equal(net.engine(2).status().role, 'learner');
  assert.equal(net.engine(2).status().term, net.engine(1).status().term);
});

test('a learner promoted in a configuration it has not applied yet votes when asked (else the new configuration could never elect)', () => {
  const net = new TestNetwork({ voters: 1, learners: 1 });
  net.elect(1);
  net.isolate(2);
  // Voters {1} commit the promotion of 2 alone; 2 never hears of it.
  assert.equal(net.engine(1).proposeConfigChange({ ops: [{ type: 'add-voter', node: n2 }], context: new Uint8Array(0) }).type, 'accepted');
  net.processReady(n1);
  assert.deepEqual(net.engine(1).status().config.voters, [n1, n2]);
  assert.equal(net.engine(2).status().role, 'learner');
  // 1 restarts: it needs 2's vote, and 2 still believes it is a learner.
  net.crash(1);
  net.restart(1);
  net.heal();
  for (let i = 0; i < 100 && net.engine(1).status().role !== 'leader'; i++) {
    net.tickAll();
    net.stabilize();
  }
  assert.equal(net.engine(1).status().role, 'leader');
  net.tick(1);
  net.stabilize();
  assert.equal(net.engine(2).status().role, 'follower', 'and then learns of its promotion');
  assert.deepEqual(net.violations, []);
});

test('Protocol-Aware Recovery: a member whose log lost committed entries neither votes nor campaigns until it catches up', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (const v of ['a', 'b', 'c']) net.propose(1, v);
  net.stabilize();
  // Member 3's disk loses entries 3 and 4; recovery drops them and remembers the log reached 4.
  net.crash(3);
  const s = net.node(3).storage;
  s.entries = s.entries.filter((e) => e.index <= 2);
  s.repairUntil = 4;
  net.restart(3);
  net.isolate(1);
  net.isolate(3);
  for (let i = 0; i < 100; i++) net.tick(3);
  assert.equal(net.engine(3).status().role, 'follower', 'a repairing member does not campaign');
  net.heal();
  net.isolate(1);
  net.campaign(2);
  const votes = net.deliver().filter((d) => d.msg.type === 'voteResponse' && d.msg.from === n3);
  assert.ok(votes.every((d) => d.msg.type === 'voteResponse' && !d.msg.granted), 'nor votes');
  net.heal();
  net.elect(1);
  // A heartbeat shows the leader that 3 no longer holds what it acknowledged; it backs up.
  net.tick(1);
  net.stabilize();
  assert.equal(net.engine(3).status().lastIndex, net.engine(1).status().lastIndex);
  // Caught up: member 3 takes part in elections again.
  net.isolate(1);
  net.campaign(3);
  assert.equal(net.engine(3).status().role, 'pre-candidate');
  assert.deepEqual(net.violations, []);
});

test('Protocol-Aware Recovery: after a damaged recovery a member applies only what a leader confirms, never a stale tail', () => {
  // Recovery after heavy disk damage can return an older version of the log's tail (entries a later
  // leader replaced) next to a newer hard state. The recorded commit index must not be trusted then.
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (const v of ['a', 'b']) net.propose(1, v);
  net.stabilize();
  // A new term: member 1 is cut off until one of the others leads.
  net.isolate(1);
  let leader = null;
  for (let i = 0; i < 200 && leader === null; i++) {
    net.tickAll();
    net.stabilize();
    leader = [2, 3].find((n) => net.engine(n).status().role === 'leader') ?? null;
  }
  assert.ok(leader !== null, 'a new leader in a new term');
  const damaged = leader === 2 ? 3 : 2;
  net.heal();
  net.propose(leader, 'c');
  net.stabilize();
  net.crash(damaged);
  const s = net.node(damaged).storage;
  // Replace the new term's entries with entries of the old term the new leader overwrote.
  const last = s.entries[s.entries.length - 1]!;
  const firstNew = s.entries.findIndex((e) => e.term === last.term);
  assert.ok(firstNew > 0, 'the log holds entries of two terms');
  const oldTerm = s.entries[firstNew - 1]!.term;
  const stale = s.entries.slice(firstNew).map((e) => ({ ...e, term: oldTerm, kind: 'normal' as const, data: new TextEncoder().encode('stale') }));
  s.entries = [...s.entries.slice(0, firstNew), ...stale];
  s.repairUntil = last.index;
  net.restart(damaged);
  net.tick(leader);
  net.stabilize();
  assert.deepEqual(net.violations, [], 'no stale entry applied');
  assert.deepEqual(net.node(damaged).sm.values(), net.node(leader).sm.values());
  // Repaired once the leader confirmed its log up to where it once reached: it votes again.
  net.isolate(leader);
  net.campaign(damaged);
  assert.equal(net.engine(damaged).status().role, 'pre-candidate');
});
