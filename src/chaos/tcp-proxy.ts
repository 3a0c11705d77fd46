/**
 * A fault-injecting TCP proxy for peer links: it forwards bytes between a listening port and a
 * target and can, at any moment and separately for each direction of each connection, pass
 * traffic, blackhole it (hold every byte, answer nothing — a cut cable or a partition, as seen by
 * TCP), degrade it (latency with jitter, loss, bandwidth), or reset connections.
 *
 * TCP is a reliable byte stream, so a proxy cannot drop bytes the way a network drops packets:
 * dropping a chunk would corrupt the stream. What packet loss does to a TCP connection is delay:
 * the lost segment is retransmitted after a timeout and everything behind it waits (head-of-line
 * blocking). That is what `lossPercent` models: a "lost" chunk is held for `retransmitMs` and the
 * chunks after it queue behind it. `resetPercent` models the other thing a bad link does: the
 * connection breaks and the application must reconnect.
 *
 * The chaos tool puts one proxy in front of each member's peer port and tells, for each
 * connection, which member dialed it (`identify`), so a fault can be set per directed link.
 * Transport tests use it with a single mode for everything (`setMode`).
 */
import * as net from 'node:net';
import { assertNever } from '../core/assert.js';
import { PROXY_QUEUE_BYTES_MAX } from '../core/limits.js';

export type LinkFault =
  | { readonly type: 'pass' }
  | { readonly type: 'blackhole' }
  | {
      readonly type: 'delay';
      readonly delayMs: number;
      /** Each chunk gets a further uniform [0, jitterMs) of delay; order is kept, as TCP keeps it. */
      readonly jitterMs?: number;
      /** Share of chunks "lost": held for retransmitMs, with everything behind them. */
      readonly lossPercent?: number;
      /** Linux's minimum retransmission timeout by default. */
      readonly retransmitMs?: number;
      /** Share of chunks that break the connection instead (both sockets reset). */
      readonly resetPercent?: number;
      /** Bytes per second through this direction; 0 or absent: unlimited. */
      readonly bytesPerSecond?: number;
    };

/** Kept for callers of the first version of this proxy. */
export type ProxyMode = LinkFault;

/** Client to target ("forward": bytes the dialer sends) or back ("backward"). */
export type ProxyDirection = 'forward' | 'backward';

export interface ProxyConnectionInfo {
  /** Who dialed, as `identify` named it; null when unknown. */
  readonly dialer: string | null;
}

export interface TcpProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  readonly listenHost?: string;
  readonly listenPort?: number;
  /** Names the dialer of a new connection before any byte is forwarded. */
  readonly identify?: (socket: net.Socket) => Promise<string | null>;
  /** The fault for one direction of a connection; by default the mode given to setMode, both ways. */
  readonly faultFor?: (connection: ProxyConnectionInfo, direction: ProxyDirection) => LinkFault;
  /** A number in [0, 1) for jitter and loss (Math.random by default; the chaos tool passes a seeded one). */
  readonly random?: () => number;
}

const RETRANSMIT_MS_DEFAULT = 200;

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: LinkFault = { type: 'pass' };
  port = 0;

  constructor(private readonly o: TcpProxyOptions) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.onClient(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.o.listenHost ?? '127.0.0.1', port: this.o.listenPort ?? 0 }, () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    return this.port;
  }

  /** The same fault on every direction of every connection (when no `faultFor` is given). */
  setMode(mode: LinkFault): void {
    this.mode = mode;
    this.refresh();
  }

  /** Faults changed (in whatever `faultFor` reads): apply them to the open connections now. */
  refresh(): void {
    for (const p of this.pairs) {
      p.forward.refresh();
      p.backward.refresh();
    }
  }

  /** Open connections, with who dialed each. */
  connections(): ProxyConnectionInfo[] {
    return [...this.pairs].map((p) => p.info);
  }

  /** Closes every proxied connection abruptly (RST where the platform allows). */
  resetAll(): void {
    for (const p of this.pairs) p.destroy();
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    this.resetAll();
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private faultOf(info: ProxyConnectionInfo, direction: ProxyDirection): LinkFault {
    return this.o.faultFor === undefined ? this.mode : this.o.faultFor(info, direction);
  }

  private onClient(client: net.Socket): void {
    client.on('error', () => client.destroy());
    const identify = this.o.identify;
    if (identify === undefined) {
      this.connect(client, { dialer: null });
      return;
    }
    identify(client).then(
      (dialer) => this.connect(client, { dialer }),
      () => this.connect(client, { dialer: null }),
    );
  }

  private connect(client: net.Socket, info: ProxyConnectionInfo): void {
    if (client.destroyed || this.server === null) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: this.o.target.host, port: this.o.target.port });
    const random = this.o.random ?? Math.random;
    const pair: Pair = {
      info,
      forward: new Lane(client, upstream, () => this.faultOf(info, 'forward'), random, () => close()),
      backward: new Lane(upstream, client, () => this.faultOf(info, 'backward'), random, () => close()),
      destroy: () => {
        hardClose(client);
        hardClose(upstream);
        pair.forward.dispose();
        pair.backward.dispose();
      },
    };
    this.pairs.add(pair);
    const close = (): void => {
      if (!this.pairs.delete(pair)) return;
      pair.destroy();
    };
    client.removeAllListeners('error');
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    // A half-close is passed on once the bytes before it are through.
    client.on('end', () => pair.forward.endAfterQueue());
    upstream.on('end', () => pair.backward.endAfterQueue());
    pair.forward.start();
    pair.backward.start();
  }
}

