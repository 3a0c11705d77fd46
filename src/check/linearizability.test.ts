import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SeededRandom } from '../env/random.js';
import { CheckError } from './errors.js';
import { generateHistory, perturbStaleRead } from './generate.js';
import { historyFromJson, historyToJson, type History, type KvInput, type KvOutput, type Operation } from './history.js';
import { checkHistory } from './linearizability.js';

/** A tiny DSL: [client, call, return|null, input, output|null]. */
type Row = [number, number, number | null, KvInput, KvOutput | null];
function h(rows: Row[]): History {
  return { operations: rows.map(([clientId, callTime, returnTime, input, output], id) => ({ id, clientId, callTime, returnTime, input, output })) };
}
const put = (value: string, key = 'x'): KvInput => ({ type: 'put', key, value });
const get = (key = 'x'): KvInput => ({ type: 'get', key });
const del = (key = 'x'): KvInput => ({ type: 'delete', key });
const cas = (expected: string | null, value: string, key = 'x'): KvInput => ({ type: 'cas', key, expected, value });
const ok: KvOutput = { type: 'put' };
const got = (value: string | null): KvOutput => ({ type: 'get', value });
const casOk = (b: boolean): KvOutput => ({ type: 'cas', ok: b });
const deleted = (b: boolean): KvOutput => ({ type: 'delete', deleted: b });

function violation(history: History): Extract<ReturnType<typeof checkHistory>, { type: 'violation' }> {
  const r = checkHistory(history);
  assert.equal(r.type, 'violation', `expected a violation, got ${JSON.stringify(r)}`);
  return r as Extract<ReturnType<typeof checkHistory>, { type: 'violation' }>;
}

test('sequential and concurrent linearizable histories pass', () => {
  assert.equal(checkHistory(h([])).type, 'ok');
  assert.equal(checkHistory(h([[1, 0, 1, put('a'), ok], [1, 2, 3, get(), got('a')], [1, 4, 5, del(), deleted(true)], [1, 6, 7, get(), got(null)]])).type, 'ok');
  // The get overlaps the put: it may see either value.
  assert.equal(checkHistory(h([[1, 0, 1, put('a'), ok], [2, 2, 10, put('b'), ok], [3, 3, 4, get(), got('b')], [3, 5, 6, get(), got('b')]])).type, 'ok');
  assert.equal(checkHistory(h([[1, 0, 1, put('a'), ok], [2, 2, 10, put('b'), ok], [3, 3, 4, get(), got('a')], [3, 5, 6, get(), got('b')]])).type, 'ok');
  // Touching intervals count as concurrent.
  assert.equal(checkHistory(h([[1, 0, 5, put('a'), ok], [2, 5, 6, get(), got(null)]])).type, 'ok');
});

test('a stale read is a violation, narrowed to the operations that matter', () => {
  const r = violation(
    h([
      [1, 0, 1, put('a'), ok],
      [1, 2, 3, put('b'), ok],
      [2, 0, 1, put('a', 'y'), ok],
      [3, 4, 5, put('c'), ok],
      [2, 6, 7, get(), got('b')],
      [2, 8, 9, get(), got('c')],
    ]),
  );
  assert.equal(r.key, 'x');
  // The read alone cannot be explained; the report shows the write of "b" and the later write of "c".
  assert.deepEqual(r.window.map((o) => o.id), [4]);
  assert.deepEqual(r.evidence.map((o) => o.id), [1, 3]);
  assert.deepEqual(r.statesBefore, ['c']);
  assert.match(r.report, /put "c" → ok .*earlier, for context/);
  assert.match(r.report, /get → "b"/);
});

test('a lost write is a violation', () => {
  // The put of b was acknowledged, yet later reads only ever see a.
  const r = violation(h([[1, 0, 1, put('a'), ok], [2, 2, 3, put('b'), ok], [3, 4, 5, get(), got('a')]]));
  assert.deepEqual(r.window.map((o) => o.id), [2]);
  assert.deepEqual(r.evidence.map((o) => o.id), [0, 1]);
});

test('a compare-and-set that succeeded twice is a violation', () => {
  const r = violation(h([[1, 0, 1, put('a'), ok], [2, 2, 6, cas('a', 'b'), casOk(true)], [3, 3, 7, cas('a', 'c'), casOk(true)]]));
  assert.deepEqual(r.window.map((o) => o.id), [1, 2]);
  // One of them failing is fine.
  assert.equal(checkHistory(h([[1, 0, 1, put('a'), ok], [2, 2, 6, cas('a', 'b'), casOk(true)], [3, 3, 7, cas('a', 'c'), casOk(false)]])).type, 'ok');
});

test('a read of a value never written is a violation with a one-operation window', () => {
  const r = violation(h([[1, 0, 1, put('a'), ok], [2, 2, 3, get(), got('zzz')]]));
  assert.deepEqual(r.window.map((o) => o.id), [1]);
  assert.deepEqual(r.evidence, []);
});

test('delete results must match the state', () => {
  violation(h([[1, 0, 1, del(), deleted(true)]]));
  assert.equal(checkHistory(h([[1, 0, 1, del(), deleted(false)]])).type, 'ok');
});

test('an indeterminate write may take effect late', () => {
  // The put never answered, yet a read long after its invocation sees it: allowed.
  assert.equal(checkHistory(h([[1, 0, null, put('a'), null], [2, 50, 51, get(), got(null)], [2, 100, 101, get(), got('a')]])).type, 'ok');
});

