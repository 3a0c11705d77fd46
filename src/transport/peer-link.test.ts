/**
 * PeerLink against hand-made peers on 127.0.0.1: reconnection under a growing (and capped,
 * jittered) backoff that starts over after a good connection, and backpressure from a peer that
 * stops reading — the link queues up to its bound, refuses beyond it, and recovers when the peer
 * reads again.
 */
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { PEER_BACKOFF_MS_MAX, PEER_BACKOFF_MS_MIN, PEER_HANDSHAKE_TIMEOUT_MS, PEER_QUEUE_BYTES_MAX } from '../core/limits.js';
import type { ClusterId, NodeId } from '../core/ids.js';
import type { Clock, Timer } from '../env/clock.js';
import { nullLogger } from '../env/logger.js';
import { NodeClock } from '../env/node/clock.js';
import { SeededRandom } from '../env/random.js';
import { FrameDecoder, FrameType, encodeFrame, type Frame } from './frame.js';
import { decodeHello, TRANSPORT_VERSION, type Lane } from './handshake.js';
import { PeerLink } from './peer-link.js';

const A = '000000000000000a' as NodeId;
const B = '000000000000000b' as NodeId;
const CLUSTER = '00000000000000cc' as ClusterId;
const clock = new NodeClock();

/** The real clock, noting every delay the link asks for. */
class RecordingClock implements Clock {
  readonly delays: number[] = [];
  nowMs(): number {
    return clock.nowMs();
  }
  wallMs(): number {
    return clock.wallMs();
  }
  setTimeout(fn: () => void, delayMs: number): Timer {
    this.delays.push(delayMs);
    return clock.setTimeout(fn, delayMs);
  }
  setInterval(fn: () => void, periodMs: number): Timer {
    return clock.setInterval(fn, periodMs);
  }
  sleep(delayMs: number): Promise<void> {
    return clock.sleep(delayMs);
  }
}

function link(port: number, o: { clock?: Clock; lane?: Lane } = {}): PeerLink {
  return new PeerLink({
    peer: B,
    lane: o.lane ?? 'control',
    hello: { version: TRANSPORT_VERSION, clusterId: CLUSTER, from: A, protocol: 'raft' },
    addresses: [{ host: '127.0.0.1', port }],
    clock: o.clock ?? clock,
    random: new SeededRandom(7),
    logger: nullLogger,
    onFrame: () => {},
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return (server.address() as net.AddressInfo).port;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = clock.nowMs();
  while (!cond()) {
    if (clock.nowMs() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(5);
  }
}

/** A peer that answers the hello with a welcome, and gives each connection's frames to `onFrame`. */
function welcomingPeer(sockets: Set<net.Socket>, onFrame: (s: net.Socket, f: Frame) => void = () => {}): net.Server {
  return net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    const decoder = new FrameDecoder();
    let welcomed = false;
    s.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        if (!welcomed) {
          assert.equal(f.type, FrameType.hello);
          decodeHello(f.payload);
          welcomed = true;
          s.write(encodeFrame(FrameType.welcome, new Uint8Array(0)));
          continue;
        }
        onFrame(s, f);
      }
    });
  });
}

