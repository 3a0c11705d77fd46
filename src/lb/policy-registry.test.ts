/**
 * Every policy's distribution, checked statistically with fixed seeds (so a failure reproduces),
 * and the consistent-hashing policies' stability when the pool changes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import type { BackendId, PickableBackend } from './backend.js';
import { POLICY_NAMES, type PolicyName } from './policy.js';
import { policyByName } from './policy-registry.js';
import { buildMaglevTable } from './policy-maglev.js';

const SEED = 20240611;

function pool(weights: readonly number[]): PickableBackend[] {
  return weights.map((weight, i) => ({ id: `10.0.0.${i + 1}:80` as BackendId, weight, load: { active: 0 } }));
}

function counts(backends: readonly PickableBackend[], picks: readonly (BackendId | null)[]): number[] {
  return backends.map((b) => picks.filter((p) => p === b.id).length);
}

/** Pearson's chi-square statistic of observed counts against expected shares. */
function chiSquare(observed: readonly number[], shares: readonly number[]): number {
  const total = observed.reduce((a, b) => a + b, 0);
  const shareSum = shares.reduce((a, b) => a + b, 0);
  return observed.reduce((s, o, i) => {
    const e = (total * shares[i]!) / shareSum;
    return s + ((o - e) * (o - e)) / e;
  }, 0);
}
/** Critical values of chi-square at p = 0.001, by degrees of freedom. */
const CHI2_CRIT_P001: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52 };

function build(name: PolicyName, backends: readonly PickableBackend[], seed = SEED) {
  return policyByName(name).build({ backends, random: new SeededRandom(seed) });
}

test('every registered policy picks only eligible backends and honours exclusions', () => {
  for (const name of POLICY_NAMES) {
    const backends = pool([1, 2, 3]);
    const picker = build(name, backends);
    const exclude = new Set([backends[0]!.id, backends[2]!.id]);
    for (let i = 0; i < 200; i++) {
      const hashKey = `client-${i}`;
      assert.equal(picker.pick({ hashKey, exclude }), backends[1]!.id, `${name} with two excluded`);
      const any = picker.pick({ hashKey });
      assert.ok(backends.some((b) => b.id === any), name);
    }
    assert.equal(picker.pick({ exclude: new Set(backends.map((b) => b.id)) }), null, `${name} with all excluded`);
  }
});

test('round-robin: exactly even, in turn', () => {
  const backends = pool([1, 5, 1, 1]);
  const picker = build('round-robin', backends);
  const picks = Array.from({ length: 4000 }, () => picker.pick({}));
  assert.deepEqual(counts(backends, picks), [1000, 1000, 1000, 1000]);
  for (let i = 4; i < picks.length; i++) assert.equal(picks[i], picks[i - 4]);
});

test('weighted round-robin: exact shares per cycle, smoothly interleaved (nginx sequence)', () => {
  const backends = pool([5, 1, 1]);
  const picker = build('weighted-round-robin', backends);
  const names = new Map(backends.map((b, i) => [b.id, 'abc'[i]!]));
  const seq = Array.from({ length: 7 }, () => names.get(picker.pick({})!)).join('');
  assert.equal(seq, 'aabacaa');
  const more = Array.from({ length: 700 }, () => picker.pick({}));
  assert.deepEqual(counts(backends, more), [500, 100, 100]);
});

test('random: shares follow the weights (chi-square, p = 0.001)', () => {
  const weights = [1, 2, 3, 4];
  const backends = pool(weights);
  const picker = build('random', backends);
  const observed = counts(backends, Array.from({ length: 40_000 }, () => picker.pick({})));
  const chi2 = chiSquare(observed, weights);
  assert.ok(chi2 < CHI2_CRIT_P001[3]!, `chi-square ${chi2.toFixed(2)} for ${observed} (seed ${SEED})`);
});

test('p2c: uniform when idle (chi-square), never the busier of two', () => {
  const backends = pool([1, 1, 1, 1]);
  const picker = build('p2c', backends);
  const observed = counts(backends, Array.from({ length: 40_000 }, () => picker.pick({})));
  const chi2 = chiSquare(observed, [1, 1, 1, 1]);
  assert.ok(chi2 < CHI2_CRIT_P001[3]!, `chi-square ${chi2.toFixed(2)} for ${observed}`);
  backends[0]!.load.active = 100;
  const busy = counts(backends, Array.from({ length: 4000 }, () => picker.pick({})));
  assert.equal(busy[0], 0, 'the most loaded backend loses every comparison');
});

