/**
 * Snapshots in etcd's format, end to end: `etcdctl snapshot save` from Bulwark, the file read by
 * `etcdctl snapshot status`, restored by `etcdctl snapshot restore` into a data directory that
 * the reference etcd 3.4 then serves with the same keys and revisions, and restored by Bulwark's own
 * restore into a new three-member Bulwark cluster (with --bump-revision and --mark-compacted).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeDisk } from '../../src/env/node/disk.js';
import { parseInitialCluster } from '../../src/server/config.js';
import { freePorts, localClusterOnFreePorts, type LocalCluster } from '../../src/server/local-cluster.js';
import { restoreSnapshot } from '../../src/server/snapshot-restore.js';
import { put, startCluster, waitFor, type TestCluster } from '../cluster/harness.js';
import { ETCD, ETCDCTL, etcdctl } from './twin.js';

const skip = ETCDCTL === undefined ? 'etcdctl not installed (apt-get install -y etcd-client)' : false;

describe('etcd-format snapshots', { skip }, () => {
  let t: TestCluster;
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-snap-'));
  const file = join(dir, 'snap.db');
  const procs: ChildProcess[] = [];
  let restored: LocalCluster | null = null;

  before(async () => {
    t = await startCluster({ size: 3 });
    const eps = [t.cluster.endpoints()[0]!];
    for (let i = 0; i < 300; i++) {
      await put(t.channel('m1'), `key-${i % 120}`, `value-${i}`, 10_000);
      if (i === 150) assert.equal((await etcdctl(eps, ['compaction', '100'])).code, 0);
    }
    const lease = await etcdctl(eps, ['lease', 'grant', '600']);
    const id = /lease ([0-9a-f]+) granted/.exec(lease.stdout)![1]!;
    assert.equal((await etcdctl(eps, ['put', 'leased', 'x', `--lease=${id}`])).code, 0);
    assert.equal((await etcdctl(eps, ['del', 'key-0'])).code, 0);
  });

  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await restored?.killAll();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('etcdctl snapshot save, then snapshot status reads the file', async () => {
    const save = await etcdctl([t.cluster.endpoints()[0]!], ['snapshot', 'save', file]);
    assert.equal(save.code, 0, save.stderr);
    assert.match(save.stdout, /Snapshot saved at/);
    const st = await etcdctl([], ['snapshot', 'status', file, '-w', 'json']);
    assert.equal(st.code, 0, st.stderr);
    const s = JSON.parse(st.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
    // 303 writes after revision 1; the last one (the delete) is the newest record.
    assert.equal(s.revision, 303);
    assert.equal(s.totalSize, readFileSync(file).length - 32);
    assert.ok(s.totalKey > 200, `total keys ${s.totalKey}`);
  });

  test('etcdctl snapshot restore, and etcd 3.4 serves the data', { skip: ETCD === undefined ? 'etcd not installed' : false }, async () => {
    const [client, peer] = await freePorts(2);
    const data = join(dir, 'etcd-restored');
    const r = await etcdctl([], ['snapshot', 'restore', file, '--data-dir', data, '--name', 'r1', '--initial-cluster', `r1=http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`]);
    assert.equal(r.code, 0, r.stderr);
    const url = `http://127.0.0.1:${client}`;
    const p = spawn(ETCD!, ['--name', 'r1', '--data-dir', data, '--listen-client-urls', url, '--advertise-client-urls', url, '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `r1=http://127.0.0.1:${peer}`], { stdio: 'ignore' });
    procs.push(p);
    const ep = [`127.0.0.1:${client}`];
    const got = await waitFor('restored etcd to answer', async () => {
      const g = await etcdctl(ep, ['get', 'key-5', '-w', 'json']);
      return g.code === 0 ? g : null;
    }, 30_000);
    const kv = JSON.parse(got.stdout) as { header: { revision: number }; kvs: { mod_revision: number; value: string }[] };
    assert.equal(kv.header.revision, 303);
    assert.equal(Buffer.from(kv.kvs[0]!.value, 'base64').toString(), 'value-245');
    assert.equal((await etcdctl(ep, ['get', 'key-0'])).stdout, '');
    assert.match((await etcdctl(ep, ['get', 'key-1', '--rev', '50'])).stderr, /required revision has been compacted/);
    assert.equal((await etcdctl(ep, ['get', 'key-1', '--rev', '150', '--print-value-only'])).stdout, 'value-121\n');
    assert.equal((await etcdctl(ep, ['lease', 'list'])).stdout.split('\n')[0], 'found 1 leases');
  });

  test('bulwark snapshot restore makes a new three-member cluster that serves the data, revisions moved on', async () => {
    restored = await localClusterOnFreePorts({ dir: join(dir, 'bulwark-restored'), size: 3, token: 'restored', extraArgs: ['--heartbeat-interval', '50', '--election-timeout', '500'] });
    const initialCluster = parseInitialCluster(restored.initialCluster());
    const snapshot = new Uint8Array(readFileSync(file));
    for (const name of restored.names) {
      const disk = new NodeDisk(restored.dataDir(name));
      await disk.mkdir('.');
      const r = await restoreSnapshot({ snapshot, disk, name, initialCluster, initialClusterToken: 'restored', bumpRevision: 1000, markCompacted: true });
      assert.equal(r.revision, 1303);
    }
    await restored.startAll();
    await restored.waitAllHealthy(30_000);
    const ep = restored.endpoints();
    const g = await etcdctl(ep, ['get', 'key-5', '-w', 'json']);
    const kv = JSON.parse(g.stdout) as { header: { revision: number; cluster_id: number }; kvs: { value: string }[] };
    assert.equal(kv.header.revision, 1303);
    assert.equal(Buffer.from(kv.kvs[0]!.value, 'base64').toString(), 'value-245');
    assert.match((await etcdctl(ep, ['get', 'key-5', '--rev', '1302'])).stderr, /required revision has been compacted/);
    const put = await etcdctl(ep, ['put', 'after', 'restore', '-w', 'json']);
    assert.equal((JSON.parse(put.stdout) as { header: { revision: number } }).header.revision, 1304);
    const members = await etcdctl(ep, ['member', 'list']);
    assert.equal(members.stdout.trim().split('\n').length, 3);
    assert.equal((await etcdctl(ep, ['lease', 'list'])).stdout.split('\n')[0], 'found 1 leases');
  });
});
