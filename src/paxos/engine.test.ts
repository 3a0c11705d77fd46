/**
 * The Multi-Paxos engine, rule by rule. Each test cites the sentence it checks:
 * - PMS: Lamport, "Paxos Made Simple" (2001);
 * - PMMC: van Renesse & Altinbuken, "Paxos Made Moderately Complex" (ACM CSUR 2015);
 * - FPaxos: Howard, Malkhi & Spiegelman, "Flexible Paxos" (2016).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../core/bytes.js';
import { type NodeId, logIndex, term } from '../core/ids.js';
import { LOG_RESET_RETAINED_BYTES_MAX, PAXOS_ALPHA_SLOTS, PAXOS_COMMIT_PERSIST_STRIDE_SLOTS } from '../core/limits.js';
import { SeededRandom } from '../env/random.js';
import type { DurableState, Entry, Ready } from '../consensus/types.js';
import { type Ballot, NO_BALLOT, ballotRound, makeBallot } from './ballot.js';
import { decodeHardState, encodeConfigChange, encodeHardState } from './codec.js';
import { type PaxosConfig, defaultPaxosConfig, quorumSizes } from './config.js';
import { PaxosEngine } from './engine.js';
import { PaxosError } from './errors.js';
import { simpleConfig } from './membership.js';
import type { AcceptMessage, PaxosMessage, PromiseMessage } from './messages.js';
import { PaxosTestNetwork, memberId } from './test-network.js';

const n1 = memberId(1);
const n2 = memberId(2);
const n3 = memberId(3);
const voters3 = [n1, n2, n3];

function durable(voters: readonly NodeId[], extra: Partial<DurableState> = {}): DurableState {
  return { hardState: null, snapshot: null, entries: [], initialConfig: simpleConfig(voters), repairUntil: null, ...extra };
}

function engine(id: NodeId, d: DurableState = durable(voters3), cfg: Partial<PaxosConfig> = {}): PaxosEngine {
  return new PaxosEngine({ ...defaultPaxosConfig(id), ...cfg, id }, d, new SeededRandom(7));
}

/** Carries out one Ready with nothing but bookkeeping; returns it. */
function drain(e: PaxosEngine): Ready<PaxosMessage> {
  const rd = e.ready();
  e.advance(rd);
  return rd;
}

function entry(index: number, ballot: Ballot, text: string): Entry {
  return { index: logIndex(index), term: ballot, kind: 'normal', data: utf8(text) };
}

function accept(from: NodeId, to: NodeId, ballot: Ballot, entries: Entry[], commit = 0): AcceptMessage {
  return { type: 'accept', from, to, ballot, entries, commit };
}

function text(e: { data: Uint8Array }): string {
  return new TextDecoder().decode(e.data);
}

// ---------------------------------------------------------------------------------------------
// Acceptors.

test('PMS P1a: an acceptor accepts ballot n unless it promised a ballot greater than n', () => {
  const a = engine(n2);
  const low = makeBallot(1, n1);
  const high = makeBallot(2, n3);
  assert.equal(a.step({ type: 'prepare', from: n3, to: n2, ballot: high, fromSlot: 1, transfer: false }).type, 'ok');
  drain(a);
  a.step(accept(n1, n2, low, [entry(1, low, 'x')]));
  const rd = drain(a);
  assert.deepEqual(rd.entries, [], 'nothing accepted below the promise');
  const nack = rd.sendBeforePersist.find((m) => m.type === 'nack');
  assert.ok(nack !== undefined && nack.type === 'nack' && nack.promised === high, 'the proposer learns the higher ballot');
  a.step(accept(n3, n2, high, [entry(1, high, 'y')]));
  assert.deepEqual(drain(a).entries.map(text), ['y'], 'accepted at the promised ballot');
});

test('ballot numbers are owned: an acceptor never grants one number to two members', () => {
  const a = engine(n2);
  const b = makeBallot(5, n1);
  a.step({ type: 'prepare', from: n1, to: n2, ballot: b, fromSlot: 1, transfer: false });
  drain(a);
  // A forged accept claiming n1's ballot from n3 is dropped as malformed (the ordinal belongs to n1).
  assert.equal(a.step(accept(n3, n2, b, [entry(1, b, 'x')])).type, 'dropped');
});

test('PMS "an acceptor must remember its promise across a crash": the promise is in the hard state and the Promise goes after it', () => {
  const a = engine(n2);
  const b = makeBallot(3, n1);
  a.step({ type: 'prepare', from: n1, to: n2, ballot: b, fromSlot: 1, transfer: false });
  const rd = drain(a);
  assert.ok(rd.hardState !== null, 'the promise is persisted');
  assert.equal(decodeHardState(rd.hardState).promised.ballot, b);
  assert.equal(rd.sendBeforePersist.filter((m) => m.type === 'promise').length, 0, 'no Promise before the fsync');
  assert.equal(rd.messages.filter((m) => m.type === 'promise').length, 1, 'the Promise goes after the fsync');
  // Restart from what was durable: a lower ballot is still refused.
  const again = engine(n2, durable(voters3, { hardState: rd.hardState }));
  const lower = makeBallot(2, n3);
  again.step(accept(n3, n2, lower, [entry(1, lower, 'late')]));
  assert.deepEqual(drain(again).entries, []);
});

