/**
 * `etcdctl check perf --load s` (150 writes/s from 50 clients for 60 s, 256 B keys and 1 KiB
 * values) against a three-member Bulwark: etcdctl's own verdict must be PASS (throughput above
 * 90% of the target, slowest request at most 500 ms, standard deviation at most 100 ms). A file of
 * its own because it takes a minute by design (two when the first run is unlucky on a loaded
 * machine). Skipped without etcdctl.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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
    // On a machine shared with other test processes one stall can break the 500 ms slowest-request
    // rule; a second run is allowed, and one of the two must PASS on every criterion.
    const verdicts: string[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const r = await etcdctl(t.cluster.endpoints(), ['check', 'perf', '--load', 's', '--prefix', `/check-perf-${attempt}/`], { timeoutMs: 100_000 });
      const at = Math.min(...['PASS', 'FAIL', 'Slowest', 'Throughput', 'Stddev'].map((w) => r.stdout.indexOf(w)).filter((i) => i >= 0));
      const verdict = Number.isFinite(at) ? r.stdout.slice(at) : r.stdout.slice(-500);
      verdicts.push(verdict.replace(/\n+/g, ' | '));
      process.stdout.write(`# check perf (run ${attempt}): ${verdicts[attempt - 1]}\n`);
      assert.match(verdict, /Throughput is \d+ writes\/s/);
      if (r.code === 0 && /^PASS$/m.test(verdict)) return;
    }
    assert.fail(`etcdctl check perf failed twice:\n${verdicts.join('\n')}`);
  });
});
