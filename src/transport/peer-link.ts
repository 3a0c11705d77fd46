/**
 * One outbound lane to one peer: a TCP connection that carries this member's frames to the peer,
 * with reconnection under exponential backoff and failover between the peer's addresses.
 *
 * Network redundancy: a peer may list several addresses (one per network). The link uses the first
 * that answers. A link that stops answering (no frame back for PEER_LINK_DEAD_MS, while pings go
 * out every PEER_PING_INTERVAL_MS) is abandoned for the next address; while on a secondary address
 * the preferred one is retried in the background, and traffic moves back when it heals.
 *
 * Messages are not queued while the lane is down: consensus retransmits, and stale heartbeats are
 * worse than none. While connected, frames are coalesced into one write per event-loop turn, and
 * the queue is bounded in bytes (beyond it frames are dropped and counted).
 */
import * as net from 'node:net';
import {
  PEER_BACKOFF_MS_MAX,
  PEER_BACKOFF_MS_MIN,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_LINK_DEAD_MS,
  PEER_PING_INTERVAL_MS,
  PEER_PREFERRED_RETRY_MS,
  PEER_QUEUE_BYTES_MAX,
} from '../core/limits.js';
import type { NodeId } from '../core/ids.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import { errorMessage } from '../core/errors.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { FrameDecoder, FrameType, encodeFrame, type Frame } from './frame.js';
import { decodeReject, encodeHello, type Hello, type Lane } from './handshake.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface PeerLinkOptions {
  readonly peer: NodeId;
  readonly lane: Lane;
  readonly hello: Omit<Hello, 'to' | 'lane'>;
  readonly addresses: readonly PeerAddress[];
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Frames the peer sends back on this connection (RPC responses). */
  readonly onFrame: (frame: Frame) => void;
  readonly onRttMs?: (ms: number) => void;
  /** The lane went down or a frame could not be queued: the engine may want to know. */
  readonly onUnreachable?: () => void;
}

export type LinkState = 'idle' | 'connecting' | 'ready' | 'backoff' | 'closed';

export interface LinkStats {
  readonly state: LinkState;
  /** Index into the peer's addresses of the connection in use (or being tried). */
  readonly addressIndex: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly framesDropped: number;
  readonly connects: number;
  readonly failovers: number;
  readonly lastRttMs: number | null;
}

interface Conn {
  readonly socket: net.Socket;
  readonly addressIndex: number;
  readonly decoder: FrameDecoder;
  welcomed: boolean;
  lastHeardMs: number;
  handshakeTimer: Timer | null;
}

export class PeerLink {
  private state: LinkState = 'idle';
  private conn: Conn | null = null;
  /** A background connection to the preferred address while the lane runs on another one. */
  private probe: Conn | null = null;
  private addressIndex = 0;
  private addresses: readonly PeerAddress[];
  private backoffMs = PEER_BACKOFF_MS_MIN;
  private retryTimer: Timer | null = null;
  private pingTimer: Timer | null = null;
  private preferredTimer: Timer | null = null;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private waitingDrain = false;
  private stats_ = { bytesSent: 0, bytesReceived: 0, framesDropped: 0, connects: 0, failovers: 0, lastRttMs: null as number | null };

  constructor(private readonly o: PeerLinkOptions) {
    this.addresses = o.addresses;
  }

  get linkState(): LinkState {
    return this.state;
  }

  stats(): LinkStats {
    return { state: this.state, addressIndex: this.addressIndex, ...this.stats_ };
  }

  /** Replaces the peer's addresses (a member update); reconnects if the current one is gone. */
  setAddresses(addresses: readonly PeerAddress[]): void {
    const current = this.conn === null ? null : this.addresses[this.conn.addressIndex];
    this.addresses = addresses;
    const stillThere = current !== null && current !== undefined && addresses.some((a) => a.host === current.host && a.port === current.port);
    if (!stillThere && this.state !== 'closed') {
      this.addressIndex = 0;
      this.drop('addresses changed');
    }
  }

