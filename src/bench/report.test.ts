import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareResults, formatComparison, formatResult, median } from './report.js';
import type { BenchResult } from './runner.js';

function result(throughput: number, p99: number): BenchResult {
  const l = { count: 10, min: 1, max: p99, mean: 5, p50: 100, p90: 200, p99, p999: p99 };
  return {
    workload: 'put',
    endpoints: ['a:1'],
    concurrency: 1,
    connections: 1,
    keyBytes: 16,
    valueBytes: 256,
    keyCount: 10,
    distribution: 'uniform',
    durationMs: 1000,
    ops: throughput,
    errors: 0,
    errorKinds: [],
    throughput,
    latencyUs: l,
    cpu: { userMs: 1, systemMs: 1, perOpUs: 20, utilization: 0.1 },
    histogram: [],
  };
}

test('median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  assert.equal(median([]), 0);
});

test('a comparison takes medians per side and says which side is better', () => {
  const rows = compareResults([result(100, 1000), result(120, 900), result(80, 1100)], [result(200, 500), result(210, 400), result(190, 600)]);
  const tp = rows.find((r) => r.figure === 'throughput ops/s')!;
  assert.equal(tp.a, 100);
  assert.equal(tp.b, 200);
  assert.equal(tp.ratio, 2);
  assert.equal(tp.better, 'b');
  const p99 = rows.find((r) => r.figure === 'p99 ms')!;
  assert.equal(p99.better, 'b', 'lower latency is better');
  const errors = rows.find((r) => r.figure === 'errors')!;
  assert.equal(errors.better, 'same');
  const text = formatComparison({ labelA: 'etcd', labelB: 'bulwark', a: [result(100, 1000)], b: [result(200, 500)] });
  assert.match(text, /throughput ops\/s\s+100\s+200\s+2\.00\s+B/);
});

test('a run report names throughput, percentiles and client CPU', () => {
  const text = formatResult(result(1234, 5000));
  assert.match(text, /1234 ops\/s/);
  assert.match(text, /p99 5\.00/);
  assert.match(text, /20\.0 µs per operation/);
});
