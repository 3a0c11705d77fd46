/**
 * RAID in a running cluster (issue 10), on real processes: three members, each on a RAID-5 volume
 * over three directories.
 *
 * - The leader's disk dies during a write load: no client sees an error, the volume reports
 *   degraded (metrics, Status errors, /raid/status), `bulwark raid add` through the live path puts
 *   a new disk in, the rebuild runs in the member, the volume is whole again, and every
 *   acknowledged write is there — on the member, and on its volume after a restart.
 * - A member whose volume fails (a second disk gone) stops; once its disks are replaced it comes
 *   back empty and catches up from its peers.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GrpcChannel } from '../../src/api/grpc/index.js';
import { MaintenanceService } from '../../src/api/proto/generated/etcdserverpb.js';
import type { RaidLiveStatus } from '../../src/server/raid-monitor.js';
import { BULWARK_MAIN } from '../../src/server/local-cluster.js';
import { count, get, leaderName, put, putAnywhere, startCluster, waitFor, type TestCluster } from '../cluster/harness.js';
import { DyingDisk } from './dying-disk.js';
import { freeBasePort } from './ports.js';

const RAID = { level: 5 as const, disks: 3 };
const LOAD_WRITERS = 4;
const LOAD_PUTS_MAX = 1500;
const LOAD_MS_MAX = 20_000;

function bulwark(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BULWARK_MAIN, ...args], { timeout: 120_000 }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

function diskDirs(t: TestCluster, name: string): string[] {
  return Array.from({ length: RAID.disks }, (_, i) => join(t.cluster.dataDir(name), `disk${i + 1}`));
}

async function raidStatus(t: TestCluster, name: string): Promise<RaidLiveStatus> {
  const r = await fetch(`${t.cluster.clientUrl(name)}/raid/status`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  return (await r.json()) as RaidLiveStatus;
}

async function statusErrors(t: TestCluster, name: string): Promise<string[]> {
  const s = await t.channel(name).call(MaintenanceService.Status, {}, { deadlineMs: 3000 });
  return s.errors;
}

/** Writers spread over every member; each put must succeed. Bounded in count and time. */
function writeLoad(t: TestCluster): { stop: () => Promise<{ acked: Map<string, string>; errors: string[] }> } {
  const acked = new Map<string, string>();
  const errors: string[] = [];
  let stopping = false;
  const deadline = Date.now() + LOAD_MS_MAX;
  let issued = 0;
  const writers = Array.from({ length: LOAD_WRITERS }, async (_, w) => {
    const name = t.cluster.names[w % t.cluster.names.length]!;
    for (let i = 0; !stopping && Date.now() < deadline && issued < LOAD_PUTS_MAX; i++) {
      issued++;
      const key = `load/${w}/${String(i).padStart(5, '0')}`;
      const value = `v${w}-${i}`;
      try {
        await put(t.channel(name), key, value, 5000);
        acked.set(key, value);
      } catch (e) {
        errors.push(`${name} ${key}: ${(e as Error).message}`);
      }
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(writers);
      return { acked, errors };
    },
  };
}

test('a disk of the leader dies under a write load: no client error, degraded, replaced live, whole again, nothing lost', { timeout: 240_000 }, async (ctx) => {
  const disks: DyingDisk[] = [];
  const t = await startCluster({
    raid: RAID,
    args: ['--snapshot-count', '500'],
    beforeStart: (dir) => {
      for (const m of ['m1', 'm2', 'm3']) disks.push(DyingDisk.create(join(dir, m, 'disk2')));
    },
  });
  try {
    ctx.diagnostic(`the disk dies by ${disks[0]!.method}`);
    const victim = await waitFor('a leader', () => leaderName(t));
    const disk = disks[t.cluster.names.indexOf(victim)]!;
    for (const name of t.cluster.names) assert.equal((await raidStatus(t, name)).health, 'clean');

    const load = writeLoad(t);
    await waitFor('some writes', async () => (await count(t.channel(victim), 'load/')) >= 100);
    disk.kill();
    const degraded = await waitFor('the volume to report degraded', async () => {
      const st = await raidStatus(t, victim);
      return st.health === 'degraded' ? st : null;
    });
    assert.equal(degraded.members[1]!.state, 'failed');
    // Writes go on while degraded.
    const before = await count(t.channel(victim), 'load/');
    await waitFor('writes to go on while degraded', async () => (await count(t.channel(victim), 'load/')) >= before + 100);
    const { acked, errors } = await load.stop();
    assert.deepEqual(errors, [], 'no client saw an error');
    assert.ok(acked.size >= 200, `${acked.size} writes acknowledged`);

    // Every way of looking says so.
    const errs = await statusErrors(t, victim);
    assert.ok(errs.some((e) => /^raid: degraded \(member 1 failed/.test(e)), `Status errors: ${JSON.stringify(errs)}`);
    const metrics = await (await fetch(`${t.cluster.clientUrl(victim)}/metrics`)).text();
    assert.match(metrics, /^bulwark_raid_degraded\{[^}]*\} 1$/m);
    assert.match(metrics, /^bulwark_raid_member_state\{[^}]*member="1"[^}]*state="failed"[^}]*\} 1$/m);
    const dash = (await (await fetch(`${t.cluster.clientUrl(victim)}/dashboard/status`)).json()) as { storage: { volume: { state: string; problems: string } } };
    assert.equal(dash.storage.volume.state, 'degraded');
    assert.match(dash.storage.volume.problems, /member 1 failed/);

    // The operator puts a new disk where the dead one was and adds it through the live path
    // (giving the directories: the superblocks lead the command to the member).
    disk.replace();
    const dirs = diskDirs(t, victim);
    const add = await bulwark('raid', 'add', dirs.join(','), dirs[1]!);
    assert.equal(add.code, 0, `raid add: ${add.out}\n${add.err}`);
    assert.match(add.err, /asking it at http:\/\/127\.0\.0\.1:\d+/);
    assert.match(add.out, /is member 1/);
    assert.match(add.out, /Rebuilt member 1: .* Volume clean/);
    const whole = await raidStatus(t, victim);
    assert.equal(whole.health, 'clean');
    assert.deepEqual(whole.members.map((m) => m.state), ['active', 'active', 'active']);
    assert.deepEqual(await statusErrors(t, victim), []);
    const scrub = await bulwark('raid', 'scrub', '--endpoint', t.cluster.clientUrl(victim), '--check');
    assert.equal(scrub.code, 0, scrub.err);
    assert.match(scrub.out, /mismatch_cnt 0, repaired 0, lost 0/);

    // Every acknowledged write is on the member...
    for (const [k, v] of acked) assert.equal(await get(t.channel(victim), k, { serializable: true }), v, k);
    // ... and on its volume: stopped, checked offline, restarted from it.
    await t.cluster.stop(victim);
    const offline = await bulwark('raid', 'status', dirs.join(','), '--json');
    assert.equal(offline.code, 0, offline.err);
    assert.equal((JSON.parse(offline.out) as { health: string }).health, 'clean');
    const check = await bulwark('raid', 'scrub', dirs.join(','), '--check');
    assert.match(check.out, /mismatch_cnt 0, repaired 0, lost 0/);
    const log = readFileSync(t.cluster.logFile(victim), 'utf8');
    for (const msg of ['raid: member failed', 'raid: volume degraded', 'raid: rebuild started', 'raid: rebuild finished', 'raid: volume clean again', 'raid: scrub found no mismatch']) {
      assert.ok(log.includes(msg), `the member logged "${msg}"`);
    }
    // Alone (its peers stopped), it serves what its own volume holds.
    await t.cluster.stopAll();
    t.cluster.start(victim, 'existing');
    await waitFor('the member to answer', async () => (await fetch(`${t.cluster.clientUrl(victim)}/raid/status`)).ok, 30_000);
    for (const [k, v] of acked) assert.equal(await get(t.channel(victim), k, { serializable: true }), v, k);
  } finally {
    await t.cluster.killAll();
    for (const d of disks) d.cleanup();
    await t.close();
  }
});

