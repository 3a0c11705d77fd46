/** The quorum arithmetic against naive versions, over many random cases. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import type { ConfigState } from '../consensus/types.js';
import { jointQuorumActive, jointValue, jointVote, majorityValue, majorityVote, type VoteOutcome } from './quorum.js';

const ids = (n: number, from = 1): NodeId[] => Array.from({ length: n }, (_, i) => nodeIdFromBigInt(BigInt(from + i)));

/** The largest v such that more than half of the voters have reached v. */
function naiveMajorityValue(values: readonly number[]): number {
  if (values.length === 0) return Infinity;
  let best = 0;
  for (const v of values) {
    const reached = values.filter((x) => x >= v).length;
    if (reached * 2 > values.length) best = Math.max(best, v);
  }
  return best;
}

function naiveVote(granted: number, rejected: number, n: number): VoteOutcome {
  if (n === 0) return 'won';
  if (granted * 2 > n) return 'won';
  if ((n - rejected) * 2 > n) return 'pending';
  return 'lost';
}

test('majorityValue equals the naive quorum value', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 50 }), { maxLength: 9 }), (values) => {
      const voters = ids(values.length);
      const of = new Map(voters.map((v, i) => [v, values[i]!]));
      assert.equal(majorityValue(voters, (id) => of.get(id)!), naiveMajorityValue(values));
    }),
    { numRuns: 2000 },
  );
});

test('jointValue needs a majority of both halves (§6, joint consensus)', () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 7 }), fc.array(fc.nat({ max: 50 }), { maxLength: 7 }), (a, b) => {
      // Overlapping halves: the outgoing set shares its first member with the incoming one.
      const incoming = ids(a.length);
      const outgoing = b.length === 0 ? [] : [incoming[0]!, ...ids(b.length - 1, 100)];
      const of = new Map<NodeId, number>();
      incoming.forEach((v, i) => of.set(v, a[i]!));
      outgoing.forEach((v, i) => {
        if (i > 0) of.set(v, b[i]!);
      });
      const c: ConfigState = { voters: incoming, votersOutgoing: outgoing, learners: [], learnersNext: [], autoLeave: false };
      const expected = Math.min(naiveMajorityValue(incoming.map((v) => of.get(v)!)), naiveMajorityValue(outgoing.map((v) => of.get(v)!)));
      assert.equal(jointValue(c, (id) => of.get(id)!), expected);
    }),
    { numRuns: 2000 },
  );
});

test('majorityVote and jointVote equal naive counting', () => {
  const answer = fc.constantFrom<boolean | undefined>(true, false, undefined);
  fc.assert(
    fc.property(fc.array(answer, { maxLength: 7 }), fc.array(answer, { maxLength: 7 }), (a, b) => {
      const incoming = ids(a.length);
      const outgoing = ids(b.length, 100);
      const votes = new Map<NodeId, boolean>();
      a.forEach((v, i) => v !== undefined && votes.set(incoming[i]!, v));
      b.forEach((v, i) => v !== undefined && votes.set(outgoing[i]!, v));
      const count = (xs: readonly (boolean | undefined)[]): VoteOutcome =>
        naiveVote(xs.filter((x) => x === true).length, xs.filter((x) => x === false).length, xs.length);
      assert.equal(majorityVote(incoming, votes), count(a));
      const x = count(a);
      const y = count(b);
      const joint: VoteOutcome = x === 'lost' || y === 'lost' ? 'lost' : x === 'won' && y === 'won' ? 'won' : 'pending';
      const c: ConfigState = { voters: incoming, votersOutgoing: outgoing, learners: [], learnersNext: [], autoLeave: false };
      assert.equal(jointVote(c, votes), joint);
      const active = new Set([...votes].filter(([, v]) => v).map(([k]) => k));
      assert.equal(jointQuorumActive(c, (id) => active.has(id)), joint === 'won');
    }),
    { numRuns: 2000 },
  );
});
