import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseId, type LeaseId } from '../core/ids.js';
import { putOp, rangeOp } from './command.js';
import { KvStore } from './kv-store.js';
import { Lessor } from './lessor.js';
import { Applier } from '../../test/kv/helpers.js';

/** A leader in miniature: a store, its lessor wired to apply, and a clock the test moves. */
class Leader {
  now = 0;
  readonly lessor: Lessor;
  readonly a: Applier;

  constructor(readonly store: KvStore, lessor = new Lessor({ checkpointIntervalMs: 60_000 })) {
    this.lessor = lessor;
    this.a = new Applier(store);
  }

  /** What the server's lease timer does: propose expiries and checkpoints through the log. */
  tick(toMs: number): LeaseId[] {
    this.now = toMs;
    const expired = this.lessor.expired(this.now);
    if (expired.length > 0) this.a.apply({ type: 'lease-expire', ids: expired });
    const cps = this.lessor.checkpoints(this.now);
    if (cps.length > 0) this.a.apply({ type: 'lease-checkpoint', checkpoints: cps });
    return expired;
  }
}

function wired(): { store: KvStore; lessor: Lessor; leader: Leader } {
  let leader: Leader | null = null;
  const store = new KvStore({ leaseTtlMinSec: 1, onLeaseEvent: (e) => leader?.lessor.observe(e, leader.now) });
  leader = new Leader(store);
  leader.lessor.promote(0, store.leaseList());
  return { store, lessor: leader.lessor, leader };
}

test('a lease expires after its TTL, by the leader, through the log, with its keys', () => {
  const { store, lessor, leader } = wired();
  leader.a.apply({ type: 'lease-grant', id: leaseId(1n), ttlSec: 10 });
  leader.a.apply(putOp('k', 'v', { lease: leaseId(1n) }));
  assert.deepEqual(leader.tick(9_999), []);
  assert.equal(lessor.ttlSec(leaseId(1n), 9_000), 1);
  assert.deepEqual(leader.tick(10_000), [1n]);
  assert.equal(store.range(rangeOp('k')).kvs.length, 0);
  assert.deepEqual(store.leaseList(), []);
  assert.equal(lessor.remainingMs(leaseId(1n), 10_000), null);
});

test('renewal moves the deadline; an expiring lease refuses renewal; a follower refuses everything', () => {
  const lessor = new Lessor();
  assert.deepEqual(lessor.renew(leaseId(1n), 0), { type: 'not-leader' });
  lessor.promote(0, [{ id: leaseId(1n), ttlSec: 10, remainingTtlSec: 0 }, { id: leaseId(2n), ttlSec: 10, remainingTtlSec: 0 }]);
  assert.deepEqual(lessor.renew(leaseId(1n), 8_000), { type: 'renewed', ttlSec: 10, awaitCheckpoint: false });
  assert.deepEqual(lessor.expired(10_000), [2n]);
  assert.deepEqual(lessor.renew(leaseId(2n), 10_001), { type: 'not-found' });
  assert.deepEqual(lessor.renew(leaseId(9n), 10_001), { type: 'not-found' });
  lessor.observe({ type: 'revoked', id: leaseId(2n) }, 10_002); // the LeaseExpire entry applied
  assert.deepEqual(lessor.expired(17_999), []);
  assert.deepEqual(lessor.expired(18_000), [1n]);
  // Still alive after the retry delay (the proposal was lost): proposed again, once.
  assert.deepEqual(lessor.expired(18_000 + 2_999), []);
  assert.deepEqual(lessor.expired(18_000 + 3_000), [1n]);
  lessor.demote();
  assert.equal(lessor.nextDeadlineMs(), null);
  assert.deepEqual(lessor.expired(1e9), []);
});

test('expiries come in bounded batches', () => {
  const lessor = new Lessor({ expiriesPerEntryMax: 100 });
  lessor.promote(0, Array.from({ length: 250 }, (_, i) => ({ id: leaseId(BigInt(i + 1)), ttlSec: 5, remainingTtlSec: 0 })));
  const batches = [lessor.expired(5_000), lessor.expired(5_000), lessor.expired(5_000), lessor.expired(5_000)];
  assert.deepEqual(batches.map((x) => x.length), [100, 100, 50, 0]);
  assert.equal(new Set(batches.flat()).size, 250);
});

