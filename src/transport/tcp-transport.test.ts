import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TcpTransport } from './tcp-transport.js';
import { NodeClock } from '../env/node/clock.js';
import { SeededRandom } from '../env/random.js';
import { nullLogger, type LogFields, type Logger, type LogLevel } from '../env/logger.js';
import { utf8, fromUtf8 } from '../core/bytes.js';
import type { ClusterId, NodeId } from '../core/ids.js';
import { SNAPSHOT_CHUNK_BYTES, RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX } from '../core/limits.js';
import type { PeerAddress } from './peer-link.js';
import { TcpProxy } from '../chaos/tcp-proxy.js';
import { FrameDecoder } from './frame.js';
import { decodeHello } from './handshake.js';

interface Msg {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly n: number;
  readonly bulk?: boolean;
  /** When it was sent (clock.nowMs()), to measure delivery delay. */
  readonly sentAt?: number;
  /** Filler bytes after the header (a snapshot chunk's body); not decoded. */
  readonly padBytes?: number;
}

/** A JSON header behind its length, then `padBytes` of filler. */
function encodeMsg(m: Msg): Uint8Array {
  const header = utf8(JSON.stringify(m));
  const out = new Uint8Array(4 + header.length + (m.padBytes ?? 0));
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  return out;
}

function decodeMsg(b: Uint8Array): Msg {
  const n = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
  return JSON.parse(fromUtf8(b.subarray(4, 4 + n))) as Msg;
}

/** Keeps every line, to assert what was logged. */
class CapturingLogger implements Logger {
  readonly lines: { level: LogLevel; msg: string; fields: LogFields }[] = [];
  debug(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'debug', msg, fields });
  }
  info(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'info', msg, fields });
  }
  warn(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'warn', msg, fields });
  }
  error(msg: string, fields: LogFields = {}): void {
    this.lines.push({ level: 'error', msg, fields });
  }
  child(): Logger {
    return this;
  }
}

const A = '000000000000000a' as NodeId;
const B = '000000000000000b' as NodeId;
const C = '000000000000000c' as NodeId;
const CLUSTER = '00000000000000cc' as ClusterId;
const clock = new NodeClock();

