/**
 * `bulwark up` on real processes: the cluster comes up and serves, Ctrl-C stops it, and a resumed
 * cluster keeps the protocol and the storage (RAID level and disks) it was created with; a
 * contradicting flag is refused with what to do. One member keeps it quick and leaves the ports
 * above the first two alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GrpcChannel } from '../../src/api/grpc/index.js';
import { BULWARK_MAIN, freePorts } from '../../src/server/local-cluster.js';
import { get, put, waitFor } from './harness.js';

interface Up {
  readonly proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function up(args: readonly string[]): Up {
  const proc = spawn(process.execPath, [BULWARK_MAIN, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

async function stopUp(u: Up): Promise<void> {
  if (u.proc.exitCode !== null) return;
  u.proc.kill('SIGINT');
  const timer = setTimeout(() => u.proc.kill('SIGKILL'), 20_000);
  await u.exited;
  clearTimeout(timer);
}

test('bulwark up --consensus paxos serves, stops on Ctrl-C, and resumes as paxos', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-up-'));
  const [port] = await freePorts(1, { max: 30000 });
  const args = ['--data-dir', dir, '--members', '1', '--base-port', String(port), '--', '--heartbeat-interval', '50', '--election-timeout', '500'];
  let u: Up | null = null;
  let ch: GrpcChannel | null = null;
  try {
    u = up(['--consensus', 'paxos', ...args]);
    await waitFor('the cluster to come up', async () => u!.output().includes('The cluster is up'), 30_000);
    assert.match(u.output(), /Starting a 1-member Bulwark cluster \(paxos\)/);
    ch = new GrpcChannel(`127.0.0.1:${port}`);
    await waitFor('a put', async () => (await put(ch!, 'greeting', 'hello')) > 0, 15_000);
    await stopUp(u);
    assert.equal(await u.exited, 0);

    // A contradicting flag is refused by `up` itself, before any member starts.
    const wrong = up(['--consensus', 'raft', ...args]);
    assert.equal(await wrong.exited, 2);
    assert.match(wrong.output(), /runs paxos; a cluster keeps the protocol it was created with/);
    // It was created on plain directories: --raid is refused too, rather than starting volumes beside them.
    const raid = up(['--raid', '1', ...args]);
    assert.equal(await raid.exited, 2);
    assert.match(raid.output(), /keep their data in plain directories; a cluster keeps the storage it was created with/);

    // Without the flag it resumes as paxos, with the data.
    u = up(args);
    await waitFor('the cluster to come back', async () => u!.output().includes('The cluster is up'), 30_000);
    assert.match(u.output(), /Resuming a 1-member Bulwark cluster \(paxos\)/);
    assert.equal(await waitFor('a read', () => get(ch!, 'greeting'), 15_000), 'hello');
  } finally {
    ch?.close();
    if (u !== null) await stopUp(u);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bulwark up records its RAID settings, resumes on the volumes without --raid, and refuses a contradicting --raid/--disks', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-up-raid1-'));
  const [port] = await freePorts(1, { max: 30000 });
  const args = ['--data-dir', dir, '--members', '1', '--base-port', String(port), '--', '--heartbeat-interval', '50', '--election-timeout', '500'];
  let u: Up | null = null;
  let ch: GrpcChannel | null = null;
  const raidStatus = async (): Promise<{ level: number; memberCount: number; health: string }> =>
    (await (await fetch(`http://127.0.0.1:${port}/raid/status`, { signal: AbortSignal.timeout(5000) })).json()) as { level: number; memberCount: number; health: string };
  try {
    u = up(['--raid', '1', '--disks', '2', ...args]);
    await waitFor('the cluster to come up', async () => u!.output().includes('The cluster is up'), 30_000);
    assert.match(u.output(), /Starting a 1-member Bulwark cluster \(raft, each member on RAID-1 over 2 disks\)/);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')), { consensus: 'raft', raid: { level: 1, disks: 2 } });
    ch = new GrpcChannel(`127.0.0.1:${port}`);
    await waitFor('a put', async () => (await put(ch!, 'greeting', 'mirrored')) > 0, 15_000);
    await stopUp(u);
    assert.equal(await u.exited, 0);

    // Contradicting flags are refused before any member starts, with what to do.
    for (const flags of [['--raid', '5'], ['--disks', '3'], ['--raid', '1', '--disks', '3']]) {
      const wrong = up([...flags, ...args]);
      assert.equal(await wrong.exited, 2, flags.join(' '));
      assert.match(wrong.output(), /keep their data on RAID-1 over 2 disks, not .*; a cluster keeps the storage it was created with/, flags.join(' '));
    }
    assert.deepEqual(readdirSync(join(dir, 'm1')).filter((f) => !f.startsWith('disk')), [], 'no plain member data beside the volume');

    // Without the flags it resumes on the same volume, with the data.
    u = up(args);
    await waitFor('the cluster to come back', async () => u!.output().includes('The cluster is up'), 30_000);
    assert.match(u.output(), /Resuming a 1-member Bulwark cluster \(raft, each member on RAID-1 over 2 disks\)/);
    assert.equal(await waitFor('a read', () => get(ch!, 'greeting'), 15_000), 'mirrored');
    const st = await raidStatus();
    assert.equal(st.level, 1);
    assert.equal(st.memberCount, 2);
    assert.equal(st.health, 'clean');
    assert.deepEqual(readdirSync(join(dir, 'm1')).filter((f) => !f.startsWith('disk')), [], 'no plain member data beside the volume');
  } finally {
    ch?.close();
    if (u !== null) await stopUp(u);
    rmSync(dir, { recursive: true, force: true });
  }
});
