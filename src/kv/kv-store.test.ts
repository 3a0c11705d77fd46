import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leaseId, logIndex, nodeIdFromBigInt } from '../core/ids.js';
import { compare, deleteRangeOp, prefixEnd, putOp, rangeOp, txnOp, type Op } from './command.js';
import { KvError } from './errors.js';
import { KvStore } from './kv-store.js';
import { Applier, b, copySnapshot, MEMBER, s } from '../../test/kv/helpers.js';

const fresh = (opts = {}): Applier => new Applier(new KvStore(opts));
const keysOf = (kvs: readonly { key: Uint8Array }[]): string[] => kvs.map((kv) => s(kv.key));

test('revisions start at 1 and each write takes the next one', () => {
  const a = fresh();
  assert.equal(a.store.revision, 1);
  const r1 = a.apply(putOp('a', '1'));
  assert.equal(r1.revision, 2);
  a.ok(putOp('a', '2'), 'put');
  const [kv] = a.store.range(rangeOp('a')).kvs;
  assert.deepEqual({ c: kv!.createRevision, m: kv!.modRevision, v: kv!.version, val: s(kv!.value) }, { c: 2, m: 3, v: 2, val: '2' });
  a.ok(deleteRangeOp('a'), 'delete-range');
  assert.equal(a.store.revision, 4);
  a.ok(putOp('a', '3'), 'put');
  const [kv2] = a.store.range(rangeOp('a')).kvs;
  assert.deepEqual({ c: kv2!.createRevision, m: kv2!.modRevision, v: kv2!.version }, { c: 5, m: 5, v: 1 });
  // Deleting nothing does not take a revision.
  const d = a.ok(deleteRangeOp('zzz'), 'delete-range');
  assert.equal(d.deleted, 0);
  assert.equal(a.store.revision, 5);
});

test('range end rules: single key, prefix, from-key, all keys, empty range', () => {
  const a = fresh();
  for (const k of ['a', 'ab', 'abc', 'b', 'c\xff', 'd']) a.ok(putOp(k, k), 'put');
  assert.deepEqual(keysOf(a.store.range(rangeOp('ab')).kvs), ['ab']);
  assert.deepEqual(keysOf(a.store.range(rangeOp('ab', { rangeEnd: prefixEnd('ab') })).kvs), ['ab', 'abc']);
  assert.deepEqual(keysOf(a.store.range(rangeOp('b', { rangeEnd: new Uint8Array([0]) })).kvs), ['b', 'c\xff', 'd']);
  assert.deepEqual(keysOf(a.store.range(rangeOp(new Uint8Array([0]), { rangeEnd: new Uint8Array([0]) })).kvs).length, 6);
  assert.deepEqual(a.store.range(rangeOp('c', { rangeEnd: 'b' })).kvs, []);
  assert.deepEqual([...prefixEnd(new Uint8Array([0x61, 0xff]))], [0x62]);
  assert.deepEqual([...prefixEnd(new Uint8Array([0xff]))], [0]);
});

test('limit, more and count; count_only; keys_only', () => {
  const a = fresh();
  for (let i = 0; i < 10; i++) a.ok(putOp(`k${i}`, `v${i}`), 'put');
  const all = rangeOp('k', { rangeEnd: prefixEnd('k') });
  const r = a.store.range({ ...all, limit: 3 });
  assert.deepEqual(keysOf(r.kvs), ['k0', 'k1', 'k2']);
  assert.equal(r.more, true);
  assert.equal(r.count, 10);
  const r2 = a.store.range({ ...all, limit: 10 });
  assert.equal(r2.more, false);
  const c = a.store.range({ ...all, countOnly: true });
  assert.deepEqual({ n: c.kvs.length, count: c.count, more: c.more }, { n: 0, count: 10, more: false });
  const ko = a.store.range({ ...all, keysOnly: true, limit: 1 });
  assert.equal(ko.kvs[0]!.value.length, 0);
  assert.equal(ko.kvs[0]!.version, 1);
});

