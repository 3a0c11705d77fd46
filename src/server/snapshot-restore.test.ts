import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logIndex, nodeIdFromBigInt, term } from '../core/ids.js';
import { NodeDisk } from '../env/node/disk.js';
import { writeFileAtomic } from '../env/disk.js';
import { encodeCommand, putOp, deleteRangeOp, type Op } from '../kv/command.js';
import { KvStore } from '../kv/kv-store.js';
import { openStorage } from '../wal/index.js';
import { decodeBootstrap } from './bootstrap.js';
import { etcdBoltImage } from './etcd-snapshot.js';
import { restoreSnapshot, snapshotFormatOf } from './snapshot-restore.js';
import { RestoreError } from './errors.js';
import { PaxosEngine, decodePaxosHardState, defaultPaxosConfig } from '../paxos/index.js';
import { SeededRandom } from '../env/random.js';
import { concatBytes } from '../core/bytes.js';

const self = nodeIdFromBigInt(9n);

function store(ops: Op[]): KvStore {
  const s = new KvStore({ members: [{ id: self, name: 'old', peerUrls: ['http://10.0.0.1:2380'], clientUrls: [], isLearner: false }] });
  ops.forEach((op, i) => s.apply({ index: logIndex(i + 1), term: term(1), kind: 'normal', data: encodeCommand({ requestId: { member: self, counter: i + 1 }, session: null, op }) }));
  return s;
}

/** The etcd snapshot stream as etcdctl saves it: the bbolt file and its SHA-256. */
function etcdFile(s: KvStore): Uint8Array {
  const db = concatBytes(etcdBoltImage(s.snapshotImage(), { pageSize: 4096 }).pages());
  return concatBytes([db, createHash('sha256').update(db).digest()]);
}

const cluster = [
  { name: 'n1', peerUrls: ['http://127.0.0.1:1'] },
  { name: 'n2', peerUrls: ['http://127.0.0.1:2'] },
];

async function restoreAndLoad(file: Uint8Array, o: { bumpRevision?: number; markCompacted?: boolean; skipHashCheck?: boolean } = {}): Promise<{ store: KvStore; dir: string; result: Awaited<ReturnType<typeof restoreSnapshot>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-restore-'));
  const disk = new NodeDisk(dir);
  const result = await restoreSnapshot({ snapshot: file, disk, name: 'n1', initialCluster: cluster, initialClusterToken: 't', ...o });
  const b = decodeBootstrap(await disk.readFile('bootstrap'), dir);
  const storage = await openStorage(disk, { identity: { clusterId: b.clusterId, memberId: b.memberId, protocol: 'raft' }, create: false });
  const meta = storage.snapshots.latest()!;
  const restored = new KvStore();
  const sink = restored.restore(meta.index);
  sink.write(await storage.snapshots.read(meta, 0, meta.sizeBytes));
  sink.finish();
  await storage.log.close();
  return { store: restored, dir, result };
}

const ops: Op[] = [putOp('a', '1'), putOp('b', '2'), putOp('a', '3'), deleteRangeOp('b'), putOp('c', '4')];

