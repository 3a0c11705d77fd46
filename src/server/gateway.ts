/**
 * etcd's JSON gateway on the client port: `POST /v3/kv/range` and the rest (gateway-routes.ts),
 * answered by the very gRPC handlers the member registered, called in-process. The encoding is
 * grpc-gateway's as etcd 3.4 configures it (api/proto/json.ts): proto field names, int64 as
 * strings, base64 bytes, enum names. Errors are etcd 3.4's gateway errors:
 * `{"error": msg, "message": msg, "code": grpcCode}` with grpc-gateway's HTTP status for the code.
 *
 * Streaming calls (watch, lease keep-alive, snapshot, election observe) answer with one
 * `{"result": {...}}` per message, newline-delimited, over a chunked response; a request body may
 * hold several JSON objects one after another. A watch keeps streaming after the request body
 * ends, until the client goes away (as etcd's does); the others end with their requests.
 *
 * Hostile input: bodies are bounded (GATEWAY_BODY_BYTES_MAX) and must arrive within
 * GATEWAY_REQUEST_TIMEOUT_MS; a streaming client that stops reading is cut off once
 * GATEWAY_STREAM_BUFFER_BYTES_MAX is queued for it; at most GATEWAY_STREAMS_MAX streams at once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GrpcError, Metadata, Status, type GrpcServer, type LocalMethod, type ServerWriter, type StatusCode } from '../api/grpc/index.js';
import { JsonMappingError, ProtoJson } from '../api/proto/json.js';
import { DecodeError, errorMessage } from '../core/errors.js';
import { GATEWAY_BODY_BYTES_MAX, GATEWAY_QUEUED_REQUESTS_MAX, GATEWAY_REQUEST_TIMEOUT_MS, GATEWAY_STREAM_BUFFER_BYTES_MAX, GATEWAY_STREAMS_MAX } from '../core/limits.js';
import { gatewayRoute, type GatewayRoute } from './gateway-routes.js';
import type { HttpHandler } from './http-endpoints.js';
import { JsonStreamSplitter } from './json-stream-splitter.js';
import { JsonStreamError } from './errors.js';

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
};

/** grpc-gateway's HTTPStatusFromCode, as the version in etcd 3.4 maps codes (FAILED_PRECONDITION: 412). */
export function httpStatusFromGrpc(code: StatusCode): number {
  switch (code) {
    case Status.OK:
      return 200;
    case Status.CANCELLED:
      return 408;
    case Status.UNKNOWN:
      return 500;
    case Status.INVALID_ARGUMENT:
      return 400;
    case Status.DEADLINE_EXCEEDED:
      return 504;
    case Status.NOT_FOUND:
      return 404;
    case Status.ALREADY_EXISTS:
      return 409;
    case Status.PERMISSION_DENIED:
      return 403;
    case Status.UNAUTHENTICATED:
      return 401;
    case Status.RESOURCE_EXHAUSTED:
      return 429;
    case Status.FAILED_PRECONDITION:
      return 412;
    case Status.ABORTED:
      return 409;
    case Status.OUT_OF_RANGE:
      return 400;
    case Status.UNIMPLEMENTED:
      return 501;
    case Status.INTERNAL:
      return 500;
    case Status.UNAVAILABLE:
      return 503;
    case Status.DATA_LOSS:
      return 500;
    default:
      return 500;
  }
}

const HTTP_STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export interface GatewayOptions {
  readonly grpc: GrpcServer;
  /** The member's request size limit; bodies may be up to base64 of it plus JSON (at least GATEWAY_BODY_BYTES_MAX). */
  readonly maxRequestBytes: number;
  readonly json?: ProtoJson;
}