test('sorting by every target, both orders; filters on mod and create revision', () => {
  const a = fresh();
  a.ok(putOp('a', 'z'), 'put'); // rev 2
  a.ok(putOp('b', 'y'), 'put'); // rev 3
  a.ok(putOp('c', 'x'), 'put'); // rev 4
  a.ok(putOp('a', 'w'), 'put'); // rev 5: a version 2
  const all = rangeOp('a', { rangeEnd: new Uint8Array([0]) });
  assert.deepEqual(keysOf(a.store.range({ ...all, sortOrder: 'descend' }).kvs), ['c', 'b', 'a']);
  assert.deepEqual(keysOf(a.store.range({ ...all, sortTarget: 'value' }).kvs), ['a', 'c', 'b']); // NONE with a non-key target ascends
  assert.deepEqual(keysOf(a.store.range({ ...all, sortTarget: 'mod', sortOrder: 'descend' }).kvs), ['a', 'c', 'b']);
  assert.deepEqual(keysOf(a.store.range({ ...all, sortTarget: 'create', sortOrder: 'ascend' }).kvs), ['a', 'b', 'c']);
  assert.deepEqual(keysOf(a.store.range({ ...all, sortTarget: 'version', sortOrder: 'descend' }).kvs), ['a', 'b', 'c']);
  assert.deepEqual(keysOf(a.store.range({ ...all, minModRevision: 4 }).kvs), ['a', 'c']);
  assert.deepEqual(keysOf(a.store.range({ ...all, maxModRevision: 4 }).kvs), ['b', 'c']);
  assert.deepEqual(keysOf(a.store.range({ ...all, minCreateRevision: 3, maxCreateRevision: 3 }).kvs), ['b']);
  // count ignores the filters; limit applies after sorting.
  const f = a.store.range({ ...all, minModRevision: 4, limit: 1, sortTarget: 'mod', sortOrder: 'descend' });
  assert.deepEqual({ keys: keysOf(f.kvs), count: f.count, more: f.more }, { keys: ['a'], count: 3, more: true });
});

test('reads at past revisions; compacted and future revisions are errors', () => {
  const a = fresh();
  a.ok(putOp('k', '1'), 'put'); // 2
  a.ok(putOp('k', '2'), 'put'); // 3
  a.ok(deleteRangeOp('k'), 'delete-range'); // 4
  assert.equal(s(a.store.range(rangeOp('k', { revision: 2 })).kvs[0]!.value), '1');
  assert.equal(s(a.store.range(rangeOp('k', { revision: 3 })).kvs[0]!.value), '2');
  assert.equal(a.store.range(rangeOp('k', { revision: 4 })).kvs.length, 0);
  assert.throws(() => a.store.range(rangeOp('k', { revision: 5 })), (e: KvError) => e.code === 'future-revision' && e.message === 'etcdserver: mvcc: required revision is a future revision');
  a.ok({ type: 'compaction', revision: 3, physical: true }, 'compaction');
  assert.equal(s(a.store.range(rangeOp('k', { revision: 3 })).kvs[0]!.value), '2');
  assert.throws(() => a.store.range(rangeOp('k', { revision: 2 })), (e: KvError) => e.code === 'compacted' && e.grpc === 'OUT_OF_RANGE');
  assert.equal(a.err({ type: 'compaction', revision: 3, physical: false }), 'compacted');
  assert.equal(a.err({ type: 'compaction', revision: 99, physical: false }), 'future-revision');
  assert.equal(a.err(rangeOp('k', { revision: 1 })), 'compacted');
});

test('put options: prev_kv, ignore_value, ignore_lease and their errors', () => {
  const a = fresh();
  assert.equal(a.ok(putOp('k', 'v1', { prevKv: true }), 'put').prevKv, null);
  const p = a.ok(putOp('k', 'v2', { prevKv: true }), 'put');
  assert.equal(s(p.prevKv!.value), 'v1');
  const l = a.ok({ type: 'lease-grant', id: leaseId(7n), ttlSec: 100 }, 'lease-grant');
  a.ok(putOp('k', 'v3', { lease: l.id }), 'put');
  // ignore_value keeps the value only: the lease is the one given (none), as in etcd.
  a.ok(putOp('k', '', { ignoreValue: true }), 'put');
  let kv = a.store.range(rangeOp('k')).kvs[0]!;
  assert.deepEqual({ v: s(kv.value), l: kv.lease }, { v: 'v3', l: 0n });
  a.ok(putOp('k', 'v3', { lease: l.id }), 'put');
  a.ok(putOp('k', 'v4', { ignoreLease: true }), 'put');
  kv = a.store.range(rangeOp('k')).kvs[0]!;
  assert.deepEqual({ v: s(kv.value), l: kv.lease }, { v: 'v4', l: 7n });
  assert.equal(a.err(putOp('missing', '', { ignoreValue: true })), 'key-not-found');
  assert.equal(a.err(putOp('k', 'x', { ignoreValue: true })), 'value-provided');
  assert.equal(a.err(putOp('k', 'x', { ignoreLease: true, lease: leaseId(7n) })), 'lease-provided');
  assert.equal(a.err(putOp('k', 'x', { lease: leaseId(8n) })), 'lease-not-found');
  assert.equal(a.err(putOp('', 'x')), 'empty-key');
  assert.equal(a.err(rangeOp('')), 'empty-key');
  assert.equal(a.err(deleteRangeOp('')), 'empty-key');
});

