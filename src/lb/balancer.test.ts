import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { backendId, type BackendId, type BackendSpec } from './backend.js';
import { Balancer, type BalancerEvent } from './balancer.js';
import { ManualClock } from './manual-clock.js';
import type { OutlierConfig } from './outlier-detector.js';
import { policyByName } from './policy-registry.js';

const outlier: OutlierConfig = {
  enabled: true,
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
};

function spec(port: number, extra: Partial<BackendSpec> = {}): BackendSpec {
  return { id: backendId('127.0.0.1', port), host: '127.0.0.1', port, weight: 1, backup: false, ...extra };
}

function setup(options: { panicThresholdPercent?: number; outlier?: Partial<OutlierConfig>; drainTimeoutMs?: number } = {}) {
  const clock = new ManualClock();
  const events: BalancerEvent[] = [];
  const balancer = new Balancer({
    policy: policyByName('round-robin'),
    random: new SeededRandom(7),
    clock,
    panicThresholdPercent: options.panicThresholdPercent ?? 50,
    outlier: { ...outlier, ...options.outlier },
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    onEvent: (e) => events.push(e),
  });
  return { clock, balancer, events };
}

function picks(b: Balancer, n: number): Set<BackendId> {
  const out = new Set<BackendId>();
  for (let i = 0; i < n; i++) {
    const id = b.pick({});
    if (id !== null) out.add(id);
  }
  return out;
}

const fail = { type: 'gateway-failure', reason: 'refused' } as const;

test('backups take traffic only when every primary is down, and give it back', () => {
  const { balancer, events } = setup();
  const [p1, p2, b1] = [spec(1), spec(2), spec(3, { backup: true })];
  balancer.setBackends([p1, p2, b1]);
  assert.deepEqual(picks(balancer, 20), new Set([p1.id, p2.id]));
  balancer.setHealth(p1.id, false);
  assert.equal(balancer.mode, 'normal', 'one of two primaries is the panic threshold, not below it');
  assert.deepEqual(picks(balancer, 20), new Set([p2.id]));
  balancer.setHealth(p2.id, false);
  assert.equal(balancer.mode, 'backup');
  assert.deepEqual(picks(balancer, 20), new Set([b1.id]));
  balancer.setHealth(p2.id, true);
  assert.equal(balancer.mode, 'normal');
  assert.deepEqual(picks(balancer, 20), new Set([p2.id]));
  assert.ok(events.some((e) => e.type === 'mode-changed' && e.to === 'backup'));
  assert.ok(events.some((e) => e.type === 'state-changed' && e.id === p1.id && e.to === 'down'));
});

test('panic threshold: below 50% healthy primaries, health is ignored', () => {
  const { balancer } = setup();
  const ps = [spec(1), spec(2), spec(3), spec(4)];
  balancer.setBackends(ps);
  balancer.setHealth(ps[0]!.id, false);
  balancer.setHealth(ps[1]!.id, false);
  assert.equal(balancer.mode, 'normal', '2 of 4 healthy is exactly the threshold');
  assert.deepEqual(picks(balancer, 40), new Set([ps[2]!.id, ps[3]!.id]));
  balancer.setHealth(ps[2]!.id, false);
  assert.equal(balancer.mode, 'panic');
  assert.equal(picks(balancer, 40).size, 4, 'panic spreads over every primary');
  const { balancer: strict } = setup({ panicThresholdPercent: 0 });
  strict.setBackends(ps);
  for (const p of ps.slice(0, 3)) strict.setHealth(p.id, false);
  assert.equal(strict.mode, 'normal', 'a threshold of 0 turns panic mode off');
  assert.deepEqual(picks(strict, 20), new Set([ps[3]!.id]));
});

test('nothing healthy at all: every backend, backups included, is tried', () => {
  const { balancer } = setup();
  const all = [spec(1), spec(2, { backup: true })];
  balancer.setBackends(all);
  for (const b of all) balancer.setHealth(b.id, false);
  assert.equal(balancer.mode, 'panic');
  assert.equal(picks(balancer, 10).size, 2);
});

