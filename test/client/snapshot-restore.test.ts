/**
 * `bulwark snapshot save | status | restore` against real Bulwark members: a snapshot saved from
 * one cluster is restored offline into the data directories of a new three-member cluster, which
 * starts with the same keys, a new cluster id, its own members, and revisions bumped past the old
 * ones. Once per consensus protocol (PROTOCOLS): a Paxos cluster saves and restores alike, the
 * restored directories holding a Paxos hard state. Skipped until `bulwark serve` exists.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/commands.js';
import { createClient, type BulwarkClient } from '../../src/client/index.js';
import { localClusterOnFreePorts, type LocalCluster } from '../../src/server/local-cluster.js';
import { PROTOCOLS, type Consensus } from '../cluster/harness.js';

const BULWARK = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = COMMANDS.some((c) => c.name === 'serve') ? false : '`bulwark serve` does not exist yet';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

function cli(args: readonly string[]): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BULWARK, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ out, err, code }));
  });
}

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs `bulwark` with its stdout and stderr on a pseudo-terminal (script(1)); both come back as `out`. */
function onTerminal(args: readonly string[]): Promise<{ out: string; code: number | null }> {
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, BULWARK, ...args].map(quote).join(' ');
  return new Promise((resolve) => {
    const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ out, code }));
  });
}

async function cluster(dir: string, size: number, consensus: Consensus): Promise<LocalCluster> {
  const c = await localClusterOnFreePorts({ dir, size, extraArgs: ['--consensus', consensus, '--heartbeat-interval', '50', '--election-timeout', '500'] });
  cleanups.push(() => c.killAll());
  return c;
}

function client(endpoints: readonly string[]): BulwarkClient {
  const c = createClient({ endpoints: [...endpoints], callTimeoutMs: 15_000 });
  cleanups.push(() => c.close());
  return c;
}

for (const consensus of PROTOCOLS) test(`${consensus}: a snapshot restores into a new cluster with the same data, new ids and bumped revisions`, { skip, timeout: 120_000 }, async (ctx) => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-restore-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const a = await cluster(join(dir, 'a'), 1, consensus);
  await a.startAll();
  await a.waitAllHealthy();
  const ca = client(a.endpoints());
  for (let i = 0; i < 20; i++) await ca.put(`restore/k${i}`, `v${i}`);
  const lease = await ca.lease(600, { keepAlive: false });
  await ca.put('restore/leased', 'x', { lease: lease.id });
  const before = await ca.get('restore/', { prefix: true });
  const oldRevision = before.header!.revision;
  const oldCluster = before.header!.clusterId;

  const file = join(dir, 'snap.db');
  const saved = await cli(['snapshot', 'save', file, `--endpoints=${a.endpoints()[0]!}`]);
  assert.equal(saved.code, 0, saved.err);
  const status = await cli(['snapshot', 'status', file, '-w', 'json']);
  assert.equal(status.code, 0, status.err);
  const s = JSON.parse(status.out) as { revision: number; totalKey: number };
  assert.equal(s.revision, oldRevision);
  // A member streams etcd's format: TOTAL KEYS counts every bucket's keys (21 records, meta, members, …).
  assert.ok(s.totalKey > 21, `total keys ${s.totalKey}`);

  const b = await cluster(join(dir, 'b'), 3, consensus);
  for (const name of b.names) {
    const peer = b.argsFor(name)[b.argsFor(name).indexOf('--initial-advertise-peer-urls') + 1]!;
    const r = await cli(['snapshot', 'restore', file, '--data-dir', b.dataDir(name), '--name', name, '--initial-cluster', b.initialCluster(), '--initial-cluster-token', 'bulwark-local', '--initial-advertise-peer-urls', peer, '--bump-revision', '100', '--consensus', consensus]);
    assert.equal(r.code, 0, r.err);
  }
  // On a terminal (a pty from util-linux's script(1)) restore draws a progress bar on stderr, as save does.
  if (hasScript()) {
    const ttyDir = join(dir, 'tty-restore');
    const r = await onTerminal(['snapshot', 'restore', file, '--data-dir', ttyDir, '--name', 'tty', '--initial-cluster', 'tty=http://127.0.0.1:2380']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\r\[=+>\] 100% [^\r\n]*\r?\nrestored etcd snapshot /, JSON.stringify(r.out));
    // Not on a pipe: no bar.
    const piped = await cli(['snapshot', 'restore', file, '--data-dir', join(dir, 'pipe-restore'), '--name', 'p', '--initial-cluster', 'p=http://127.0.0.1:2380']);
    assert.equal(piped.code, 0, piped.err);
    assert.doesNotMatch(piped.err, /\r|%/);
  } else {
    ctx.diagnostic('script(1) not found: the progress bar on a terminal is not checked');
  }
  const again = await cli(['snapshot', 'restore', file, '--data-dir', b.dataDir(b.names[0]!), '--name', b.names[0]!]);
  assert.equal(again.code, 1, 'a non-empty data directory is refused');
  assert.match(again.err, /exists and is not empty/);

  await b.startAll();
  await b.waitAllHealthy();
  const cb = client(b.endpoints());
  const after = await cb.get('restore/', { prefix: true });
  assert.deepEqual(after.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString()]), before.kvs.map((kv) => [Buffer.from(kv.key).toString(), Buffer.from(kv.value).toString()]));
  assert.equal(after.header!.revision, oldRevision + 100, 'the revision was bumped');
  assert.notEqual(after.header!.clusterId, oldCluster, 'a new cluster id');
  const members = await cb.memberList();
  assert.deepEqual(members.members.map((m) => m.name).sort(), [...b.names].sort());
  const put = await cb.put('restore/new', 'x');
  assert.equal(put.header!.revision, oldRevision + 101, 'new writes continue after the bumped revision');
  const ttl = await cb.leaseTimeToLive(lease.id);
  assert.ok(ttl.TTL > 0, 'the lease came along');
});