test('delete range with prev_kv', () => {
  const a = fresh();
  for (const k of ['a', 'b', 'c']) a.ok(putOp(k, k + k), 'put');
  const d = a.ok(deleteRangeOp('a', { rangeEnd: 'c', prevKv: true }), 'delete-range');
  assert.equal(d.deleted, 2);
  assert.deepEqual(d.prevKvs.map((kv) => s(kv.value)), ['aa', 'bb']);
  assert.equal(a.store.revision, 5);
  assert.deepEqual(keysOf(a.store.range(rangeOp('a', { rangeEnd: new Uint8Array([0]) })).kvs), ['c']);
});

test('txn compares on every target and result, over ranges and missing keys', () => {
  const a = fresh();
  a.ok({ type: 'lease-grant', id: leaseId(5n), ttlSec: 60 }, 'lease-grant');
  a.ok(putOp('x', 'm', { lease: leaseId(5n) }), 'put'); // rev 2
  a.ok(putOp('y', 'n'), 'put'); // rev 3
  const t = (c: ReturnType<typeof compare>): boolean => a.ok(txnOp([c], [], []), 'txn').succeeded;
  assert.equal(t(compare('x', 'equal', { type: 'version', version: 1 })), true);
  assert.equal(t(compare('x', 'greater', { type: 'create', revision: 1 })), true);
  assert.equal(t(compare('x', 'less', { type: 'mod', revision: 2 })), false);
  assert.equal(t(compare('x', 'not-equal', { type: 'value', value: b('m') })), false);
  assert.equal(t(compare('x', 'equal', { type: 'lease', lease: leaseId(5n) })), true);
  assert.equal(t(compare('y', 'equal', { type: 'lease', lease: leaseId(0n) })), true);
  // Over a range: every key must satisfy.
  assert.equal(t(compare('x', 'greater', { type: 'mod', revision: 1 }, 'z')), true);
  assert.equal(t(compare('x', 'greater', { type: 'mod', revision: 2 }, 'z')), false);
  // Missing keys compare as zero, except VALUE which always fails.
  assert.equal(t(compare('nope', 'equal', { type: 'version', version: 0 })), true);
  assert.equal(t(compare('nope', 'equal', { type: 'create', revision: 0 })), true);
  assert.equal(t(compare('nope', 'equal', { type: 'value', value: b('') })), false);
  assert.equal(t(compare('nope', 'not-equal', { type: 'value', value: b('q') })), false);
});

test('txn: one revision with sub-revisions, reads see earlier writes, nested txns', () => {
  const a = fresh();
  a.ok(putOp('a', '1'), 'put'); // 2
  const r = a.ok(
    txnOp(
      [compare('a', 'equal', { type: 'value', value: b('1') })],
      [putOp('b', '2'), rangeOp('b'), deleteRangeOp('a'), txnOp([compare('a', 'equal', { type: 'version', version: 1 })], [putOp('c', '3')], [putOp('d', '4')])],
      [putOp('z', 'no')],
    ),
    'txn',
  );
  assert.equal(r.succeeded, true);
  assert.equal(a.store.revision, 3);
  const rr = r.responses[1]!;
  assert.equal(rr.type === 'range' && s(rr.kvs[0]!.value), '2');
  // The nested compare saw the state before the transaction (a at version 1), as etcd evaluates all compares first.
  const nested = r.responses[3]!;
  assert.equal(nested.type === 'txn' && nested.succeeded, true);
  const all = a.store.range(rangeOp('a', { rangeEnd: new Uint8Array([0]) }));
  assert.deepEqual(keysOf(all.kvs), ['b', 'c']);
  assert.ok(all.kvs.every((kv) => kv.modRevision === 3));
  // A transaction that writes nothing takes no revision.
  a.ok(txnOp([], [rangeOp('a')]), 'txn');
  assert.equal(a.store.revision, 3);
});

test('txn: duplicate keys are refused as etcd refuses them', () => {
  const a = fresh();
  a.ok(putOp('k', 'v'), 'put');
  const dup = (op: Op): string => a.err(op);
  assert.equal(dup(txnOp([], [putOp('a', '1'), putOp('a', '2')])), 'duplicate-key');
  assert.equal(dup(txnOp([], [deleteRangeOp('a', { rangeEnd: 'c' }), putOp('b', '1')])), 'duplicate-key');
  assert.equal(dup(txnOp([], [putOp('a', '1'), txnOp([], [putOp('a', '2')])])), 'duplicate-key');
  assert.equal(dup(txnOp([], [deleteRangeOp('a'), txnOp([], [], [putOp('a', '2')])])), 'duplicate-key');
  // Both branches of one nested txn may write the same key: only one runs.
  a.ok(txnOp([], [txnOp([], [putOp('a', '1')], [putOp('a', '2')])]), 'txn');
  // Overlapping deletes are fine; success and failure are checked separately.
  a.ok(txnOp([], [deleteRangeOp('a'), deleteRangeOp('a', { rangeEnd: 'b' })], [putOp('a', 'x')]), 'txn');
  // etcd's quirk: a from-key ("\0") delete is not seen by the check, and the put then follows the delete.
  const q = a.ok(txnOp([], [deleteRangeOp('k', { rangeEnd: new Uint8Array([0]) }), putOp('k', 'again')]), 'txn');
  assert.equal(q.succeeded, true);
  const kv = a.store.range(rangeOp('k')).kvs[0]!;
  assert.deepEqual({ v: s(kv.value), version: kv.version, create: kv.createRevision }, { v: 'again', version: 1, create: a.store.revision });
});

