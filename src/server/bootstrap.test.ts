/**
 * Bootstrap decisions that concern the protocol: a member refuses a cluster of the other protocol
 * with a message that says what to do (restart with the wrong flag, join with the wrong flag, a
 * wiped member restarted with the wrong flag), before writing anything; and a member joining a
 * running Multi-Paxos cluster starts with no configuration.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterId, NodeId } from '../core/ids.js';
import { nullLogger } from '../env/logger.js';
import { NodeClock } from '../env/node/clock.js';
import { SeededRandom } from '../env/random.js';
import type { MemberInfo } from '../kv/members.js';
import { MemDisk } from '../storage/mem-disk.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { BOOTSTRAP_FILE, encodeClusterDescription, resolveBootstrap, type ClusterDescription } from './bootstrap.js';
import { ConfigError, loadConfig, type ServerConfig } from './config.js';
import { clusterIdFor, memberIdFor } from './member-id.js';

const TOKEN = 'bootstrap-test';

function config(o: { consensus: 'raft' | 'paxos'; state: 'new' | 'existing'; name: string; cluster: string; self: string }): ServerConfig {
  return loadConfig(
    ['--name', o.name, '--initial-cluster', o.cluster, '--initial-advertise-peer-urls', o.self, '--initial-cluster-state', o.state, '--initial-cluster-token', TOKEN, '--consensus', o.consensus],
    {},
  );
}

/** A peer that answers cluster queries with `describe()` (what a running member does). */
async function fakePeer(describe: () => ClusterDescription): Promise<{ url: string; close: () => Promise<void> }> {
  const t = new TcpTransport<{ from: NodeId; to: NodeId }>({
    clusterId: '00000000000000cc' as ClusterId,
    id: '00000000000000aa' as NodeId,
    protocol: 'raft',
    listen: [{ host: '127.0.0.1', port: 0 }],
    peers: new Map(),
    encode: () => new Uint8Array(0),
    decode: () => ({ from: '00000000000000aa' as NodeId, to: '00000000000000aa' as NodeId }),
    isBulk: () => false,
    clock: new NodeClock(),
    random: new SeededRandom(1),
    logger: nullLogger,
    describeCluster: () => encodeClusterDescription(describe()),
  });
  const [addr] = await t.start();
  return { url: `http://127.0.0.1:${addr!.port}`, close: () => t.close() };
}

function member(name: string, url: string): MemberInfo {
  return { id: memberIdFor([url], TOKEN), name, peerUrls: [url], clientUrls: [], isLearner: false };
}

test('a restart with the other --consensus is refused, saying which flag to use', async () => {
  const disk = new MemDisk('d1');
  const url = 'http://127.0.0.1:1';
  const c = config({ consensus: 'paxos', state: 'new', name: 'a', cluster: `a=${url}`, self: url });
  const first = await resolveBootstrap(c, disk, nullLogger);
  assert.equal(first.bootstrap.protocol, 'paxos');
  await assert.rejects(
    resolveBootstrap({ ...c, consensus: 'raft' }, disk, nullLogger),
    (e: unknown) => e instanceof ConfigError && /belongs to a cluster running paxos/.test(e.message) && /start this member with --consensus paxos/.test(e.message),
  );
  // The right flag still works on the same directory.
  assert.equal((await resolveBootstrap(c, disk, nullLogger)).fresh, false);
});

test('joining a running cluster of the other protocol is refused before anything is written', async () => {
  const joinerUrl = 'http://127.0.0.1:2';
  let peer: { url: string; close: () => Promise<void> } | null = null;
  peer = await fakePeer(() => {
    const members = [member('a', peer!.url), member('b', joinerUrl)];
    return { clusterId: clusterIdFor([members[0]!.id], TOKEN), protocol: 'paxos', members, config: { voters: [members[0]!.id], learners: [members[1]!.id], votersOutgoing: [], learnersNext: [], autoLeave: false }, commitIndex: 10 };
  });
  try {
    const disk = new MemDisk('d2');
    const raft = config({ consensus: 'raft', state: 'existing', name: 'b', cluster: `a=${peer.url},b=${joinerUrl}`, self: joinerUrl });
    await assert.rejects(
      resolveBootstrap(raft, disk, nullLogger),
      (e: unknown) => e instanceof ConfigError && /runs paxos, but this member is configured with --consensus raft/.test(e.message) && /start it with --consensus paxos/.test(e.message),
    );
    assert.equal(await disk.stat(BOOTSTRAP_FILE), null, 'nothing written: the operator can retry with the right flag');

    // With the right flag the member joins, and as a Paxos member it starts knowing no configuration.
    const joined = await resolveBootstrap({ ...raft, consensus: 'paxos' }, disk, nullLogger);
    assert.equal(joined.bootstrap.protocol, 'paxos');
    assert.equal(joined.bootstrap.memberId, memberIdFor([joinerUrl], TOKEN));
    assert.deepEqual(joined.bootstrap.config.voters, []);
    assert.equal(joined.bootstrap.members.length, 2);
  } finally {
    await peer.close();
  }
});

test('a Raft member joining a running cluster starts from the cluster configuration', async () => {
  const joinerUrl = 'http://127.0.0.1:3';
  let peer: { url: string; close: () => Promise<void> } | null = null;
  peer = await fakePeer(() => {
    const members = [member('a', peer!.url), member('b', joinerUrl)];
    return { clusterId: clusterIdFor([members[0]!.id], TOKEN), protocol: 'raft', members, config: { voters: [members[0]!.id], learners: [members[1]!.id], votersOutgoing: [], learnersNext: [], autoLeave: false }, commitIndex: 10 };
  });
  try {
    const c = config({ consensus: 'raft', state: 'existing', name: 'b', cluster: `a=${peer.url},b=${joinerUrl}`, self: joinerUrl });
    const joined = await resolveBootstrap(c, new MemDisk('d3'), nullLogger);
    assert.equal(joined.bootstrap.config.voters.length, 1);
  } finally {
    await peer.close();
  }
});

test('a wiped member restarted as new: the other protocol is refused, the same one repairs before voting', async () => {
  const selfUrl = 'http://127.0.0.1:4';
  let protocol: 'raft' | 'paxos' = 'raft';
  let peer: { url: string; close: () => Promise<void> } | null = null;
  peer = await fakePeer(() => {
    const members = [member('a', peer!.url), member('b', selfUrl)];
    const ids = members.map((m) => m.id);
    return { clusterId: clusterIdFor(ids, TOKEN), protocol, members, config: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false }, commitIndex: 42 };
  });
  try {
    const c = config({ consensus: 'paxos', state: 'new', name: 'b', cluster: `a=${peer.url},b=${selfUrl}`, self: selfUrl });
    const disk = new MemDisk('d4');
    await assert.rejects(resolveBootstrap(c, disk, nullLogger), (e: unknown) => e instanceof ConfigError && /runs raft/.test(e.message) && /--consensus raft/.test(e.message));
    assert.equal(await disk.stat(BOOTSTRAP_FILE), null);
    protocol = 'paxos';
    const r = await resolveBootstrap(c, disk, nullLogger);
    assert.equal(r.fresh, true);
    assert.equal(r.rejoinRepairUntil, 42);
  } finally {
    await peer.close();
  }
});