export function createGateway(o: GatewayOptions): HttpHandler {
  const json = o.json ?? new ProtoJson();
  const bodyBytesMax = Math.max(GATEWAY_BODY_BYTES_MAX, Math.ceil((o.maxRequestBytes * 4) / 3) + 64 * 1024);
  let streams = 0;

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = gatewayRoute(url.pathname);
    if (route === undefined) {
      if (!url.pathname.startsWith('/v3/') && !url.pathname.startsWith('/v3beta/')) return false;
      plain(res, 404, 'Not Found\n');
      return true;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(200, CORS_HEADERS);
      res.end();
      return true;
    }
    if (req.method !== 'POST') {
      plain(res, 405, 'Method Not Allowed\n');
      return true;
    }
    const method = o.grpc.localMethod(route.method.path);
    if (method === undefined) {
      plain(res, 404, 'Not Found\n');
      return true;
    }
    // A body that trickles in (slow loris) or never ends is cut off.
    const timer = setTimeout(() => req.destroy(), GATEWAY_REQUEST_TIMEOUT_MS);
    req.once('end', () => clearTimeout(timer));
    res.once('close', () => clearTimeout(timer));
    if (method.kind === 'unary' || method.kind === 'server-stream') {
      void readBody(req, bodyBytesMax).then(
        (body) => (method.kind === 'unary' ? unary(route, method, body, req, res) : serverStream(route, method, body, req, res)),
        (e: unknown) => writeError(res, new GrpcError(Status.INVALID_ARGUMENT, errorMessage(e))),
      );
    } else {
      if (streams >= GATEWAY_STREAMS_MAX) {
        writeError(res, new GrpcError(Status.RESOURCE_EXHAUSTED, 'bulwark: too many gateway streams'));
        return true;
      }
      streams++;
      res.once('close', () => streams--);
      void bidi(route, method, req, res, () => clearTimeout(timer));
    }
    return true;
  };

  function decodeRequest(route: GatewayRoute, text: string): unknown {
    let parsed: unknown = {};
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new JsonMappingError(goJsonSyntaxError(text));
      }
    }
    const init = json.fromJson(route.request, parsed);
    // Through the binary codec: the handler gets exactly what a gRPC client's request decodes to.
    return route.method.decodeRequest(route.method.encodeRequest(init));
  }

  function toJsonText(route: GatewayRoute, message: unknown): string {
    return JSON.stringify(json.toJson(route.response, route.method.decodeResponse(route.method.encodeResponse(message))));
  }

  async function unary(route: GatewayRoute, method: LocalMethod, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = new GatewayCall(route.method.path, req, res, (m) => toJsonText(route, m));
    try {
      const request = decodeRequest(route, body);
      const response = await method.handler(request, call);
      const text = toJsonText(route, response);
      if (res.destroyed) return;
      res.writeHead(200, { ...CORS_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    } catch (e) {
      writeError(res, statusOf(o.grpc, route, e));
    } finally {
      call.finish();
    }
  }

  async function serverStream(route: GatewayRoute, method: LocalMethod, body: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = new GatewayCall(route.method.path, req, res, (m) => toJsonText(route, m));
    try {
      const request = decodeRequest(route, body);
      await method.handler(request, call);
      call.end();
    } catch (e) {
      call.fail(statusOf(o.grpc, route, e));
    } finally {
      call.finish();
    }
  }

  /** `started`: the first request arrived whole; a body that streams on after it is not cut by the timeout. */
  async function bidi(route: GatewayRoute, method: LocalMethod, req: IncomingMessage, res: ServerResponse, started: () => void): Promise<void> {
    const call = new GatewayCall(route.method.path, req, res, (m) => toJsonText(route, m));
    const requests = new RequestQueue();
    const splitter = new JsonStreamSplitter(bodyBytesMax);
    let bodyError: GrpcError | null = null;
    // A client that sends requests faster than the handler takes them is paused (TCP pushes back).
    requests.onLow = () => req.resume();
    const onData = (chunk: Buffer): void => {
      try {
        for (const text of splitter.push(chunk)) {
          requests.push(decodeRequest(route, text));
          started();
        }
        if (requests.size >= GATEWAY_QUEUED_REQUESTS_MAX) req.pause();
      } catch (e) {
        // The rest of the body is read and dropped; the client gets the error in the response.
        bodyError = statusOf(o.grpc, route, e);
        requests.end();
        call.finish(); // the handler stops (a watch would otherwise go on after its requests end)
        req.off('data', onData);
        req.resume();
      }
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!splitter.atBoundary && bodyError === null) {
        bodyError = new GrpcError(Status.INVALID_ARGUMENT, 'unexpected EOF');
        call.finish();
      }
      if (!route.outlivesRequests || bodyError !== null) requests.end();
    });
    res.once('close', () => requests.end());
    try {
      await method.handler(requests, call);
      if (bodyError !== null) throw bodyError;
      call.end();
    } catch (e) {
      call.fail(bodyError ?? statusOf(o.grpc, route, e));
    } finally {
      call.finish();
      requests.end();
    }
  }
}

