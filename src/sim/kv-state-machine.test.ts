import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../core/errors.js';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { decodeCommand, encodeCommand, KvStateMachine, type KvCommand } from './kv-state-machine.js';

let index = 0;
const entry = (c: KvCommand): Entry => ({ index: logIndex(++index), term: term(1), kind: 'normal', data: encodeCommand(c) });

test('a retried write applies once and answers with its first result', () => {
  index = 0;
  const sm = new KvStateMachine();
  const first = sm.apply(entry({ clientId: 1, seq: 1, input: { type: 'cas', key: 'k', expected: null, value: 'a' } }));
  assert.deepEqual(first, { type: 'applied', clientId: 1, seq: 1, output: { type: 'cas', ok: true } });
  sm.apply(entry({ clientId: 2, seq: 1, input: { type: 'put', key: 'k', value: 'b' } }));
  // The retry of client 1's CAS would now fail if executed again; it must return the cached success.
  const retry = sm.apply(entry({ clientId: 1, seq: 1, input: { type: 'cas', key: 'k', expected: null, value: 'a' } }));
  assert.deepEqual(retry, { type: 'duplicate', clientId: 1, seq: 1, output: { type: 'cas', ok: true } });
  assert.equal(sm.get('k'), 'b');
  sm.apply(entry({ clientId: 1, seq: 2, input: { type: 'delete', key: 'k' } }));
  assert.equal(sm.apply(entry({ clientId: 1, seq: 1, input: { type: 'put', key: 'k', value: 'z' } })).type, 'stale');
  assert.equal(sm.get('k'), null);
});

test('undecodable commands are skipped deterministically, never thrown', () => {
  index = 0;
  const sm = new KvStateMachine();
  const r = sm.apply({ index: logIndex(1), term: term(1), kind: 'normal', data: new Uint8Array([1, 2, 3]) });
  assert.equal(r.type, 'invalid');
  assert.equal(sm.appliedIndex, 1);
  assert.equal(sm.apply({ index: logIndex(2), term: term(1), kind: 'empty', data: new Uint8Array(0) }).type, 'none');
});

test('property: a snapshot restores the same state and sessions; random bytes never decode as anything but DecodeError', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 8 })), { maxLength: 60 }),
      fc.uint8Array({ maxLength: 40 }),
      (ops, junk) => {
        index = 0;
        const sm = new KvStateMachine();
        const seqs = new Map<number, number>();
        for (const [client, kind, key, value] of ops) {
          const seq = (seqs.get(client) ?? 0) + 1;
          seqs.set(client, seq);
          const input: KvCommand['input'] = kind === 0 ? { type: 'put', key, value } : kind === 1 ? { type: 'delete', key } : { type: 'cas', key, expected: kind === 2 ? null : value, value: value + '!' };
          sm.apply(entry({ clientId: client, seq, input }));
        }
        const copy = new KvStateMachine();
        const sink = copy.restore(sm.appliedIndex);
        for (const c of sm.snapshot().chunks()) sink.write(c);
        sink.finish();
        assert.equal(copy.fingerprint(), sm.fingerprint());
        assert.equal(copy.appliedIndex, sm.appliedIndex);
        // Sessions survived: a retry of each client's last write is a duplicate on both.
        const probe = (m: KvStateMachine, client: number): string => m.apply({ index: logIndex(m.appliedIndex + 1), term: term(1), kind: 'normal', data: encodeCommand({ clientId: client, seq: seqs.get(client)!, input: { type: 'delete', key: 'zz' } }) }).type;
        for (const client of seqs.keys()) assert.equal(probe(copy, client), probe(sm, client));
        try {
          decodeCommand(junk);
        } catch (e) {
          assert.ok(e instanceof DecodeError, `unexpected ${String(e)}`);
        }
        const bad = new KvStateMachine().restore(logIndex(3));
        bad.write(junk);
        assert.throws(() => bad.finish(), DecodeError);
      },
    ),
    { numRuns: 200, verbose: true },
  );
});
