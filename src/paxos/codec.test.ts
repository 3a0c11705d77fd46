import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8 } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, term } from '../core/ids.js';
import type { SnapshotMeta } from '../consensus/types.js';
import { makeBallot } from './ballot.js';
import { decodeConfigChange, decodeHardState, decodePaxosMessage, encodeConfigChange, encodeHardState, encodePaxosMessage } from './codec.js';
import { simpleConfig } from './membership.js';
import type { PaxosMessage } from './messages.js';
import { memberId } from './test-network.js';

const a = memberId(1);
const b = memberId(0xabcdef);
const B = makeBallot(3, a);
const e1 = { index: logIndex(1), term: B, kind: 'normal' as const, data: utf8('one') };
const e2 = { index: logIndex(2), term: B, kind: 'empty' as const, data: new Uint8Array() };
const meta: SnapshotMeta = { index: logIndex(9), term: B, config: simpleConfig([a, b], [memberId(3)]), sizeBytes: 10, crc32c: 0xdeadbeef };

/** One message of every type. */
export const SAMPLES: PaxosMessage[] = [
  { type: 'prepare', from: a, to: b, ballot: B, fromSlot: 4, transfer: true },
  { type: 'promise', from: b, to: a, ballot: B, fromSlot: 1, entries: [e1, e2], throughSlot: 2, complete: false, compactedThrough: 0, commit: 0 },
  { type: 'nack', from: b, to: a, ballot: B, promised: term(B + 65536) },
  { type: 'accept', from: a, to: b, ballot: B, entries: [e1, e2], commit: 1 },
  { type: 'accepted', from: b, to: a, ballot: B, fromSlot: 1, throughSlot: 2, commit: 1 },
  { type: 'heartbeat', from: a, to: b, ballot: B, commit: 7, round: 3 },
  { type: 'heartbeat-ack', from: b, to: a, ballot: B, round: 3, commit: 6, leaderCommit: 7 },
  { type: 'decided', from: a, to: b, ballot: B, entries: [e1, e2], commit: 2, configs: [{ effectiveSlot: 1, config: meta.config }], configsValidFrom: 1 },
  { type: 'decided-ack', from: b, to: a, ballot: B, commit: 2 },
  { type: 'snapshot', from: a, to: b, ballot: B, snapshotChunk: { meta, offset: 0, data: utf8('0123456789'), crc32c: 5, last: true }, configs: [{ effectiveSlot: 1, config: meta.config }], configsValidFrom: 1 },
  { type: 'snapshot-ack', from: b, to: a, ballot: B, index: 9, nextOffset: 10, ok: true },
  { type: 'forward', from: b, to: a, kind: 'normal', data: [utf8('x'), utf8('y')] },
  { type: 'read-index', from: b, to: a, requestId: 42 },
  { type: 'read-index-resp', from: a, to: b, requestId: 42, index: 7, ok: true },
  { type: 'timeout-now', from: a, to: b, ballot: B },
  { type: 'catchup', from: b, to: a, commit: 3 },
];

test('every message type survives encode and decode', () => {
  for (const m of SAMPLES) assert.deepEqual(decodePaxosMessage(encodePaxosMessage(m)), m, m.type);
});

test('every truncation of every message is a DecodeError, never another exception', () => {
  for (const m of SAMPLES) {
    const bytes = encodePaxosMessage(m);
    for (let n = 0; n < bytes.length; n++) assert.throws(() => decodePaxosMessage(bytes.subarray(0, n)), DecodeError, `${m.type} cut at ${n}`);
  }
});

test('random bytes and random corruptions decode to a message or a DecodeError (fast-check)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodePaxosMessage(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.nat(SAMPLES.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }), (i, at, v) => {
      const bytes = encodePaxosMessage(SAMPLES[i]!).slice();
      bytes[at % bytes.length] = v;
      try {
        decodePaxosMessage(bytes);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
});

test('decoding rejects impossible shapes', () => {
  const accept = encodePaxosMessage({ type: 'accept', from: a, to: b, ballot: B, entries: [{ ...e1, term: term(B + 1) }], commit: 0 });
  assert.throws(() => decodePaxosMessage(accept), /another ballot/);
  const self = encodePaxosMessage({ type: 'catchup', from: a, to: a, commit: 0 });
  assert.throws(() => decodePaxosMessage(self), /same member/);
  const unordered = encodePaxosMessage({ type: 'decided', from: a, to: b, ballot: B, entries: [e2, e1], commit: 2, configs: [{ effectiveSlot: 1, config: meta.config }], configsValidFrom: 1 });
  assert.throws(() => decodePaxosMessage(unordered), DecodeError);
  assert.throws(() => decodePaxosMessage(new Uint8Array([9, 0])), /version/);
});

test('the hard state round-trips and a foreign one is recognised', () => {
  const h = { promised: { ballot: B, node: a }, commit: 5, repairUntil: 0, reportGapUntil: 3, configs: [{ effectiveSlot: 1, config: meta.config }], configsValidFrom: 1 };
  assert.deepEqual(decodeHardState(encodeHardState(h)), h);
  const none = { ...h, promised: { ballot: term(0), node: null } };
  assert.deepEqual(decodeHardState(encodeHardState(none)), none);
  assert.throws(() => decodeHardState(new Uint8Array([0x08, 0x01, 0x10])), /Raft/);
});

test('configuration changes round-trip', () => {
  const c = { ops: [{ type: 'add-voter' as const, node: b }, { type: 'remove' as const, node: a }], joint: true, context: utf8('urls') };
  assert.deepEqual(decodeConfigChange(encodeConfigChange(c)), c);
  const simple = { ops: [{ type: 'add-learner' as const, node: b }], context: new Uint8Array() };
  assert.deepEqual(decodeConfigChange(encodeConfigChange(simple)), simple);
  assert.throws(() => decodeConfigChange(new Uint8Array([1, 1, 7])), DecodeError);
});
