/**
 * A fault-injecting TCP proxy for peer links: it forwards bytes between a listening port and a
 * target and can, at any moment, pass traffic, blackhole it (hold every byte, answer nothing —
 * a cut cable or a partition, as seen by TCP), add latency, or reset every connection.
 * The chaos tool puts one on each directed peer link; transport tests use it to cut a link.
 */
import * as net from 'node:net';

export type ProxyMode =
  | { readonly type: 'pass' }
  | { readonly type: 'blackhole' }
  | { readonly type: 'delay'; readonly delayMs: number };

export interface TcpProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  readonly listenHost?: string;
  readonly listenPort?: number;
}

interface Pair {
  readonly client: net.Socket;
  readonly upstream: net.Socket;
}

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = { type: 'pass' };
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

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    if (mode.type !== 'blackhole') for (const p of this.pairs) this.resume(p);
  }

  /** Closes every proxied connection abruptly (RST where the platform allows). */
  resetAll(): void {
    for (const p of this.pairs) {
      p.client.resetAndDestroy?.();
      p.upstream.resetAndDestroy?.();
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.resetAll();
    const s = this.server;
    this.server = null;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private onClient(client: net.Socket): void {
    const upstream = net.connect({ host: this.o.target.host, port: this.o.target.port });
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk: Buffer) => {
      const m = this.mode;
      if (m.type === 'blackhole') {
        // Hold the bytes: pause reading so TCP backpressure builds up, as with a dead path.
        from.pause();
        from.unshift(chunk);
        return;
      }
      if (m.type === 'delay') {
        setTimeout(() => to.destroyed || to.write(chunk), m.delayMs);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
  }

  private resume(p: Pair): void {
    p.client.resume();
    p.upstream.resume();
  }
}