test('an etcd snapshot becomes a new cluster with the same keys and history', async () => {
  const { store: s, dir, result } = await restoreAndLoad(etcdFile(store(ops)));
  try {
    assert.equal(result.format, 'etcd');
    assert.equal(result.hashChecked, true);
    assert.equal(s.revision, 6);
    assert.deepEqual(s.range({ ...putRange('a'), revision: 2 }).kvs.map((k) => new TextDecoder().decode(k.value)), ['1']);
    assert.deepEqual(s.range(putRange('a')).kvs.map((k) => new TextDecoder().decode(k.value)), ['3']);
    assert.equal(s.range(putRange('b')).kvs.length, 0);
    assert.deepEqual(s.memberList().map((m) => m.name).sort(), ['n1', 'n2']);
    assert.ok(s.memberList().every((m) => m.peerUrls[0]!.startsWith('http://127.0.0.1:')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--bump-revision and --mark-compacted', async () => {
  const { store: s, dir } = await restoreAndLoad(etcdFile(store(ops)), { bumpRevision: 100, markCompacted: true });
  try {
    assert.equal(s.revision, 106);
    assert.equal(s.compactRevision, 106);
    assert.throws(() => s.range({ ...putRange('a'), revision: 5 }), /compacted/);
    assert.equal(s.range(putRange('c')).kvs.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a Bulwark snapshot restores too', async () => {
  const src = store(ops);
  const file = concatBytes(src.snapshot().chunks());
  assert.equal(snapshotFormatOf(file), 'bulwark');
  const { store: s, dir, result } = await restoreAndLoad(file, { bumpRevision: 5 });
  try {
    assert.equal(result.format, 'bulwark');
    assert.equal(s.revision, 11);
    assert.equal(s.range(putRange('a')).kvs[0]!.modRevision, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('refusals: damaged hash, no hash, garbage, a non-empty directory, an unknown name', async () => {
  const file = etcdFile(store(ops));
  const damaged = file.slice();
  damaged[5000] = damaged[5000]! ^ 0xff;
  await assert.rejects(restoreAndLoad(damaged), (e: unknown) => e instanceof RestoreError && /hash mismatch/.test(e.message));
  await assert.rejects(restoreAndLoad(file.subarray(0, file.length - 32)), (e: unknown) => e instanceof RestoreError && /no SHA-256/.test(e.message));
  await assert.rejects(restoreAndLoad(new Uint8Array(1000)), RestoreError);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-restore-'));
  try {
    const disk = new NodeDisk(dir);
    await assert.rejects(restoreSnapshot({ snapshot: file, disk, name: 'zz', initialCluster: cluster, initialClusterToken: 't' }), /not in --initial-cluster/);
    await writeFileAtomic(disk, 'x', new Uint8Array(1));
    await assert.rejects(restoreSnapshot({ snapshot: file, disk, name: 'n1', initialCluster: cluster, initialClusterToken: 't' }), /not empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a restore for a Paxos cluster: the snapshot at slot 1, no promise, the new members as the configuration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-restore-'));
  try {
    const disk = new NodeDisk(dir);
    const result = await restoreSnapshot({ snapshot: etcdFile(store(ops)), disk, name: 'n1', initialCluster: cluster, initialClusterToken: 't', consensus: 'paxos' });
    const b = decodeBootstrap(await disk.readFile('bootstrap'), dir);
    assert.equal(b.protocol, 'paxos');
    assert.equal(b.memberId, result.memberId);
    const storage = await openStorage(disk, { identity: { clusterId: b.clusterId, memberId: b.memberId, protocol: 'paxos' }, create: false });
    try {
      const d = storage.durable;
      assert.equal(d.snapshot?.index, 1);
      assert.deepEqual([...d.snapshot!.config.voters].sort(), b.members.map((m) => m.id).sort());
      const hs = decodePaxosHardState(d.hardState!);
      assert.deepEqual(hs.promised, { ballot: 0, node: null });
      assert.equal(hs.commit, 1);
      assert.deepEqual(hs.configs, [{ effectiveSlot: 1, config: d.snapshot!.config }]);
      // The engine starts from it as a follower of that configuration, with the snapshot applied.
      const engine = new PaxosEngine(defaultPaxosConfig(b.memberId), { ...d, initialConfig: b.config }, new SeededRandom(1));
      const st = engine.status();
      assert.equal(st.commitIndex, 1);
      assert.deepEqual([...st.config.voters].sort(), [...d.snapshot!.config.voters].sort());
    } finally {
      await storage.log.close();
    }
    // A Raft member cannot open it by mistake.
    await assert.rejects(openStorage(disk, { identity: { clusterId: b.clusterId, memberId: b.memberId, protocol: 'raft' }, create: false }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function putRange(key: string): Parameters<KvStore['range']>[0] {
  return { type: 'range', key: new TextEncoder().encode(key), rangeEnd: new Uint8Array(0), limit: 0, revision: 0, sortOrder: 'none', sortTarget: 'key', serializable: false, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 };
}