test('p2c: maximum load far below one random choice (balls into bins)', () => {
  const n = 200;
  const maxLoad = (name: PolicyName): number => {
    const backends = pool(new Array<number>(n).fill(1));
    const picker = build(name, backends);
    for (let i = 0; i < n * 8; i++) {
      const id = picker.pick({})!;
      backends.find((b) => b.id === id)!.load.active++;
    }
    return Math.max(...backends.map((b) => b.load.active));
  };
  const random = maxLoad('random');
  const p2c = maxLoad('p2c');
  // Mean load is 8: one random choice overshoots by several standard deviations, two choices by ln ln n / ln 2 + O(1).
  assert.ok(p2c <= 11, `p2c max load ${p2c}`);
  assert.ok(random > p2c + 3, `random ${random} vs p2c ${p2c}`);
});

test('least-conn: always the least loaded (relative to weight); ties rotate', () => {
  const backends = pool([1, 1, 2]);
  const picker = build('least-conn', backends);
  for (let i = 0; i < 400; i++) {
    const id = picker.pick({})!;
    const b = backends.find((x) => x.id === id)!;
    const score = (b.load.active + 1) / b.weight;
    for (const o of backends) assert.ok(score <= (o.load.active + 1) / o.weight, 'picked the least loaded');
    b.load.active++;
  }
  assert.deepEqual(
    backends.map((b) => b.load.active),
    [100, 100, 200],
  );
  const equal = pool([1, 1, 1]);
  const equalPicker = build('least-conn', equal);
  const idle = counts(equal, Array.from({ length: 300 }, () => equalPicker.pick({})));
  assert.ok(idle.every((c) => c >= 50), `idle picks spread by rotation: ${idle}`);
});

for (const name of ['ring-hash', 'maglev'] as const) {
  test(`${name}: a key always lands on the same backend; shares follow the weights`, () => {
    const backends = pool([1, 1, 1, 1]);
    const picker = build(name, backends);
    const keys = Array.from({ length: 20_000 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    const picks = keys.map((hashKey) => picker.pick({ hashKey }));
    assert.deepEqual(
      keys.slice(0, 100).map((hashKey) => picker.pick({ hashKey })),
      picks.slice(0, 100),
    );
    const even = counts(backends, picks);
    for (const c of even) assert.ok(c > 20_000 / 4 * 0.8 && c < 20_000 / 4 * 1.2, `${name} share ${c} of 20000 over 4: ${even}`);
    const weighted = pool([1, 3]);
    const wp = build(name, weighted);
    const w = counts(weighted, keys.map((hashKey) => wp.pick({ hashKey })));
    assert.ok(w[1]! / w[0]! > 2.4 && w[1]! / w[0]! < 3.6, `${name} weight 3:1 gave ${w}`);
  });

  test(`${name}: adding a backend to N moves only about 1/(N+1) of the keys, all to the new one`, () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `/objects/${i}`);
    for (const n of [3, 5, 9]) {
      const before = build(name, pool(new Array<number>(n).fill(1)));
      const grown = pool(new Array<number>(n + 1).fill(1));
      const after = build(name, grown);
      const added = grown[n]!.id;
      let moved = 0;
      for (const hashKey of keys) {
        const a = before.pick({ hashKey });
        const b = after.pick({ hashKey });
        if (a !== b) {
          moved++;
          // Ring hash moves keys only to the newcomer; Maglev may shuffle a few more (its known trade-off).
          if (name === 'ring-hash') assert.equal(b, added, 'a moved key moves to the new backend');
        }
      }
      const share = moved / keys.length;
      const ideal = 1 / (n + 1);
      assert.ok(share > ideal * 0.6 && share < ideal * 1.5, `${name}: ${n}→${n + 1} moved ${(share * 100).toFixed(1)}% (ideal ${(ideal * 100).toFixed(1)}%)`);
    }
  });
}

test('maglev table: every slot filled, each backend owns about M/N slots', () => {
  const backends = pool([1, 1, 1, 1, 1, 1, 1]);
  const table = buildMaglevTable(backends, 65537);
  const owned = new Array<number>(backends.length).fill(0);
  for (const o of table) owned[o]!++;
  assert.equal(owned.reduce((a, b) => a + b, 0), 65537);
  for (const c of owned) assert.ok(Math.abs(c - 65537 / 7) <= 2, `owned ${c}`);
});
