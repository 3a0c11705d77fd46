import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../core/errors.js';
import { leaseId, nodeIdFromBigInt } from '../core/ids.js';
import { decodeCommand, encodeCommand, putOp, type Command, type Compare, type Op, type RequestOp } from './command.js';
import { decodeMemberContext, encodeMemberContext } from './members.js';
import { decodeOutcome, encodeOutcome, type Outcome } from './results.js';

const bytes = fc.uint8Array({ maxLength: 12 });
const int = fc.integer({ min: -1_000_000, max: Number.MAX_SAFE_INTEGER });
const lease = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(leaseId);
const node = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map(nodeIdFromBigInt);

const range = fc.record({
  type: fc.constant('range' as const),
  key: bytes,
  rangeEnd: bytes,
  limit: int,
  revision: int,
  sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
  sortTarget: fc.constantFrom('key' as const, 'version' as const, 'create' as const, 'mod' as const, 'value' as const),
  serializable: fc.boolean(),
  keysOnly: fc.boolean(),
  countOnly: fc.boolean(),
  minModRevision: int,
  maxModRevision: int,
  minCreateRevision: int,
  maxCreateRevision: int,
});
const put = fc.record({ type: fc.constant('put' as const), key: bytes, value: bytes, lease, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() });
const del = fc.record({ type: fc.constant('delete-range' as const), key: bytes, rangeEnd: bytes, prevKv: fc.boolean() });
const cmp: fc.Arbitrary<Compare> = fc.record({
  key: bytes,
  rangeEnd: bytes,
  result: fc.constantFrom('equal' as const, 'greater' as const, 'less' as const, 'not-equal' as const),
  operand: fc.oneof(
    fc.record({ type: fc.constant('version' as const), version: int }),
    fc.record({ type: fc.constant('create' as const), revision: int }),
    fc.record({ type: fc.constant('mod' as const), revision: int }),
    fc.record({ type: fc.constant('value' as const), value: bytes }),
    fc.record({ type: fc.constant('lease' as const), lease }),
  ),
});
const { txn } = fc.letrec<{ txn: RequestOp; req: RequestOp }>((tie) => ({
  txn: fc.record({
    type: fc.constant('txn' as const),
    compare: fc.array(cmp, { maxLength: 3 }),
    success: fc.array(tie('req'), { maxLength: 3 }),
    failure: fc.array(tie('req'), { maxLength: 2 }),
  }),
  req: fc.oneof({ depthSize: 'small' }, range, put, del, tie('txn')),
}));
const urls = fc.array(fc.webUrl(), { maxLength: 3 });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  range,
  put,
  del,
  txn,
  fc.record({ type: fc.constant('compaction' as const), revision: int, physical: fc.boolean() }),
  fc.record({ type: fc.constant('lease-grant' as const), id: lease, ttlSec: int }),
  fc.record({ type: fc.constant('lease-revoke' as const), id: lease }),
  fc.record({ type: fc.constant('lease-checkpoint' as const), checkpoints: fc.array(fc.record({ id: lease, remainingTtlSec: int }), { maxLength: 3 }) }),
  fc.record({ type: fc.constant('lease-expire' as const), ids: fc.array(lease, { maxLength: 3 }) }),
  fc.record({ type: fc.constant('alarm' as const), action: fc.constantFrom('activate' as const, 'deactivate' as const), member: fc.option(node, { nil: null }), alarm: fc.constantFrom('nospace' as const, 'corrupt' as const) }),
  fc.record({ type: fc.constant('member-update' as const), id: node, name: fc.option(fc.string({ maxLength: 20 }), { nil: null }), peerUrls: fc.option(urls, { nil: null }), clientUrls: fc.option(urls, { nil: null }) }),
  fc.constant({ type: 'session-open' as const }),
  fc.record({ type: fc.constant('session-close' as const), clientId: fc.maxSafeNat() }),
  fc.constant({ type: 'noop' as const }),
);

const commandArb: fc.Arbitrary<Command> = fc.record({
  requestId: fc.record({ member: node, counter: fc.maxSafeNat() }),
  session: fc.option(fc.record({ clientId: fc.maxSafeNat(), seq: fc.maxSafeNat(), lowestUnacked: fc.maxSafeNat() }), { nil: null }),
  op: opArb,
});

