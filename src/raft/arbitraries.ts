/** FOR TESTS ONLY: fast-check arbitraries for Raft messages and their parts. */
import fc from 'fast-check';
import { logIndex, nodeIdFromBigInt, term, type NodeId } from '../core/ids.js';
import type { ConfigState, Entry, SnapshotMeta } from '../consensus/types.js';
import type { RaftMessage } from './messages.js';

const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const smallU = fc.integer({ min: 0, max: 1000 });
const index = fc.oneof(smallU, u53).map(logIndex);
const termA = fc.oneof(smallU, u53).map(term);

export const nodeIdArb: fc.Arbitrary<NodeId> = fc.oneof(
  fc.integer({ min: 1, max: 9 }).map((n) => BigInt(n)),
  fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
).map(nodeIdFromBigInt);

export const entryArb: fc.Arbitrary<Entry> = fc.record({
  index,
  term: termA,
  kind: fc.constantFrom('normal' as const, 'config' as const, 'empty' as const),
  data: fc.uint8Array({ maxLength: 64 }),
}).map((e) => ({ ...e }));

export const configArb: fc.Arbitrary<ConfigState> = fc.record({
  voters: fc.array(nodeIdArb, { maxLength: 5 }),
  learners: fc.array(nodeIdArb, { maxLength: 3 }),
  votersOutgoing: fc.array(nodeIdArb, { maxLength: 5 }),
  learnersNext: fc.array(nodeIdArb, { maxLength: 3 }),
  autoLeave: fc.boolean(),
}).map((c) => ({ ...c }));

export const snapshotMetaArb: fc.Arbitrary<SnapshotMeta> = fc.record({
  index,
  term: termA,
  config: configArb,
  sizeBytes: u53,
  crc32c: fc.integer({ min: 0, max: 0xffffffff }),
}).map((m) => ({ ...m }));

const head = fc.record({ from: nodeIdArb, to: nodeIdArb, term: termA });

export const messageArb: fc.Arbitrary<RaftMessage> = fc.oneof(
  fc
    .record({ h: head, prevIndex: index, prevTerm: termA, commit: index, entries: fc.array(entryArb, { maxLength: 5 }) })
    .map(({ h, ...r }) => ({ type: 'append' as const, ...h, ...r })),
  fc
    .record({ h: head, index, reject: fc.boolean(), hintIndex: index, hintTerm: termA })
    .map(({ h, ...r }) => ({ type: 'appendResponse' as const, ...h, ...r })),
  fc.record({ h: head, commit: index, round: u53 }).map(({ h, ...r }) => ({ type: 'heartbeat' as const, ...h, ...r })),
  fc.record({ h: head, round: u53 }).map(({ h, ...r }) => ({ type: 'heartbeatResponse' as const, ...h, ...r })),
  fc
    .record({ h: head, preVote: fc.boolean(), transfer: fc.boolean(), lastIndex: index, lastTerm: termA })
    .map(({ h, ...r }) => ({ type: 'voteRequest' as const, ...h, ...r })),
  fc
    .record({ h: head, preVote: fc.boolean(), granted: fc.boolean(), commit: index, commitTerm: termA })
    .map(({ h, ...r }) => ({ type: 'voteResponse' as const, ...h, ...r })),
  fc
    .record({
      h: head,
      attempt: u53,
      meta: snapshotMetaArb,
      offset: u53,
      data: fc.option(fc.uint8Array({ maxLength: 64 }), { nil: null }),
      crc32c: fc.integer({ min: 0, max: 0xffffffff }),
      last: fc.boolean(),
    })
    .map(({ h, attempt, ...c }) => ({ type: 'snapshot' as const, ...h, attempt, snapshotChunk: c })),
  fc
    .record({ h: head, index, attempt: u53, nextOffset: u53, reject: fc.boolean(), done: fc.boolean() })
    .map(({ h, ...r }) => ({ type: 'snapshotResponse' as const, ...h, ...r })),
  head.map((h) => ({ type: 'timeoutNow' as const, ...h })),
  fc.record({ h: head, requestId: u53 }).map(({ h, ...r }) => ({ type: 'readIndex' as const, ...h, ...r })),
  fc
    .record({ h: head, requestId: u53, index, reject: fc.boolean() })
    .map(({ h, ...r }) => ({ type: 'readIndexResponse' as const, ...h, ...r })),
  fc
    .record({ h: head, kind: fc.constantFrom('normal' as const, 'config' as const), data: fc.uint8Array({ maxLength: 64 }) })
    .map(({ h, ...r }) => ({ type: 'propose' as const, ...h, ...r })),
);