test('an indeterminate write may never take effect', () => {
  assert.equal(checkHistory(h([[1, 0, null, put('a'), null], [2, 50, 51, get(), got(null)]])).type, 'ok');
});

test('an indeterminate write cannot take effect before it was invoked', () => {
  violation(h([[2, 0, 1, get(), got('a')], [1, 5, null, put('a'), null]]));
});

test('an indeterminate write cannot be un-done: once seen, it stays', () => {
  violation(h([[1, 0, null, put('a'), null], [2, 50, 51, get(), got('a')], [2, 60, 61, get(), got(null)]]));
});

test('keys are checked independently', () => {
  const r = violation(h([[1, 0, 1, put('a', 'p'), ok], [1, 2, 3, put('b', 'q'), ok], [2, 4, 5, get('q'), got('a')]]));
  assert.equal(r.key, 'q');
});

test('histories round-trip through JSON, and bad JSON is a typed error', () => {
  const hist = h([[1, 0, 1, put('a'), ok], [2, 2, null, cas(null, 'b'), null], [3, 3, 4, get(), got('a')]]);
  assert.deepEqual(historyFromJson(historyToJson(hist)), hist);
  for (const bad of ['nope', '{}', '{"format":"bulwark-history/1","operations":[{"id":1}]}', '{"format":"bulwark-history/1","operations":[{"id":1,"clientId":1,"callTime":5,"returnTime":2,"input":{"type":"get","key":"x"},"output":{"type":"get","value":null}}]}']) {
    assert.throws(() => historyFromJson(bad), (e: unknown) => e instanceof CheckError && e.code === 'invalid-history');
  }
});

test('property: generated histories are linearizable; a stale read makes them not', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
      const random = new SeededRandom(seed);
      const hist = generateHistory({ random, clients: 1 + random.int(6), operations: 20 + random.int(200), keys: ['a', 'b', 'c'].slice(0, 1 + random.int(3)), indeterminateRate: random.float() * 0.05 });
      const r = checkHistory(hist);
      assert.equal(r.type, 'ok', `seed ${seed}: ${JSON.stringify(r)}`);
      const bad = perturbStaleRead(hist, random);
      if (bad !== null) {
        const v = checkHistory(bad);
        assert.equal(v.type, 'violation', `seed ${seed}: the perturbed history passed`);
        // The witness really cannot be ordered from any starting value it names.
        if (v.type === 'violation') assert.ok(v.window.length <= bad.operations.length);
      }
    }),
    { numRuns: 150, verbose: true },
  );
});

test('the checker agrees with brute force on small random histories', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 31 }), (seed) => {
      const random = new SeededRandom(seed);
      const ops: Operation[] = [];
      const values = ['a', 'b'];
      for (let id = 0; id < 2 + random.int(5); id++) {
        const call = random.int(20);
        const indeterminate = random.chance(0.2);
        const kind = random.int(4);
        const input: KvInput = kind === 0 ? get() : kind === 1 ? put(random.pick(values)) : kind === 2 ? del() : cas(random.chance(0.3) ? null : random.pick(values), random.pick(values));
        const output: KvOutput | null = indeterminate
          ? null
          : input.type === 'get'
            ? got(random.chance(0.3) ? null : random.pick(values))
            : input.type === 'put'
              ? ok
              : input.type === 'delete'
                ? deleted(random.chance(0.5))
                : casOk(random.chance(0.5));
        ops.push({ id, clientId: id, input, callTime: call, returnTime: indeterminate ? null : call + random.int(10), output });
      }
      assert.equal(checkHistory({ operations: ops }).type === 'ok', bruteForce(ops), `seed ${seed}`);
    }),
    { numRuns: 400, verbose: true },
  );
});

/** Tries every order and every subset of indeterminate operations. */
function bruteForce(ops: readonly Operation[]): boolean {
  const relevant = ops.filter((o) => !(o.input.type === 'get' && o.output === null));
  const perm = (rest: Operation[], placed: Operation[]): boolean => {
    if (rest.length === 0) return replay(placed);
    for (let i = 0; i < rest.length; i++) {
      const o = rest[i]!;
      // Real-time order: o may go next only if no remaining op returned strictly before o was called.
      if (rest.some((p) => p !== o && p.returnTime !== null && p.returnTime < o.callTime)) continue;
      if (perm([...rest.slice(0, i), ...rest.slice(i + 1)], [...placed, o])) return true;
      if (o.output === null && perm([...rest.slice(0, i), ...rest.slice(i + 1)], placed)) return true;
    }
    return false;
  };
  return perm(relevant, []);
}

function replay(order: readonly Operation[]): boolean {
  let state: string | null = null;
  for (const o of order) {
    const i = o.input;
    const out = o.output;
    switch (i.type) {
      case 'get':
        if (out?.type === 'get' && out.value !== state) return false;
        break;
      case 'put':
        state = i.value;
        break;
      case 'delete':
        if (out?.type === 'delete' && out.deleted !== (state !== null)) return false;
        state = null;
        break;
      case 'cas':
        if (out?.type === 'cas' && out.ok !== (state === i.expected)) return false;
        if (state === i.expected) state = i.value;
        break;
    }
  }
  return true;
}
