/** Failover on real processes (issue 5): losing a follower, a minority, a majority; losing a disk. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { count, get, leaderName, PROTOCOLS, put, putAnywhere, startCluster, waitFor } from './harness.js';

for (const consensus of PROTOCOLS) test(`${consensus}: kill -9 of a follower, then of a majority: writes stop, and resume with nothing lost when they return`, async () => {
  const t = await startCluster({ consensus });
  try {
    for (let i = 0; i < 20; i++) await putAnywhere(t, `a/${i}`, 'x');
    const leader = await waitFor('a leader', () => leaderName(t));
    const [f1, f2] = t.cluster.names.filter((n) => n !== leader) as [string, string];
    await t.cluster.kill(f1);
    for (let i = 0; i < 20; i++) await putAnywhere(t, `b/${i}`, 'x', [leader, f2]);
    await t.cluster.kill(f2);
    // A minority (the leader alone) must not accept writes.
    await assert.rejects(put(t.channel(leader), 'c/lost', 'x', 3000), 'a write succeeded without a quorum');
    t.cluster.start(f1, 'existing');
    t.cluster.start(f2, 'existing');
    await t.cluster.waitAllHealthy(30_000);
    for (let i = 0; i < 20; i++) await putAnywhere(t, `c/${i}`, 'x');
    const l = await waitFor('a leader', () => leaderName(t));
    assert.equal(await count(t.channel(l), 'a/'), 20);
    assert.equal(await count(t.channel(l), 'b/'), 20);
    assert.ok((await count(t.channel(l), 'c/')) >= 20);
  } finally {
    await t.close();
  }
});

for (const consensus of PROTOCOLS) test(`${consensus}: a member whose data was removed while it was down rejoins by snapshot`, async () => {
  const t = await startCluster({ consensus, args: ['--snapshot-count', '50'] });
  try {
    const [a, , victim] = t.cluster.names as [string, string, string];
    for (let i = 0; i < 150; i++) await putAnywhere(t, `s/${i}`, `v${i}`);
    await t.cluster.stop(victim);
    t.cluster.wipe(victim);
    for (let i = 150; i < 300; i++) await putAnywhere(t, `s/${i}`, `v${i}`, t.cluster.names.filter((n) => n !== victim));
    t.cluster.start(victim);
    await t.cluster.waitHealthy(victim, 30_000);
    await waitFor('the wiped member to catch up', async () => (await count(t.channel(victim), 's/')) === 300, 30_000);
    assert.equal(await get(t.channel(victim), 's/299', { serializable: true }), 'v299');
    // It got there by a snapshot: the log before the leader's snapshot was compacted away.
    const metrics = await (await fetch(`${t.cluster.clientUrl(victim)}/metrics`)).text();
    const installed = Number(/^bulwark_snapshots_installed_total (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(installed >= 1, 'the rejoining member installed a snapshot');
    // Under Paxos the repaired member first refuses the leader's ballot (its promise was lost with its
    // data) and the leader runs a fresh phase 1: a read in flight then gets "leader changed", which
    // clients retry (docs/paxos.md, repair after damage).
    await waitFor('every key on the first member', async () => (await count(t.channel(a), 's/')) === 300, 30_000);
  } finally {
    await t.close();
  }
});