test('txn: too many operations, checks before any change', () => {
  const a = fresh({ txnOpsMax: 4 });
  const many = Array.from({ length: 5 }, (_, i) => putOp(`k${i}`, 'v'));
  assert.equal(a.err(txnOp([], many)), 'too-many-ops');
  assert.equal(a.err(txnOp([], [txnOp([], many)])), 'too-many-ops');
  // A bad put later in the path refuses the whole txn, nothing applied.
  const rev = a.store.revision;
  assert.equal(a.err(txnOp([], [putOp('a', '1'), putOp('b', '2', { lease: leaseId(99n) })])), 'lease-not-found');
  assert.equal(a.err(txnOp([], [putOp('a', '1'), rangeOp('a', { revision: 50 })])), 'future-revision');
  assert.equal(a.store.revision, rev);
  assert.equal(a.store.range(rangeOp('a')).kvs.length, 0);
});

test('read-only transactions are served locally', () => {
  const a = fresh();
  a.ok(putOp('a', '1'), 'put');
  const r = a.store.readTxn(txnOp([compare('a', 'equal', { type: 'version', version: 1 })], [rangeOp('a')], [rangeOp('b')]));
  assert.equal(r.succeeded, true);
  assert.throws(() => a.store.readTxn(txnOp([], [putOp('a', '2')])), (e: KvError) => e.code === 'invalid-request');
});

test('leases: grant, exists, TTL bounds, chosen ids, revoke deletes keys in one revision', () => {
  const events: string[] = [];
  const a = fresh({ leaseTtlMinSec: 5, onLeaseEvent: (e: { type: string; id: bigint }) => events.push(`${e.type}:${e.id}`) });
  const g = a.ok({ type: 'lease-grant', id: leaseId(10n), ttlSec: 1 }, 'lease-grant');
  assert.deepEqual({ id: g.id, ttl: g.ttlSec }, { id: 10n, ttl: 5 });
  assert.equal(a.err({ type: 'lease-grant', id: leaseId(10n), ttlSec: 60 }), 'lease-exists');
  assert.equal(a.err({ type: 'lease-grant', id: leaseId(11n), ttlSec: 9_000_000_001 }), 'lease-ttl-too-large');
  const chosen = a.ok({ type: 'lease-grant', id: leaseId(0n), ttlSec: 60 }, 'lease-grant');
  assert.ok(chosen.id > 0n);
  // Chosen ids are a function of the entry: another store applying the same entries agrees.
  const b2 = fresh({ leaseTtlMinSec: 5 });
  b2.ok({ type: 'lease-grant', id: leaseId(10n), ttlSec: 1 }, 'lease-grant');
  b2.err({ type: 'lease-grant', id: leaseId(10n), ttlSec: 60 });
  b2.err({ type: 'lease-grant', id: leaseId(11n), ttlSec: 9_000_000_001 });
  assert.equal(b2.ok({ type: 'lease-grant', id: leaseId(0n), ttlSec: 60 }, 'lease-grant').id, chosen.id);

  a.ok(putOp('x', '1', { lease: g.id }), 'put');
  a.ok(putOp('y', '2', { lease: g.id }), 'put');
  a.ok(putOp('z', '3'), 'put');
  const ttl = a.store.leaseTimeToLive(g.id, true);
  assert.deepEqual({ granted: ttl.grantedTtlSec, keys: ttl.keys.map(s) }, { granted: 5, keys: ['x', 'y'] });
  // Moving a key to another lease detaches it.
  a.ok(putOp('y', '2', { lease: chosen.id }), 'put');
  assert.deepEqual(a.store.leaseTimeToLive(g.id, true).keys.map(s), ['x']);
  const before = a.store.revision;
  a.ok({ type: 'lease-revoke', id: g.id }, 'lease-revoke');
  assert.equal(a.store.revision, before + 1);
  assert.deepEqual(keysOf(a.store.range(rangeOp('a', { rangeEnd: new Uint8Array([0]) })).kvs), ['y', 'z']);
  assert.equal(a.err({ type: 'lease-revoke', id: g.id }), 'lease-not-found');
  assert.throws(() => a.store.leaseTimeToLive(g.id, false), (e: KvError) => e.code === 'lease-not-found' && e.message === 'etcdserver: requested lease not found');
  // Expiry of several leases, some unknown, in one revision.
  const e = a.ok({ type: 'lease-expire', ids: [chosen.id, leaseId(12345n), chosen.id] }, 'lease-expire');
  assert.deepEqual(e.revoked, [chosen.id]);
  assert.deepEqual(keysOf(a.store.range(rangeOp('a', { rangeEnd: new Uint8Array([0]) })).kvs), ['z']);
  assert.deepEqual(events, ['granted:10', `granted:${chosen.id}`, 'revoked:10', `revoked:${chosen.id}`]);
  assert.deepEqual(a.store.leaseList(), []);
});

