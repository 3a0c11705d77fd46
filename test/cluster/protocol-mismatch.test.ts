/**
 * A member refuses a cluster of the other protocol (issue 9), on real processes: a member added
 * at runtime and started with the wrong --consensus, and a member restarted with the wrong flag,
 * both exit at once with a message that says which flag to use; the cluster is unharmed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ClusterService } from '../../src/api/proto/generated/etcdserverpb.js';
import { BULWARK_MAIN, freePorts } from '../../src/server/local-cluster.js';
import { putAnywhere, startCluster } from './harness.js';

/** Runs `bulwark` with `args` until it exits (bounded); its exit code and stderr. */
function runBulwark(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BULWARK_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function withConsensus(args: readonly string[], consensus: string): string[] {
  const out = [...args];
  const i = out.indexOf('--consensus');
  assert.ok(i >= 0);
  out[i + 1] = consensus;
  return out;
}

test('a member started with the other --consensus exits with a message saying which flag to use', async () => {
  const t = await startCluster({ consensus: 'paxos' });
  try {
    await putAnywhere(t, 'k', 'v');

    // Joining: added with MemberAdd, then started with --consensus raft.
    const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    await t.channel('m1').call(ClusterService.MemberAdd, { peerURLs: [peerUrl], isLearner: true }, { deadlineMs: 10_000 });
    t.cluster.addMember({ name: 'm4', clientPort, peerPorts: [peerPort] });
    const join = await runBulwark(withConsensus(t.cluster.argsFor('m4', 'existing'), 'raft'));
    assert.notEqual(join.code, 0);
    assert.match(join.stderr, /runs paxos, but this member is configured with --consensus raft/);
    assert.match(join.stderr, /start it with --consensus paxos/);

    // Restarting an existing member with the wrong flag.
    await t.cluster.stop('m3');
    const restart = await runBulwark(withConsensus(t.cluster.argsFor('m3', 'existing'), 'raft'));
    assert.notEqual(restart.code, 0);
    assert.match(restart.stderr, /belongs to a cluster running paxos, but --consensus is raft/);
    assert.match(restart.stderr, /start this member with --consensus paxos/);

    // With the right flag both start, and the cluster never noticed.
    t.cluster.start('m3', 'existing');
    t.cluster.start('m4', 'existing');
    await t.cluster.waitHealthy('m3', 30_000);
    await t.cluster.waitHealthy('m4', 30_000);
    await putAnywhere(t, 'k2', 'v2');
  } finally {
    await t.close();
  }
});
