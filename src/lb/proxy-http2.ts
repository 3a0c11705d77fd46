/**
 * L7 mode for HTTP/2 and gRPC (cleartext h2c on both sides): each client stream is balanced on its
 * own and multiplexed over one HTTP/2 session per backend. Bytes are forwarded as they come (pipe()
 * carries the backpressure); the request's first bytes are also kept, up to a bound, so that a
 * request can be replayed on another backend when that is safe:
 *   - it was never sent (the backend refused the connection or the stream), or
 *   - it is idempotent: a gRPC method listed as idempotent, or a plain HTTP/2 GET/HEAD/OPTIONS/PUT/DELETE.
 * An answer that has not reached the client yet (a gRPC trailers-only error, a retryable status)
 * can be replaced by a retry; once response headers are forwarded the stream is committed.
 *
 * In cluster-aware mode a Routing decides per request between the leader and any member, and is
 * told of answers that mean the leader moved.
 */
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../core/errors.js';
import { LB_CLUSTER_LEADER_WAIT_MS, LB_GRPC_PEEK_BYTES_MAX, LB_RETRY_BODY_BYTES_MAX } from '../core/limits.js';
import type { BackendId } from './backend.js';
import { hashKeyOf } from './proxy-http1.js';
import { grpcFrameLength, GRPC_HEADER_BYTES } from './grpc-frame.js';
import type { Outcome } from './outlier-detector.js';
import { grantRetry, type Proxy, type ProxyContext } from './proxy-context.js';

const {
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_CONTENT_TYPE,
  NGHTTP2_CANCEL,
  NGHTTP2_REFUSED_STREAM,
  NGHTTP2_FLAG_END_STREAM,
} = http2.constants;

const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const GRPC_UNAVAILABLE = 14;
const GRPC_RESOURCE_EXHAUSTED = 8;

/** Cluster-aware routing, provided by the load balancer in cluster mode. */
export interface Routing {
  needsMessage(path: string): boolean;
  /** The backend for this request: the leader, or null to let the policy choose. */
  route(path: string, firstMessage: Uint8Array | null): 'leader' | 'any';
  leader(): BackendId | null;
  waitForLeader(exclude: ReadonlySet<BackendId>, timeoutMs: number): Promise<BackendId | null>;
  /** A gRPC answer came back; true when it means the leader moved (a re-poll is started). */
  observe(grpcStatus: number, message: string): boolean;
  /** True when this answer proves the request was not applied (safe to send to the new leader). */
  refusedBeforeProposal(grpcStatus: number, message: string): boolean;
}

function forwardable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k.startsWith(':') || CONNECTION_SPECIFIC.has(k)) continue;
    out[k] = v;
  }
  return out;
}

function grpcError(code: number, message: string): http2.OutgoingHttpHeaders {
  return { [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) };
}

export class Http2Proxy implements Proxy {
  private readonly server: http2.Http2Server;
  private readonly sessions = new Map<BackendId, http2.ClientHttp2Session>();
  private readonly clientSessions = new Set<http2.ServerHttp2Session>();