test('lease checkpoints are kept in the replicated state and clamped to the TTL', () => {
  const a = fresh();
  a.ok({ type: 'lease-grant', id: leaseId(1n), ttlSec: 100 }, 'lease-grant');
  a.ok({ type: 'lease-checkpoint', checkpoints: [{ id: leaseId(1n), remainingTtlSec: 40 }, { id: leaseId(2n), remainingTtlSec: 5 }] }, 'lease-checkpoint');
  assert.deepEqual(a.store.leaseList(), [{ id: 1n, ttlSec: 100, remainingTtlSec: 40 }]);
  a.ok({ type: 'lease-checkpoint', checkpoints: [{ id: leaseId(1n), remainingTtlSec: 1000 }] }, 'lease-checkpoint');
  assert.equal(a.store.leaseList()[0]!.remainingTtlSec, 100);
});

test('NOSPACE alarm: maintenance mode accepts reads, deletes, compaction, revocation; CORRUPT refuses all', () => {
  const a = fresh();
  a.ok(putOp('a', '1'), 'put');
  a.ok({ type: 'lease-grant', id: leaseId(3n), ttlSec: 60 }, 'lease-grant');
  const on = a.ok({ type: 'alarm', action: 'activate', member: MEMBER, alarm: 'nospace' }, 'alarm');
  assert.deepEqual(on.alarms, [{ member: MEMBER, alarm: 'nospace' }]);
  assert.equal(a.err(putOp('b', '2')), 'no-space');
  assert.equal(a.err(txnOp([], [], [putOp('b', '2')])), 'no-space');
  assert.equal(a.err({ type: 'lease-grant', id: leaseId(4n), ttlSec: 60 }), 'no-space');
  a.ok(txnOp([], [deleteRangeOp('zz'), rangeOp('a')]), 'txn');
  a.ok(rangeOp('a'), 'range');
  a.ok({ type: 'compaction', revision: 2, physical: false }, 'compaction');
  a.ok({ type: 'lease-revoke', id: leaseId(3n) }, 'lease-revoke');
  a.ok(deleteRangeOp('a'), 'delete-range');
  assert.equal(a.err({ type: 'alarm', action: 'activate', member: null, alarm: 'nospace' }), 'invalid-request');
  const off = a.ok({ type: 'alarm', action: 'deactivate', member: null, alarm: 'nospace' }, 'alarm');
  assert.equal(off.alarms.length, 1);
  a.ok(putOp('b', '2'), 'put');
  a.ok({ type: 'alarm', action: 'activate', member: nodeIdFromBigInt(2n), alarm: 'corrupt' }, 'alarm');
  for (const op of [putOp('c', '1'), rangeOp('b'), deleteRangeOp('b'), txnOp([], []), { type: 'compaction', revision: 3, physical: false } as const]) {
    assert.equal(a.err(op), 'corrupt');
  }
  assert.throws(() => a.store.range(rangeOp('b')), (e: KvError) => e.code === 'corrupt' && e.grpc === 'DATA_LOSS');
  a.ok({ type: 'alarm', action: 'deactivate', member: nodeIdFromBigInt(2n), alarm: 'corrupt' }, 'alarm');
  a.ok(rangeOp('b'), 'range');
});

test('quota: the proposer sees when an op would exceed it', () => {
  const a = fresh({ quotaBytes: 1000 });
  const over = a.store.admit(putOp('k', 'x'.repeat(2000)), MEMBER);
  assert.ok(over.type === 'refuse' && over.error.code === 'no-space');
  assert.deepEqual(over.raise, { type: 'alarm', action: 'activate', member: MEMBER, alarm: 'nospace' });
  const bad = a.store.admit(putOp('', 'x'), MEMBER);
  assert.ok(bad.type === 'refuse' && bad.error.code === 'empty-key' && bad.raise === null);
  assert.deepEqual(a.store.admit(deleteRangeOp('k'), MEMBER), { type: 'propose' });
  assert.equal(a.store.quotaExceeded(putOp('k', 'x'.repeat(100))), false);
  a.ok(putOp('k', 'x'.repeat(800)), 'put');
  assert.equal(a.store.quotaExceeded(putOp('k', 'x'.repeat(100))), true);
  assert.equal(a.store.quotaExceeded(deleteRangeOp('k')), false);
  a.ok(deleteRangeOp('k'), 'delete-range');
  a.ok(putOp('o', ''), 'put');
  // Compaction at the revision after the delete frees the key entirely.
  a.ok({ type: 'compaction', revision: a.store.revision, physical: true }, 'compaction');
  assert.equal(a.store.status().sizeBytes, 1 + 64);
  assert.equal(a.store.quotaExceeded(putOp('k', 'x'.repeat(100))), false);
});