test('planted bug forget-promise-on-restart: the Promise goes before the fsync and the hard state omits it', () => {
  const a = engine(n2, durable(voters3), { plantedBug: 'forget-promise-on-restart' });
  const b = makeBallot(3, n1);
  a.step({ type: 'prepare', from: n1, to: n2, ballot: b, fromSlot: 1, transfer: false });
  const rd = drain(a);
  assert.equal(rd.sendBeforePersist.filter((m) => m.type === 'promise').length, 1);
  assert.equal(decodeHardState(rd.hardState!).promised.ballot, 0);
  const again = engine(n2, durable(voters3, { hardState: rd.hardState }), { plantedBug: 'forget-promise-on-restart' });
  const lower = makeBallot(2, n3);
  again.step(accept(n3, n2, lower, [entry(1, lower, 'late')]));
  assert.deepEqual(drain(again).entries.map(text), ['late'], 'the forgetful acceptor accepts below its old promise');
});

test('PMS phase 1b: a Promise reports every accepted (slot, ballot, value) from fromSlot on', () => {
  const b1 = makeBallot(1, n1);
  const a = engine(n2, durable(voters3, { entries: [entry(1, b1, 'a'), entry(2, b1, 'b'), entry(4, b1, 'd')] }));
  const b2 = makeBallot(2, n3);
  a.step({ type: 'prepare', from: n3, to: n2, ballot: b2, fromSlot: 2, transfer: false });
  const p = drain(a).messages.find((m): m is PromiseMessage & PaxosMessage => m.type === 'promise');
  assert.ok(p !== undefined);
  assert.deepEqual(p.entries.map((e) => [e.index, text(e)]), [[2, 'b'], [4, 'd']]);
  assert.equal(p.complete, true);
  assert.equal(p.throughSlot, 4);
});

test('PMMC: accepted values are persisted slot by slot (entriesReplaceSuffix is false)', () => {
  const a = engine(n2);
  const b = makeBallot(1, n1);
  a.step(accept(n1, n2, b, [entry(5, b, 'e')]));
  const rd = drain(a);
  assert.equal(rd.entriesReplaceSuffix, false);
  assert.equal(rd.messages.filter((m) => m.type === 'accepted').length, 1, 'Accepted only after the value is durable');
  assert.equal(rd.sendBeforePersist.filter((m) => m.type === 'accepted').length, 0);
});

// ---------------------------------------------------------------------------------------------
// Leader takeover.

/** Makes `c` campaign (by ticking past its election timeout) and returns its ballot and prepares. */
function campaign(c: PaxosEngine): { ballot: Ballot; rd: Ready<PaxosMessage> } {
  for (let i = 0; i < 100 && c.status().role !== 'candidate'; i++) c.tick();
  assert.equal(c.status().role, 'candidate');
  return { ballot: c.status().term, rd: drain(c) };
}

function promise(from: NodeId, to: NodeId, ballot: Ballot, fromSlot: number, entries: Entry[]): PromiseMessage {
  const through = Math.max(fromSlot - 1, ...entries.map((e) => e.index));
  return { type: 'promise', from, to, ballot, fromSlot, entries, throughSlot: through, complete: true, compactedThrough: 0, commit: 0 };
}

test('PMS P2c: a new leader re-proposes the highest-ballot value reported in each slot, and no-ops in the gaps', () => {
  const c = engine(n3, durable([n1, n2, n3, memberId(4), memberId(5)]));
  const { ballot } = campaign(c);
  const lowB = makeBallot(1, n1);
  const highB = makeBallot(1, n2);
  assert.ok(highB > lowB || lowB > highB);
  const [lo, hi] = lowB < highB ? [lowB, highB] : [highB, lowB];
  c.step(promise(n1, n3, ballot, 1, [entry(1, lo, 'old'), entry(3, lo, 'three')]));
  c.step(promise(n2, n3, ballot, 1, [entry(1, hi, 'newer')]));
  assert.equal(c.status().role, 'leader');
  const rd = drain(c);
  const mine = rd.entries.map((e) => [e.index, e.kind, text(e), e.term === ballot]);
  assert.deepEqual(mine, [
    [1, 'normal', 'newer', true],
    [2, 'empty', '', true],
    [3, 'normal', 'three', true],
  ]);
});

test('planted bug skip-phase1-on-takeover: the new leader ignores what phase 1 reported', () => {
  const c = engine(n3, durable(voters3), { plantedBug: 'skip-phase1-on-takeover' });
  const { ballot } = campaign(c);
  c.step(promise(n1, n3, ballot, 1, [entry(1, makeBallot(1, n1), 'chosen')]));
  assert.equal(c.status().role, 'leader');
  const rd = drain(c);
  assert.deepEqual(rd.entries, [], 'slot 1 is left open for a new value');
  assert.deepEqual(c.propose(utf8('overwrites')), { type: 'accepted', index: 1, term: ballot });
});

test('PMS §3: a value chosen by a crashed leader is recovered and executed by the next one', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 3 });
  const l1 = net.electLeader();
  const [a, b] = net.ids.filter((id) => id !== l1) as [NodeId, NodeId];
  net.engine(l1).propose(utf8('survives'));
  net.process(l1);
  // Only `a` hears the accept; the leader crashes before anyone learns the value is chosen.
  net.drop((m) => m.type === 'accept' && m.to === b);
  net.stabilize();
  net.crash(l1);
  net.runUntil(() => net.leader() !== null && net.commands(b).includes('survives') && net.commands(a).includes('survives'));
  assert.deepEqual(net.commands(a), net.commands(b));
  assert.equal(net.chosenConflict(), null);
});