test('a member whose volume fails stops; with new disks it comes back empty and catches up from its peers', { timeout: 180_000 }, async () => {
  const t = await startCluster({ raid: RAID });
  try {
    for (let i = 0; i < 50; i++) await putAnywhere(t, `a/${i}`, `v${i}`);
    const leader = await waitFor('a leader', () => leaderName(t));
    const victim = t.cluster.names.find((n) => n !== leader)!;
    const others = t.cluster.names.filter((n) => n !== victim);
    const dirs = diskDirs(t, victim);
    renameSync(dirs[1]!, `${dirs[1]}.dead`);
    renameSync(dirs[2]!, `${dirs[2]}.dead`);
    await waitFor('the member to stop', async () => t.cluster.state(victim) === 'stopped', 30_000);
    assert.match(readFileSync(t.cluster.logFile(victim), 'utf8'), /fatal: the RAID volume failed; exiting/);
    for (let i = 50; i < 100; i++) await putAnywhere(t, `a/${i}`, `v${i}`, others);

    // With its old disk alone it refuses to start: too few members in sync.
    t.cluster.start(victim);
    await waitFor('the member to refuse', async () => t.cluster.state(victim) === 'stopped', 30_000);
    assert.match(readFileSync(t.cluster.logFile(victim), 'utf8'), /cannot assemble volume .* 1 of 3 members in sync/);

    // New disks: a new (empty) volume; the member catches up from its peers.
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    t.cluster.start(victim);
    await t.cluster.waitHealthy(victim, 30_000);
    await waitFor('the member to catch up', async () => (await count(t.channel(victim), 'a/')) === 100, 30_000);
    assert.equal(await get(t.channel(victim), 'a/99', { serializable: true }), 'v99');
    assert.equal((await raidStatus(t, victim)).health, 'clean');
  } finally {
    await t.close();
  }
});

