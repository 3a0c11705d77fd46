/**
 * /version, /health, /livez and /readyz on real processes (issue 5), as docs/operations.md
 * describes them: status codes and bodies with a healthy cluster, then on a member left without a
 * quorum — live (it still reads locally) but not ready (no linearizable read), and /health says why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BULWARK_VERSION, ETCD_COMPAT_VERSION } from '../../src/version.js';
import { leaderName, startCluster, waitFor, type TestCluster } from './harness.js';

interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string;
}

async function fetchPath(t: TestCluster, name: string, path: string, method = 'GET'): Promise<Reply> {
  const r = await fetch(`${t.cluster.clientUrl(name)}${path}`, { method, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

const READYZ_CHECKS = ['data_corruption', 'serializable_read', 'linearizable_read', 'non_learner'];

test('/version, /health, /livez and /readyz: codes and bodies when healthy, and on a member without a quorum', { timeout: 120_000 }, async () => {
  const t = await startCluster();
  try {
    const leader = await waitFor('a leader', () => leaderName(t));
    const [lone, other] = t.cluster.names.filter((n) => n !== leader) as [string, string];

    const version = await fetchPath(t, lone, '/version');
    assert.equal(version.status, 200);
    assert.match(version.type, /^application\/json/);
    assert.deepEqual(JSON.parse(version.body), { etcdserver: ETCD_COMPAT_VERSION, etcdcluster: '3.4.0', bulwark: BULWARK_VERSION });

    const health = await fetchPath(t, lone, '/health');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { health: 'true', reason: '' });

    for (const path of ['/livez', '/readyz', '/readyz/linearizable_read', '/livez/serializable_read']) {
      const r = await fetchPath(t, lone, path);
      assert.equal(r.status, 200, path);
      assert.match(r.type, /^text\/plain/, path);
      assert.equal(r.body, 'ok\n', path);
    }
    assert.equal((await fetchPath(t, lone, '/livez?verbose')).body, '[+]serializable_read ok\nlivez check passed\n');
    assert.equal((await fetchPath(t, lone, '/readyz?verbose')).body, `${READYZ_CHECKS.map((c) => `[+]${c} ok`).join('\n')}\nreadyz check passed\n`);
    assert.equal((await fetchPath(t, lone, '/readyz?verbose&exclude=non_learner')).body.split('\n')[3], '[+]non_learner excluded: ok');
    assert.equal((await fetchPath(t, lone, '/readyz/no_such_check')).status, 404);
    assert.equal((await fetchPath(t, lone, '/livez', 'POST')).status, 405);

    // /metrics: etcd's names for the member, prom-client's for the process.
    const metrics = await fetchPath(t, lone, '/metrics');
    assert.equal(metrics.status, 200);
    const sample = (name: string): number => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics.body);
      assert.ok(m !== null, `${name} in /metrics`);
      return Number(m[1]);
    };
    assert.equal(sample('etcd_server_has_leader'), 1);
    assert.equal(sample('etcd_server_is_leader'), 0);
    assert.ok(sample('etcd_disk_wal_fsync_duration_seconds_count') > 0, 'the WAL synced');
    assert.ok(sample('process_resident_memory_bytes') > 10 * 1024 * 1024, 'resident memory');
    assert.ok(sample('process_cpu_seconds_total') > 0, 'CPU time');
    const lagP99 = sample('nodejs_eventloop_lag_p99_seconds');
    assert.ok(lagP99 >= 0 && lagP99 < 5, `event-loop delay p99 ${lagP99} s`);
    assert.ok(sample('bulwark_eventloop_lag_max_ever_seconds') >= lagP99);

    // The other two go: `lone` keeps serving local reads but has no leader and no quorum.
    await t.cluster.kill(leader);
    await t.cluster.kill(other);
    const noQuorum = await waitFor('/health to report the lost leader', async () => {
      const r = await fetchPath(t, lone, '/health');
      return r.status === 503 ? r : null;
    }, 30_000);
    const h = JSON.parse(noQuorum.body) as { health: string; reason: string };
    assert.equal(h.health, 'false');
    assert.match(h.reason, /^(RAFT NO LEADER|QGET ERROR: .+)$/);

    const livez = await fetchPath(t, lone, '/livez');
    assert.equal(livez.status, 200, 'a member without a quorum is still live');
    assert.equal(livez.body, 'ok\n');

    const readyz = await fetchPath(t, lone, '/readyz');
    assert.equal(readyz.status, 503, 'a member without a quorum is not ready');
    const lines = readyz.body.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['[+]data_corruption ok', '[+]serializable_read ok']);
    assert.match(lines[2]!, /^\[-\]linearizable_read failed: .+/);
    assert.deepEqual(lines.slice(3), ['[+]non_learner ok', 'readyz check failed']);
    assert.equal((await fetchPath(t, lone, '/readyz/linearizable_read')).status, 503);
    const excluded = await fetchPath(t, lone, '/readyz?exclude=linearizable_read');
    assert.equal(excluded.status, 200);
    assert.equal(excluded.body, 'ok\n');
    assert.equal((await fetchPath(t, lone, '/version')).status, 200, '/version needs no quorum');
  } finally {
    await t.close();
  }
});
