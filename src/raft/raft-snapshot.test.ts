/** Snapshots: compaction, InstallSnapshot in bounded chunks (§7), a follower restoring from one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeHardState } from './hard-state.js';
import type { Ready } from '../consensus/types.js';
import type { RaftMessage } from './messages.js';
import { nodeId, TestNetwork } from './test-network.js';

const n3 = nodeId(3);
const chunked = (net: TestNetwork): number => net.counts.chunks;

function lagging(chunkBytes = 64): TestNetwork {
  const net = new TestNetwork({ voters: 3, configure: (c) => ({ ...c, snapshotChunkBytes: chunkBytes }) });
  net.elect(1);
  net.isolate(3);
  for (let i = 0; i < 20; i++) net.propose(1, `value-${i}`);
  net.stabilize();
  assert.ok(net.compact(1) !== null);
  assert.equal(net.engine(1).status().firstIndex, 22, 'the leader forgot its log');
  net.heal();
  return net;
}

function settle(net: TestNetwork, ticks = 40): void {
  for (let i = 0; i < ticks; i++) {
    net.tickAll();
    net.stabilize();
  }
}

test('§7: a follower behind the leader’s first index receives the snapshot in bounded chunks, installs it and continues from it', () => {
  const net = lagging(64);
  const seen: RaftMessage[] = [];
  net.filter = (m) => {
    if (m.type === 'snapshot') seen.push(m);
    return true;
  };
  settle(net, 3);
  assert.ok(seen.length > 3, `${seen.length} chunks`);
  for (const m of seen) assert.ok(m.type === 'snapshot' && m.snapshotChunk.data !== null && m.snapshotChunk.data.length <= 64);
  assert.equal(net.counts.installs, 1);
  net.propose(1, 'after');
  net.stabilize();
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
  assert.equal(net.node(3).sm.values().at(-1), 'after');
  assert.deepEqual(net.violations, []);
});

test('§7: lost chunks restart the transfer where the follower stands; it completes', () => {
  const net = lagging(48);
  let n = 0;
  net.filter = (m) => !(m.type === 'snapshot' && ++n % 3 === 0);
  settle(net, 60);
  assert.equal(net.counts.installs, 1);
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
  assert.ok((net.engine(3).stats().dropped['chunk-out-of-order'] ?? 0) > 0, 'gaps were noticed');
  assert.deepEqual(net.violations, []);
});

test('§7: lost acknowledgements are recovered by the leader’s timeout', () => {
  const net = lagging(48);
  let n = 0;
  net.filter = (m) => !(m.type === 'snapshotResponse' && ++n <= 4);
  settle(net, 80);
  assert.equal(net.counts.installs, 1);
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
});

test('a chunk whose CRC does not match its data is counted and dropped; the transfer still completes', () => {
  const net = lagging(64);
  let corrupted = false;
  net.filter = (m) => {
    if (m.type === 'snapshot' && !corrupted && m.snapshotChunk.data !== null && m.snapshotChunk.data.length > 0) {
      corrupted = true;
      m.snapshotChunk.data[0] = m.snapshotChunk.data[0]! ^ 0xff;
    }
    return true;
  };
  settle(net, 60);
  assert.ok(corrupted);
  assert.equal(net.engine(3).stats().dropped['chunk-crc-mismatch'], 1);
  assert.equal(net.counts.installs, 1);
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
});

test('a follower that crashes mid-transfer gets the snapshot again from the start', () => {
  const net = lagging(32);
  let chunks = 0;
  net.filter = (m) => {
    if (m.type === 'snapshot' && m.to === n3 && ++chunks === 3) net.crash(3);
    return true;
  };
  settle(net, 5);
  net.filter = null;
  net.restart(3);
  settle(net, 60);
  assert.equal(net.counts.installs, 1);
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
  assert.deepEqual(net.violations, []);
});

test('the Ready that installs a snapshot hands out no entries at or below it, and does not move the durable commit index', () => {
  const net = lagging(64);
  const installs: { rd: Ready<RaftMessage>; commitBefore: number }[] = [];
  net.onReady = (id, rd) => {
    if (id !== n3 || rd.snapshotInstall === null) return;
    const hs = net.node(3).storage.hardState;
    installs.push({ rd, commitBefore: hs === null ? 0 : decodeHardState(hs).commit });
  };
  settle(net, 5);
  assert.equal(installs.length, 1);
  const { rd, commitBefore } = installs[0]!;
  assert.deepEqual(rd.entries, []);
  assert.deepEqual(rd.committed, []);
  assert.ok(rd.hardState === null || decodeHardState(rd.hardState).commit <= commitBefore);
  assert.ok(rd.messages.some((m) => m.type === 'snapshotResponse' && m.done));
  assert.ok(net.node(3).sm.applied.every((e, i) => e.index === i + 1), 'applied in order, nothing twice');
  assert.ok(chunked(net) > 1);
});

test('a newer snapshot on the leader restarts a transfer in progress with it', () => {
  const net = lagging(32);
  let sent = 0;
  net.filter = (m) => !(m.type === 'snapshot' && ++sent > 2 && sent < 6);
  net.tick(1);
  net.stabilize();
  net.filter = null;
  net.isolate(3);
  net.propose(1, 'more');
  net.stabilize();
  assert.ok(net.compact(1) !== null);
  net.heal();
  settle(net, 60);
  assert.equal(net.node(3).storage.snapshot?.index, net.node(1).storage.snapshot?.index);
  assert.deepEqual(net.node(3).sm.values(), net.node(1).sm.values());
});

test('restart from a snapshot and the entries after it', () => {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  for (let i = 0; i < 5; i++) net.propose(1, `v${i}`);
  net.stabilize();
  net.compact(2);
  net.propose(1, 'tail');
  net.stabilize();
  net.crash(2);
  net.restart(2);
  net.processReady(nodeId(2));
  assert.equal(net.engine(2).status().firstIndex, 7);
  assert.deepEqual(net.node(2).sm.values(), ['v0', 'v1', 'v2', 'v3', 'v4', 'tail']);
  assert.deepEqual(net.violations, []);
});