  /** Queues a frame; returns false when it was dropped (lane down or queue full). */
  send(frame: Uint8Array): boolean {
    if (this.state === 'idle') this.connect();
    if (this.state !== 'ready' || this.queuedBytes + frame.length > PEER_QUEUE_BYTES_MAX) {
      this.stats_.framesDropped++;
      return false;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.scheduleFlush();
    return true;
  }

  /** Starts connecting if idle (the lane is otherwise lazy: it dials on the first send). */
  ensureConnected(): void {
    if (this.state === 'idle') this.connect();
  }

  close(): void {
    this.state = 'closed';
    this.clearTimers();
    this.destroy(this.conn);
    this.destroy(this.probe);
    this.conn = null;
    this.probe = null;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private clearTimers(): void {
    this.retryTimer?.cancel();
    this.pingTimer?.cancel();
    this.preferredTimer?.cancel();
    this.retryTimer = this.pingTimer = this.preferredTimer = null;
  }

  private connect(): void {
    if (this.state === 'closed' || this.addresses.length === 0) return;
    this.state = 'connecting';
    this.conn = this.dial(this.addressIndex, {
      onWelcome: (c) => this.onReady(c),
      onFail: (c, why) => this.onConnFailed(c, why),
    });
  }

  private dial(addressIndex: number, cb: { onWelcome: (c: Conn) => void; onFail: (c: Conn, why: string) => void }): Conn {
    const address = this.addresses[addressIndex]!;
    const socket = net.connect({ host: address.host, port: address.port, noDelay: true });
    const c: Conn = { socket, addressIndex, decoder: new FrameDecoder(), welcomed: false, lastHeardMs: this.o.clock.nowMs(), handshakeTimer: null };
    let failed = false;
    const fail = (why: string): void => {
      if (failed) return;
      failed = true;
      c.handshakeTimer?.cancel();
      this.destroy(c);
      cb.onFail(c, why);
    };
    c.handshakeTimer = this.o.clock.setTimeout(() => fail('handshake timed out'), PEER_HANDSHAKE_TIMEOUT_MS);
    socket.on('connect', () => {
      const hello: Hello = { ...this.o.hello, to: this.o.peer, lane: this.o.lane };
      socket.write(encodeFrame(FrameType.hello, encodeHello(hello)));
    });
    socket.on('data', (chunk: Buffer) => {
      if (failed) return;
      c.lastHeardMs = this.o.clock.nowMs();
      if (c === this.conn) this.stats_.bytesReceived += chunk.length;
      let frames: Frame[];
      try {
        frames = c.decoder.push(chunk);
      } catch (e) {
        this.o.logger.warn('peer sent a malformed frame; closing the link', { peer: this.o.peer, error: errorMessage(e) });
        fail(errorMessage(e));
        return;
      }
      for (const f of frames) {
        if (!c.welcomed) {
          if (f.type === FrameType.welcome) {
            c.welcomed = true;
            c.handshakeTimer?.cancel();
            c.handshakeTimer = null;
            cb.onWelcome(c);
            continue;
          }
          if (f.type === FrameType.reject) {
            let why = 'rejected';
            try {
              const r = decodeReject(f.payload);
              why = `rejected (${r.reason}): ${r.message}`;
            } catch {
              /* keep the generic reason */
            }
            this.o.logger.warn('peer refused the connection', { peer: this.o.peer, lane: this.o.lane, reason: why });
            fail(why);
            return;
          }
          fail(`unexpected frame type ${f.type} before the handshake completed`);
          return;
        }
        if (f.type === FrameType.pong) this.onPong(f.payload);
        else if (f.type === FrameType.ping) this.write(c, encodeFrame(FrameType.pong, f.payload));
        else this.o.onFrame(f);
      }
    });
    socket.on('drain', () => {
      if (c === this.conn) {
        this.waitingDrain = false;
        this.scheduleFlush();
      }
    });
    socket.on('error', (e) => fail(errorMessage(e)));
    socket.on('close', () => fail('connection closed'));
    return c;
  }

  private onReady(c: Conn): void {
    if (c !== this.conn) return;
    this.state = 'ready';
    this.backoffMs = PEER_BACKOFF_MS_MIN;
    this.stats_.connects++;
    this.o.logger.info('peer link up', { peer: this.o.peer, lane: this.o.lane, address: this.describe(c.addressIndex) });
    this.pingTimer?.cancel();
    this.pingTimer = this.o.clock.setInterval(() => this.pingAndCheck(), PEER_PING_INTERVAL_MS);
    this.schedulePreferredRetry();
  }

  private onConnFailed(c: Conn, why: string): void {
    if (c !== this.conn || this.state === 'closed') return;
    const wasReady = this.state === 'ready';
    this.conn = null;
    this.pingTimer?.cancel();
    this.pingTimer = null;
    this.queue = [];
    this.queuedBytes = 0;
    this.waitingDrain = false;
    // Try the next address; after a full round of failures, back off.
    const next = (c.addressIndex + 1) % this.addresses.length;
    if (this.addresses.length > 1) this.stats_.failovers++;
    this.addressIndex = next;
    if (wasReady) this.o.logger.warn('peer link down', { peer: this.o.peer, lane: this.o.lane, address: this.describe(c.addressIndex), reason: why });
    this.o.onUnreachable?.();
    const immediate = wasReady || (next !== 0 && this.addresses.length > 1);
    this.state = 'backoff';
    const delay = immediate ? 0 : this.nextBackoff();
    this.retryTimer?.cancel();
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'backoff') this.connect();
    }, delay);
  }

  private nextBackoff(): number {
    const d = this.backoffMs;
    this.backoffMs = Math.min(PEER_BACKOFF_MS_MAX, this.backoffMs * 2);
    return d / 2 + this.o.random.float() * (d / 2);
  }

  private pingAndCheck(): void {
    const c = this.conn;
    if (c === null || this.state !== 'ready') return;
    if (this.o.clock.nowMs() - c.lastHeardMs > PEER_LINK_DEAD_MS) {
      this.o.logger.warn('peer link stopped answering', { peer: this.o.peer, lane: this.o.lane, address: this.describe(c.addressIndex) });
      this.destroy(c);
      this.onConnFailed(c, 'no answer');
      return;
    }
    this.write(c, encodeFrame(FrameType.ping, new ByteWriter(8).f64(this.o.clock.nowMs()).finish().slice()));
  }

  private onPong(payload: Uint8Array): void {
    try {
      const sent = new ByteReader(payload).f64();
      const rtt = this.o.clock.nowMs() - sent;
      if (rtt >= 0 && Number.isFinite(rtt)) {
        this.stats_.lastRttMs = rtt;
        this.o.onRttMs?.(rtt);
      }
    } catch {
      /* a malformed pong only loses one RTT sample */
    }
  }

  /** While on a secondary address, keep trying the preferred one and move back when it answers. */
  private schedulePreferredRetry(): void {
    this.preferredTimer?.cancel();
    this.preferredTimer = null;
    if (this.conn === null || this.conn.addressIndex === 0) return;
    this.preferredTimer = this.o.clock.setTimeout(() => {
      this.preferredTimer = null;
      if (this.state !== 'ready' || this.probe !== null || this.conn === null || this.conn.addressIndex === 0) return;
      this.probe = this.dial(0, {
        onWelcome: (p) => {
          this.probe = null;
          const old = this.conn;
          this.conn = p;
          this.addressIndex = 0;
          this.o.logger.info('peer link back on its preferred address', { peer: this.o.peer, lane: this.o.lane, address: this.describe(0) });
          this.waitingDrain = false;
          this.onReady(p);
          this.scheduleFlush();
          if (old !== null) {
            old.socket.end();
            this.destroySoon(old);
          }
        },
        onFail: () => {
          this.probe = null;
          this.schedulePreferredRetry();
        },
      });
    }, PEER_PREFERRED_RETRY_MS);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const c = this.conn;
    if (c === null || this.state !== 'ready' || this.waitingDrain || this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    c.socket.cork();
    let ok = true;
    for (const f of frames) {
      ok = c.socket.write(f);
      this.stats_.bytesSent += f.length;
    }
    c.socket.uncork();
    if (!ok) this.waitingDrain = true;
  }

  private write(c: Conn, frame: Uint8Array): void {
    if (!c.socket.destroyed) c.socket.write(frame);
  }

  private destroy(c: Conn | null): void {
    if (c === null) return;
    c.handshakeTimer?.cancel();
    c.socket.destroy();
  }

  private destroySoon(c: Conn): void {
    this.o.clock.setTimeout(() => c.socket.destroy(), 1000);
  }

  private drop(why: string): void {
    const c = this.conn;
    if (c === null) return;
    this.destroy(c);
    this.onConnFailed(c, why);
  }

  private describe(i: number): string {
    const a = this.addresses[i];
    return a === undefined ? '?' : `${a.host}:${a.port}`;
  }
}