/**
 * Closes with a reset (RST) where that is safe, else plainly. Not after end(): Node marks a socket
 * whose reset libuv refused (a shutdown is in progress) as closing, and the process then never
 * exits, spinning in its final handle cleanup.
 */
function hardClose(s: net.Socket): void {
  if (s.destroyed) return;
  if (s.connecting || s.writableEnded || s.readyState !== 'open') s.destroy();
  else s.resetAndDestroy();
}

interface Pair {
  readonly info: ProxyConnectionInfo;
  readonly forward: Lane;
  readonly backward: Lane;
  destroy(): void;
}

interface Queued {
  readonly chunk: Buffer;
  readonly atMs: number;
}

/**
 * One direction of one connection: reads from `from`, applies the current fault, writes to `to`
 * in order. Reading pauses (and TCP's own flow control pushes back on the sender) while the
 * direction is blackholed, while the queue of delayed bytes is full, and while `to` is full.
 */
class Lane {
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Release time of the last chunk queued: nothing overtakes it (TCP keeps order). */
  private lastAtMs = 0;
  /** When the bandwidth limit frees up. */
  private busyUntilMs = 0;
  private holding = false;
  private draining = false;
  private ended = false;
  private disposed = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly fault: () => LinkFault,
    private readonly random: () => number,
    private readonly breakConnection: () => void,
  ) {}

  start(): void {
    this.from.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.queue.length = 0;
  }

  refresh(): void {
    if (this.disposed) return;
    if (this.holding && this.fault().type !== 'blackhole') {
      this.holding = false;
      this.flow();
    }
    this.flush();
  }

  endAfterQueue(): void {
    this.ended = true;
    if (this.queue.length === 0) this.to.end();
  }

  private onData(chunk: Buffer): void {
    if (this.disposed) return;
    const f = this.fault();
    const now = performance.now();
    switch (f.type) {
      case 'blackhole':
        // Hold the bytes: stop reading so TCP backpressure builds up, as with a dead path.
        this.holding = true;
        this.from.pause();
        this.from.unshift(chunk);
        return;
      case 'pass':
        if (this.queue.length === 0) {
          this.write(chunk);
          return;
        }
        this.enqueue(chunk, now);
        return;
      case 'delay': {
        if (f.resetPercent !== undefined && this.random() * 100 < f.resetPercent) {
          this.breakConnection();
          return;
        }
        let at = now + f.delayMs + (f.jitterMs ?? 0) * this.random();
        if (f.lossPercent !== undefined && this.random() * 100 < f.lossPercent) at += f.retransmitMs ?? RETRANSMIT_MS_DEFAULT;
        if (f.bytesPerSecond !== undefined && f.bytesPerSecond > 0) {
          this.busyUntilMs = Math.max(this.busyUntilMs, at) + (chunk.length * 1000) / f.bytesPerSecond;
          at = this.busyUntilMs;
        }
        this.enqueue(chunk, at);
        return;
      }
      default:
        assertNever(f, 'link fault');
    }
  }

  private enqueue(chunk: Buffer, atMs: number): void {
    const at = Math.max(atMs, this.lastAtMs);
    this.lastAtMs = at;
    this.queue.push({ chunk, atMs: at });
    this.queuedBytes += chunk.length;
    this.flow();
    this.flush();
  }

  private flush(): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.fault().type === 'blackhole') return; // queued bytes wait for the link to heal
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.atMs <= now) {
      const q = this.queue.shift()!;
      this.queuedBytes -= q.chunk.length;
      this.write(q.chunk);
    }
    this.flow();
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0]!.atMs - now));
    else if (this.ended) this.to.end();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    if (!this.to.write(chunk) && !this.draining) {
      this.draining = true;
      this.flow();
      this.to.once('drain', () => {
        this.draining = false;
        this.flow();
      });
    }
  }

  /** Reads from `from` exactly when nothing says to stop. */
  private flow(): void {
    if (this.from.destroyed) return;
    const stop = this.holding || this.draining || this.queuedBytes > PROXY_QUEUE_BYTES_MAX;
    if (stop) this.from.pause();
    else this.from.resume();
  }
}
