import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BENCH_DEFAULTS, parseDistribution, parseDurationMs, validateBenchOptions, workloadName, type BenchOptions } from './bench-options.js';
import { BenchError } from './errors.js';

const base: BenchOptions = {
  endpoints: ['127.0.0.1:2379'],
  workload: { type: 'put' },
  concurrency: 8,
  connections: 2,
  durationMs: 1000,
  totalOps: null,
  warmupMs: 0,
  keyBytes: BENCH_DEFAULTS.keyBytes,
  valueBytes: 256,
  keyCount: 100,
  distribution: { type: 'uniform' },
  requestTimeoutMs: 1000,
  preload: true,
  keyPrefix: 'bench/',
  seed: 1,
};

test('valid options pass', () => {
  validateBenchOptions(base);
  validateBenchOptions({ ...base, workload: { type: 'watch', watchers: 4 }, connections: 16 });
});

test('bad options are refused with a message saying what to fix', () => {
  const bad: [Partial<BenchOptions>, RegExp][] = [
    [{ endpoints: [] }, /at least one endpoint/],
    [{ endpoints: ['nohost'] }, /not host:port/],
    [{ concurrency: 0 }, /concurrency/],
    [{ connections: 9 }, /more connections/],
    [{ durationMs: null, totalOps: null }, /duration or a total/],
    [{ keyBytes: 4 }, /too small/],
    [{ workload: { type: 'mixed', readPercent: 101, serializable: false } }, /read percent/],
    [{ workload: { type: 'watch', watchers: 2 }, valueBytes: 4 }, /at least 8/],
    [{ distribution: { type: 'zipfian', theta: 1.5 } }, /theta/],
  ];
  for (const [patch, re] of bad) {
    assert.throws(() => validateBenchOptions({ ...base, ...patch }), (e: unknown) => e instanceof BenchError && e.code === 'invalid-options' && re.test(e.message), JSON.stringify(patch));
  }
});

test('durations and distributions parse', () => {
  assert.equal(parseDurationMs('10s'), 10_000);
  assert.equal(parseDurationMs('250ms'), 250);
  assert.equal(parseDurationMs('2m'), 120_000);
  assert.equal(parseDurationMs('1.5'), 1500);
  assert.equal(parseDurationMs('ten'), null);
  assert.deepEqual(parseDistribution('uniform'), { type: 'uniform' });
  assert.deepEqual(parseDistribution('zipfian:0.8'), { type: 'zipfian', theta: 0.8 });
  assert.equal(parseDistribution('zipf'), null);
  assert.equal(workloadName({ type: 'range', serializable: true }), 'range-serializable');
});
