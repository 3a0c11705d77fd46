/**
 * L4 mode: each client connection is spliced to one backend connection. The client's bytes wait
 * (the socket is paused, so the kernel's buffers push back) until a backend accepts; a backend that
 * refuses or does not answer in time is a gateway failure, and the connection is tried on another
 * backend, which is always safe because nothing has been sent yet. Once connected, pipe() carries
 * the bytes both ways with backpressure, and half-closes pass through.
 */
import * as net from 'node:net';
import { errorMessage } from '../core/errors.js';
import { LB_HALF_CLOSE_LINGER_MS } from '../core/limits.js';
import type { BackendId } from './backend.js';
import { grantRetry, type Proxy, type ProxyContext } from './proxy-context.js';

export class TcpProxy implements Proxy {
  private readonly server: net.Server;
  private readonly byBackend = new Map<BackendId, Set<net.Socket>>();
  private readonly clients = new Set<net.Socket>();

  constructor(private readonly ctx: ProxyContext) {
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      try {
        this.onConnection(client);
      } catch (e) {
        // A bug must cost one connection, not the process.
        ctx.logger.error('connection handler failed', { error: errorMessage(e) });
        client.destroy();
      }
    });
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  closeBackend(id: BackendId, forced: boolean): void {
    if (!forced) return; // a finished drain has no connections left
    for (const s of this.byBackend.get(id) ?? []) s.destroy();
    this.byBackend.delete(id);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const c of this.clients) c.destroy();
      for (const set of this.byBackend.values()) for (const s of set) s.destroy();
    });
  }

  private onConnection(client: net.Socket): void {
    const { ctx } = this;
    const startedMs = ctx.clock.nowMs();
    if (!ctx.breakers.tryAcquire('connections')) {
      ctx.metrics.requests.rejected++;
      client.destroy();
      return;
    }
    this.clients.add(client);
    ctx.budget.onRequest(startedMs);
    client.pause();
    const tried = new Set<BackendId>();
    let upstream: net.Socket | null = null;
    let clientGone = false;
    let retries = 0;
    let holdsRetry = false;

    const releaseRetry = (): void => {
      if (holdsRetry) ctx.breakers.release('retries');
      holdsRetry = false;
    };
    client.on('error', () => client.destroy());
    client.once('close', () => {
      clientGone = true;
      this.clients.delete(client);
      upstream?.destroy();
      releaseRetry();
      ctx.breakers.release('connections');
    });

    const attempt = (): void => {
      const id = ctx.balancer.pick({ hashKey: client.remoteAddress, exclude: tried });
      const spec = id === null ? null : ctx.balancer.spec(id);
      if (id === null || spec === null) {
        ctx.metrics.requests.error++;
        client.destroy();
        return;
      }
      if (retries > 0) ctx.balancer.recordRetry(id);
      tried.add(id);
      ctx.balancer.acquire(id);
      const up = net.connect({ host: spec.host, port: spec.port, allowHalfOpen: true, noDelay: true });
      upstream = up;
      let connected = false;
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        ctx.balancer.release(id);
        this.byBackend.get(id)?.delete(up);
      };
      let set = this.byBackend.get(id);
      if (set === undefined) this.byBackend.set(id, (set = new Set()));
      set.add(up);
      const timer = setTimeout(() => up.destroy(new Error(`connect timed out after ${ctx.settings().connectTimeoutMs} ms`)), ctx.settings().connectTimeoutMs);
      up.once('connect', () => {
        clearTimeout(timer);
        connected = true;
        releaseRetry();
        ctx.balancer.recordOutcome(id, { type: 'success' });
        if (clientGone) {
          up.destroy();
          return;
        }
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      let failed = false;
      up.on('error', (e) => {
        clearTimeout(timer);
        failed = true;
        if (connected) {
          client.destroy();
          return;
        }
        release();
        ctx.balancer.recordOutcome(id, { type: 'gateway-failure', reason: errorMessage(e) });
        if (clientGone) return;
        releaseRetry();
        if (grantRetry(ctx, retries)) {
          retries++;
          holdsRetry = true;
          attempt();
        } else {
          ctx.metrics.requests.error++;
          client.destroy();
        }
      });
      up.once('close', () => {
        clearTimeout(timer);
        release();
        if (!connected) return;
        if (failed) ctx.metrics.requests.error++;
        else ctx.metrics.requests.ok++;
        ctx.metrics.observeLatency(id, (ctx.clock.nowMs() - startedMs) / 1000);
        // pipe() has ended the client's side; a client that never closes its own is cut after a linger.
        if (!clientGone) setTimeout(() => client.destroy(), LB_HALF_CLOSE_LINGER_MS).unref();
      });
    };
    attempt();
  }
}
