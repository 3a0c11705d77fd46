import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { backendId, type BackendSpec } from './backend.js';
import { Balancer } from './balancer.js';
import { HealthChecker } from './health-checker.js';
import type { ProbeResult } from './health-probe.js';
import { ManualClock } from './manual-clock.js';
import { policyByName } from './policy-registry.js';

test('health checker: probes every interval; down after `fall` failures, up after `rise` successes', async () => {
  const clock = new ManualClock();
  const balancer = new Balancer({
    policy: policyByName('round-robin'),
    random: new SeededRandom(1),
    clock,
    panicThresholdPercent: 0,
    outlier: { enabled: false, consecutive5xx: 5, consecutiveGatewayFailure: 5, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10 },
    drainTimeoutMs: 1000,
  });
  const spec: BackendSpec = { id: backendId('127.0.0.1', 1), host: '127.0.0.1', port: 1, weight: 1, backup: false };
  let healthy = true;
  const checker = new HealthChecker({
    clock,
    random: new SeededRandom(2),
    balancer,
    probe: async (): Promise<ProbeResult> => (healthy ? { ok: true } : { ok: false, reason: 'refused' }),
    settings: { check: { type: 'tcp' }, intervalMs: 1000, timeoutMs: 500, rise: 2, fall: 3 },
  });
  balancer.setBackends([spec]);
  checker.setBackends([spec]);
  const step = async (ms: number): Promise<void> => {
    clock.advance(ms);
    for (let i = 0; i < 5; i++) await Promise.resolve(); // let the probe's promise settle
  };
  const state = (): string => balancer.status()[0]!.state;
  await step(0);
  assert.equal(checker.checksOf(spec.id), 1, 'the first check runs at once');
  healthy = false;
  await step(1100);
  await step(1100);
  assert.equal(state(), 'up', 'two failures are not enough');
  await step(1100);
  assert.equal(state(), 'down', 'the third failure takes it down');
  healthy = true;
  await step(1100);
  assert.equal(state(), 'down', 'one success is not enough');
  await step(1100);
  assert.equal(state(), 'up', 'the second success brings it up');
  assert.equal(checker.checksOf(spec.id), 6);
  checker.close();
  balancer.close();
});