test('client sessions: a duplicate gets the kept response and is not applied twice', () => {
  const a = fresh();
  const id = a.ok({ type: 'session-open' }, 'session-open').clientId;
  const p1 = a.apply(putOp('k', 'v1', { prevKv: true }), { clientId: id, seq: 1, lowestUnacked: 1 });
  assert.equal(p1.outcome.type, 'put');
  const again = a.apply(putOp('k', 'v1', { prevKv: true }), { clientId: id, seq: 1, lowestUnacked: 1 });
  assert.equal(again.duplicate, true);
  assert.deepEqual(again.outcome, p1.outcome);
  assert.equal(again.revision, p1.revision);
  assert.equal(a.store.revision, 2);
  assert.equal(a.store.range(rangeOp('k')).kvs[0]!.version, 1);
  // Errors are outcomes too and are replayed the same way.
  const e1 = a.apply(putOp('q', '', { ignoreValue: true }), { clientId: id, seq: 2, lowestUnacked: 1 });
  const e2 = a.apply(putOp('q', '', { ignoreValue: true }), { clientId: id, seq: 2, lowestUnacked: 1 });
  assert.deepEqual(e2.outcome, e1.outcome);
  // Acknowledging discards; a retry of an acknowledged seq is refused, not applied.
  assert.equal(a.apply(putOp('k', 'v2'), { clientId: id, seq: 3, lowestUnacked: 3 }).outcome.type, 'put');
  assert.equal(a.err(putOp('k', 'v1'), { clientId: id, seq: 1, lowestUnacked: 1 }), 'session-acknowledged');
  assert.equal(a.err(putOp('k', 'v1'), { clientId: 999, seq: 1, lowestUnacked: 1 }), 'session-expired');
  assert.equal(a.err(putOp('k', 'v1'), { clientId: id, seq: 4, lowestUnacked: 5 }), 'invalid-request');
  a.ok({ type: 'session-close', clientId: id }, 'session-close');
  assert.equal(a.err(putOp('k', 'v1'), { clientId: id, seq: 4, lowestUnacked: 4 }), 'session-expired');
});

test('client sessions are bounded: LRU, idle expiry in log entries, pending responses, response bytes', () => {
  const a = fresh({ sessionLimits: { sessionsMax: 2, idleEntriesMax: 10, responsesMax: 2, responseBytesMax: 200, totalResponseBytesMax: 10_000 } });
  const s1 = a.ok({ type: 'session-open' }, 'session-open').clientId;
  const s2 = a.ok({ type: 'session-open' }, 'session-open').clientId;
  a.ok(putOp('k', 'v'), 'put', { clientId: s1, seq: 1, lowestUnacked: 1 }); // s1 used last
  const s3 = a.ok({ type: 'session-open' }, 'session-open').clientId; // evicts s2
  assert.equal(a.err(putOp('k', 'v'), { clientId: s2, seq: 1, lowestUnacked: 1 }), 'session-expired');
  a.ok(putOp('k', 'v'), 'put', { clientId: s1, seq: 2, lowestUnacked: 1 });
  assert.equal(a.err(putOp('k', 'v'), { clientId: s1, seq: 3, lowestUnacked: 1 }), 'session-busy');
  // A response too large to keep: the retry learns it was applied.
  a.ok(putOp('big', 'x'.repeat(300)), 'put');
  a.ok(putOp('big', 'y', { prevKv: true }), 'put', { clientId: s3, seq: 1, lowestUnacked: 1 });
  const dup = a.apply(putOp('big', 'y', { prevKv: true }), { clientId: s3, seq: 1, lowestUnacked: 1 });
  assert.equal(dup.outcome.type === 'error' && dup.outcome.code, 'session-response-dropped');
  for (let i = 0; i < 12; i++) a.ok({ type: 'noop' }, 'noop');
  assert.equal(a.err(putOp('k', 'v'), { clientId: s3, seq: 2, lowestUnacked: 2 }), 'session-expired');
  assert.equal(a.store.status().sessions, 0);
});

