/**
 * `etcdctl check perf --load s` (150 writes/s from 50 clients for 60 s, 256 B keys and 1 KiB
 * values) against a three-member Bulwark. A file of its own because it takes a minute by design.
 *
 * etcdctl's verdict (throughput above 90% of the target, slowest request at most 500 ms, standard
 * deviation at most 100 ms) is a timing judgement, and three members, etcdctl and the other test
 * files share two cores: on a machine that is already busy when the test starts (load average
 * above two per core) one stall of the scheduler decides it. So: on a quiet machine (or with
 * BULWARK_CHECK_PERF_STRICT=1) one of two runs must PASS on every criterion; on a busy one the run
 * must complete with at least 100 writes/s and no request slower than 2 s, and the verdict is
 * printed either way. Skipped without etcdctl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism, loadavg } from 'node:os';
import { startCluster, type TestCluster } from '../cluster/harness.js';
import { ETCDCTL, etcdctl } from './twin.js';

const skip = ETCDCTL === undefined ? 'etcdctl not installed (apt-get install -y etcd-client)' : false;

describe('etcdctl check perf --load s', { skip }, () => {
  let t: TestCluster;

  before(async () => {
    // etcd's default timing: check perf measures the normal configuration, not the fast test one.
    t = await startCluster({ size: 3, args: ['--heartbeat-interval', '100', '--election-timeout', '1000'], env: { NODE_OPTIONS: '--max-semi-space-size=64' } });
  });

  after(async () => {
    await t?.close();
  });

  test('passes', { timeout: 220_000 }, async () => {
    const loadPerCore = loadavg()[0]! / availableParallelism();
    const strict = process.env['BULWARK_CHECK_PERF_STRICT'] === '1' || loadPerCore < 2;
    const verdicts: string[] = [];
    for (let attempt = 1; attempt <= (strict ? 2 : 1); attempt++) {
      const r = await etcdctl(t.cluster.endpoints(), ['check', 'perf', '--load', 's', '--prefix', `/check-perf-${attempt}/`], { timeoutMs: 100_000 });
      const at = Math.min(...['PASS', 'FAIL', 'Slowest', 'Throughput', 'Stddev'].map((w) => r.stdout.indexOf(w)).filter((i) => i >= 0));
      const verdict = Number.isFinite(at) ? r.stdout.slice(at) : r.stdout.slice(-500);
      verdicts.push(verdict.replace(/\n+/g, ' | '));
      process.stdout.write(`# check perf (run ${attempt}, load ${loadPerCore.toFixed(1)} per core, ${strict ? 'strict' : 'busy machine'}): ${verdicts[attempt - 1]}\n`);
      const throughput = Number(/(\d+) writes\/s/.exec(verdict)?.[1] ?? 'NaN');
      assert.ok(Number.isFinite(throughput), `no throughput in etcdctl's output:\n${r.stdout.slice(-1000)}\n${r.stderr.slice(-1000)}`);
      if (r.code === 0 && /^PASS$/m.test(verdict)) return;
      if (!strict) {
        const slowest = Number(/took (?:too long: )?([\d.]+)s/.exec(verdict)?.[1] ?? 'NaN');
        assert.ok(throughput >= 100, `throughput ${throughput} writes/s on a busy machine: ${verdict}`);
        assert.ok(slowest <= 2, `slowest request ${slowest} s on a busy machine: ${verdict}`);
        return;
      }
    }
    assert.fail(`etcdctl check perf failed twice:\n${verdicts.join('\n')}`);
  });
});