test('PMMC: leader change mid-pipeline keeps every acknowledged command, in one order everywhere', () => {
  const net = new PaxosTestNetwork({ members: 5, seed: 11 });
  const l1 = net.electLeader();
  for (let i = 0; i < 40; i++) net.engine(l1).propose(utf8(`c${i}`));
  net.process(l1);
  // Deliver about half of the pipeline, then the leader dies.
  for (let i = 0; i < 60 && net.queue.length > 0; i++) net.deliverAt(net.random.int(net.queue.length));
  const acknowledged = net.commands(l1);
  net.crash(l1);
  net.runUntil(() => net.leader() !== null);
  const l2 = net.leader()!;
  net.engine(l2).propose(utf8('after'));
  net.runUntil(() => net.ids.filter((id) => id !== l1).every((id) => net.commands(id).includes('after')));
  for (const id of net.ids.filter((x) => x !== l1)) {
    const cmds = net.commands(id);
    for (const c of acknowledged) assert.ok(cmds.includes(c), `${id} lost acknowledged ${c}`);
  }
  assert.equal(net.executedConflict(), null);
  assert.equal(net.chosenConflict(), null);
});

test('PMS §2.4 progress: duelling proposers settle on one leader thanks to randomized back-off', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const net = new PaxosTestNetwork({ members: 5, seed });
    const ticks = net.runUntil(() => net.leader() !== null, 300);
    assert.ok(ticks < 300, `seed ${seed}`);
    net.tickAll(30);
    net.stabilize();
    const leaders = net.ids.filter((id) => net.engine(id).status().role === 'leader');
    assert.equal(leaders.length, 1, `seed ${seed}: one stable leader`);
  }
});

test('a preempted candidate steps back on a nack with a higher ballot', () => {
  const c = engine(n1);
  const { ballot } = campaign(c);
  const higher = makeBallot(9, n2);
  c.step({ type: 'nack', from: n2, to: n1, ballot, promised: higher });
  assert.equal(c.status().role, 'follower');
  // Its next campaign goes above the ballot it saw.
  const next = campaign(c).ballot;
  assert.ok(next > higher);
});

// ---------------------------------------------------------------------------------------------
// Execution, catch-up, snapshots.

test('PMMC replica: execution is strictly in slot order, and a gap blocks it', () => {
  const f = engine(n2);
  const b = makeBallot(1, n1);
  f.step(accept(n1, n2, b, [entry(2, b, 'two'), entry(3, b, 'three')], 3));
  assert.deepEqual(drain(f).committed, [], 'slot 1 missing: nothing executes');
  f.step(accept(n1, n2, b, [entry(1, b, 'one')], 3));
  assert.deepEqual(drain(f).committed.map(text), ['one', 'two', 'three']);
});

test('a follower does not execute a value it accepted at an older ballot when the leader decided at its own', () => {
  const f = engine(n2);
  const old = makeBallot(1, n3);
  f.step(accept(n3, n2, old, [entry(1, old, 'stale')]));
  drain(f);
  const b = makeBallot(2, n1);
  f.step({ type: 'heartbeat', from: n1, to: n2, ballot: b, commit: 1, round: 1 });
  const rd = drain(f);
  assert.deepEqual(rd.committed, []);
  const ack = rd.messages.find((m) => m.type === 'heartbeat-ack');
  assert.ok(ack !== undefined && ack.type === 'heartbeat-ack' && ack.commit === 0 && ack.leaderCommit === 1, 'it tells the leader it lags');
  f.step({ type: 'decided', from: n1, to: n2, ballot: b, entries: [entry(1, b, 'chosen')], commit: 1, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  assert.deepEqual(drain(f).committed.map(text), ['chosen']);
});

test('catch-up: a member cut off while commands were decided learns them from the leader', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 5 });
  const l = net.electLeader();
  const lagging = net.ids.find((id) => id !== l)!;
  net.isolate(lagging);
  for (let i = 0; i < 30; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.commands(l).length === 30);
  net.heal();
  net.runUntil(() => net.commands(lagging).length === 30);
  assert.deepEqual(net.commands(lagging), net.commands(l));
});

test('snapshot transfer: a member behind the leader’s compacted log receives the snapshot, then the rest', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 8 });
  const l = net.electLeader();
  const lagging = net.ids.find((id) => id !== l)!;
  net.isolate(lagging);
  for (let i = 0; i < 20; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.commands(l).length === 20);
  const meta = net.snapshot(l);
  assert.ok(meta.index >= 20);
  for (let i = 20; i < 25; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.commands(l).length === 25);
  net.heal();
  net.runUntil(() => net.commands(lagging).length === 25);
  assert.deepEqual(net.commands(lagging), net.commands(l));
  assert.equal(net.member(lagging).store.snapshot?.meta.index, meta.index, 'the snapshot was installed');
  // After a restart the member rebuilds from the snapshot and its log.
  net.crash(lagging);
  net.restart(lagging);
  assert.deepEqual(net.commands(lagging), net.commands(l));
});

test('a member that does not lead serves its snapshot to a member that asks to catch up (no leader needed)', () => {
  // When every member that could lead is behind the others' compaction point, none can finish
  // phase 1 (PMMC: a leader must learn every earlier decision) until one catches up from a member
  // that compacted: decided values are true whoever sends them, so any member may serve them.
  const net = new PaxosTestNetwork({ members: 3, seed: 8 });
  const l = net.electLeader();
  const [f, lagging] = net.ids.filter((id) => id !== l) as [NodeId, NodeId];
  net.isolate(lagging);
  for (let i = 0; i < 20; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.commands(f).length === 20);
  const meta = net.snapshot(f);
  net.engine(l).propose(utf8('after'));
  net.runUntil(() => net.commands(f).length === 21);
  net.crash(l);
  net.heal();
  net.engine(f).step({ type: 'catchup', from: lagging, to: f, commit: net.engine(lagging).status().commitIndex });
  net.process(f);
  net.stabilize(); // no ticks: nobody campaigns, nobody leads
  assert.equal(net.engine(f).status().role, 'follower');
  assert.equal(net.member(lagging).store.snapshot?.meta.index, meta.index, 'the snapshot was installed');
  assert.deepEqual(net.commands(lagging), net.commands(f), 'and the decided values after it followed');
});

