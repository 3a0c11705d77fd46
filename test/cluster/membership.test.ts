/**
 * Membership at runtime on real processes (issue 5): a learner joins and catches up by snapshot
 * (the log was compacted), is promoted only once caught up, leadership moves to it, and the leader
 * itself is removed while the cluster goes on.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClusterService, MaintenanceService } from '../../src/api/proto/generated/etcdserverpb.js';
import { freePorts } from '../../src/server/local-cluster.js';
import { count, leaderName, putAnywhere, startCluster, waitFor } from './harness.js';

test('add a learner, catch up by snapshot, promote, move leadership to it, remove the leader', async () => {
  const t = await startCluster({ args: ['--snapshot-count', '50'] });
  try {
    for (let i = 0; i < 200; i++) await putAnywhere(t, `m/${i}`, 'x');
    const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    // An election on a loaded machine may interrupt an admin call: retry as a client would.
    const added = await waitFor('member add', async () => {
      try {
        return await t.channel('m1').call(ClusterService.MemberAdd, { peerURLs: [peerUrl], isLearner: true }, { deadlineMs: 10_000 });
      } catch (e) {
        if (!/Peer URLs already exists/.test((e as Error).message)) throw e;
        const list = await t.channel('m1').call(ClusterService.MemberList, { linearizable: true }, { deadlineMs: 5000 });
        return { member: list.members.find((m) => m.peerURLs.includes(peerUrl)), members: list.members };
      }
    });
    assert.equal(added.member?.isLearner, true);
    assert.ok(added.members.some((m) => m.peerURLs.includes(peerUrl)));
    const id = added.member!.ID;

    // Promoting before it has caught up is refused with etcd's error.
    await assert.rejects(
      t.channel('m1').call(ClusterService.MemberPromote, { ID: id }, { deadlineMs: 5000 }),
      /can only promote a learner member which is in sync with leader/,
    );

    t.cluster.addMember({ name: 'm4', clientPort, peerPorts: [peerPort] });
    t.cluster.start('m4', 'existing');
    await t.cluster.waitHealthy('m4', 30_000);
    await waitFor('the learner to catch up', async () => (await count(t.channel('m4'), 'm/').catch(() => -1)) === 200 || (await serializableCount(t, 'm4')) === 200, 30_000);
    const metrics = await (await fetch(`${t.cluster.clientUrl('m4')}/metrics`)).text();
    assert.match(metrics, /^etcd_server_is_learner 1$/m);
    assert.ok(Number(/^bulwark_snapshots_installed_total (\d+)/m.exec(metrics)?.[1] ?? 0) >= 1, 'the learner caught up by snapshot');

    await waitFor('promotion', async () => {
      await t.channel('m1').call(ClusterService.MemberPromote, { ID: id }, { deadlineMs: 5000 });
      return true;
    }, 20_000);
    const list = await t.channel('m2').call(ClusterService.MemberList, { linearizable: true }, { deadlineMs: 5000 });
    assert.equal(list.members.find((m) => m.ID === id)?.isLearner, false);

    // Move leadership to the new member.
    await waitFor('leadership on m4', async () => {
      await t.channel('m1').call(MaintenanceService.MoveLeader, { targetID: id }, { deadlineMs: 5000 });
      return (await leaderName(t)) === 'm4';
    }, 20_000);

    // Remove the leader itself: the others go on.
    await waitFor('member remove', async () => {
      try {
        await t.channel('m1').call(ClusterService.MemberRemove, { ID: id }, { deadlineMs: 10_000 });
      } catch (e) {
        if (!/member not found/.test((e as Error).message)) throw e;
      }
      return true;
    });
    await waitFor('m4 to exit after its removal', async () => t.cluster.state('m4') === 'stopped', 20_000);
    t.cluster.removeMember('m4');
    const newLeader = await waitFor('a new leader', () => leaderName(t), 20_000);
    assert.notEqual(newLeader, 'm4');
    await putAnywhere(t, 'after-removal', 'x');
    assert.equal(await count(t.channel(newLeader), 'm/'), 200);
    const final = await t.channel(newLeader).call(ClusterService.MemberList, { linearizable: true }, { deadlineMs: 5000 });
    assert.equal(final.members.length, 3);
  } finally {
    await t.close();
  }
});

async function serializableCount(t: Awaited<ReturnType<typeof startCluster>>, name: string): Promise<number> {
  const { KVService } = await import('../../src/api/proto/generated/etcdserverpb.js');
  const enc = new TextEncoder();
  const r = await t.channel(name).call(KVService.Range, { key: enc.encode('m/'), rangeEnd: enc.encode('m0'), countOnly: true, serializable: true }, { deadlineMs: 3000 });
  return r.count;
}
