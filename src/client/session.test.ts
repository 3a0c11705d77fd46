import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SessionState } from './session.js';
import { formatSessionTag, parseSessionTag, SessionService } from './session-protocol.js';

test('the lowest unacknowledged sequence is the smallest still outstanding', () => {
  const s = new SessionState();
  s.opened(5);
  const a = s.begin();
  const b = s.begin();
  const c = s.begin();
  assert.deepEqual([a, b, c], [1, 2, 3]);
  assert.equal(s.lowestUnacked(), 1);
  s.retire(a);
  assert.equal(s.lowestUnacked(), 2);
  s.retire(c);
  assert.equal(s.lowestUnacked(), 2);
  s.retire(b);
  assert.equal(s.lowestUnacked(), 4, 'nothing outstanding: the next sequence');
  assert.deepEqual(s.tag(4), { clientId: 5, seq: 4, lowestUnacked: 4 });
});

test('an expired session forgets its sequences; another id does not expire it', () => {
  const s = new SessionState();
  s.opened(9);
  s.begin();
  assert.equal(s.expired(8), false);
  assert.equal(s.expired(9), true);
  assert.equal(s.mode.type, 'unknown');
  assert.equal(s.inflight, 0);
});

test('session tags round-trip through the header and malformed ones are refused', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 ** 15 - 1 }), fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 40 }), (clientId, seq, low) => {
      const lowestUnacked = Math.min(low, seq);
      assert.deepEqual(parseSessionTag(formatSessionTag({ clientId, seq, lowestUnacked })), { clientId, seq, lowestUnacked });
    }),
    { seed: 7 },
  );
  for (const bad of ['', 'x/1/1', '1/0/0', '0/1/1', '1/1/2', '1/1', '1/1/1/1', '1/-1/0', 'ff/1/1']) assert.equal(parseSessionTag(bad), null, bad);
  fc.assert(fc.property(fc.string(), (s) => void parseSessionTag(s)), { seed: 8 });
});

test('session messages round-trip and garbage is a DecodeError', () => {
  const open = SessionService.Open;
  const bytes = open.encodeResponse({ header: { clusterId: 1n, memberId: 2n, revision: 3, raftTerm: 4 }, clientId: 77 });
  assert.deepEqual(open.decodeResponse(bytes), { header: { clusterId: 1n, memberId: 2n, revision: 3, raftTerm: 4 }, clientId: 77 });
  const close = SessionService.Close;
  assert.deepEqual(close.decodeRequest(close.encodeRequest({ clientId: 12 })), { clientId: 12 });
  assert.throws(() => open.decodeResponse(new Uint8Array([0x0a, 0x05, 0x01])), /overruns|truncated/);
  assert.throws(() => open.decodeResponse(new Uint8Array([0x12, 0x00])), /wire type/);
  assert.throws(() => open.decodeResponse(new Uint8Array([0x10, 0xff])), /truncated/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      try {
        open.decodeResponse(b);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'decode');
      }
    }),
    { seed: 9 },
  );
});
