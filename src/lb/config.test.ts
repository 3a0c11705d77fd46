import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromFlags } from '../cli/cmd-lb.js';
import { parseLbConfig, parseLbConfigText, reloadProblem } from './config.js';
import { LbConfigError } from './errors.js';

const base = { listen: '127.0.0.1:8080', backends: ['127.0.0.1:9001'] };

test('defaults follow HAProxy and Envoy', () => {
  const c = parseLbConfig(base);
  assert.equal(c.mode, 'http');
  assert.equal(c.policy, 'round-robin');
  assert.deepEqual(c.health, { check: { type: 'tcp' }, intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 });
  assert.equal(c.outlier.consecutive5xx, 5);
  assert.equal(c.outlier.baseEjectionMs, 30_000);
  assert.equal(c.outlier.maxEjectionPercent, 10);
  assert.equal(c.panicThresholdPercent, 50);
  assert.deepEqual(c.retries.budget, { percent: 20, minPerSecond: 10, windowMs: 10_000 });
  assert.equal(c.circuitBreakers.maxConnections, 1024);
  assert.deepEqual(c.backends[0], { id: '127.0.0.1:9001', host: '127.0.0.1', port: 9001, weight: 1, backup: false });
});

test('backends in short and long form, backups and weights', () => {
  const c = parseLbConfig({ ...base, backends: ['127.0.0.1:9001,weight=3', '127.0.0.1:9002,backup', { address: '[::1]:9003', weight: 2, backup: true }] });
  assert.deepEqual(
    c.backends.map((b) => [b.id, b.weight, b.backup]),
    [
      ['127.0.0.1:9001', 3, false],
      ['127.0.0.1:9002', 1, true],
      ['[::1]:9003', 2, true],
    ],
  );
});

test('malformed configuration is refused with a message that says what to fix', () => {
  const cases: [unknown, RegExp][] = [
    [{ backends: ['127.0.0.1:1'] }, /^listen: required/],
    [{ ...base, listen: 'localhost' }, /^listen: "localhost" is not host:port/],
    [{ ...base, backends: [] }, /^backends: at least one backend is required/],
    [{ ...base, backends: ['127.0.0.1:70000'] }, /^backends\[0\]\.address: port 70000 is out of range/],
    [{ ...base, backends: ['127.0.0.1:1', '127.0.0.1:1'] }, /^backends\[1\]: 127.0.0.1:1 is listed twice/],
    [{ ...base, backends: ['127.0.0.1:1,primary'] }, /unknown backend option "primary"/],
    [{ ...base, policy: 'fastest' }, /^policy: "fastest": expected one of round-robin, /],
    [{ ...base, mode: 'udp' }, /^mode: "udp": expected one of tcp, http, grpc/],
    [{ ...base, healthCheck: { type: 'http', rise: 0 } }, /^healthCheck\.rise: 0 is out of range/],
    [{ ...base, healthCheck: 'grpc' }, /gRPC health checks need mode "grpc"/],
    [{ ...base, retries: { perRequest: 'two' } }, /^retries\.perRequest: expected an integer/],
    [{ ...base, outlierDetection: { baseEjectionMs: 10_000, maxEjectionMs: 1000 } }, /maxEjectionMs: must be at least baseEjectionMs/],
    [{ ...base, circuitBreakers: { maxConections: 5 } }, /^circuitBreakers\.maxConections: unknown setting/],
    [{ ...base, mode: 'tcp', hashKey: 'path' }, /in tcp mode only "client-address"/],
    [{ ...base, cluster: { endpoints: ['127.0.0.1:2379'] } }, /cluster-aware mode proxies gRPC/],
    [{ ...base, backend: ['x'] }, /^backend: unknown setting/],
    [[], /expected an object/],
  ];
  for (const [raw, message] of cases) {
    assert.throws(
      () => parseLbConfig(raw),
      (e: unknown) => e instanceof LbConfigError && e.code === 'lb-config' && message.test(e.message),
      `${JSON.stringify(raw)} should fail with ${message}`,
    );
  }
  assert.throws(() => parseLbConfigText('{"listen": ', 'lb.json'), /^Error|lb\.json: not valid JSON/);
});

test('a reload may change backends and policy but not the listeners', () => {
  const a = parseLbConfig(base);
  assert.equal(reloadProblem(a, parseLbConfig({ ...base, policy: 'maglev', backends: ['127.0.0.1:9009'] })), null);
  assert.match(reloadProblem(a, parseLbConfig({ ...base, listen: '127.0.0.1:8081' })) ?? '', /listen cannot change/);
});

test('command-line flags build the same configuration, and bad flags name the flag', () => {
  const c = configFromFlags({ listen: '127.0.0.1:8080', backend: ['127.0.0.1:9001', '127.0.0.1:9002,backup'], policy: 'least-conn', mode: 'http', 'health-check': 'http:/health:204', rise: '3' });
  assert.equal(c.policy, 'least-conn');
  assert.deepEqual(c.health.check, { type: 'http', path: '/health', expectStatus: 204 });
  assert.equal(c.health.rise, 3);
  assert.equal(c.backends[1]!.backup, true);
  const cl = configFromFlags({ listen: '127.0.0.1:2378', 'cluster-endpoints': '127.0.0.1:2379, 127.0.0.1:22379' });
  assert.equal(cl.mode, 'grpc');
  assert.equal(cl.cluster!.endpoints.length, 2);
  assert.throws(() => configFromFlags({ listen: '127.0.0.1:8080', backend: ['127.0.0.1:9001'], policy: 'nope' }), /^UsageError: --policy \(policy: "nope"/);
  assert.throws(() => configFromFlags({ listen: '127.0.0.1:8080', backend: ['127.0.0.1:9001'], rise: 'x' }), /--rise: expected a whole number/);
});