  constructor(
    private readonly ctx: ProxyContext,
    private readonly routing: Routing | null,
  ) {
    this.server = http2.createServer({ peerMaxConcurrentStreams: 1000 });
    this.server.on('session', (s) => {
      this.clientSessions.add(s);
      s.once('close', () => this.clientSessions.delete(s));
      s.on('error', () => s.destroy());
    });
    this.server.on('stream', (stream, headers) => {
      try {
        this.onStream(stream, headers);
      } catch (e) {
        // A bug must cost one stream, not the process and every other client's streams.
        ctx.logger.error('stream handler failed', { error: errorMessage(e) });
        stream.destroy();
      }
    });
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

  closeBackend(id: BackendId, forced: boolean): void {
    const s = this.sessions.get(id);
    if (s === undefined) return;
    this.sessions.delete(id);
    if (forced) s.destroy();
    else s.close(); // GOAWAY: streams still open finish
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.clientSessions) s.destroy();
      for (const s of this.sessions.values()) s.destroy();
      this.sessions.clear();
    });
  }

  private sessionFor(id: BackendId, host: string, port: number): http2.ClientHttp2Session {
    const existing = this.sessions.get(id);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(`http://${host.includes(':') ? `[${host}]` : host}:${port}`, { peerMaxConcurrentStreams: 1000 });
    const drop = (): void => {
      if (this.sessions.get(id) === s) this.sessions.delete(id);
    };
    const timer = setTimeout(() => s.destroy(new Error(`connect timed out after ${this.ctx.settings().connectTimeoutMs} ms`)), this.ctx.settings().connectTimeoutMs);
    s.once('connect', () => clearTimeout(timer));
    s.on('error', drop);
    s.once('close', () => {
      clearTimeout(timer);
      drop();
    });
    s.on('goaway', drop);
    this.sessions.set(id, s);
    return s;
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const { ctx } = this;
    const startedMs = ctx.clock.nowMs();
    const path = String(headers[HTTP2_HEADER_PATH] ?? '/');
    const method = String(headers[HTTP2_HEADER_METHOD] ?? 'GET');
    const isGrpc = String(headers[HTTP2_HEADER_CONTENT_TYPE] ?? '').startsWith('application/grpc');
    stream.on('error', () => stream.destroy());

    const reject = (code: number, status: number, message: string): void => {
      if (stream.destroyed || stream.headersSent) return;
      if (isGrpc) {
        stream.respond(grpcError(code, message), { endStream: true });
      } else {
        stream.respond({ [HTTP2_HEADER_STATUS]: status, 'content-type': 'text/plain', 'x-bulwark-lb': 'error' });
        stream.end(message + '\n');
      }
    };
    if (!ctx.breakers.tryAcquire('requests')) {
      ctx.metrics.requests.rejected++;
      reject(GRPC_RESOURCE_EXHAUSTED, 503, 'bulwark lb: overloaded: too many requests in flight');
      return;
    }
    ctx.budget.onRequest(startedMs);
    let backendForMetrics: BackendId | null = null;
    let result: 'ok' | 'error' = 'error';
    stream.once('close', () => {
      ctx.breakers.release('requests');
      ctx.metrics.requests[result]++;
      ctx.metrics.observeLatency(backendForMetrics, (ctx.clock.nowMs() - startedMs) / 1000);
    });

    const settings = ctx.settings();
    const idempotent = isGrpc ? settings.retries.idempotentGrpcMethods.includes(path) : IDEMPOTENT_METHODS.has(method);
    const requestHeaders = forwardable(headers);
    const hashKey = hashKeyOf(settings.hashKey, { headers, url: path, remoteAddress: stream.session?.socket?.remoteAddress });

    // The request body as received so far, kept for a replay until it grows past the bound.
    let kept: Buffer[] | null = [];
    let keptBytes = 0;
    let clientEnded = false;
    let upstream: http2.ClientHttp2Stream | null = null;
    stream.on('data', (chunk: Buffer) => {
      if (kept !== null) {
        kept.push(chunk);
        keptBytes += chunk.length;
        if (keptBytes > Math.max(LB_RETRY_BODY_BYTES_MAX, LB_GRPC_PEEK_BYTES_MAX) && upstream !== null) kept = null;
      }
      // Nowhere to send yet (choosing, or waiting for a leader): stop reading past the bound.
      if (upstream === null && keptBytes > LB_GRPC_PEEK_BYTES_MAX) stream.pause();
      if (upstream !== null && !upstream.destroyed && !upstream.write(chunk)) {
        stream.pause();
        upstream.once('drain', () => stream.resume());
      }
    });
    stream.once('end', () => {
      clientEnded = true;
      if (upstream !== null && !upstream.destroyed) upstream.end();
      onBodyProgress();
    });

    const tried = new Set<BackendId>();
    let retries = 0;
    let holdsRetry = false;
    const releaseRetry = (): void => {
      if (holdsRetry) ctx.breakers.release('retries');
      holdsRetry = false;
    };
    stream.once('close', releaseRetry);

    const firstMessage = (): Uint8Array | null => {
      if (kept === null) return null;
      const all = Buffer.concat(kept);
      const len = grpcFrameLength(all);
      if (len === null || all.length < GRPC_HEADER_BYTES + len) return null;
      return all.subarray(GRPC_HEADER_BYTES, GRPC_HEADER_BYTES + len);
    };

    // Cluster-aware mode may need the first message (RangeRequest.serializable) before choosing.
    let started = false;
    const onBodyProgress = (): void => {
      if (started || stream.destroyed) return;
      if (this.routing !== null && this.routing.needsMessage(path) && firstMessage() === null && !clientEnded) {
        if (keptBytes > LB_GRPC_PEEK_BYTES_MAX) reject(GRPC_RESOURCE_EXHAUSTED, 413, 'bulwark lb: request message too large');
        return;
      }
      started = true;
      void attempt();
    };

    const choose = async (): Promise<BackendId | null> => {
      if (this.routing !== null && this.routing.route(path, firstMessage()) === 'leader') {
        const leader = this.routing.leader();
        if (leader !== null && !tried.has(leader)) return leader;
        return this.routing.waitForLeader(tried, LB_CLUSTER_LEADER_WAIT_MS);
      }
      return ctx.balancer.pick({ hashKey, exclude: tried });
    };

    const retryOrFail = (why: { code: number; status: number; message: string }, safe: boolean): void => {
      releaseRetry();
      if (safe && kept !== null && !stream.destroyed && grantRetry(ctx, retries)) {
        retries++;
        holdsRetry = true;
        void attempt();
        return;
      }
      reject(why.code, why.status, why.message);
    };

    const attempt = async (): Promise<void> => {
      const id = await choose();
      if (stream.destroyed) return;
      const spec = id === null ? null : ctx.balancer.spec(id);
      if (id === null || spec === null) {
        releaseRetry();
        reject(GRPC_UNAVAILABLE, 503, this.routing !== null ? 'bulwark lb: no leader known' : tried.size === 0 ? 'bulwark lb: no backend available' : 'bulwark lb: every backend tried failed');
        return;
      }
      if (!ctx.breakers.tryAcquire('pending')) {
        releaseRetry();
        ctx.metrics.requests.rejected++;
        reject(GRPC_RESOURCE_EXHAUSTED, 503, 'bulwark lb: overloaded: too many requests waiting for a backend');
        return;
      }
      if (retries > 0) ctx.balancer.recordRetry(id);
      tried.add(id);
      backendForMetrics = id;
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
        ctx.balancer.release(id);
        ctx.balancer.recordOutcome(id, outcome);
      };

      let up: http2.ClientHttp2Stream;
      try {
        up = this.sessionFor(id, spec.host, spec.port).request({ ...requestHeaders, [HTTP2_HEADER_METHOD]: method, [HTTP2_HEADER_PATH]: path }, { endStream: false });
      } catch (e) {
        settle({ type: 'gateway-failure', reason: errorMessage(e) });
        retryOrFail({ code: GRPC_UNAVAILABLE, status: 502, message: `bulwark lb: ${id}: ${errorMessage(e)}` }, true);
        return;
      }
      upstream = up;
      let sent = false;
      let responded = false;
      up.once('ready', () => {
        sent = true;
        releasePending();
      });
      const onClientClose = (): void => {
        if (!up.destroyed) up.close(NGHTTP2_CANCEL);
      };
      stream.once('close', onClientClose);
      // Replay what the client has sent so far (everything, on a first attempt that waited for a message).
      for (const c of kept ?? []) up.write(c);
      if (clientEnded) up.end();
      stream.resume();

      up.once('response', (h, flags) => {
        responded = true;
        const status = Number(h[HTTP2_HEADER_STATUS] ?? 502);
        const trailersOnly = (flags & NGHTTP2_FLAG_END_STREAM) !== 0;
        if (isGrpc && trailersOnly && h['grpc-status'] !== undefined && h['grpc-status'] !== '0') {
          const code = Number(h['grpc-status']);
          const message = decodeURIComponent(String(h['grpc-message'] ?? ''));
          const leaderMoved = this.routing?.observe(code, message) ?? false;
          const safe = (this.routing?.refusedBeforeProposal(code, message) ?? false) || (idempotent && code === GRPC_UNAVAILABLE);
          settle(code === GRPC_UNAVAILABLE ? { type: 'gateway-failure', reason: message } : { type: 'success' });
          if (safe && (leaderMoved || code === GRPC_UNAVAILABLE) && kept !== null) {
            stream.off('close', onClientClose);
            upstream = null;
            if (this.routing !== null) tried.delete(id); // the member may lead again; waitForLeader excludes the stale answer anyway
            retryOrFail({ code, status: 502, message }, true);
            return;
          }
        }
        if (!isGrpc && (status === 502 || status === 503 || status === 504) && idempotent && settings.retries.onStatus.includes(status) && kept !== null && clientEnded) {
          settle({ type: 'gateway-failure', reason: `status ${status}` });
          up.close(NGHTTP2_CANCEL);
          stream.off('close', onClientClose);
          upstream = null;
          retryOrFail({ code: GRPC_UNAVAILABLE, status, message: `bulwark lb: backend answered ${status}` }, true);
          return;
        }
        releaseRetry();
        if (stream.destroyed) return;
        stream.respond({ ...forwardable(h), [HTTP2_HEADER_STATUS]: status }, { endStream: trailersOnly, waitForTrailers: !trailersOnly });
        if (trailersOnly) {
          result = 'ok';
          settle({ type: 'success' });
          return;
        }
        let trailers: http2.OutgoingHttpHeaders = {};
        up.once('trailers', (t) => {
          trailers = forwardable(t);
          const code = Number(t['grpc-status'] ?? 0);
          if (isGrpc && code !== 0) this.routing?.observe(code, decodeURIComponent(String(t['grpc-message'] ?? '')));
        });
        stream.once('wantTrailers', () => {
          if (!stream.destroyed) stream.sendTrailers(trailers);
        });
        up.pipe(stream);
        up.once('end', () => {
          result = status < 500 ? 'ok' : 'error';
          settle(status >= 500 ? (status >= 502 && status <= 504 ? { type: 'gateway-failure', reason: `status ${status}` } : { type: 'http-5xx', status }) : { type: 'success' });
        });
      });

      up.once('error', (e) => {
        const refused = up.rstCode === NGHTTP2_REFUSED_STREAM;
        settle({ type: 'gateway-failure', reason: errorMessage(e) });
        stream.off('close', onClientClose);
        if (responded) {
          // Committed: the client sees the stream end with an error.
          if (isGrpc && !stream.destroyed && stream.headersSent) {
            up.unpipe(stream);
            stream.once('wantTrailers', () => !stream.destroyed && stream.sendTrailers({ 'grpc-status': String(GRPC_UNAVAILABLE), 'grpc-message': encodeURIComponent('bulwark lb: backend connection lost') }));
            stream.end();
          } else stream.destroy();
          return;
        }
        upstream = null;
        if (this.routing !== null) void this.routing.observe(GRPC_UNAVAILABLE, 'connection failed');
        retryOrFail({ code: GRPC_UNAVAILABLE, status: 502, message: `bulwark lb: ${id}: ${errorMessage(e)}` }, !sent || refused || idempotent);
      });
      up.once('close', () => {
        if (responded || settled) {
          if (!settled) settle({ type: 'success' });
          return;
        }
        // Closed without an answer or an error (reset by the peer).
        const refused = up.rstCode === NGHTTP2_REFUSED_STREAM;
        settle({ type: 'gateway-failure', reason: `stream reset (code ${up.rstCode})` });
        stream.off('close', onClientClose);
        upstream = null;
        if (this.routing !== null) void this.routing.observe(GRPC_UNAVAILABLE, 'stream reset');
        retryOrFail({ code: GRPC_UNAVAILABLE, status: 502, message: `bulwark lb: ${id}: stream reset` }, !sent || refused || idempotent);
      });
    };

    if (this.routing !== null && this.routing.needsMessage(path)) stream.on('data', onBodyProgress);
    else onBodyProgress();
  }
}
