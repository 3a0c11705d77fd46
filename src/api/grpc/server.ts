/**
 * The gRPC server: handlers registered by full method path on our HTTP/2 server.
 *
 *   server.unary('/etcdserverpb.KV/Range', decodeRangeRequest, encodeRangeResponse, async (req, call) => res);
 *   server.serverStream(path, decode, encode, async (req, call) => { await call.write(msg); });
 *   server.clientStream(path, decode, encode, async (requests, call) => res);
 *   server.bidi(path, decode, encode, async (requests, call) => { for await (const r of requests) await call.write(x); });
 *
 * A handler that throws a GrpcError sets the status; anything else goes through `mapError`
 * (the API layer's table from Bulwark errors to etcd's codes and messages) and otherwise becomes
 * UNKNOWN. Deadlines (grpc-timeout) and client resets abort `call.signal`. Request messages are
 * limited to `receiveMessageBytesMax` (RESOURCE_EXHAUSTED beyond). Bytes fields of decoded
 * requests may be views into the request buffer; that buffer is never reused.
 */
import type { Socket } from 'node:net';
import { assert } from '../../core/assert.js';
import { errorMessage } from '../../core/errors.js';
import { GRPC_SERVER_RECEIVE_MESSAGE_BYTES_MAX } from '../../core/limits.js';
import type { Http2Connection, Http2Stream, StreamReset } from '../http2/connection.js';
import { ErrorCode } from '../http2/constants.js';
import { Http2Server, type StreamHandler } from '../http2/server.js';
import { GrpcError } from './errors.js';
import type { AnyMethod, RequestOf, ResponseInitOf } from './method.js';
import { frameMessage, MESSAGE_PREFIX_BYTES, MessageReader } from './message-framer.js';
import { MessageQueue } from './message-queue.js';
import { encodeGrpcMessage, flattenMetadata, Metadata, type MetadataInit } from './metadata.js';
import { Status, type StatusCode } from './status.js';
import { parseGrpcTimeout } from './timeout.js';

export type Decode<T> = (bytes: Uint8Array) => T;
export type Encode<T> = (message: T) => Uint8Array;

export type UnaryHandler<Req, Res> = (request: Req, call: ServerCall) => Promise<Res> | Res;
export type ServerStreamHandler<Req, Res> = (request: Req, call: ServerWriter<Res>) => Promise<void>;
export type ClientStreamHandler<Req, Res> = (requests: AsyncIterable<Req>, call: ServerCall) => Promise<Res>;
export type BidiHandler<Req, Res> = (requests: AsyncIterable<Req>, call: ServerWriter<Res>) => Promise<void>;

type Kind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** A method as `localMethod` returns it (the handler takes a request or an async iterable of them). */
export type LocalMethod = MethodEntry;

interface MethodEntry {
  readonly kind: Kind;
  readonly decode: Decode<unknown>;
  readonly encode: Encode<unknown>;
  readonly handler: (arg: unknown, call: ServerWriter<unknown>) => unknown;
}

/** What a handler sees of its call. */
export interface ServerCall {
  readonly path: string;
  /** Request headers (metadata). */
  readonly metadata: Metadata;
  /** Aborted when the client cancels, the deadline passes, or the connection is lost. */
  readonly signal: AbortSignal;
  readonly cancelled: boolean;
  /** Milliseconds left before the deadline, or Infinity. */
  remainingMs(): number;
  /** The peer's address, "host:port". */
  readonly peer: string;
  /** Response headers; sent with the first message (or trailers) unless sent earlier. */
  sendMetadata(md: MetadataInit): void;
  /** Adds trailing metadata. */
  setTrailers(md: MetadataInit): void;
}

export interface ServerWriter<Res> extends ServerCall {
  /** Sends a message; resolves when the stream can take more (flow control). Rejects with CANCELLED if the call is gone. */
  write(message: Res): Promise<void>;
}