test('bulwark up --raid 5 --disks 3 comes up and serves', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-up-raid-'));
  const base = await freeBasePort();
  // Its own process group, so the members it starts go too if it must be killed.
  const up = spawn(process.execPath, [BULWARK_MAIN, 'up', '--raid', '5', '--disks', '3', '--base-port', String(base), '--data-dir', dir, '--', '--heartbeat-interval', '50', '--election-timeout', '500'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  up.stdout.on('data', (b: Buffer) => (out += b.toString()));
  up.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => up.on('exit', (code) => r(code)));
  try {
    await waitFor('the cluster to come up', async () => out.includes('The cluster is up'), 60_000);
    const ch = new GrpcChannel(`127.0.0.1:${base}`);
    try {
      await waitFor('a write', async () => (await put(ch, 'hello', 'raid').then(() => true).catch(() => false)), 30_000);
      assert.equal(await get(ch, 'hello'), 'raid');
    } finally {
      ch.close();
    }
    for (const port of [base, base + 10000, base + 20000]) {
      const st = (await (await fetch(`http://127.0.0.1:${port}/raid/status`)).json()) as RaidLiveStatus;
      assert.equal(st.level, 5);
      assert.equal(st.memberCount, 3);
      assert.equal(st.health, 'clean');
    }
    up.kill('SIGINT');
    assert.equal(await exited, 0, out);
    // Stopped cleanly: each member's volume is closed clean.
    const st = await bulwark('raid', 'status', ['disk1', 'disk2', 'disk3'].map((d) => join(dir, 'm1', d)).join(','), '--json');
    assert.equal((JSON.parse(st.out) as { clean: boolean; health: string }).clean, true);
  } finally {
    if (up.exitCode === null && up.pid !== undefined) {
      process.kill(-up.pid, 'SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
