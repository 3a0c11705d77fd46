/**
 * Model-based property test: random sequences of every operation (puts, deletes, ranges with every
 * option, nested transactions, compaction, leases, alarms, client sessions, snapshot restarts) are
 * applied to the real store and to the naive reference model; every outcome, error code and
 * revision must agree, and reads at any revision must agree after every step.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { leaseId } from '../../src/core/ids.js';
import { prefixEnd, rangeOp, type Compare, type CompareOperand, type Op, type RangeOp, type RequestOp, type SessionTag } from '../../src/kv/command.js';
import { KvStore } from '../../src/kv/kv-store.js';
import { bytesFromLatin1 } from '../../src/kv/latin1.js';
import type { Outcome } from '../../src/kv/results.js';
import { Applier, copySnapshot, MEMBER, show } from './helpers.js';
import { Model } from './reference-model.js';

const OPTIONS = { leaseTtlMinSec: 3, sessionsMax: 3, idleEntriesMax: 40, responsesMax: 3 };
const storeOptions = {
  leaseTtlMinSec: OPTIONS.leaseTtlMinSec,
  sessionLimits: { sessionsMax: OPTIONS.sessionsMax, idleEntriesMax: OPTIONS.idleEntriesMax, responsesMax: OPTIONS.responsesMax },
  // Tiny steps so physical compaction is usually in progress while the test reads.
  compactionStepRecords: 2,
};

const KEYS = ['a', 'ab', 'abc', 'b', 'ba', 'c', '\xff', 'a\xff', 'b\x00'];
const key = fc.constantFrom(...KEYS);
type EndSpec = { t: 'none' } | { t: 'fromkey' } | { t: 'prefix' } | { t: 'to'; k: string };
const end: fc.Arbitrary<EndSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ t: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'fromkey' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'prefix' as const }) },
  { weight: 1, arbitrary: key.map((k) => ({ t: 'to' as const, k })) },
);
const smallRev = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 30 }) });

const rangeSpec = fc.record({
  type: fc.constant('range' as const),
  key,
  end,
  limit: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }) }),
  revBack: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.integer({ min: -1, max: 8 }) }),
  sortOrder: fc.constantFrom('none' as const, 'ascend' as const, 'descend' as const),
  sortTarget: fc.constantFrom('key' as const, 'version' as const, 'create' as const, 'mod' as const, 'value' as const),
  keysOnly: fc.boolean(),
  countOnly: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  minMod: smallRev,
  maxMod: smallRev,
  minCreate: smallRev,
  maxCreate: smallRev,
});
const putSpec = fc.record({
  type: fc.constant('put' as const),
  key,
  value: fc.constantFrom('', 'x', 'y', 'zz', '\xfe'),
  lease: fc.oneof({ weight: 6, arbitrary: fc.constant(0n) }, { weight: 2, arbitrary: fc.constantFrom(1n, 2n, 3n) }),
  prevKv: fc.boolean(),
  ignoreValue: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  ignoreLease: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});
const deleteSpec = fc.record({ type: fc.constant('delete' as const), key, end, prevKv: fc.boolean() });
const compareSpec = fc.record({
  key,
  end: fc.oneof({ weight: 4, arbitrary: fc.constant({ t: 'none' as const }) }, { weight: 1, arbitrary: end }),
  result: fc.constantFrom('equal' as const, 'greater' as const, 'less' as const, 'not-equal' as const),
  target: fc.constantFrom('version' as const, 'create' as const, 'mod' as const, 'value' as const, 'lease' as const),
  n: fc.integer({ min: 0, max: 12 }),
  value: fc.constantFrom('', 'x', 'y', 'zz'),
});

type RangeSpec = typeof rangeSpec extends fc.Arbitrary<infer T> ? T : never;
type PutSpec = typeof putSpec extends fc.Arbitrary<infer T> ? T : never;

// Transactions nest two levels deep at most.
const { txn } = fc.letrec<{ txn: unknown; op: unknown }>((tie) => ({
  txn: fc.record({
    type: fc.constant('txn' as const),
    compare: fc.array(compareSpec, { maxLength: 2 }),
    success: fc.array(tie('op'), { maxLength: 3 }),
    failure: fc.array(tie('op'), { maxLength: 2 }),
  }),
  op: fc.oneof({ depthSize: 'small', withCrossShrink: true }, putSpec, deleteSpec, rangeSpec, tie('txn')),
}));

const sessionSpec = fc.oneof(
  { weight: 6, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.record({ pick: fc.nat(9), seq: fc.integer({ min: 1, max: 5 }), low: fc.integer({ min: 0, max: 4 }) }) },
);

const stepArb = fc.record({
  op: fc.oneof(
    { weight: 30, arbitrary: putSpec },
    { weight: 10, arbitrary: deleteSpec },
    { weight: 8, arbitrary: rangeSpec },
    { weight: 14, arbitrary: txn },
    { weight: 5, arbitrary: fc.record({ type: fc.constant('compact' as const), back: fc.integer({ min: -1, max: 6 }), physical: fc.boolean() }) },
    { weight: 6, arbitrary: fc.record({ type: fc.constant('grant' as const), id: fc.constantFrom(0n, 1n, 2n, 3n), ttl: fc.constantFrom(1, 10, 10, 9_000_000_001) }) },
    { weight: 3, arbitrary: fc.record({ type: fc.constant('revoke' as const), id: fc.constantFrom(1n, 2n, 3n) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('expire' as const), ids: fc.array(fc.constantFrom(1n, 2n, 3n, 4n), { maxLength: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('checkpoint' as const), id: fc.constantFrom(1n, 2n), remaining: fc.integer({ min: -1, max: 20 }) }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('alarm' as const), on: fc.boolean(), alarm: fc.constantFrom('nospace' as const, 'corrupt' as const) }) },
    { weight: 3, arbitrary: fc.constant({ type: 'session-open' as const }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('session-close' as const), pick: fc.nat(5) }) },
    { weight: 1, arbitrary: fc.constant({ type: 'noop' as const }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('restart' as const), cut: fc.constantFrom(0, 3, 64) }) },
  ),
  session: sessionSpec,
  read: rangeSpec,
});

const bytes = (k: string): Uint8Array => bytesFromLatin1(k);
function endBytes(k: string, e: EndSpec): Uint8Array {
  switch (e.t) {
    case 'none':
      return new Uint8Array(0);
    case 'fromkey':
      return new Uint8Array([0]);
    case 'prefix':
      return prefixEnd(bytes(k));
    case 'to':
      return bytes(e.k);
  }
}

// Builders from specs to concrete ops (revisions are relative to the model's current one).
type AnySpec = { type: string } & Record<string, unknown>;
function buildRange(sp: RangeSpec, m: Model): RangeOp {
  return {
    type: 'range',
    key: bytes(sp.key),
    rangeEnd: endBytes(sp.key, sp.end),
    limit: sp.limit,
    revision: sp.revBack === null ? 0 : Math.max(1, m.revision - sp.revBack),
    sortOrder: sp.sortOrder,
    sortTarget: sp.sortTarget,
    serializable: false,
    keysOnly: sp.keysOnly,
    countOnly: sp.countOnly,
    minModRevision: sp.minMod,
    maxModRevision: sp.maxMod,
    minCreateRevision: sp.minCreate,
    maxCreateRevision: sp.maxCreate,
  };
}

function buildCompare(c: AnySpec): Compare {
  const n = c['n'] as number;
  const target = c['target'] as CompareOperand['type'];
  const operand: CompareOperand =
    target === 'version'
      ? { type: 'version', version: n % 4 }
      : target === 'create' || target === 'mod'
        ? { type: target, revision: n }
        : target === 'value'
          ? { type: 'value', value: bytes(c['value'] as string) }
          : { type: 'lease', lease: leaseId(BigInt(n % 4)) };
  return { key: bytes(c['key'] as string), rangeEnd: endBytes(c['key'] as string, c['end'] as EndSpec), result: c['result'] as Compare['result'], operand };
}

function buildRequest(sp: AnySpec, m: Model): RequestOp {
  switch (sp.type) {
    case 'put': {
      const p = sp as unknown as PutSpec;
      return { type: 'put', key: bytes(p.key), value: bytes(p.value), lease: leaseId(p.lease), prevKv: p.prevKv, ignoreValue: p.ignoreValue, ignoreLease: p.ignoreLease };
    }
    case 'delete':
      return { type: 'delete-range', key: bytes(sp['key'] as string), rangeEnd: endBytes(sp['key'] as string, sp['end'] as EndSpec), prevKv: sp['prevKv'] as boolean };
    case 'range':
      return buildRange(sp as never, m);
    case 'txn':
      return {
        type: 'txn',
        compare: (sp['compare'] as AnySpec[]).map(buildCompare),
        success: (sp['success'] as AnySpec[]).map((o) => buildRequest(o, m)),
        failure: (sp['failure'] as AnySpec[]).map((o) => buildRequest(o, m)),
      };
    default:
      throw new Error(`not a request op: ${sp.type}`);
  }
}

function normalize(o: Outcome): Outcome {
  return o.type === 'error' ? { type: 'error', code: o.code, detail: '' } : o;
}

test('the store agrees with the reference model on random operation sequences', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 10, maxLength: 80, size: 'max' }), (steps) => {
      const model = new Model(OPTIONS);
      let store = new KvStore(storeOptions);
      let a = new Applier(store);
      for (const [i, step] of steps.entries()) {
        const sp = step.op as AnySpec;
        const where = `step ${i}: ${show(sp)}`;
        if (sp.type === 'restart') {
          const next = new KvStore(storeOptions);
          copySnapshot(store, next, sp['cut'] as number);
          assert.equal(next.stateHash(), store.stateHash(), `${where}: restored hash`);
          store = next;
          const idx = a.index;
          a = new Applier(store);
          a.index = idx;
          continue;
        }
        let op: Op;
        switch (sp.type) {
          case 'put':
          case 'delete':
          case 'range':
          case 'txn':
            op = buildRequest(sp, model);
            break;
          case 'compact':
            op = { type: 'compaction', revision: model.revision - (sp['back'] as number), physical: sp['physical'] as boolean };
            break;
          case 'grant':
            op = { type: 'lease-grant', id: leaseId(sp['id'] as bigint), ttlSec: sp['ttl'] as number };
            break;
          case 'revoke':
            op = { type: 'lease-revoke', id: leaseId(sp['id'] as bigint) };
            break;
          case 'expire':
            op = { type: 'lease-expire', ids: (sp['ids'] as bigint[]).map(leaseId) };
            break;
          case 'checkpoint':
            op = { type: 'lease-checkpoint', checkpoints: [{ id: leaseId(sp['id'] as bigint), remainingTtlSec: sp['remaining'] as number }] };
            break;
          case 'alarm':
            op = { type: 'alarm', action: sp['on'] ? 'activate' : 'deactivate', member: sp['on'] ? MEMBER : null, alarm: sp['alarm'] as 'nospace' | 'corrupt' };
            break;
          case 'session-open':
          case 'noop':
            op = { type: sp.type };
            break;
          case 'session-close': {
            const ids = model.sessions.map((x) => x.id);
            op = { type: 'session-close', clientId: ids.length === 0 ? 424242 : ids[(sp['pick'] as number) % ids.length]! };
            break;
          }
          default:
            throw new Error(`unknown spec ${sp.type}`);
        }
        let tag: SessionTag | null = null;
        if (step.session !== null && op.type !== 'session-open') {
          const ids = model.sessions.map((x) => x.id);
          const clientId = ids.length === 0 || step.session.pick === 9 ? 999_999 : ids[step.session.pick % ids.length]!;
          tag = { clientId, seq: step.session.seq, lowestUnacked: step.session.low };
        }
        const got = a.apply(op, tag);
        const want = model.apply(op, a.index, tag);
        assert.deepEqual(normalize(got.outcome), normalize(want.outcome), `${where}: outcome`);
        assert.equal(got.revision, want.revision, `${where}: revision`);
        assert.equal(got.duplicate, want.duplicate, `${where}: duplicate`);
        assert.equal(store.revision, model.revision, `${where}: store revision`);
        assert.equal(store.compactRevision, model.compactRev, `${where}: compact revision`);
        // Local reads at random revisions agree too.
        const read = buildRange(step.read, model);
        let gotRead: unknown;
        let wantRead: unknown;
        try {
          gotRead = store.range(read);
        } catch (e) {
          gotRead = (e as { code: string }).code;
        }
        try {
          wantRead = model.range(read);
        } catch (e) {
          wantRead = (e as { code: string }).code;
        }
        assert.deepEqual(gotRead, wantRead, `${where}: read ${show(read)}`);
        assert.deepEqual(
          store.leaseList().map((l) => [l.id, l.ttlSec, l.remainingTtlSec]),
          [...model.leases.entries()].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([id, l]) => [id, l.ttl, l.remaining]),
          `${where}: leases`,
        );
      }
      // A full dump at every retained revision agrees at the end.
      for (let rev = Math.max(1, model.compactRev); rev <= model.revision; rev++) {
        const all = rangeOp(new Uint8Array([0]), { rangeEnd: new Uint8Array([0]), revision: rev });
        if (model.alarms.has('corrupt')) break;
        assert.deepEqual(store.range(all), model.range(all), `dump at ${rev}`);
      }
    }),
    { numRuns: 200 },
  );
});