test('a restarted member re-executes its decided log up to the commit index in its hard state, then relearns the rest', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 9 });
  const l = net.electLeader();
  for (let i = 0; i < 100; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.ids.every((id) => net.commands(id).length === 100));
  const f = net.ids.find((id) => id !== l)!;
  net.crash(f);
  net.restart(f);
  // The commit index is written at least every PAXOS_COMMIT_PERSIST_STRIDE_SLOTS slots.
  assert.ok(net.commands(f).length >= 100 - PAXOS_COMMIT_PERSIST_STRIDE_SLOTS, `re-executed ${net.commands(f).length}`);
  net.runUntil(() => net.commands(f).length === 100, 50);
  assert.deepEqual(net.commands(f), net.commands(l));
});

// ---------------------------------------------------------------------------------------------
// Leadership.

test('check quorum: a leader cut off from its quorum steps down', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 2 });
  const l = net.electLeader();
  net.isolate(l);
  net.tickAll(25);
  assert.notEqual(net.engine(l).status().role, 'leader');
});

test('leader stickiness: a member that heard from a live leader promises no one else', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 4 });
  const l = net.electLeader();
  const [a, b] = net.ids.filter((id) => id !== l) as [NodeId, NodeId];
  net.cut(a, l);
  // `a` times out and campaigns; `b` still hears from the leader and ignores it.
  net.runUntil(() => net.engine(a).status().role === 'candidate', 200);
  net.tickAll(5);
  net.stabilize();
  assert.equal(net.leader(), l);
  assert.equal(net.engine(b).status().leader, l);
});

test('transferLeadership: the target starts phase 1 at once with a higher ballot', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 6 });
  const l = net.electLeader();
  const target = net.ids.find((id) => id !== l)!;
  const before = net.engine(l).status().term;
  assert.deepEqual(net.engine(l).transferLeadership(target), { type: 'started' });
  net.tickAll(1);
  net.stabilize();
  net.runUntil(() => net.leader() === target, 20);
  assert.ok(net.engine(target).status().term > before);
  assert.deepEqual(net.engine(l).transferLeadership(target), { type: 'rejected', reason: 'not-leader' });
});

test('proposals on a follower are forwarded to the leader', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 12 });
  const l = net.electLeader();
  net.tickAll(2);
  net.stabilize();
  const f = net.ids.find((id) => id !== l)!;
  assert.deepEqual(net.engine(f).propose(utf8('via follower')), { type: 'forwarded', to: l });
  net.runUntil(() => net.commands(l).includes('via follower'));
});

// ---------------------------------------------------------------------------------------------
// Reads.

test('read index: released after a phase-2 quorum confirms the ballot, at the highest issued slot', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 13 });
  const l = net.electLeader();
  net.engine(l).propose(utf8('w'));
  net.process(l);
  assert.deepEqual(net.engine(l).readIndex(77), { type: 'pending' });
  net.process(l);
  assert.equal(net.member(l).readStates.length, 0, 'not before the quorum answers');
  net.stabilize();
  const rs = net.member(l).readStates;
  assert.equal(rs.length, 1);
  assert.equal(rs[0]!.requestId, 77);
  assert.equal(rs[0]!.index, net.engine(l).status().lastIndex);
});

test('read index on a follower goes through the leader', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 14 });
  const l = net.electLeader();
  net.tickAll(2);
  net.stabilize();
  const f = net.ids.find((id) => id !== l)!;
  assert.deepEqual(net.engine(f).readIndex(5), { type: 'pending' });
  net.stabilize();
  assert.deepEqual(net.member(f).readStates.map((r) => r.requestId), [5]);
});

test('read index on an isolated leader is never released; it is dropped when the leader steps down', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 15 });
  const l = net.electLeader();
  net.isolate(l);
  net.engine(l).readIndex(9);
  net.tickAll(30);
  assert.equal(net.member(l).readStates.length, 0);
  assert.deepEqual(net.member(l).readsDropped, [9]);
});

test('lease reads (when enabled) are answered at once while a quorum acknowledged recently', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 16, config: { leaseReads: true } });
  const l = net.electLeader();
  net.tickAll(1);
  net.stabilize();
  net.engine(l).readIndex(1);
  net.process(l);
  assert.deepEqual(net.member(l).readStates.map((r) => r.requestId), [1], 'no round trip');
});

// ---------------------------------------------------------------------------------------------
// Reconfiguration and flexible quorums.

test('PMMC reconfiguration (α-window): a change decided in slot i governs slots from i + α on', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 17 });
  const l = net.electLeader();
  const n4 = memberId(4);
  net.addMember(n4, simpleConfig([]));
  const r = net.engine(l).proposeConfigChange({ ops: [{ type: 'add-voter', node: n4 }], context: utf8('n4') });
  assert.equal(r.type, 'accepted');
  const slot = r.type === 'accepted' ? r.index : 0;
  net.runUntil(() => net.engine(l).status().commitIndex >= slot + PAXOS_ALPHA_SLOTS - 1);
  const e = net.engine(l);
  assert.deepEqual(e.configAt(slot + PAXOS_ALPHA_SLOTS - 1).voters, voters3);
  assert.deepEqual(e.configAt(slot + PAXOS_ALPHA_SLOTS).voters, [n1, n2, n3, n4]);
  assert.deepEqual(e.status().config.voters, [n1, n2, n3, n4]);
  // The new member caught up and takes part: with two old members down, n4 makes the quorum.
  net.engine(l).propose(utf8('four'));
  net.runUntil(() => net.commands(n4).includes('four'));
  const down = net.ids.filter((id) => id !== l && id !== n4).slice(0, 1);
  for (const d of down) net.crash(d);
  net.engine(l).propose(utf8('with n4'));
  net.runUntil(() => net.commands(l).includes('with n4'));
});