test('a leader change does not extend leases: the new leader starts from the last checkpoint (etcd#9888)', () => {
  const { store, leader } = wired();
  leader.a.apply({ type: 'lease-grant', id: leaseId(1n), ttlSec: 100 });
  // Checkpoints every half TTL (50 s, within [1 s, 60 s]).
  leader.tick(50_000);
  assert.equal(store.leaseList()[0]!.remainingTtlSec, 50);
  // The leader dies at 60 s; a new one takes over at 70 s (no extension, to see the effect plainly).
  const next = new Lessor();
  next.promote(70_000, store.leaseList());
  assert.equal(next.remainingMs(leaseId(1n), 70_000), 50_000);
  assert.deepEqual(next.expired(119_999), []);
  assert.deepEqual(next.expired(120_000), [1n]);
  // Without the checkpoint it would have run until 170 s.
  const naive = new Lessor();
  naive.promote(70_000, [{ ...store.leaseList()[0]!, remainingTtlSec: 0 }]);
  assert.equal(naive.remainingMs(leaseId(1n), 70_000), 100_000);
});

test('a renewal over a checkpoint resets it through the log, so a new leader does not expire the lease early', () => {
  const { store, lessor, leader } = wired();
  leader.a.apply({ type: 'lease-grant', id: leaseId(1n), ttlSec: 100 });
  leader.tick(50_000);
  assert.equal(store.leaseList()[0]!.remainingTtlSec, 50);
  const r = lessor.renew(leaseId(1n), 55_000);
  assert.deepEqual(r, { type: 'renewed', ttlSec: 100, awaitCheckpoint: true });
  // The reset goes first in the next checkpoint batch, even before anything is due.
  assert.deepEqual(lessor.checkpoints(55_000), [{ id: 1n, remainingTtlSec: 0 }]);
  leader.a.apply({ type: 'lease-checkpoint', checkpoints: [{ id: leaseId(1n), remainingTtlSec: 0 }] });
  assert.equal(store.leaseList()[0]!.remainingTtlSec, 0);
  const next = new Lessor();
  next.promote(60_000, store.leaseList());
  assert.equal(next.remainingMs(leaseId(1n), 60_000), 100_000);
});

test('checkpoint cadence is half the TTL within bounds, batches are bounded, renewals do not grow the heaps without bound', () => {
  const lessor = new Lessor({ checkpointIntervalMs: 10_000, checkpointDelayMsMin: 1_000, checkpointsPerEntryMax: 3 });
  lessor.promote(0, [
    { id: leaseId(1n), ttlSec: 1, remainingTtlSec: 0 },
    { id: leaseId(2n), ttlSec: 6, remainingTtlSec: 0 },
    { id: leaseId(3n), ttlSec: 600, remainingTtlSec: 0 },
  ]);
  assert.equal(lessor.nextDeadlineMs(), 1_000);
  assert.deepEqual(lessor.checkpoints(999), []);
  assert.deepEqual(lessor.checkpoints(1_000), []); // lease 1 has nothing left to checkpoint (expires at 1 s)
  assert.deepEqual(lessor.checkpoints(3_000), [{ id: 2n, remainingTtlSec: 3 }]);
  // Lease 2 ran out at 6 s; lease 3 (600 s) is checkpointed at the interval bound.
  assert.deepEqual(lessor.checkpoints(10_000), [{ id: 3n, remainingTtlSec: 590 }]);
  const many = new Lessor({ checkpointsPerEntryMax: 3 });
  many.promote(0, Array.from({ length: 10 }, (_, i) => ({ id: leaseId(BigInt(i + 1)), ttlSec: 100, remainingTtlSec: 0 })));
  assert.equal(many.checkpoints(50_000).length, 3);
  for (let t = 0; t < 100_000; t++) many.renew(leaseId(1n), 60_000 + t);
  const heapSize = (many as unknown as { expiries: { size: number } }).expiries.size;
  assert.ok(heapSize < 4 * many.size + 1100, `expiry heap holds ${heapSize} entries for ${many.size} leases`);
});