export interface GrpcServerOptions {
  readonly receiveMessageBytesMax?: number;
  /** Maps a non-GrpcError thrown by a handler to its status (etcd's error table). */
  readonly mapError?: (e: unknown) => GrpcError | undefined;
  /** Observes handler failures that were not GrpcErrors (for logs). */
  readonly onHandlerError?: (path: string, e: unknown) => void;
}

const RESPONSE_HEADERS: readonly string[] = [':status', '200', 'content-type', 'application/grpc'];
const OK_TRAILERS: readonly string[] = ['grpc-status', '0'];
const RESOLVED: Promise<void> = Promise.resolve();

export class GrpcServer {
  private readonly methods = new Map<string, MethodEntry>();
  readonly http2: Http2Server<CallState>;
  readonly receiveMessageBytesMax: number;

  constructor(readonly options: GrpcServerOptions = {}) {
    this.receiveMessageBytesMax = options.receiveMessageBytesMax ?? GRPC_SERVER_RECEIVE_MESSAGE_BYTES_MAX;
    this.http2 = new Http2Server<CallState>({ onConnection: (conn, socket) => this.connectionHandler(conn, socket) });
  }

  unary<Req, Res>(path: string, decode: Decode<Req>, encode: Encode<Res>, handler: UnaryHandler<Req, Res>): this {
    return this.add(path, 'unary', decode, encode as Encode<unknown>, handler as MethodEntry['handler']);
  }

  serverStream<Req, Res>(path: string, decode: Decode<Req>, encode: Encode<Res>, handler: ServerStreamHandler<Req, Res>): this {
    return this.add(path, 'server-stream', decode, encode as Encode<unknown>, handler as MethodEntry['handler']);
  }

  clientStream<Req, Res>(path: string, decode: Decode<Req>, encode: Encode<Res>, handler: ClientStreamHandler<Req, Res>): this {
    return this.add(path, 'client-stream', decode, encode as Encode<unknown>, handler as MethodEntry['handler']);
  }

  bidi<Req, Res>(path: string, decode: Decode<Req>, encode: Encode<Res>, handler: BidiHandler<Req, Res>): this {
    return this.add(path, 'bidi', decode, encode as Encode<unknown>, handler as MethodEntry['handler']);
  }

  /** Registers a handler for a generated method descriptor (KVService.Range, ...), by its kind. */
  handle<M extends AnyMethod>(
    method: M,
    handler: M['requestStream'] extends true
      ? M['responseStream'] extends true
        ? BidiHandler<RequestOf<M>, ResponseInitOf<M>>
        : ClientStreamHandler<RequestOf<M>, ResponseInitOf<M>>
      : M['responseStream'] extends true
        ? ServerStreamHandler<RequestOf<M>, ResponseInitOf<M>>
        : UnaryHandler<RequestOf<M>, ResponseInitOf<M>>,
  ): this {
    const kind: Kind = method.requestStream ? (method.responseStream ? 'bidi' : 'client-stream') : method.responseStream ? 'server-stream' : 'unary';
    return this.add(method.path, kind, method.decodeRequest, method.encodeResponse, handler as MethodEntry['handler']);
  }

  private add(path: string, kind: Kind, decode: Decode<unknown>, encode: Encode<unknown>, handler: MethodEntry['handler']): this {
    assert(/^\/[^/]+\/[^/]+$/.test(path), `method path "${path}" must look like /package.Service/Method`);
    assert(!this.methods.has(path), `method ${path} registered twice`);
    this.methods.set(path, { kind, decode, encode, handler });
    return this;
  }

  hasMethod(path: string): boolean {
    return this.methods.has(path);
  }

  /**
   * A registered method for an in-process call (the JSON gateway calls the same handlers): its
   * kind, codecs and handler. The caller provides the `call` object and maps errors with `toStatus`.
   */
  localMethod(path: string): LocalMethod | undefined {
    return this.methods.get(path);
  }

