import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../core/ids.js';
import { LeaderTracker } from './leader-tracker.js';

const A = '00000000000000aa' as NodeId;
const B = '00000000000000bb' as NodeId;

test('a leader is learned from status, forgotten on a newer term, and old news is ignored', () => {
  const t = new LeaderTracker();
  assert.equal(t.observeLeader(A, 3), true);
  assert.equal(t.leader, A);
  assert.equal(t.observeLeader(A, 3), false, 'same news');
  assert.equal(t.observeLeader(B, 2), false, 'an older term');
  assert.equal(t.leader, A);
  assert.equal(t.observeTerm(3), false);
  assert.equal(t.observeTerm(4), true, 'a newer term means an election');
  assert.equal(t.leader, null);
  assert.equal(t.observeLeader(B, 4), true);
  assert.equal(t.invalidate(), true);
  assert.equal(t.invalidate(), false);
  assert.equal(t.observeLeader(null, 5), false, 'no leader at a newer term: nothing to forget');
  assert.equal(t.term, 5);
});