test('reconnection: attempts are spaced by a doubling, jittered backoff up to its cap, and start over after a good connection', { timeout: 60_000 }, async () => {
  // First the peer hangs up on every connection at once, as a member that is starting would.
  let refusing = true;
  const accepts: number[] = [];
  const sockets = new Set<net.Socket>();
  const welcome = welcomingPeer(sockets);
  const server = net.createServer((s) => {
    accepts.push(clock.nowMs());
    if (refusing) s.destroy();
    else welcome.emit('connection', s);
  });
  const port = await listen(server);
  const rc = new RecordingClock();
  const l = link(port, { clock: rc });
  const retries = (): number[] => rc.delays.filter((d) => d !== PEER_HANDSHAKE_TIMEOUT_MS);
  try {
    const ATTEMPTS = 7;
    l.ensureConnected();
    await until(() => accepts.length >= ATTEMPTS && retries().length >= ATTEMPTS, 30_000, `${ATTEMPTS} attempts`);
    const delays = retries().slice(0, ATTEMPTS);
    delays.forEach((d, i) => {
      const nominal = Math.min(PEER_BACKOFF_MS_MAX, PEER_BACKOFF_MS_MIN * 2 ** i);
      assert.ok(d >= nominal / 2 && d <= nominal, `retry ${i}: ${d} ms, expected within [${nominal / 2}, ${nominal}]`);
    });
    assert.equal(Math.min(PEER_BACKOFF_MS_MAX, PEER_BACKOFF_MS_MIN * 2 ** (ATTEMPTS - 1)), PEER_BACKOFF_MS_MAX, 'the last retry is at the cap');
    // The peer saw the attempts at least that far apart (timers fire late on a loaded machine, not early).
    for (let i = 1; i < ATTEMPTS; i++) {
      const gap = accepts[i]! - accepts[i - 1]!;
      assert.ok(gap >= delays[i - 1]! - 5, `attempts ${i - 1} and ${i}: ${gap.toFixed(0)} ms apart, the backoff was ${delays[i - 1]!.toFixed(0)} ms`);
    }
    assert.equal(l.stats().connects, 0);

    // The peer comes up: the link connects on its next attempt...
    refusing = false;
    await until(() => l.linkState === 'ready', 10_000, 'the link to come up');
    assert.equal(l.stats().connects, 1);
    // ... and when that connection breaks, it redials at once, then backs off from the start again.
    refusing = true;
    const before = retries().length;
    for (const s of sockets) s.destroy();
    await until(() => retries().length >= before + 2, 10_000, 'two retries after the break');
    const [immediate, first] = retries().slice(before);
    assert.equal(immediate, 0, 'a link that was up redials at once');
    assert.ok(first! >= PEER_BACKOFF_MS_MIN / 2 && first! <= PEER_BACKOFF_MS_MIN, `then backs off from ${PEER_BACKOFF_MS_MIN} ms again, got ${first}`);
  } finally {
    l.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('backpressure: a peer that stops reading makes the link refuse frames past its queue bound, and it recovers when the peer reads again', { timeout: 60_000 }, async (ctx) => {
  const FRAME_PAYLOAD_BYTES = 1024 * 1024;
  const FRAMES = 96;
  /** Kernel socket buffers on both ends (tcp_wmem + tcp_rmem, generously) and one frame in Node's own buffer. */
  const KERNEL_SLACK_BYTES = 48 * 1024 * 1024;
  const sockets = new Set<net.Socket>();
  const received: number[] = [];
  let reading = false;
  let keepAlive: Timer | null = null;
  const server = welcomingPeer(sockets, (_s, f) => {
    if (f.type === FrameType.message) received.push(new DataView(f.payload.buffer, f.payload.byteOffset).getUint32(0, true));
  });
  server.on('connection', (s: net.Socket) => {
    // Stop reading right after the handshake, but keep talking, so the link is not declared dead.
    s.once('data', () =>
      setImmediate(() => {
        if (!reading) s.pause();
      }),
    );
    keepAlive = clock.setInterval(() => {
      if (!s.destroyed) s.write(encodeFrame(FrameType.ping, new Uint8Array(8)));
    }, 200);
  });
  const port = await listen(server);
  const l = link(port, { lane: 'bulk' });
  const frame = (n: number): Uint8Array => {
    const p = new Uint8Array(FRAME_PAYLOAD_BYTES);
    new DataView(p.buffer).setUint32(0, n, true);
    return encodeFrame(FrameType.message, p);
  };
  try {
    l.ensureConnected();
    await until(() => l.linkState === 'ready', 10_000, 'the link to come up');
    await clock.sleep(50); // the peer has paused
    const accepted: number[] = [];
    let refused = 0;
    for (let n = 0; n < FRAMES; n++) {
      if (l.send(frame(n))) accepted.push(n);
      else refused++;
      await new Promise((r) => setImmediate(r)); // let the link flush between sends
    }
    const acceptedBytes = accepted.length * frame(0).length;
    ctx.diagnostic(`${accepted.length} frames of 1 MiB taken, ${refused} refused`);
    assert.ok(refused > 0, `all ${FRAMES} frames of 1 MiB were taken by a peer that does not read`);
    assert.equal(l.stats().framesDropped, refused, 'refused frames are counted');
    assert.ok(acceptedBytes <= PEER_QUEUE_BYTES_MAX + KERNEL_SLACK_BYTES, `${(acceptedBytes / 2 ** 20).toFixed(0)} MiB taken: more than the queue bound and the socket buffers`);
    assert.equal(l.linkState, 'ready', 'a slow peer is not a dead one');

    // The peer reads again: what was accepted arrives in order, and the link takes frames again.
    reading = true;
    for (const s of sockets) s.resume();
    await until(() => received.length >= accepted.length, 30_000, 'the accepted frames to arrive');
    assert.deepEqual(received, accepted);
    assert.equal(l.send(frame(FRAMES)), true, 'the link takes frames again once drained');
    await until(() => received.length === accepted.length + 1, 10_000, 'the frame after the drain');
    assert.equal(received.at(-1), FRAMES);
  } finally {
    (keepAlive as Timer | null)?.cancel();
    l.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