test('one configuration change at a time; invalid changes are refused', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 18 });
  const l = net.electLeader();
  const e = net.engine(l);
  assert.equal(e.proposeConfigChange({ ops: [{ type: 'remove', node: memberId(9) }], context: new Uint8Array() }).type, 'rejected');
  assert.equal(e.proposeConfigChange({ ops: [{ type: 'add-learner', node: memberId(4) }], context: new Uint8Array() }).type, 'accepted');
  const second = e.proposeConfigChange({ ops: [{ type: 'add-learner', node: memberId(5) }], context: new Uint8Array() });
  assert.deepEqual(second, { type: 'rejected', reason: 'config-change-pending', leader: l });
});

test('learners receive decided values and never count toward a quorum', () => {
  const net = new PaxosTestNetwork({ members: 3, learners: 1, seed: 19 });
  const l = net.electLeader();
  const learner = memberId(4);
  assert.equal(net.engine(learner).status().role, 'learner');
  net.engine(l).propose(utf8('x'));
  net.runUntil(() => net.commands(learner).includes('x'));
  // With both other voters down, the learner's acceptance does not decide anything.
  for (const id of voters3) if (id !== l) net.crash(id);
  net.engine(l).propose(utf8('y'));
  net.tickAll(3);
  net.stabilize();
  assert.ok(!net.commands(l).includes('y'));
  assert.equal(net.engine(learner).status().role, 'learner', 'a learner never campaigns');
});

test('removing the leader: it steps down once the change is in force, and the rest elect a new one', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 20 });
  const l = net.electLeader();
  net.engine(l).proposeConfigChange({ ops: [{ type: 'remove', node: l }], context: new Uint8Array() });
  net.runUntil(() => net.leader() !== null && net.leader() !== l, 1000);
  const l2 = net.leader()!;
  net.engine(l2).propose(utf8('after removal'));
  net.runUntil(() => net.commands(l2).includes('after removal'));
  assert.equal(net.engine(l2).status().config.voters.includes(l), false);
});

test('FPaxos: quorum sizes must intersect (|Q1| + |Q2| > N), checked at start with a clear error', () => {
  assert.deepEqual(quorumSizes({}, 5), { phase1: 3, phase2: 3 });
  assert.deepEqual(quorumSizes({ phase2QuorumSize: 2 }, 5), { phase1: 4, phase2: 2 });
  assert.throws(() => quorumSizes({ phase1QuorumSize: 3, phase2QuorumSize: 2 }, 5), (e: unknown) => e instanceof PaxosError && e.code === 'invalid-quorums' && /intersect/.test(e.message));
  assert.throws(() => engine(n1, durable([n1, n2, n3, memberId(4), memberId(5)]), { phase1QuorumSize: 2, phase2QuorumSize: 2 }), PaxosError);
  assert.throws(() => quorumSizes({ phase2QuorumSize: 6 }, 5), PaxosError);
});

test('FPaxos: with |Q2| = 2 of 5, a leader and one acceptor decide; electing needs |Q1| = 4', () => {
  const net = new PaxosTestNetwork({ members: 5, seed: 21, config: { phase2QuorumSize: 2 } });
  const l = net.electLeader();
  const others = net.ids.filter((id) => id !== l);
  for (const id of others.slice(0, 3)) net.crash(id);
  net.engine(l).propose(utf8('two of five'));
  net.runUntil(() => net.commands(l).includes('two of five'));
  // Now the leader dies: the two left cannot reach |Q1| = 4.
  net.crash(l);
  net.tickAll(60);
  net.stabilize();
  assert.equal(net.leader(), null);
  net.restart(others[0]!);
  net.restart(others[1]!);
  net.tickAll(60);
  net.stabilize();
  assert.equal(net.leader(), null, 'three of five cannot elect with |Q1| = 4');
  net.restart(others[2]!);
  net.runUntil(() => net.leader() !== null, 500);
  assert.equal(net.chosenConflict(net.initialConfig.voters, 2), null);
});

// ---------------------------------------------------------------------------------------------
// Repair and bad input.

test('repairUntil: a member that lost accepted values promises nothing and accepts no old slot until repaired', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 22 });
  const l = net.electLeader();
  for (let i = 0; i < 5; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.ids.every((id) => net.commands(id).length === 5));
  const f = net.ids.find((id) => id !== l)!;
  // Recovery dropped the follower's log (it was corrupt) up to slot 5.
  net.crash(f);
  const st = net.member(f).store;
  const last = Math.max(...st.entries.keys());
  st.entries.clear();
  st.repairUntil = last;
  net.restart(f);
  const e = net.engine(f);
  assert.equal(e.step({ type: 'prepare', from: l, to: f, ballot: makeBallot(1000, l), fromSlot: 1, transfer: true }).type, 'dropped');
  // The leader repairs it with decided values; afterwards it is a full member again.
  net.engine(l).propose(utf8('c5'));
  net.runUntil(() => net.commands(f).length === 6);
  assert.equal(e.step({ type: 'prepare', from: l, to: f, ballot: makeBallot(2000, l), fromSlot: 1, transfer: true }).type, 'ok');
});