test('members: config changes carry MemberInfo in their context; updates; not found', async () => {
  const { encodeMemberContext } = await import('./members.js');
  const { ByteReader } = await import('../core/bytes.js');
  // A toy config-change codec standing in for the consensus package's.
  const decodeConfigChange = (data: Uint8Array) => {
    const r = new ByteReader(data); // throws DecodeError on bad bytes, like the real codec
    const kind = r.u8();
    const node = nodeIdFromBigInt(r.u64());
    const context = r.bytes(1 << 20).slice();
    return { ops: [{ type: kind === 0 ? ('add-voter' as const) : kind === 1 ? ('add-learner' as const) : ('remove' as const), node }], context };
  };
  const { ByteWriter } = await import('../core/bytes.js');
  const cc = (kind: number, id: bigint, ctx: Uint8Array) => new ByteWriter().u8(kind).u64(id).bytes(ctx).finish().slice();
  const a = fresh({ decodeConfigChange });
  const m2 = { id: nodeIdFromBigInt(2n), name: 'two', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [], isLearner: false };
  let r = a.applyEntry('config', cc(1, 2n, encodeMemberContext([m2])));
  assert.equal(r.outcome.type, 'members');
  assert.deepEqual(a.store.memberList(), [{ ...m2, isLearner: true }]);
  r = a.applyEntry('config', cc(0, 2n, new Uint8Array(0)));
  assert.deepEqual(a.store.memberList(), [{ ...m2, isLearner: false }]);
  a.ok({ type: 'member-update', id: m2.id, name: null, peerUrls: null, clientUrls: ['http://127.0.0.1:2379'] }, 'members');
  assert.deepEqual(a.store.memberList()[0]!.clientUrls, ['http://127.0.0.1:2379']);
  assert.equal(a.err({ type: 'member-update', id: nodeIdFromBigInt(9n), name: 'x', peerUrls: null, clientUrls: null }), 'member-not-found');
  r = a.applyEntry('config', new Uint8Array([7]));
  assert.equal(r.outcome.type === 'error' && r.outcome.code, 'malformed-command');
  a.applyEntry('config', cc(2, 2n, new Uint8Array(0)));
  assert.deepEqual(a.store.memberList(), []);
});

test('malformed entries are error outcomes, never a crash; empty entries are no-ops', () => {
  const a = fresh();
  const r = a.applyEntry('normal', new Uint8Array([1, 2, 3]));
  assert.equal(r.outcome.type === 'error' && r.outcome.code, 'malformed-command');
  assert.equal(r.requestId, null);
  assert.equal(a.applyEntry('empty', new Uint8Array(0)).outcome.type, 'noop');
  assert.equal(a.applyEntry('normal', new Uint8Array(0)).outcome.type, 'noop');
  assert.equal(a.store.appliedIndex, 3);
});

test('hashKv agrees across replicas whatever their physical compaction progress, and sees differences', () => {
  const x = fresh({ compactionStepRecords: 1 });
  const y = fresh();
  for (const a of [x, y]) {
    for (let i = 0; i < 50; i++) a.ok(putOp(`k${i % 7}`, `v${i}`), 'put');
    a.ok(deleteRangeOp('k3'), 'delete-range');
    a.ok({ type: 'compaction', revision: 40, physical: a === y }, 'compaction');
  }
  assert.equal(x.store.status().compactionPending, true);
  assert.equal(y.store.status().compactionPending, false);
  assert.deepEqual(x.store.hashKv(), y.store.hashKv());
  assert.deepEqual(x.store.hashKv(45), y.store.hashKv(45));
  assert.equal(x.store.stateHash(), y.store.stateHash());
  y.ok(putOp('k1', 'different'), 'put');
  x.ok(putOp('k1', 'differenT'), 'put');
  assert.notEqual(x.store.hashKv().hash, y.store.hashKv().hash);
  assert.throws(() => x.store.hashKv(39), (e: KvError) => e.code === 'compacted');
});

