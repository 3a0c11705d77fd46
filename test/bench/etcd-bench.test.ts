/**
 * `bulwark bench` against a real 3-member etcd 3.4: every workload runs briefly and reports
 * sensible figures; --compare alternates sides. Not a performance test: nothing asserts a speed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BenchOptions } from '../../src/bench/bench-options.js';
import { runCompare } from '../../src/bench/compare.js';
import { runBench } from '../../src/bench/runner.js';
import { ETCD_BIN_DEFAULT, EtcdTarget } from '../../src/chaos/target-etcd.js';
import { etcdMissing } from '../chaos/harness.js';

let target: EtcdTarget | null = null;
let dir = '';

before(async () => {
  if (etcdMissing) return;
  dir = await mkdtemp(join(tmpdir(), 'bulwark-bench-test-'));
  target = new EtcdTarget({ size: 3, dir, network: 'none', seed: 1, heartbeatMs: 50, electionMs: 500 }, ETCD_BIN_DEFAULT);
  await target.start();
});

after(async () => {
  await target?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function options(patch: Partial<BenchOptions>): BenchOptions {
  return {
    endpoints: target!.members.map((m) => target!.endpoint(m)),
    workload: { type: 'put' },
    concurrency: 8,
    connections: 2,
    durationMs: 700,
    totalOps: null,
    warmupMs: 100,
    keyBytes: 16,
    valueBytes: 64,
    keyCount: 200,
    distribution: { type: 'uniform' },
    requestTimeoutMs: 5000,
    preload: true,
    keyPrefix: 'bench/',
    seed: 1,
    ...patch,
  };
}

const workloads: BenchOptions['workload'][] = [
  { type: 'put' },
  { type: 'range', serializable: false },
  { type: 'range', serializable: true },
  { type: 'txn' },
  { type: 'mixed', readPercent: 80, serializable: false },
  { type: 'lease', ttlSeconds: 5 },
];

test('every closed-loop workload runs and reports throughput, percentiles and client CPU', { skip: etcdMissing, timeout: 120_000 }, async () => {
  for (const workload of workloads) {
    const r = await runBench(options({ workload, distribution: workload.type === 'txn' ? { type: 'zipfian', theta: 0.99 } : { type: 'uniform' } }));
    const what = `${r.workload}: ${JSON.stringify({ ops: r.ops, errors: r.errorKinds })}`;
    assert.ok(r.ops > 10, what);
    assert.equal(r.errors, 0, what);
    assert.ok(r.throughput > 0);
    const l = r.latencyUs;
    assert.ok(l.min <= l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max, what);
    assert.ok(r.cpu.perOpUs > 0 && r.cpu.utilization > 0, 'client CPU is reported');
    assert.equal(r.histogram.reduce((n, [, c]) => n + c, 0), r.ops, 'the histogram holds every measured operation');
  }
});

test('a run can be bounded by a number of operations', { skip: etcdMissing, timeout: 60_000 }, async () => {
  const r = await runBench(options({ durationMs: null, totalOps: 300, warmupMs: 0 }));
  assert.equal(r.ops, 300);
});

test('onMeasure brackets exactly the measured span: start after the warm-up, end before the result', { skip: etcdMissing, timeout: 60_000 }, async () => {
  const events: { event: string; at: number }[] = [];
  const t0 = performance.now();
  const r = await runBench(options({ warmupMs: 300, durationMs: 500 }), { onMeasure: (event) => events.push({ event, at: performance.now() - t0 }) });
  assert.deepEqual(events.map((e) => e.event), ['start', 'end']);
  assert.ok(events[0]!.at >= 250, `measurement began after the warm-up (${events[0]!.at} ms)`);
  assert.ok(events[1]!.at - events[0]!.at >= r.durationMs - 50, 'the span covers the measured wall time');
  assert.ok(r.ops > 0);
});

test('watch fan-out: every put reaches every watcher, with delivery latency', { skip: etcdMissing, timeout: 60_000 }, async () => {
  const r = await runBench(options({ workload: { type: 'watch', watchers: 6 }, concurrency: 2, connections: 3 }));
  assert.ok(r.watch !== undefined && r.watch.puts > 10);
  assert.equal(r.watch.missing, 0);
  assert.equal(r.watch.delivered, r.watch.puts * 6);
  assert.ok(r.putLatencyUs !== undefined && r.putLatencyUs.count === r.watch.puts);
});

test('--compare runs the sides alternately, the same number of rounds each', { skip: etcdMissing, timeout: 60_000 }, async () => {
  const order: string[] = [];
  const o = options({ workload: { type: 'range', serializable: true } });
  const r = await runCompare({ base: o, a: [o.endpoints[0]!], b: [o.endpoints[1]!], rounds: 2 }, { onRound: (side, round) => order.push(`${side}${round}`) });
  assert.deepEqual(order, ['A0', 'B0', 'A1', 'B1']);
  assert.equal(r.a.length, 2);
  assert.equal(r.b.length, 2);
  assert.deepEqual(r.a[0]!.endpoints, [o.endpoints[0]]);
});

test('an endpoint that does not answer is a clear error', { skip: etcdMissing, timeout: 30_000 }, async () => {
  await assert.rejects(runBench(options({ endpoints: ['127.0.0.1:1'] })), /127\.0\.0\.1:1 does not answer/);
});

test('chaos against given endpoints: the workload runs and leadership moves through the API', { skip: etcdMissing, timeout: 90_000 }, async () => {
  const { runCampaign } = await import('../../src/chaos/campaign.js');
  const { EndpointsTarget } = await import('../../src/chaos/target-endpoints.js');
  const endpoints = new EndpointsTarget(target!.members.map((m) => target!.endpoint(m)));
  assert.match(endpoints.unsupported('kill') ?? '', /did not start/);
  const r = await runCampaign({
    target: endpoints,
    network: 'none',
    workload: 'register',
    clients: 3,
    durationMs: 3000,
    faults: ['leader-move', 'kill'],
    faultIntervalMs: 300,
    faultDurationMs: 500,
    opTimeoutMs: 1000,
    ratePerSecond: 100,
    reads: 'linearizable',
    seed: 5,
    outDir: null,
    log: () => {},
  });
  assert.equal(r.verdict, 'valid');
  assert.ok(r.faults.some((f) => f.kind === 'leader-move' && f.error === null), JSON.stringify(r.faults));
  assert.ok(r.skippedFaults.some((s) => s.startsWith('kill')));
  assert.ok(r.ops.filter((o) => o.outcome === 'ok').length > 50);
});