function statusOf(grpc: GrpcServer, route: GatewayRoute, e: unknown): GrpcError {
  if (e instanceof JsonMappingError || e instanceof JsonStreamError) return new GrpcError(Status.INVALID_ARGUMENT, e.message);
  if (e instanceof DecodeError) return new GrpcError(Status.INVALID_ARGUMENT, e.message);
  return grpc.toStatus(route.method.path, e);
}

function writeError(res: ServerResponse, e: GrpcError): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ error: e.details, message: e.details, code: e.status });
  res.writeHead(httpStatusFromGrpc(e.status), { ...CORS_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, bytesMax: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    req.on('data', (c: Buffer) => {
      total += c.length;
      if (total > bytesMax) {
        reject(new Error(`etcdserver: request is too large`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.once('error', reject);
    req.once('close', () => reject(new Error('the request was cut off')));
  });
}

/** What encoding/json says about input that is not JSON, roughly (its first bad character). */
function goJsonSyntaxError(text: string): string {
  const t = text.trimStart();
  const c = t[0] ?? '';
  if (c !== '{' && c !== '[' && c !== '"' && !/[-0-9tfn]/.test(c)) return `invalid character '${c}' looking for beginning of value`;
  return 'unexpected end of JSON input';
}

/** The `call` a handler gets from the gateway: streamed messages go out as `{"result": ...}` lines. */
class GatewayCall implements ServerWriter<unknown> {
  private readonly controller = new AbortController();
  private started = false;
  private ended = false;
  readonly metadata: Metadata;
  readonly peer: string;

  constructor(
    readonly path: string,
    req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly encode: (m: unknown) => string,
  ) {
    const fields: string[] = [];
    const auth = req.headers.authorization;
    if (typeof auth === 'string') fields.push('token', auth);
    this.metadata = new Metadata(fields);
    this.peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
    res.once('close', () => {
      if (!this.ended) this.controller.abort(new GrpcError(Status.CANCELLED, 'the HTTP client went away'));
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  remainingMs(): number {
    return Number.POSITIVE_INFINITY;
  }

  sendMetadata(): void {}

  setTrailers(): void {}

  write(message: unknown): Promise<void> {
    if (this.cancelled || this.res.destroyed) return Promise.reject(new GrpcError(Status.CANCELLED, 'the HTTP client went away'));
    this.start(200);
    const ok = this.res.write(`{"result":${this.encode(message)}}\n`);
    if (ok) return Promise.resolve();
    if (this.res.writableLength > GATEWAY_STREAM_BUFFER_BYTES_MAX) {
      // A client that does not read: stop, rather than queue without bound.
      this.res.destroy();
      return Promise.reject(new GrpcError(Status.RESOURCE_EXHAUSTED, 'the HTTP client does not read'));
    }
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.res.off('close', onClose);
        resolve();
      };
      const onClose = (): void => {
        this.res.off('drain', onDrain);
        reject(new GrpcError(Status.CANCELLED, 'the HTTP client went away'));
      };
      this.res.once('drain', onDrain);
      this.res.once('close', onClose);
    });
  }

  private start(status: number): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(status, { ...CORS_HEADERS, 'content-type': 'application/json' });
  }

  /** The stream ended normally. */
  end(): void {
    if (this.res.destroyed) return;
    this.start(200);
    this.ended = true;
    this.res.end();
  }

  /** grpc-gateway's in-stream error chunk (the HTTP status too if nothing was sent yet). */
  fail(e: GrpcError): void {
    if (this.res.destroyed) return;
    const http = httpStatusFromGrpc(e.status);
    this.start(http);
    this.ended = true;
    const chunk = { error: { grpc_code: e.status, http_code: http, message: e.details, http_status: HTTP_STATUS_TEXT[http] ?? '' } };
    this.res.end(`${JSON.stringify(chunk)}\n`);
  }

  /** The handler is done, whatever happened: nothing waits on this call any more. */
  finish(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new GrpcError(Status.CANCELLED, 'the call is over'));
  }
}

/** The request side of a streaming gateway call, as the async iterable a bidi handler reads. */
class RequestQueue implements AsyncIterable<unknown> {
  private readonly items: unknown[] = [];
  private done = false;
  private waiter: (() => void) | null = null;
  /** Called when the queue has been taken from down to empty. */
  onLow: (() => void) | null = null;

  get size(): number {
    return this.items.length;
  }

  push(item: unknown): void {
    if (this.done) return;
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        if (this.items.length === 0) this.onLow?.();
        yield item;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }
}
