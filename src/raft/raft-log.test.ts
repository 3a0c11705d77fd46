import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { RaftLog, TERM_UNKNOWN } from './raft-log.js';

const entry = (index: number, t: number): Entry => ({ index: logIndex(index), term: term(t), kind: 'normal', data: new Uint8Array(index % 7) });

/** A log of non-decreasing terms after a snapshot at `snap`. */
const logArb = fc.record({
  snap: fc.nat({ max: 20 }),
  steps: fc.array(fc.nat({ max: 2 }), { maxLength: 40 }),
});

function build(snap: number, steps: readonly number[]): { log: RaftLog; terms: number[] } {
  const terms: number[] = [];
  let t = 1;
  for (const s of steps) {
    t += s;
    terms.push(t);
  }
  const entries = terms.map((tt, i) => entry(snap + 1 + i, tt));
  return { log: new RaftLog({ snapshotIndex: snap, snapshotTerm: snap === 0 ? 0 : 1, entries }), terms };
}

test('the term lookups the conflict hints use equal linear scans', () => {
  fc.assert(
    fc.property(logArb, fc.nat({ max: 80 }), fc.nat({ max: 80 }), (l, t, upTo) => {
      const { log } = build(l.snap, l.steps);
      let naiveLast = -1;
      for (let i = log.snapshotIndex; i <= Math.min(upTo, log.lastIndex()); i++) if (log.term(i) <= t) naiveLast = i;
      assert.equal(log.lastIndexWithTermAtMost(t, upTo), naiveLast);
      const hi = log.lastIndex();
      let naiveFirst = hi;
      for (let i = hi; i >= log.firstIndex(); i--) if (log.term(i) >= t) naiveFirst = i;
      if (hi >= log.firstIndex()) assert.equal(log.firstIndexWithTermAtLeast(t, log.firstIndex(), hi), naiveFirst);
    }),
    { numRuns: 2000 },
  );
});

test('appendFromLeader skips what matches, truncates at the first conflict, moves the unstable mark back', () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)] });
  assert.equal(log.unstableFrom, 5);
  log.appendFromLeader([entry(2, 1), entry(3, 2)]);
  assert.equal(log.lastIndex(), 4, 'matching entries change nothing');
  log.appendFromLeader([entry(3, 3), entry(4, 3), entry(5, 3)]);
  assert.equal(log.lastIndex(), 5);
  assert.equal(log.term(3), 3);
  assert.equal(log.unstableFrom, 3, 'the rewritten suffix goes in the next Ready');
  assert.equal(log.stableIndex, 2);
  assert.deepEqual(log.takeUnstable().map((e) => e.index), [3, 4, 5]);
  log.stableTo(5, 3);
  assert.equal(log.stableIndex, 5);
  log.stableTo(5, 2);
  assert.equal(log.stableIndex, 5, 'a stale confirmation does not move the mark');
});

test('compaction forgets the prefix; the snapshot keeps its term; restore replaces everything', () => {
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: [entry(1, 1), entry(2, 1), entry(3, 2)] });
  log.commitTo(3);
  log.takeCommitted(10, 1000);
  log.appliedTo(3);
  log.compact(2);
  assert.equal(log.firstIndex(), 3);
  assert.equal(log.term(2), 1);
  assert.equal(log.term(1), TERM_UNKNOWN);
  log.restore({ index: logIndex(10), term: term(4), config: { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, sizeBytes: 0, crc32c: 0 });
  assert.equal(log.lastIndex(), 10);
  assert.equal(log.committed, 10);
  assert.equal(log.lastTerm(), 4);
  assert.deepEqual(log.takeCommitted(10, 1000), [], 'nothing at or below an installed snapshot is handed out');
});

test('slice respects count and byte bounds, and always returns at least one entry', () => {
  const big = (i: number): Entry => ({ index: logIndex(i), term: term(1), kind: 'normal', data: new Uint8Array(100) });
  const log = new RaftLog({ snapshotIndex: 0, snapshotTerm: 0, entries: [big(1), big(2), big(3), big(4)] });
  assert.equal(log.slice(1, 4, 10, 250).length, 2);
  assert.equal(log.slice(1, 4, 3, 10_000).length, 3);
  assert.equal(log.slice(1, 4, 10, 50).length, 1, 'an entry larger than the bound goes alone');
});