  /** Serves a socket that starts with the HTTP/2 preface (from listen() or the shared listener). */
  handleSocket(socket: Socket): void {
    this.http2.handleSocket(socket);
  }

  listen(port: number, host = '127.0.0.1'): Promise<number> {
    return this.http2.listen(port, host);
  }

  /** Graceful: GOAWAY, in-flight calls finish (at most `graceMs`), then connections close. */
  close(graceMs?: number): Promise<void> {
    return this.http2.close(graceMs);
  }

  private connectionHandler(conn: Http2Connection<CallState>, socket: Socket): StreamHandler<CallState> {
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    return {
      onHeaders: (s, headers, endStream) => {
        if (s.ctx === undefined) this.startCall(conn, s, headers, endStream, peer);
        else s.ctx.onTrailers();
      },
      onData: (s, data, endStream) => s.ctx?.onData(data, endStream),
      onReset: (s, reset) => s.ctx?.onReset(reset),
      onWritable: (s) => s.ctx?.onWritable(),
    };
  }

  private startCall(conn: Http2Connection<CallState>, s: Http2Stream<CallState>, headers: string[], endStream: boolean, peer: string): void {
    let method = '';
    let path = '';
    let contentType = '';
    let timeout: string | undefined;
    let encoding: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      switch (headers[i]) {
        case ':method':
          method = headers[i + 1]!;
          break;
        case ':path':
          path = headers[i + 1]!;
          break;
        case 'content-type':
          contentType = headers[i + 1]!;
          break;
        case 'grpc-timeout':
          timeout = headers[i + 1];
          break;
        case 'grpc-encoding':
          encoding = headers[i + 1];
          break;
      }
    }
    const call = new CallState(this, conn, s, path, new Metadata(headers), peer);
    s.ctx = call;
    if (method !== 'POST' || !contentType.startsWith('application/grpc')) {
      // Not gRPC at all: answer in HTTP terms (grpc/doc/PROTOCOL-HTTP2.md).
      conn.sendHeaders(s, [':status', method !== 'POST' ? '405' : '415', 'content-type', 'text/plain'], true);
      return;
    }
    if (encoding !== undefined && encoding !== 'identity') {
      call.finish(new GrpcError(Status.UNIMPLEMENTED, `grpc-encoding ${encoding} is not supported`));
      return;
    }
    const entry = this.methods.get(path);
    if (entry === undefined) {
      call.finish(new GrpcError(Status.UNIMPLEMENTED, `unknown method ${path}`));
      return;
    }
    if (timeout !== undefined) {
      const ms = parseGrpcTimeout(timeout);
      if (ms !== undefined) call.setDeadline(ms);
    }
    call.begin(entry, endStream);
  }

  /** The status an error thrown by a handler reaches the client with (also for in-process calls). */
  toStatus(path: string, e: unknown): GrpcError {
    if (e instanceof GrpcError) return e;
    const mapped = this.options.mapError?.(e);
    if (mapped !== undefined) return mapped;
    this.options.onHandlerError?.(path, e);
    return new GrpcError(Status.UNKNOWN, errorMessage(e));
  }
}

/** One call on the server: the stream's owner, and the handler's `call`. */
class CallState implements ServerWriter<unknown> {
  private entry: MethodEntry | undefined;
  private reader: MessageReader;
  private request: unknown = undefined;
  private requestCount = 0;
  private queue: MessageQueue<unknown> | undefined;
  private headersSent = false;
  private done = false;
  private controller: AbortController | undefined;
  private cancelReason: GrpcError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deadlineAtMs = Number.POSITIVE_INFINITY;
  private extraHeaders: string[] | undefined;
  private trailers: string[] | undefined;
  private writeWaiter: { resolve(): void; reject(e: unknown): void } | undefined;