test('repairUntil: after damage the hard state\'s commit index is not trusted; the leader\'s decided values replace older ones', () => {
  // Slot 2 held "old" (accepted at a low ballot, then replaced by the decided "new" at a higher
  // one); the segment with the later acceptance was lost, so recovery returned "old" and a commit
  // index of 3 that was true only of the values it no longer has (PMMC: an acceptor's log is what it
  // accepted, not what was decided).
  const low = makeBallot(1, n1);
  const high = makeBallot(2, n3);
  const damaged = durable(voters3, {
    entries: [entry(1, low, 'a'), entry(2, low, 'old'), entry(3, high, 'c')],
    hardState: encodeHardState({ promised: { ballot: high, node: n3 }, commit: 3, repairUntil: 0, reportGapUntil: 0, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 }),
    repairUntil: logIndex(4),
  });
  const e = engine(n2, damaged);
  assert.equal(e.status().commitIndex, 0, 'nothing past the snapshot is decided yet');
  assert.equal(drain(e).committed.length, 0, 'nothing applied from the damaged log');
  // The leader's catch-up brings the decided values; the stale "old" is replaced.
  e.step({ type: 'decided', from: n3, to: n2, ballot: high, entries: [entry(1, low, 'a'), entry(2, high, 'new'), entry(3, high, 'c'), entry(4, high, 'd')], commit: 4, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  const applied: string[] = [];
  for (let i = 0; i < 3; i++) applied.push(...drain(e).committed.map(text));
  assert.deepEqual(applied, ['a', 'new', 'c', 'd']);
  // Undamaged, the same hard state is trusted.
  const whole = engine(n2, { ...damaged, repairUntil: null });
  assert.equal(whole.status().commitIndex, 3);
});

/**
 * The scenario of a lost promise (docs/paxos.md, "repair after damage"), message by message.
 * n1 leads at b1 with n3; n2 (played by hand) finishes phase 1 at b2 > b1 with n3, which reports
 * nothing in slot 2. n3 crashes and recovery loses its newest batch: the hard state it returns
 * still says "promised b1". The stale leader n1 then proposes "v" in slot 2 at b1, and n2 "w" at
 * b2, which n1 accepts (b2 is above its promise). Returns what each got.
 */
function lostPromiseScenario(cfg: Partial<PaxosConfig>): { vChosen: boolean; wChosen: boolean; n3Out: PaxosMessage[] } {
  const n1e = engine(n1);
  let n3e = engine(n3, durable(voters3), cfg);
  const n3Out: PaxosMessage[] = [];
  const n1Committed = new Map<number, string>();
  let n1Accepted: PaxosMessage[] = [];
  let n3Hard: Uint8Array | null = null;
  const pump = (e: PaxosEngine): PaxosMessage[] => {
    const rd = drain(e);
    if (e === n1e) for (const c of rd.committed) n1Committed.set(c.index, text(c));
    if (e === n3e && rd.hardState !== null) n3Hard = rd.hardState;
    return [...rd.sendBeforePersist, ...rd.messages];
  };
  // Delivers between n1 and n3 until quiet; messages to n2 are kept (n2 is played by hand).
  const run = (): void => {
    for (let i = 0; i < 20; i++) {
      const out = [...pump(n1e), ...pump(n3e)];
      const local = out.filter((m) => m.to !== n2);
      n1Accepted = [...n1Accepted, ...out.filter((m) => m.from === n1 && m.to === n2)];
      for (const m of out) if (m.from === n3) n3Out.push(m);
      if (local.length === 0) return;
      for (const m of local) (m.to === n1 ? n1e : n3e).step(m);
    }
  };
  // n1 campaigns and wins with n3; slot 1 = "a" is chosen by n1 and n3.
  for (let i = 0; i < 1000 && n1e.status().role !== 'leader'; i++) {
    n1e.tick();
    run();
  }
  assert.equal(n1e.status().role, 'leader');
  const b1 = n1e.status().term as Ballot;
  n1e.propose(utf8('a'));
  run();
  assert.equal(n1Committed.get(1), 'a');
  const oldHard = n3Hard;
  // n2's phase 1 at b2 (transfer: past leader stickiness): n3 promises, reporting nothing from slot 2.
  const b2 = makeBallot(ballotRound(b1) + 1, n2);
  n3e.step({ type: 'prepare', from: n2, to: n3, ballot: b2, fromSlot: 2, transfer: true });
  const promise = pump(n3e).find((m) => m.type === 'promise');
  assert.ok(promise !== undefined && promise.type === 'promise' && promise.entries.length === 0, 'n2 completes phase 1 with {n2, n3}');
  assert.notDeepEqual(n3Hard, oldHard, 'the promise of b2 was durable');
  // Crash; recovery quarantines the newest batch and returns the older hard state.
  n3e = engine(n3, durable(voters3, { hardState: oldHard, entries: [entry(1, b1, 'a')], repairUntil: logIndex(1) }), cfg);
  n3Out.length = 0;
  // The stale leader proposes "v" in slot 2 at b1 (its accept to n2 would be refused; only n3 counts).
  n1e.propose(utf8('v'));
  run();
  n1e.tick();
  run();
  const vChosen = n1Committed.get(2) === 'v';
  // n2 proposes "w" in slot 2 at b2; n1 accepts, so n2 and n1 have chosen it.
  n1Accepted = [];
  n1e.step(accept(n2, n1, b2, [entry(2, b2, 'w')]));
  run();
  const wChosen = n1Accepted.some((m) => m.type === 'accepted' && m.ballot === b2 && m.fromSlot <= 2 && m.throughSlot >= 2);
  return { vChosen, wChosen, n3Out };
}

test('planted bug accept-after-lost-promise: an acceptor that trusts a recovered, older promise lets two values be chosen', () => {
  const r = lostPromiseScenario({ plantedBug: 'accept-after-lost-promise' });
  assert.ok(r.vChosen && r.wChosen, 'v chosen at b1 by {n1, n3} and w at b2 by {n2, n1}: two values in slot 2');
});

test('after damage an acceptor accepts nothing until it promises a fresh ballot, so only one value is chosen', () => {
  const r = lostPromiseScenario({});
  assert.equal(r.vChosen, false, 'n3 did not help the stale leader choose v');
  assert.ok(r.wChosen);
  assert.equal(r.n3Out.some((m) => m.type === 'accepted'), false, 'no accepted while the promise may be lost');
  // Repaired (slot 1 learned from the leader's commit index), n3 asks for a fresh phase 1.
  assert.ok(r.n3Out.some((m) => m.type === 'nack' && m.to === n1 && m.promised > m.ballot), 'a nack above the stale ballot');
});

test('after damage only a ballot above every ballot seen since the restart is a fresh promise', () => {
  const b1 = makeBallot(1, n1);
  const hs = encodeHardState({ promised: { ballot: b1, node: n1 }, commit: 0, repairUntil: 0, reportGapUntil: 0, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  const e = engine(n3, durable(voters3, { hardState: hs, repairUntil: logIndex(1) }));
  assert.equal(decodeHardState(drain(e).hardState!).promiseLost, true, 'the suspicion is durable');
  // A decided value repairs the log; the promise is still suspect.
  e.step({ type: 'decided', from: n1, to: n3, ballot: NO_BALLOT, entries: [entry(1, b1, 'a')], commit: 1, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  drain(e);
  const b2 = makeBallot(2, n2);
  e.step({ type: 'heartbeat', from: n2, to: n3, ballot: b2, commit: 1, round: 4 });
  let rd = drain(e);
  const ack = rd.messages.find((m) => m.type === 'heartbeat-ack');
  assert.ok(ack !== undefined && ack.type === 'heartbeat-ack' && ack.round === 0, 'a heartbeat acknowledgement confirms no read round');
  assert.ok(rd.sendBeforePersist.some((m) => m.type === 'nack' && m.promised > b2), 'asks the leader for a fresh phase 1');
  e.step(accept(n2, n3, b2, [entry(2, b2, 'x')]));
  rd = drain(e);
  assert.deepEqual(rd.entries, [], 'nothing accepted at a ballot not freshly promised');
  // A delayed prepare at a ballot already seen is not fresh: refused with a higher number.
  e.step({ type: 'prepare', from: n2, to: n3, ballot: b2, fromSlot: 2, transfer: true });
  rd = drain(e);
  assert.equal(rd.messages.filter((m) => m.type === 'promise').length, 0);
  assert.ok(rd.sendBeforePersist.some((m) => m.type === 'nack' && m.promised > b2));
  // A new phase 1 above everything seen is fresh: promised, durable with the suspicion cleared.
  const b3 = makeBallot(3, n2);
  e.step({ type: 'prepare', from: n2, to: n3, ballot: b3, fromSlot: 2, transfer: true });
  rd = drain(e);
  assert.equal(rd.messages.filter((m) => m.type === 'promise').length, 1);
  const after = decodeHardState(rd.hardState!);
  assert.equal(after.promised.ballot, b3);
  assert.equal(after.promiseLost, undefined);
  e.step(accept(n2, n3, b3, [entry(2, b3, 'y')]));
  assert.deepEqual(drain(e).entries.map(text), ['y'], 'accepts at the fresh ballot');
});

test('after damage a 3-member cluster with one member down makes progress once the damaged member is repaired', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 31 });
  const l = net.electLeader();
  for (let i = 0; i < 3; i++) net.engine(l).propose(utf8(`c${i}`));
  net.runUntil(() => net.ids.every((id) => net.commands(id).length === 3));
  const [f, down] = net.ids.filter((id) => id !== l) as [NodeId, NodeId];
  net.crash(down);
  net.crash(f);
  net.member(f).store.repairUntil = Math.max(...net.member(f).store.entries.keys());
  net.restart(f);
  net.engine(net.leader() ?? l).propose(utf8('c3'));
  net.runUntil(() => net.leader() !== null && net.commands(net.leader()!).length >= 4 && net.commands(f).length >= 4, 3000);
  assert.deepEqual(net.commands(f).slice(0, 4), ['c0', 'c1', 'c2', 'c3']);
  assert.equal(net.chosenConflict(), null);
});

test('step drops malformed or impossible messages and never throws', () => {
  const a = engine(n2);
  const foreign = makeBallot(3, n1);
  const cases: PaxosMessage[] = [
    { type: 'accept', from: n3, to: n2, ballot: foreign, entries: [], commit: 0 },
    { type: 'prepare', from: n1, to: n3, ballot: foreign, fromSlot: 1, transfer: false },
    { type: 'promise', from: n1, to: n2, ballot: makeBallot(1, n1), fromSlot: 1, entries: [], throughSlot: 0, complete: true, compactedThrough: 0, commit: 0 },
    { type: 'accepted', from: n1, to: n2, ballot: term(5), fromSlot: 1, throughSlot: 1, commit: 0 },
    { type: 'read-index-resp', from: n1, to: n2, requestId: 1, index: 1, ok: true },
  ];
  for (const m of cases) assert.equal(a.step(m).type, 'dropped', m.type);
  assert.ok(a.dropped.size > 0);
});

test('a Raft hard state (or garbage) is refused with a typed error', () => {
  assert.throws(
    () => engine(n1, durable(voters3, { hardState: new Uint8Array([1, 2, 3, 4]) })),
    (e: unknown) => e instanceof PaxosError && e.code === 'bad-hard-state',
  );
});

test('configuration entries carry the ConfigChange in the shared encoding', () => {
  const net = new PaxosTestNetwork({ members: 1, seed: 23 });
  const l = net.electLeader();
  const change = { ops: [{ type: 'add-learner' as const, node: memberId(2) }], context: utf8('ctx') };
  net.engine(l).proposeConfigChange(change);
  net.stabilize();
  const cfg = net.member(l).executed.find((e) => e.kind === 'config');
  assert.ok(cfg !== undefined);
  assert.deepEqual(cfg.data, encodeConfigChange(change));
});

test('snapshot install keeps accepted values: the reset, the re-written values and the hard state in one Ready', () => {
  // One Ready, carried out by LogStore.resetWith in one write-ahead-log batch: no crash leaves an
  // acceptor that forgot them, so no report-gap mark is needed (docs/paxos.md, "Snapshot install").
  const b = makeBallot(1, n1);
  const f = engine(n2, durable(voters3, { entries: [entry(6, b, 'six'), entry(7, b, 'seven')] }));
  const data = utf8('0123456789');
  const meta = { index: logIndex(5), term: b, config: simpleConfig(voters3), sizeBytes: data.length, crc32c: 0 };
  f.step({ type: 'snapshot', from: n1, to: n2, ballot: b, snapshotChunk: { meta, offset: 0, data, crc32c: 0, last: true }, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  const install = f.ready();
  assert.equal(install.snapshotInstall?.index, 5);
  assert.equal(install.snapshotChunk?.last, true);
  assert.deepEqual(install.entries.map(text), ['six', 'seven'], 'written again with the reset');
  assert.equal(decodeHardState(install.hardState!).reportGapUntil, 0, 'no mark');
  assert.ok(install.messages.some((m) => m.type === 'snapshot-ack'));
  f.advance(install);
  // Restarted from what that one step made durable, it answers phase 1 and reports the values.
  const restarted = engine(n2, durable(voters3, { hardState: install.hardState, entries: install.entries, snapshot: meta }));
  assert.equal(restarted.step({ type: 'prepare', from: n3, to: n2, ballot: makeBallot(9, n3), fromSlot: 6, transfer: false }).type, 'ok');
  const promise = drain(restarted).messages.find((m): m is PromiseMessage => m.type === 'promise');
  assert.deepEqual(promise?.entries.map(text), ['six', 'seven']);
});

test('snapshot install with more accepted values than one batch: a durable mark first, then install and re-write', () => {
  const b = makeBallot(1, n1);
  const big = (i: number): Entry => ({ index: logIndex(i), term: b, kind: 'normal', data: new Uint8Array(LOG_RESET_RETAINED_BYTES_MAX / 2 + 1) });
  const f = engine(n2, durable(voters3, { entries: [big(6), big(7)] }));
  const data = utf8('0123456789');
  const meta = { index: logIndex(5), term: b, config: simpleConfig(voters3), sizeBytes: data.length, crc32c: 0 };
  f.step({ type: 'snapshot', from: n1, to: n2, ballot: b, snapshotChunk: { meta, offset: 0, data, crc32c: 0, last: true }, configs: [{ effectiveSlot: 1, config: simpleConfig(voters3) }], configsValidFrom: 1 });
  const mark = f.ready();
  assert.equal(mark.snapshotInstall, null, 'nothing installed before the mark is durable');
  assert.ok(mark.hardState !== null && decodeHardState(mark.hardState).reportGapUntil === 7, 'the mark covers the retained slots');
  // A crash now: the restarted member promises nothing until it has caught up.
  const crashed = engine(n2, durable(voters3, { hardState: mark.hardState, entries: [] }));
  assert.equal(crashed.step({ type: 'prepare', from: n3, to: n2, ballot: makeBallot(9, n3), fromSlot: 1, transfer: false }).type, 'dropped');
  f.advance(mark);
  const install = drain(f);
  assert.equal(install.snapshotInstall?.index, 5);
  assert.deepEqual(install.entries.map((e) => e.index), [6, 7], 'written again after the log store reset');
  assert.equal(decodeHardState(install.hardState!).reportGapUntil, 0, 'the mark is cleared with them');
  assert.ok(install.messages.some((m) => m.type === 'snapshot-ack'));
});

test('a member joining with no configuration never runs phase 1 before the leader tells it the configuration', () => {
  const n4 = memberId(4);
  const j = engine(n4, durable([]));
  for (let i = 0; i < 100; i++) j.tick();
  assert.equal(j.status().role, 'follower');
  assert.equal(drain(j).messages.filter((m) => m.type === 'prepare').length, 0);
  // Decided values up to the leader's commit index, with the leader's configurations: now it knows.
  const b = makeBallot(1, n1);
  const config = simpleConfig([n1, n2, n3, n4]);
  j.step({ type: 'decided', from: n1, to: n4, ballot: b, entries: [entry(1, b, 'x')], commit: 1, configs: [{ effectiveSlot: 1, config }], configsValidFrom: 1 });
  drain(j);
  assert.deepEqual(j.status().config.voters, config.voters);
  j.step({ type: 'prepare', from: n2, to: n4, ballot: makeBallot(2, n2), fromSlot: 2, transfer: false });
  for (let i = 0; i < 100 && j.status().role !== 'candidate'; i++) j.tick();
  assert.equal(j.status().role, 'candidate', 'a voter that knows its configuration may campaign');
});

test('no lease read while leadership is being transferred (the target may already be deciding)', () => {
  const net = new PaxosTestNetwork({ members: 3, seed: 24, config: { leaseReads: true } });
  const l = net.electLeader();
  net.tickAll(1);
  net.stabilize();
  const target = net.ids.find((id) => id !== l)!;
  net.isolate(target); // the transfer cannot complete, so it stays under way
  assert.deepEqual(net.engine(l).transferLeadership(target), { type: 'started' });
  net.engine(l).readIndex(2);
  net.process(l);
  assert.equal(net.member(l).readStates.length, 0, 'a quorum round is needed');
});