function transport(id: NodeId, peers: Map<NodeId, PeerAddress[]>, o: { cluster?: ClusterId; protocol?: string; listen?: PeerAddress[]; logger?: Logger } = {}) {
  return new TcpTransport<Msg>({
    clusterId: o.cluster ?? CLUSTER,
    id,
    protocol: o.protocol ?? 'raft',
    listen: o.listen ?? [{ host: '127.0.0.1', port: 0 }],
    peers,
    encode: encodeMsg,
    decode: decodeMsg,
    isBulk: (m) => m.bulk === true,
    clock,
    random: new SeededRandom(1),
    logger: o.logger ?? nullLogger,
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

test('a refused peer is logged on both sides, with the reason', async () => {
  const bLog = new CapturingLogger();
  const aLog = new CapturingLogger();
  const tb = transport(B, new Map([[A, []]]), { logger: bLog });
  const [bAddr] = await tb.start();
  const other = '00000000000000dd' as ClusterId;
  const ta = transport(A, new Map([[B, [bAddr!]]]), { cluster: other, logger: aLog });
  try {
    await ta.start();
    await until(() => {
      ta.send({ from: A, to: B, n: 1 });
      return bLog.lines.some((l) => l.msg === 'refused a peer connection') && aLog.lines.some((l) => l.msg === 'peer refused the connection');
    }, 5000, 'the refusal to be logged on both sides');
    const refused = bLog.lines.find((l) => l.msg === 'refused a peer connection')!;
    assert.equal(refused.level, 'warn');
    assert.equal(refused.fields['from'], A);
    assert.equal(refused.fields['reason'], 'cluster');
    assert.equal(refused.fields['message'], `peer ${A} belongs to cluster ${other}, this member to ${CLUSTER}`);
    assert.match(String(refused.fields['remote']), /^127\.0\.0\.1:\d+$/);
    const told = aLog.lines.find((l) => l.msg === 'peer refused the connection')!;
    assert.equal(told.level, 'warn');
    assert.equal(told.fields['peer'], B);
    assert.match(String(told.fields['reason']), /^rejected \(cluster\): peer .* belongs to cluster/);
  } finally {
    await ta.close();
    await tb.close();
  }
});

test('a snapshot streaming on a slow bulk lane does not delay heartbeats on the control lane', { timeout: 60_000 }, async (ctx) => {
  // The bulk lane goes through a proxy at BULK_BYTES_PER_SEC, so a chunk waits behind the others;
  // the control lane goes through the same proxy unthrottled. Chunks are sent as the engine sends
  // them: at most RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX unacknowledged.
  const BULK_BYTES_PER_SEC = 2 * 1024 * 1024;
  const CHUNKS = 16; // 4 MiB: about 2 s at that rate
  const HEARTBEAT_MS = 20;
  const tb = transport(B, new Map([[A, []]]));
  const [bAddr] = await tb.start();
  const proxy = new TcpProxy({
    target: bAddr!,
    // Which lane a connection is: peek at its hello, then put the bytes back for the proxy.
    identify: (socket) =>
      new Promise((resolve) => {
        const decoder = new FrameDecoder();
        const seen: Buffer[] = [];
        const onData = (chunk: Buffer): void => {
          seen.push(chunk);
          let lane: string | null = null;
          try {
            const [hello] = decoder.push(chunk);
            if (hello === undefined) return;
            lane = decodeHello(hello.payload).lane;
          } catch {
            lane = null;
          }
          socket.off('data', onData);
          socket.pause();
          socket.unshift(Buffer.concat(seen));
          setImmediate(() => socket.resume()); // once the proxy listens
          resolve(lane);
        };
        socket.on('data', onData);
      }),
    faultFor: (c, direction) => (c.dialer === 'bulk' && direction === 'forward' ? { type: 'delay', delayMs: 0, bytesPerSecond: BULK_BYTES_PER_SEC } : { type: 'pass' }),
  });
  const pport = await proxy.start();
  const ta = transport(A, new Map([[B, [{ host: '127.0.0.1', port: pport }]]]));
  await ta.start();
  const controlDelays: number[] = [];
  const bulkDelays: number[] = [];
  let chunksIn = 0;
  let streaming = false;
  let hb = 0;
  let heartbeat: ReturnType<typeof clock.setInterval> | null = null;
  try {
    const warm = new Set<number>();
    tb.onMessage((m) => {
      if (m.n < 0) warm.add(m.n);
      else if (m.sentAt !== undefined) {
        const delay = clock.nowMs() - m.sentAt;
        if (m.bulk === true) {
          chunksIn++;
          bulkDelays.push(delay);
        } else if (streaming) controlDelays.push(delay);
      }
    });
    await until(() => {
      ta.send({ from: A, to: B, n: -1 });
      ta.send({ from: A, to: B, n: -2, bulk: true });
      return warm.has(-1) && warm.has(-2);
    }, 5000, 'both lanes to connect');
    const connects = ta.peerStats()[0]!.bulk.connects;

    streaming = true;
    heartbeat = clock.setInterval(() => ta.send({ from: A, to: B, n: ++hb, sentAt: clock.nowMs() }), HEARTBEAT_MS);
    const started = clock.nowMs();
    for (let i = 0; i < CHUNKS; i++) {
      await until(() => i - chunksIn < RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX, 30_000, `room for chunk ${i}`);
      const dropped = ta.counters.messagesDropped;
      ta.send({ from: A, to: B, n: i, bulk: true, sentAt: clock.nowMs(), padBytes: SNAPSHOT_CHUNK_BYTES });
      assert.equal(ta.counters.messagesDropped, dropped, `chunk ${i} was taken`);
    }
    await until(() => chunksIn === CHUNKS, 30_000, 'every chunk');
    const elapsedMs = clock.nowMs() - started;
    streaming = false;

    assert.ok(controlDelays.length > 0 && bulkDelays.length === CHUNKS, `${controlDelays.length} heartbeats, ${bulkDelays.length} chunks`);
    const sorted = (xs: number[]): number[] => [...xs].sort((x, y) => x - y);
    const c = sorted(controlDelays);
    const b = sorted(bulkDelays);
    const p = (xs: number[], q: number): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
    ctx.diagnostic(`${CHUNKS} chunks in ${elapsedMs.toFixed(0)} ms; chunk delay p50 ${p(b, 0.5).toFixed(0)} ms, max ${b.at(-1)!.toFixed(0)} ms; ${c.length} heartbeats, delay p50 ${p(c, 0.5).toFixed(1)} ms, p99 ${p(c, 0.99).toFixed(1)} ms, max ${c.at(-1)!.toFixed(1)} ms`);
    // The bulk lane really was backed up...
    assert.ok(elapsedMs >= ((CHUNKS * SNAPSHOT_CHUNK_BYTES) / BULK_BYTES_PER_SEC) * 1000 * 0.8, `the transfer took only ${elapsedMs} ms`);
    assert.ok(p(b, 0.5) >= 250, `chunks waited ${p(b, 0.5)} ms at the median`);
    // ... while heartbeats kept arriving, without waiting behind it (generous for a loaded machine).
    assert.ok(c.length >= (elapsedMs / HEARTBEAT_MS) * 0.5, `only ${c.length} heartbeats in ${elapsedMs} ms`);
    assert.ok(p(c, 0.5) < p(b, 0.5) / 5, `heartbeats waited ${p(c, 0.5)} ms at the median, chunks ${p(b, 0.5)} ms`);
    assert.ok(c.at(-1)! < 500, `a heartbeat waited ${c.at(-1)} ms`);
    // The slow bulk lane was not mistaken for a dead one.
    assert.equal(ta.peerStats()[0]!.bulk.connects, connects, 'the bulk lane stayed up');
  } finally {
    heartbeat?.cancel();
    await ta.close();
    await tb.close();
    await proxy.stop();
  }
});