test('outlier detection: consecutive failures eject for base × times, capped; returns after the sweep', () => {
  const { balancer, clock } = setup({ outlier: { maxEjectionPercent: 100 } });
  const ps = [spec(1), spec(2), spec(3)];
  balancer.setBackends(ps);
  const id = ps[0]!.id;
  for (let i = 0; i < 4; i++) balancer.recordOutcome(id, fail);
  balancer.recordOutcome(id, { type: 'success' });
  for (let i = 0; i < 4; i++) balancer.recordOutcome(id, fail);
  assert.equal(balancer.status()[0]!.state, 'up', 'a success resets the count');
  balancer.recordOutcome(id, fail);
  assert.equal(balancer.status()[0]!.state, 'ejected');
  assert.ok(!picks(balancer, 30).has(id));
  clock.advance(29_000);
  assert.equal(balancer.status()[0]!.state, 'ejected');
  clock.advance(2_000); // the sweep at +30 s ends the 30 s ejection
  assert.equal(balancer.status()[0]!.state, 'up');
  for (let i = 0; i < 5; i++) balancer.recordOutcome(id, { type: 'http-5xx', status: 500 });
  const second = balancer.status()[0]!;
  assert.equal(second.state, 'ejected');
  assert.equal(second.ejectedUntilMs! - clock.nowMs(), 60_000, 'second ejection lasts 2 × base');
  assert.equal(second.stats.ejections, 2);
});

test('outlier detection never ejects more than max-ejection-percent, but always at least one', () => {
  const { balancer } = setup({ outlier: { maxEjectionPercent: 10 } });
  const ten = Array.from({ length: 10 }, (_, i) => spec(i + 1));
  balancer.setBackends(ten);
  for (const b of ten) for (let i = 0; i < 5; i++) balancer.recordOutcome(b.id, fail);
  assert.equal(balancer.status().filter((s) => s.state === 'ejected').length, 1, '10% of 10');
  const { balancer: small } = setup({ outlier: { maxEjectionPercent: 10 } });
  const three = [spec(1), spec(2), spec(3)];
  small.setBackends(three);
  for (const b of three) for (let i = 0; i < 5; i++) small.recordOutcome(b.id, fail);
  assert.equal(small.status().filter((s) => s.state === 'ejected').length, 1, 'one may always be ejected');
  const { balancer: half } = setup({ outlier: { maxEjectionPercent: 50 } });
  half.setBackends(ten);
  for (const b of ten) for (let i = 0; i < 5; i++) half.recordOutcome(b.id, fail);
  assert.equal(half.status().filter((s) => s.state === 'ejected').length, 5);
});

test('draining: a removed backend gets nothing new, in-flight work finishes, then it is removed', () => {
  const { balancer, events } = setup();
  const [a, b] = [spec(1), spec(2)];
  balancer.setBackends([a, b]);
  balancer.acquire(a.id);
  balancer.acquire(a.id);
  balancer.setBackends([b]);
  assert.equal(balancer.status().find((s) => s.id === a.id)!.state, 'draining');
  assert.deepEqual(picks(balancer, 10), new Set([b.id]));
  balancer.release(a.id);
  assert.ok(!events.some((e) => e.type === 'removed'));
  balancer.release(a.id);
  assert.deepEqual(
    events.filter((e) => e.type === 'removed'),
    [{ type: 'removed', id: a.id, forced: false }],
  );
  assert.equal(balancer.status().length, 1);
});

test('draining is bounded: the drain timeout forces the removal', () => {
  const { balancer, clock, events } = setup({ drainTimeoutMs: 5_000 });
  const [a, b] = [spec(1), spec(2)];
  balancer.setBackends([a, b]);
  balancer.acquire(a.id);
  balancer.setBackends([b]);
  clock.advance(4_999);
  assert.equal(events.filter((e) => e.type === 'removed').length, 0);
  clock.advance(1);
  assert.deepEqual(
    events.filter((e) => e.type === 'removed'),
    [{ type: 'removed', id: a.id, forced: true }],
  );
  balancer.release(a.id); // the late release of a removed backend is harmless
});

test('a draining backend configured again returns to service', () => {
  const { balancer } = setup();
  const [a, b] = [spec(1), spec(2)];
  balancer.setBackends([a, b]);
  balancer.acquire(a.id);
  balancer.setBackends([b]);
  balancer.setBackends([a, b]);
  assert.equal(balancer.status().find((s) => s.id === a.id)!.state, 'up');
  assert.equal(picks(balancer, 10).size, 2);
});

test('policy swap keeps the backends and their health', () => {
  const { balancer } = setup();
  const ps = [spec(1), spec(2), spec(3)];
  balancer.setBackends(ps);
  balancer.setHealth(ps[0]!.id, false);
  balancer.setPolicy(policyByName('maglev'));
  assert.equal(balancer.policyName, 'maglev');
  for (let i = 0; i < 50; i++) assert.notEqual(balancer.pick({ hashKey: `k${i}` }), ps[0]!.id);
});
