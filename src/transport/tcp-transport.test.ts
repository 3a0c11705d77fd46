import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TcpTransport } from './tcp-transport.js';
import { NodeClock } from '../env/node/clock.js';
import { SeededRandom } from '../env/random.js';
import { nullLogger } from '../env/logger.js';
import { utf8, fromUtf8 } from '../core/bytes.js';
import type { ClusterId, NodeId } from '../core/ids.js';
import type { PeerAddress } from './peer-link.js';
import { TcpProxy } from '../chaos/tcp-proxy.js';

interface Msg {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly n: number;
  readonly bulk?: boolean;
}

const A = '000000000000000a' as NodeId;
const B = '000000000000000b' as NodeId;
const C = '000000000000000c' as NodeId;
const CLUSTER = '00000000000000cc' as ClusterId;
const clock = new NodeClock();

function transport(id: NodeId, peers: Map<NodeId, PeerAddress[]>, o: { cluster?: ClusterId; protocol?: string; listen?: PeerAddress[] } = {}) {
  return new TcpTransport<Msg>({
    clusterId: o.cluster ?? CLUSTER,
    id,
    protocol: o.protocol ?? 'raft',
    listen: o.listen ?? [{ host: '127.0.0.1', port: 0 }],
    peers,
    encode: (m) => utf8(JSON.stringify(m)),
    decode: (b) => JSON.parse(fromUtf8(b)) as Msg,
    isBulk: (m) => m.bulk === true,
    clock,
    random: new SeededRandom(1),
    logger: nullLogger,
  });
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = clock.nowMs();
  while (!cond()) {
    if (clock.nowMs() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(10);
  }
}

test('two members exchange messages on both lanes and answer RPCs', async () => {
  const tb = transport(B, new Map([[A, []]]));
  const [bAddr] = await tb.start();
  const ta = transport(A, new Map([[B, [bAddr!]]]));
  await ta.start();
  const got: Msg[] = [];
  tb.onMessage((m) => got.push(m));
  tb.handle('echo', async (from, p) => utf8(`${from}:${fromUtf8(p)}`));
  tb.handle('fail', async () => {
    throw Object.assign(new Error('nope'), { code: 'bad-thing' });
  });
  try {
    // The first sends may be dropped while the lanes connect: keep sending until delivery.
    await until(() => {
      ta.send({ from: A, to: B, n: 0 });
      ta.send({ from: A, to: B, n: -1, bulk: true });
      return got.some((m) => m.n === 0) && got.some((m) => m.n === -1);
    }, 5000, 'first delivery on both lanes');
    for (let i = 1; i <= 100; i++) ta.send({ from: A, to: B, n: i, bulk: i % 10 === 0 });
    await until(() => got.filter((m) => m.n > 0).length >= 100, 5000, '100 messages');
    const control = got.filter((m) => m.n > 0 && !m.bulk).map((m) => m.n);
    assert.deepEqual(control, [...control].sort((x, y) => x - y), 'control lane keeps order');
    assert.equal(fromUtf8(await ta.rpc(B, 'echo', utf8('hi'))), `${A}:hi`);
    await assert.rejects(ta.rpc(B, 'fail', new Uint8Array(0)), /bad-thing: nope/);
    await assert.rejects(ta.rpc(B, 'missing', new Uint8Array(0)), /unknown-method/);
    assert.ok(ta.activePeers().includes(B));
  } finally {
    await ta.close();
    await tb.close();
  }
});

test('a member of another cluster, an unknown member and the other protocol are refused', async () => {
  const tb = transport(B, new Map([[A, []]]));
  const [bAddr] = await tb.start();
  const wrongCluster = transport(A, new Map([[B, [bAddr!]]]), { cluster: '00000000000000dd' as ClusterId });
  const unknown = transport(C, new Map([[B, [bAddr!]]]));
  const paxos = transport(A, new Map([[B, [bAddr!]]]), { protocol: 'paxos' });
  const got: Msg[] = [];
  tb.onMessage((m) => got.push(m));
  try {
    for (const t of [wrongCluster, unknown, paxos]) await t.start();
    for (let i = 0; i < 30; i++) {
      wrongCluster.send({ from: A, to: B, n: 1 });
      unknown.send({ from: C, to: B, n: 2 });
      paxos.send({ from: A, to: B, n: 3 });
      await clock.sleep(20);
    }
    await until(() => tb.counters.connectionsRefused >= 3, 5000, 'three refusals');
    assert.equal(got.length, 0, 'no message from a refused peer is delivered');
  } finally {
    for (const t of [wrongCluster, unknown, paxos, tb]) await t.close();
  }
});

test('garbage on the peer port is refused without harm', async () => {
  const tb = transport(B, new Map([[A, []]]));
  const [bAddr] = await tb.start();
  const net = await import('node:net');
  try {
    for (const junk of [Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(64, 0xff), Buffer.from([5, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9, 9, 9, 9])]) {
      await new Promise<void>((resolve) => {
        const s = net.connect(bAddr!.port, '127.0.0.1', () => s.write(junk));
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        setTimeout(() => s.destroy(), 4000);
      });
    }
    assert.ok(tb.counters.connectionsRefused + tb.counters.malformedMessages >= 2);
  } finally {
    await tb.close();
  }
});

test('network redundancy: a link that stops answering fails over to the next address and returns when it heals', async () => {
  // B listens on two ports (two "networks"); A reaches the first through a proxy it can cut.
  const tb = transport(B, new Map([[A, []]]), { listen: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0 }] });
  const [b1, b2] = await tb.start();
  const proxy = new TcpProxy({ target: b1! });
  const pport = await proxy.start();
  const ta = transport(A, new Map([[B, [{ host: '127.0.0.1', port: pport }, b2!]]]));
  await ta.start();
  const got: Msg[] = [];
  tb.onMessage((m) => got.push(m));
  let n = 0;
  const pump = setInterval(() => ta.send({ from: A, to: B, n: ++n }), 20);
  const addressIndex = () => ta.peerStats()[0]!.control.addressIndex;
  try {
    await until(() => got.length > 5, 5000, 'delivery over the first address');
    assert.equal(addressIndex(), 0);
    proxy.setMode({ type: 'blackhole' });
    const cutAt = got.length;
    await until(() => addressIndex() === 1 && got.length > cutAt + 5, 15000, 'failover to the second address');
    proxy.setMode({ type: 'pass' });
    await until(() => addressIndex() === 0, 15000, 'return to the preferred address');
    const healedAt = got.length;
    await until(() => got.length > healedAt + 5, 5000, 'delivery after the return');
    assert.ok(ta.peerStats()[0]!.control.failovers >= 1);
  } finally {
    clearInterval(pump);
    await ta.close();
    await tb.close();
    await proxy.stop();
  }
});

test('an answer on its way from a peer just removed still arrives (a removed leader answering the request that removed it)', async () => {
  const tb = transport(B, new Map([[A, []]]));
  const [bAddr] = await tb.start();
  const ta = transport(A, new Map([[B, [bAddr!]]]));
  await ta.start();
  let answer: (() => void) | null = null;
  tb.handle('slow', () => new Promise<Uint8Array>((resolve) => (answer = () => resolve(utf8('done')))));
  try {
    await until(() => {
      ta.send({ from: A, to: B, n: 0 });
      return ta.activePeers().includes(B);
    }, 5000, 'a connection to B');
    const call = ta.rpc(B, 'slow', utf8(''), 5000);
    await until(() => answer !== null, 5000, 'the request to reach B');
    ta.setPeers(new Map()); // B left the cluster while its answer was being prepared
    answer!();
    assert.equal(fromUtf8(await call), 'done');
    assert.deepEqual(ta.activePeers(), [], 'B is no longer a peer');
  } finally {
    await ta.close();
    await tb.close();
  }
});
