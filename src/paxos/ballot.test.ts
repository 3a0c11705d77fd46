import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nodeIdFromBigInt } from '../core/ids.js';
import { ballotGrantable, ballotOrdinal, ballotOwnedBy, ballotRound, makeBallot, nextBallot } from './ballot.js';
import { memberId } from './test-network.js';

const idArb = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map(nodeIdFromBigInt);

test('ballots order by round, then by member ordinal, as plain numbers', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e9 }), idArb, idArb, (r1, r2, x, y) => {
      const b1 = makeBallot(r1, x);
      const b2 = makeBallot(r2, y);
      if (r1 < r2) assert.ok(b1 < b2);
      assert.equal(ballotRound(b1), r1);
      assert.ok(ballotOwnedBy(b1, x));
      assert.equal(b1 === b2, r1 === r2 && ballotOrdinal(x) === ballotOrdinal(y));
    }),
  );
});

test('nextBallot goes above every ballot seen', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1e9 }), idArb, idArb, (r, x, y) => {
      const seen = makeBallot(r, x);
      const next = nextBallot(seen, y);
      assert.ok(next > seen);
      assert.ok(ballotOwnedBy(next, y));
    }),
  );
});

test('an acceptor grants a ballot number to one member only (ties between colliding ordinals are safe)', () => {
  const a = memberId(1);
  const b = memberId(2);
  const bal = makeBallot(4, a);
  const p = { ballot: bal, node: a };
  assert.ok(ballotGrantable(p, bal, a), 'the same member may retry');
  assert.ok(!ballotGrantable(p, bal, b), 'another member with the same number is refused');
  assert.ok(ballotGrantable(p, makeBallot(5, b), b));
  assert.ok(!ballotGrantable(p, makeBallot(3, b), b));
});

test('members 1447 and 2176 share an ordinal (the property tests rely on it)', () => {
  assert.equal(ballotOrdinal(memberId(1447)), ballotOrdinal(memberId(2176)));
  assert.equal(makeBallot(3, memberId(1447)), makeBallot(3, memberId(2176)));
});
