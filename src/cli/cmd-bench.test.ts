import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchCommand, benchOptionsFromFlags } from './cmd-bench.js';
import { UsageError } from './command.js';

test('flags become options', () => {
  const o = benchOptionsFromFlags({ workload: 'mixed', 'read-percent': '70', serializable: true, concurrency: '32', connections: '2', duration: '2s', distribution: 'zipfian:0.9', 'value-size': '100' }, ['127.0.0.1:2379']);
  assert.deepEqual(o.workload, { type: 'mixed', readPercent: 70, serializable: true });
  assert.equal(o.concurrency, 32);
  assert.equal(o.durationMs, 2000);
  assert.deepEqual(o.distribution, { type: 'zipfian', theta: 0.9 });
  assert.equal(o.valueBytes, 100);
  const t = benchOptionsFromFlags({ total: '500' }, ['127.0.0.1:2379']);
  assert.equal(t.durationMs, null, '--total alone bounds the run by count');
  assert.equal(t.totalOps, 500);
});

test('bad flags are usage errors that say what to fix', async () => {
  assert.throws(() => benchOptionsFromFlags({ workload: 'nope' }, ['a:1']), (e: unknown) => e instanceof UsageError && /--workload/.test(e.message));
  assert.throws(() => benchOptionsFromFlags({ concurrency: 'x' }, ['a:1']), /--concurrency: expected a whole number/);
  assert.throws(() => benchOptionsFromFlags({ duration: 'soon' }, ['a:1']), /--duration/);
  assert.throws(() => benchOptionsFromFlags({ distribution: 'pareto' }, ['a:1']), /--distribution/);
  assert.throws(() => benchOptionsFromFlags({ concurrency: '2', connections: '4' }, ['a:1']), /more connections/);
  await assert.rejects(benchCommand.run([]), /--endpoints/);
  await assert.rejects(benchCommand.run(['--compare', 'a:1']), /two endpoint lists/);
});