test('snapshot and restore: same hash, same answers, cut anywhere', () => {
  const a = fresh();
  a.ok({ type: 'lease-grant', id: leaseId(77n), ttlSec: 30 }, 'lease-grant');
  const sid = a.ok({ type: 'session-open' }, 'session-open').clientId;
  for (let i = 0; i < 300; i++) a.ok(putOp(`key/${i % 50}`, `value-${i}`, { lease: i % 3 === 0 ? leaseId(77n) : leaseId(0n) }), 'put', i % 10 === 0 ? { clientId: sid, seq: i + 1, lowestUnacked: 1 } : null);
  a.ok(deleteRangeOp('key/1', { rangeEnd: 'key/2' }), 'delete-range');
  a.ok({ type: 'compaction', revision: 200, physical: false }, 'compaction');
  a.ok({ type: 'alarm', action: 'activate', member: MEMBER, alarm: 'nospace' }, 'alarm');
  a.ok({ type: 'lease-checkpoint', checkpoints: [{ id: leaseId(77n), remainingTtlSec: 12 }] }, 'lease-checkpoint');
  let c = new KvStore();
  for (const cut of [0, 1, 7, 4096]) {
    c = new KvStore();
    copySnapshot(a.store, c, cut);
    assert.equal(c.stateHash(), a.store.stateHash());
    assert.equal(c.appliedIndex, a.store.appliedIndex);
    assert.deepEqual(c.hashKv(210), a.store.hashKv(210));
    const q = rangeOp('key/', { rangeEnd: prefixEnd('key/'), revision: 250 });
    assert.deepEqual(c.range(q), a.store.range(q));
    assert.deepEqual(c.leaseTimeToLive(leaseId(77n), true), a.store.leaseTimeToLive(leaseId(77n), true));
    assert.deepEqual(c.alarmList(), a.store.alarmList());
  }
  // And they go on identically, including the session table.
  const ca = new Applier(c);
  for (const x of [a, ca]) {
    x.ok({ type: 'alarm', action: 'deactivate', member: null, alarm: 'nospace' }, 'alarm');
    const d = x.apply(putOp('key/7', 'value-10', { lease: leaseId(77n) }), { clientId: sid, seq: 11, lowestUnacked: 1 });
    assert.equal(d.duplicate, true);
    x.ok({ type: 'lease-revoke', id: leaseId(77n) }, 'lease-revoke');
  }
  assert.equal(c.stateHash(), a.store.stateHash());
});

test('a snapshot stays consistent while entries are applied between its chunks', () => {
  const a = fresh();
  for (let i = 0; i < 3000; i++) a.ok(putOp(`k${i}`, 'v'.repeat(200)), 'put');
  const expected = a.store.stateHash();
  const src = a.store.snapshot();
  const chunks: Uint8Array[] = [];
  for (const chunk of src.chunks()) {
    chunks.push(chunk);
    a.ok(putOp(`k${chunks.length}`, 'changed'), 'put');
    a.ok(deleteRangeOp(`k${chunks.length + 100}`), 'delete-range');
    a.ok({ type: 'compaction', revision: a.store.revision - 1, physical: true }, 'compaction');
  }
  assert.ok(chunks.length > 2, `${chunks.length} chunks`);
  const c = new KvStore();
  const sink = c.restore(src.index);
  for (const ch of chunks) sink.write(ch);
  sink.finish();
  assert.equal(c.stateHash(), expected);
});

test('restore rejects malformed snapshots with a typed error and leaves the store untouched', () => {
  const a = fresh();
  for (let i = 0; i < 20; i++) a.ok(putOp(`k${i}`, `v${i}`), 'put');
  const bytes = Buffer.concat([...a.store.snapshot().chunks()]);
  const target = fresh();
  target.ok(putOp('mine', 'x'), 'put');
  const before = target.store.stateHash();
  const tryRestore = (data: Uint8Array, index = a.store.appliedIndex): unknown => {
    try {
      const sink = target.store.restore(index);
      sink.write(data);
      sink.finish();
      return null;
    } catch (e) {
      return e;
    }
  };
  for (const bad of [bytes.subarray(0, bytes.length - 1), bytes.subarray(0, 10), Buffer.from([...bytes.subarray(0, 40), 0xff ^ bytes[40]!, ...bytes.subarray(41)])]) {
    const e = tryRestore(bad);
    assert.ok(e instanceof KvError && e.code === 'snapshot-invalid', String(e));
  }
  const wrongIndex = tryRestore(bytes, logIndex(a.store.appliedIndex + 1));
  assert.ok(wrongIndex instanceof KvError && wrongIndex.code === 'snapshot-invalid');
  assert.equal(target.store.stateHash(), before);
});

test('every error code carries etcd\'s gRPC status and message; the lease limit holds', async () => {
  const { ETCD_ERRORS } = await import('./errors.js');
  for (const [code, { grpc, message }] of Object.entries(ETCD_ERRORS)) {
    const e = new KvError(code as keyof typeof ETCD_ERRORS, 'detail');
    assert.equal(e.message, message);
    assert.equal(e.grpc, grpc);
    assert.match(message, /^(etcdserver: |bulwark: )/);
  }
  assert.equal(ETCD_ERRORS['duplicate-key'].message, 'etcdserver: duplicate key given in txn request');
  assert.equal(ETCD_ERRORS['no-space'].grpc, 'RESOURCE_EXHAUSTED');
  const a = fresh({ leasesMax: 2 });
  a.ok({ type: 'lease-grant', id: leaseId(1n), ttlSec: 10 }, 'lease-grant');
  a.ok({ type: 'lease-grant', id: leaseId(2n), ttlSec: 10 }, 'lease-grant');
  assert.equal(a.err({ type: 'lease-grant', id: leaseId(3n), ttlSec: 10 }), 'lease-limit');
});
