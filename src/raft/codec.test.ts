import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../core/errors.js';
import { logIndex, nodeIdFromBigInt, term } from '../core/ids.js';
import { messageArb, nodeIdArb } from './arbitraries.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { decodeConfigChange, decodeConfigEntry, encodeConfigChange, encodeConfigEntry } from './config-change.js';
import { decodeHardState, encodeHardState } from './hard-state.js';

test('every message survives encode and decode unchanged', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    }),
    { numRuns: 2000 },
  );
});

test('decodeMessage of random bytes throws only DecodeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeMessage(bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `threw ${String(e)}`);
      }
    }),
    { numRuns: 5000 },
  );
});

test('every truncation and every single-byte corruption of a valid message decodes or throws DecodeError', () => {
  fc.assert(
    fc.property(messageArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, value) => {
      const bytes = encodeMessage(m);
      for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeMessage(bytes.subarray(0, n)), DecodeError);
      const corrupt = bytes.slice();
      corrupt[at % corrupt.length] = value;
      try {
        decodeMessage(corrupt);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `threw ${String(e)}`);
      }
    }),
    { numRuns: 300 },
  );
});

test('decodeMessage rejects trailing bytes, an unknown version and member id 0', () => {
  const m = encodeMessage({ type: 'timeoutNow', from: nodeIdFromBigInt(1n), to: nodeIdFromBigInt(2n), term: term(3) });
  const trailing = new Uint8Array(m.length + 1);
  trailing.set(m);
  assert.throws(() => decodeMessage(trailing), /trailing/);
  const badVersion = m.slice();
  badVersion[0] = 9;
  assert.throws(() => decodeMessage(badVersion), /version/);
  const zeroFrom = m.slice();
  zeroFrom.fill(0, 2, 10);
  assert.throws(() => decodeMessage(zeroFrom), /member id 0/);
});

test('hard state round-trips; garbage throws DecodeError', () => {
  fc.assert(
    fc.property(fc.nat(), fc.option(nodeIdArb, { nil: null }), fc.nat(), (t, vote, commit) => {
      const hs = { term: term(t), vote, commit: logIndex(commit) };
      assert.deepEqual(decodeHardState(encodeHardState(hs)), hs);
    }),
  );
  assert.throws(() => decodeHardState(new Uint8Array(3)), DecodeError);
  assert.throws(() => decodeHardState(new Uint8Array(30)), DecodeError);
});

test('config changes and config entries round-trip', () => {
  const op = fc.record({ type: fc.constantFrom('add-voter' as const, 'add-learner' as const, 'remove' as const), node: nodeIdArb });
  // fast-check builds null-prototype records; the decoder builds plain objects.
  const change = fc.record(
    { ops: fc.array(op, { maxLength: 4 }), joint: fc.boolean(), context: fc.uint8Array({ maxLength: 32 }) },
    { requiredKeys: ['ops', 'context'] },
  ).map((c) => ({ ...c, ops: c.ops.map((o) => ({ ...o })) }));
  fc.assert(
    fc.property(change, (c) => {
      assert.deepEqual(decodeConfigChange(encodeConfigChange(c)), c);
      const config = { voters: c.ops.map((o) => o.node), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
      assert.deepEqual(decodeConfigEntry(encodeConfigEntry({ change: c, config })), { change: c, config });
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      for (const decode of [decodeConfigChange, decodeConfigEntry]) {
        try {
          decode(bytes);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `threw ${String(e)}`);
        }
      }
    }),
    { numRuns: 2000 },
  );
});
