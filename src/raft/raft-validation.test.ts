/** Every incoming message is validated: a malformed or impossible one is counted and dropped, never a throw. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../core/crc32c.js';
import { logIndex, term, type NodeId } from '../core/ids.js';
import { ENTRIES_PER_MESSAGE_MAX, RAFT_ENTRY_BYTES_MAX } from '../core/limits.js';
import type { Entry, SnapshotMeta } from '../consensus/types.js';
import { messageArb } from './arbitraries.js';
import type { RaftMessage } from './messages.js';
import { nodeId, TestNetwork } from './test-network.js';

const [n1, n2, n3, n9] = [nodeId(1), nodeId(2), nodeId(3), nodeId(9)];
const ent = (i: number, t: number, data = new Uint8Array(1)): Entry => ({ index: logIndex(i), term: term(t), kind: 'normal', data });

function cluster(): TestNetwork {
  const net = new TestNetwork({ voters: 3 });
  net.elect(1);
  net.propose(1, 'a');
  net.stabilize();
  return net;
}

const T = term(1);
const append = (over: Partial<Extract<RaftMessage, { type: 'append' }>>): RaftMessage => ({
  type: 'append',
  from: n1,
  to: n2,
  term: T,
  prevIndex: logIndex(2),
  prevTerm: term(1),
  entries: [ent(3, 1)],
  commit: logIndex(2),
  ...over,
});
const meta: SnapshotMeta = {
  index: logIndex(50),
  term: T,
  config: { voters: [n1, n2, n3], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  sizeBytes: 4,
  crc32c: 0,
};
const chunk = (data: Uint8Array | null, crc: number, over: Partial<SnapshotMeta> = {}, last = true): RaftMessage => ({
  type: 'snapshot',
  from: n1,
  to: n2,
  term: T,
  attempt: 1,
  snapshotChunk: { meta: { ...meta, ...over }, offset: 0, data, crc32c: crc, last },
});

const followerCases: [string, RaftMessage, string][] = [
  ['wrong recipient', append({ to: n3 }), 'wrong-recipient'],
  ['from itself', append({ from: n2 }), 'from-self'],
  ['unknown sender', { type: 'readIndex', from: n9, to: n2, term: T, requestId: 1 }, 'unknown-sender'],
  ['negative term', append({ term: -1 as never }), 'invalid-term'],
  ['fractional index', append({ prevIndex: 1.5 as never }), 'invalid-field'],
  ['non-contiguous entries', append({ entries: [ent(3, 1), ent(5, 1)] }), 'non-contiguous-entries'],
  ['entry of a future term', append({ entries: [ent(3, 7)] }), 'impossible-term'],
  ['decreasing entry terms', append({ term: term(3), prevTerm: term(1), entries: [ent(3, 3), ent(4, 2)] }), 'impossible-term'],
  ['prevTerm beyond the term', append({ prevTerm: term(4) }), 'impossible-term'],
  ['prevIndex 0 with a term', append({ prevIndex: logIndex(0), prevTerm: term(1), entries: [ent(1, 1)] }), 'impossible-index'],
  [
    'oversized batch',
    append({ entries: Array.from({ length: ENTRIES_PER_MESSAGE_MAX + 1 }, (_, i) => ent(3 + i, 1)) }),
    'oversized-batch',
  ],
  ['oversized entry', append({ entries: [ent(3, 1, new Uint8Array(RAFT_ENTRY_BYTES_MAX + 1))] }), 'oversized-entry'],
  ['vote request with a future last term', { type: 'voteRequest', from: n3, to: n2, term: T, preVote: false, transfer: false, lastIndex: logIndex(1), lastTerm: term(9) }, 'impossible-term'],
  ['chunk CRC mismatch', chunk(new Uint8Array([1, 2, 3, 4]), 12345), 'chunk-crc-mismatch'],
  ['chunk without data', chunk(null, 0), 'chunk-without-data'],
  ['chunk past the snapshot end', chunk(new Uint8Array(8), crc32c(new Uint8Array(8))), 'chunk-outside-snapshot'],
  ['last flag on a middle chunk', chunk(new Uint8Array(2), crc32c(new Uint8Array(2)), {}, true), 'chunk-outside-snapshot'],
  ['snapshot of a future term', chunk(new Uint8Array(4), crc32c(new Uint8Array(4)), { term: term(9) }), 'impossible-snapshot'],
  [
    'snapshot with a broken config',
    chunk(new Uint8Array(4), crc32c(new Uint8Array(4)), { config: { ...meta.config, learners: [n1] } }),
    'invalid-snapshot-config',
  ],
  ['read answer nobody asked for', { type: 'readIndexResponse', from: n1, to: n2, term: T, requestId: 99, index: logIndex(1), reject: false }, 'unknown-read'],
];

for (const [name, msg, reason] of followerCases) {
  test(`a follower drops and counts: ${name}`, () => {
    const net = cluster();
    const e = net.engine(2);
    const before = JSON.stringify(e.status());
    assert.deepEqual(e.step(msg), { type: 'dropped', reason });
    assert.equal(e.stats().dropped[reason], 1);
    assert.equal(JSON.stringify(e.status()), before, 'state unchanged');
  });
}

test('a leader drops an acknowledgement of entries it never sent, and answers from non-members', () => {
  const net = cluster();
  const e = net.engine(1);
  const dropped = e.stats().droppedTotal;
  const ack = (from: NodeId, index: number): RaftMessage => ({ type: 'appendResponse', from, to: n1, term: T, index: logIndex(index), reject: false, hintIndex: logIndex(0), hintTerm: term(0) });
  assert.deepEqual(e.step(ack(n2, 99)), { type: 'dropped', reason: 'impossible-index' });
  assert.deepEqual(e.step(ack(n9, 1)), { type: 'dropped', reason: 'unknown-sender' });
  assert.equal(e.status().commitIndex, 2);
  assert.equal(e.stats().droppedTotal, dropped + 2);
});

test('random messages to every member never throw (fast-check)', () => {
  const net = cluster();
  const members = [n1, n2, n3];
  fc.assert(
    fc.property(messageArb, fc.constantFrom(...members), fc.constantFrom(...members, n9), (m, to, from) => {
      const msg = { ...m, to, from } as RaftMessage;
      const r = net.engine(to).step(msg);
      assert.ok(r.type === 'ok' || r.type === 'dropped');
      net.processReady(to);
    }),
    { numRuns: 3000 },
  );
});
