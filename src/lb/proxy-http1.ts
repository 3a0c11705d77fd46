/**
 * L7 mode for HTTP/1.1: requests are balanced one by one over keep-alive connection pools to the
 * backends. An idempotent request (GET, HEAD, OPTIONS, PUT, DELETE) whose body is small enough to
 * keep is retried on another backend when the first fails before answering or answers with a
 * retryable status (502, 503, 504 by default), within the retry budget. Other requests stream
 * straight through and are never replayed.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { LB_RETRY_BODY_BYTES_MAX } from '../core/limits.js';
import type { BackendId } from './backend.js';
import type { HashKeySpec } from './config.js';
import type { Outcome } from './outlier-detector.js';
import { grantRetry, type Proxy, type ProxyContext } from './proxy-context.js';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export function hashKeyOf(spec: HashKeySpec, req: { headers: http.IncomingHttpHeaders; url?: string | undefined; remoteAddress?: string | undefined }): string | undefined {
  switch (spec.type) {
    case 'client-address':
      return req.remoteAddress;
    case 'path':
      return req.url?.split('?')[0];
    case 'header': {
      const v = req.headers[spec.name];
      return Array.isArray(v) ? v.join(',') : v;
    }
    default:
      return assertNever(spec, 'hash key');
  }
}

function forwardHeaders(headers: http.IncomingHttpHeaders, clientAddress: string | undefined): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  const connection = typeof headers.connection === 'string' ? headers.connection.toLowerCase().split(',').map((s) => s.trim()) : [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connection.includes(k)) continue;
    out[k] = v;
  }
  if (clientAddress !== undefined) {
    const prior = headers['x-forwarded-for'];
    out['x-forwarded-for'] = prior === undefined ? clientAddress : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${clientAddress}`;
  }
  return out;
}

function responseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

function outcomeOf(status: number): Outcome {
  if (status === 502 || status === 503 || status === 504) return { type: 'gateway-failure', reason: `status ${status}` };
  if (status >= 500) return { type: 'http-5xx', status };
  return { type: 'success' };
}

export class Http1Proxy implements Proxy {
  private readonly server: http.Server;
  private readonly agents = new Map<BackendId, http.Agent>();

  constructor(private readonly ctx: ProxyContext) {
    this.server = http.createServer({ keepAlive: true }, (req, res) => {
      try {
        this.onRequest(req, res);
      } catch (e) {
        // A bug must cost one request, not the process and every other client's requests.
        ctx.logger.error('request handler failed', { error: errorMessage(e) });
        res.destroy();
      }
    });
    // Idle client connections are closed after a while; busy ones are not limited.
    this.server.keepAliveTimeout = 65_000;
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  closeBackend(id: BackendId): void {
    // Drained or out of time: either way its pooled connections go (a forced drain cuts in-flight ones).
    this.agents.get(id)?.destroy();
    this.agents.delete(id);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const a of this.agents.values()) a.destroy();
      this.agents.clear();
    });
  }

  private agentFor(id: BackendId): http.Agent {
    const maxSockets = this.ctx.settings().circuitBreakers.maxConnections;
    let a = this.agents.get(id);
    if (a === undefined) {
      a = new http.Agent({ keepAlive: true, maxSockets, scheduling: 'lifo' });
      this.agents.set(id, a);
    }
    a.maxSockets = maxSockets; // a reload may have changed the limit
    return a;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { ctx } = this;
    const startedMs = ctx.clock.nowMs();
    if (!ctx.breakers.tryAcquire('requests')) {
      ctx.metrics.requests.rejected++;
      res.writeHead(503, { 'content-type': 'text/plain', 'x-bulwark-lb': 'overloaded' }).end('overloaded: too many requests in flight\n');
      return;
    }
    ctx.budget.onRequest(startedMs);
    let done = false;
    const finish = (result: 'ok' | 'error' | 'rejected', backend: BackendId | null): void => {
      if (done) return;
      done = true;
      ctx.breakers.release('requests');
      ctx.metrics.requests[result]++;
      if (result !== 'rejected') ctx.metrics.observeLatency(backend, (ctx.clock.nowMs() - startedMs) / 1000);
    };
    res.once('close', () => finish(res.writableFinished ? 'ok' : 'error', null));

    const settings = ctx.settings();
    const method = req.method ?? 'GET';
    const lengthHeader = req.headers['content-length'];
    const length = lengthHeader === undefined ? null : Number(lengthHeader);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    const noBody = !chunked && (length === null || length === 0);
    const replayable = IDEMPOTENT.has(method) && (noBody || (!chunked && length !== null && length <= LB_RETRY_BODY_BYTES_MAX));
    const request = {
      method,
      url: req.url ?? '/',
      headers: forwardHeaders(req.headers, req.socket.remoteAddress),
      hashKey: hashKeyOf(settings.hashKey, { headers: req.headers, url: req.url, remoteAddress: req.socket.remoteAddress }),
    };
    if (replayable && !noBody) {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > LB_RETRY_BODY_BYTES_MAX) req.destroy(new Error('body longer than its content-length'));
        else chunks.push(c);
      });
      req.once('end', () => this.dispatch(req, res, request, { type: 'buffered', body: Buffer.concat(chunks) }, finish));
      req.once('error', () => res.destroy());
    } else {
      this.dispatch(req, res, request, replayable ? { type: 'buffered', body: null } : { type: 'stream' }, finish);
    }
  }

  private dispatch(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: { method: string; url: string; headers: http.OutgoingHttpHeaders; hashKey: string | undefined },
    body: { type: 'buffered'; body: Buffer | null } | { type: 'stream' },
    finish: (result: 'ok' | 'error' | 'rejected', backend: BackendId | null) => void,
  ): void {
    const { ctx } = this;
    const tried = new Set<BackendId>();
    let retries = 0;
    let holdsRetry = false;
    const releaseRetry = (): void => {
      if (holdsRetry) ctx.breakers.release('retries');
      holdsRetry = false;
    };
    res.once('close', releaseRetry);
    const fail = (status: number, message: string, result: 'error' | 'rejected'): void => {
      releaseRetry();
      if (!res.headersSent && !res.destroyed) res.writeHead(status, { 'content-type': 'text/plain', 'x-bulwark-lb': result }).end(message + '\n');
      finish(result, null);
    };

    const attempt = (): void => {
      if (res.destroyed) return;
      const id = ctx.balancer.pick({ hashKey: request.hashKey, exclude: tried });
      const spec = id === null ? null : ctx.balancer.spec(id);
      if (id === null || spec === null) {
        fail(503, tried.size === 0 ? 'no backend available' : 'every backend tried failed', 'error');
        return;
      }
      if (!ctx.breakers.tryAcquire('pending')) {
        fail(503, 'overloaded: too many requests waiting for a backend connection', 'rejected');
        return;
      }
      if (retries > 0) ctx.balancer.recordRetry(id);
      tried.add(id);
      ctx.balancer.acquire(id);
      let pending = true;
      let settled = false;
      const releasePending = (): void => {
        if (pending) ctx.breakers.release('pending');
        pending = false;
      };
      const settle = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        releasePending();
        clearTimeout(timer);
        ctx.balancer.release(id);
        ctx.balancer.recordOutcome(id, outcome);
      };
      const up = http.request({ host: spec.host, port: spec.port, method: request.method, path: request.url, headers: request.headers, agent: this.agentFor(id) });
      const settings = ctx.settings();
      const timer = setTimeout(() => up.destroy(new Error(`no response within ${settings.responseTimeoutMs} ms`)), settings.responseTimeoutMs);
      up.once('socket', releasePending);
      const onClientGone = (): void => {
        if (!res.writableFinished) up.destroy();
      };
      res.once('close', onClientGone);

      up.once('response', (r) => {
        clearTimeout(timer);
        const status = r.statusCode ?? 502;
        const outcome = outcomeOf(status);
        if (body.type === 'buffered' && settings.retries.onStatus.includes(status) && !res.destroyed) {
          releaseRetry();
          if (grantRetry(ctx, retries)) {
            r.resume();
            settle(outcome);
            res.off('close', onClientGone);
            retries++;
            holdsRetry = true;
            attempt();
            return;
          }
        }
        releaseRetry();
        res.writeHead(status, r.statusMessage, responseHeaders(r.headers));
        r.pipe(res);
        r.once('end', () => {
          settle(outcome);
          finish(outcome.type === 'success' || status < 500 ? 'ok' : 'error', id);
        });
        r.once('error', () => {
          settle({ type: 'gateway-failure', reason: 'response cut' });
          res.destroy();
        });
      });
      up.once('error', (e) => {
        settle({ type: 'gateway-failure', reason: errorMessage(e) });
        res.off('close', onClientGone);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (res.destroyed) return;
        releaseRetry();
        if (body.type === 'buffered' && grantRetry(ctx, retries)) {
          retries++;
          holdsRetry = true;
          attempt();
          return;
        }
        const timedOut = /no response within/.test(errorMessage(e));
        fail(timedOut ? 504 : 502, `${timedOut ? 'gateway timeout' : 'bad gateway'}: ${id}: ${errorMessage(e)}`, 'error');
      });
      if (body.type === 'buffered') up.end(body.body ?? undefined);
      else req.pipe(up);
    };
    attempt();
  }
}