  constructor(
    private readonly server: GrpcServer,
    private readonly conn: Http2Connection<CallState>,
    private readonly stream: Http2Stream<CallState>,
    readonly path: string,
    readonly metadata: Metadata,
    readonly peer: string,
  ) {
    this.reader = new MessageReader(server.receiveMessageBytesMax);
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.cancelReason !== undefined) this.controller.abort(this.cancelReason);
    }
    return this.controller.signal;
  }

  get cancelled(): boolean {
    return this.cancelReason !== undefined;
  }

  remainingMs(): number {
    return this.deadlineAtMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.max(0, this.deadlineAtMs - Date.now());
  }

  setDeadline(ms: number): void {
    this.deadlineAtMs = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cancel(new GrpcError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), true);
    }, Math.min(ms, 2 ** 31 - 1));
  }

  begin(entry: MethodEntry, endStream: boolean): void {
    this.entry = entry;
    if (entry.kind === 'client-stream' || entry.kind === 'bidi') {
      this.queue = new MessageQueue<unknown>((n) => this.conn.consume(this.stream, n));
      if (endStream) this.queue.end();
      this.run(entry.handler(this.queue, this));
    } else if (endStream) {
      this.finish(new GrpcError(Status.INTERNAL, 'grpc: the request has no message'));
    }
  }

  onData(data: Uint8Array, endStream: boolean): void {
    if (this.done || this.entry === undefined) return;
    try {
      this.reader.push(data, (msg) => {
        const entry = this.entry!;
        const decoded = this.decode(entry, msg);
        if (this.queue !== undefined) {
          this.queue.push(decoded, msg.length + MESSAGE_PREFIX_BYTES);
        } else if (++this.requestCount > 1) {
          throw new GrpcError(Status.INTERNAL, 'grpc: more than one request message for a unary-request method');
        } else {
          this.request = decoded;
        }
      });
    } catch (e) {
      this.conn.consume(this.stream, data.length);
      this.finish(e instanceof GrpcError ? e : new GrpcError(Status.INTERNAL, errorMessage(e)));
      return;
    }
    if (this.queue !== undefined) this.queue.received(data.length);
    else this.conn.consume(this.stream, data.length);
    if (endStream) this.onRequestEnd();
  }

  private decode(entry: MethodEntry, msg: Uint8Array): unknown {
    try {
      return entry.decode(msg);
    } catch (e) {
      throw new GrpcError(Status.INTERNAL, `grpc: error unmarshalling request: ${errorMessage(e)}`);
    }
  }

  /** A second header block from the client: trailers, which end the request. */
  onTrailers(): void {
    if (this.done) return;
    this.onRequestEnd();
  }

  private onRequestEnd(): void {
    if (this.done) return;
    if (this.reader.partial) {
      this.finish(new GrpcError(Status.INTERNAL, 'grpc: request ended in the middle of a message'));
      return;
    }
    const entry = this.entry;
    if (entry === undefined) return;
    if (this.queue !== undefined) {
      this.queue.end();
      return;
    }
    if (this.requestCount !== 1) {
      this.finish(new GrpcError(Status.INTERNAL, 'grpc: the request has no message'));
      return;
    }
    const req = this.request;
    this.request = undefined;
    try {
      this.run(entry.handler(req, this));
    } catch (e) {
      this.finish(this.server.toStatus(this.path, e));
    }
  }

  private run(result: unknown): void {
    const entry = this.entry!;
    if (entry.kind === 'unary' || entry.kind === 'client-stream') {
      if (result instanceof Promise) {
        result.then(
          (res) => this.respond(res),
          (e) => this.finish(this.server.toStatus(this.path, e)),
        );
      } else {
        this.respond(result);
      }
    } else {
      (result as Promise<void>).then(
        () => this.finish(undefined),
        (e) => this.finish(this.server.toStatus(this.path, e)),
      );
    }
  }

  private respond(res: unknown): void {
    if (this.done) return;
    let framed: Buffer;
    try {
      framed = frameMessage(this.entry!.encode(res));
    } catch (e) {
      this.finish(new GrpcError(Status.INTERNAL, `grpc: error marshalling response: ${errorMessage(e)}`));
      return;
    }
    this.sendResponseHeaders();
    this.conn.sendData(this.stream, framed, false);
    this.finish(undefined);
  }

  private sendResponseHeaders(): void {
    if (this.headersSent) return;
    this.headersSent = true;
    this.conn.sendHeaders(this.stream, this.extraHeaders === undefined ? RESPONSE_HEADERS : [...RESPONSE_HEADERS, ...this.extraHeaders], false);
  }

  sendMetadata(md: MetadataInit): void {
    if (this.headersSent || this.done) return;
    const extra: string[] = [];
    flattenMetadata(md, extra);
    this.extraHeaders = extra;
    this.sendResponseHeaders();
  }

  setTrailers(md: MetadataInit): void {
    this.trailers ??= [];
    flattenMetadata(md, this.trailers);
  }

  write(message: unknown): Promise<void> {
    if (this.done) return Promise.reject(this.cancelReason ?? new GrpcError(Status.CANCELLED, 'the call is over'));
    const framed = frameMessage(this.entry!.encode(message));
    this.sendResponseHeaders();
    if (this.conn.sendData(this.stream, framed, false)) return RESOLVED;
    if (this.done) return Promise.reject(this.cancelReason ?? new GrpcError(Status.CANCELLED, 'the call is over'));
    this.stream.wantsWritable = true;
    return new Promise((resolve, reject) => {
      this.writeWaiter = { resolve, reject };
    });
  }

  onWritable(): void {
    const w = this.writeWaiter;
    if (w === undefined) return;
    this.writeWaiter = undefined;
    w.resolve();
  }

  /** Ends the call with a status (undefined = OK). */
  finish(error: GrpcError | undefined): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    let trailers: readonly string[];
    if (error === undefined) {
      trailers = this.trailers === undefined ? OK_TRAILERS : [...OK_TRAILERS, ...this.trailers];
    } else {
      const t = ['grpc-status', String(error.status), 'grpc-message', encodeGrpcMessage(error.details)];
      for (const x of error.metadata) t.push(x);
      if (this.trailers !== undefined) t.push(...this.trailers);
      trailers = t;
    }
    if (this.headersSent) {
      this.conn.sendTrailers(this.stream, trailers);
    } else {
      // Trailers-only response: status in the one and only header block.
      this.headersSent = true;
      const extra = this.extraHeaders ?? [];
      this.conn.sendHeaders(this.stream, [...RESPONSE_HEADERS, ...extra, ...trailers], true);
    }
    // Most calls have nothing left to settle: build the error (and its stack) only when needed.
    if (this.queue !== undefined || this.writeWaiter !== undefined) this.settle(error ?? new GrpcError(Status.CANCELLED, 'the call is over'));
  }

  /** The call ends without a normal response: reset by the client, deadline, lost connection. */
  private cancel(reason: GrpcError, sendStatus: boolean): void {
    if (this.cancelReason === undefined) {
      this.cancelReason = reason;
      this.controller?.abort(reason);
    }
    if (sendStatus) {
      this.finish(reason);
    } else {
      this.done = true;
      this.clearTimer();
      this.settle(reason);
    }
  }

  /** Wakes whatever the handler waits on: the request iterator and a blocked write. */
  private settle(reason: GrpcError): void {
    this.queue?.fail(reason, true);
    const w = this.writeWaiter;
    if (w !== undefined) {
      this.writeWaiter = undefined;
      w.reject(this.cancelReason ?? reason);
    }
  }

  onReset(reset: StreamReset): void {
    const code: StatusCode = reset.type === 'peer-reset' && reset.errorCode !== ErrorCode.CANCEL && reset.errorCode !== ErrorCode.NO_ERROR ? Status.INTERNAL : Status.CANCELLED;
    const what = reset.type === 'connection-closed' ? `connection lost: ${reset.reason}` : 'cancelled by the client';
    this.cancel(new GrpcError(code, what), false);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }
}
