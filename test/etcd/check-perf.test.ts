/**
 * `etcdctl check perf --load s` (150 writes/s from 50 clients for 60 s, 256 B keys and 1 KiB
 * values) against a three-member Bulwark: etcdctl's own verdict must be PASS (throughput above
 * 90% of the target, slowest request at most 500 ms, standard deviation at most 100 ms). A file of
 * its own because it takes a minute by design. Skipped without etcdctl.
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

  test('passes', { timeout: 150_000 }, async () => {
    const r = await etcdctl(t.cluster.endpoints(), ['check', 'perf', '--load', 's'], { timeoutMs: 120_000 });
    const verdict = r.stdout.slice(r.stdout.indexOf('PASS') >= 0 || r.stdout.indexOf('FAIL') >= 0 ? Math.min(...['PASS', 'FAIL'].map((w) => r.stdout.indexOf(w)).filter((i) => i >= 0)) : 0);
    process.stdout.write(`# check perf: ${verdict.replace(/\n/g, ' | ')}\n`);
    assert.match(verdict, /Throughput is \d+ writes\/s/);
    assert.equal(r.code, 0, `etcdctl check perf failed:\n${verdict}\n${r.stderr.slice(-2000)}`);
    assert.match(verdict, /^PASS$/m);
  });
});