test('commands round-trip through the binary encoding', () => {
  fc.assert(
    fc.property(commandArb, (cmd) => {
      // structuredClone: fast-check builds null-prototype records.
      assert.deepEqual(decodeCommand(encodeCommand(cmd)), structuredClone(cmd));
    }),
    { numRuns: 500 },
  );
});

test('decoding random bytes or damaged commands throws DecodeError and nothing else', () => {
  const onlyDecodeErrors = (data: Uint8Array): void => {
    try {
      decodeCommand(data);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (data) => onlyDecodeErrors(data)), { numRuns: 2000 });
  fc.assert(
    fc.property(commandArb, fc.nat(), fc.nat(255), (cmd, at, byte) => {
      const data = encodeCommand(cmd);
      // Every truncation fails; a flipped byte either decodes to something valid or fails cleanly.
      assert.throws(() => decodeCommand(data.subarray(0, at % data.length)), DecodeError);
      const bad = data.slice();
      bad[at % bad.length] = byte;
      onlyDecodeErrors(bad);
    }),
    { numRuns: 1000 },
  );
});

test('nesting beyond the bound is refused by the decoder, not by the stack', () => {
  let op: Op = putOp('k', 'v');
  for (let i = 0; i < 40; i++) op = { type: 'txn', compare: [], success: [op as RequestOp], failure: [] };
  const data = encodeCommand({ requestId: { member: nodeIdFromBigInt(1n), counter: 1 }, session: null, op });
  assert.throws(() => decodeCommand(data), (e: unknown) => e instanceof DecodeError && /nested deeper/.test(e.message));
});

test('outcomes round-trip (they are kept in sessions and snapshots)', () => {
  const kv = fc.record({ key: bytes, createRevision: fc.maxSafeNat(), modRevision: fc.maxSafeNat(), version: fc.maxSafeNat(), value: bytes, lease });
  const resp = fc.letrec((tie) => ({
    resp: fc.oneof(
      { depthSize: 'small' },
      fc.record({ type: fc.constant('range' as const), kvs: fc.array(kv, { maxLength: 3 }), more: fc.boolean(), count: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('put' as const), prevKv: fc.option(kv, { nil: null }) }),
      fc.record({ type: fc.constant('delete-range' as const), deleted: fc.maxSafeNat(), prevKvs: fc.array(kv, { maxLength: 3 }) }),
      fc.record({ type: fc.constant('txn' as const), succeeded: fc.boolean(), responses: fc.array(tie('resp'), { maxLength: 3 }) }).filter((t) =>
        (t.responses as Outcome[]).every((r) => ['range', 'put', 'delete-range', 'txn'].includes(r.type)),
      ),
      fc.record({ type: fc.constant('lease-grant' as const), id: lease, ttlSec: int }),
      fc.record({ type: fc.constant('lease-expire' as const), revoked: fc.array(lease, { maxLength: 3 }) }),
      fc.record({ type: fc.constant('alarm' as const), alarms: fc.array(fc.record({ member: node, alarm: fc.constantFrom('nospace' as const, 'corrupt' as const) }), { maxLength: 2 }) }),
      fc.record({ type: fc.constant('session-open' as const), clientId: fc.maxSafeNat() }),
      fc.record({ type: fc.constant('error' as const), code: fc.constantFrom('compacted' as const, 'no-space' as const, 'duplicate-key' as const), detail: fc.string({ maxLength: 10 }) }),
      fc.constantFrom<Outcome>({ type: 'compaction' }, { type: 'lease-revoke' }, { type: 'lease-checkpoint' }, { type: 'session-close' }, { type: 'noop' }),
    ),
  })).resp as fc.Arbitrary<Outcome>;
  fc.assert(fc.property(resp, (o) => assert.deepEqual(decodeOutcome(encodeOutcome(o)), structuredClone(o))), { numRuns: 500 });
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
      try {
        decodeOutcome(data);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

test('member contexts round-trip and reject garbage with DecodeError', () => {
  const member = fc.record({ id: node, name: fc.string({ maxLength: 30 }), peerUrls: urls, clientUrls: urls, isLearner: fc.boolean() });
  fc.assert(fc.property(fc.array(member, { maxLength: 4 }), (ms) => assert.deepEqual(decodeMemberContext(encodeMemberContext(ms)), structuredClone(ms))));
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (data) => {
      try {
        decodeMemberContext(data);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});
