/**
 * The gRPC client: a channel to one endpoint (host:port) carrying many concurrent calls on one
 * HTTP/2 connection, reconnecting on demand when the connection is gone.
 *
 *   const ch = new GrpcChannel('127.0.0.1:2379');
 *   const res = await ch.unary('/etcdserverpb.KV/Range', encodeRangeRequest, decodeRangeResponse, req, { deadlineMs: 5000 });
 *   for await (const r of ch.serverStream(path, enc, dec, req)) ...
 *   const bidi = ch.bidi(path, enc, dec); await bidi.write(req); for await (const r of bidi) ...
 *
 * Failures are GrpcErrors: UNAVAILABLE when the connection cannot be made or is lost (the call
 * may or may not have run), DEADLINE_EXCEEDED, CANCELLED (the signal), the server's status
 * otherwise. Calls beyond the server's stream limit wait in a bounded queue.
 */
import { errorMessage } from '../../core/errors.js';
import { GRPC_CLIENT_PENDING_CALLS_MAX, GRPC_CLIENT_RECEIVE_MESSAGE_BYTES_MAX, GRPC_CONNECT_TIMEOUT_MS } from '../../core/limits.js';
import { connectHttp2, type Http2ClientConnection } from '../http2/client.js';
import type { Http2Connection, Http2Stream, StreamReset } from '../http2/connection.js';
import { ErrorCode } from '../http2/constants.js';
import { GrpcError } from './errors.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from './method.js';
import { frameMessage, MESSAGE_PREFIX_BYTES, MessageReader } from './message-framer.js';
import { MessageQueue } from './message-queue.js';
import { decodeGrpcMessage, flattenMetadata, Metadata, type MetadataInit } from './metadata.js';
import type { Decode, Encode } from './server.js';
import { Status, statusFromHttp, type StatusCode } from './status.js';
import { formatGrpcTimeout } from './timeout.js';

export interface CallOptions {
  /** Milliseconds the call may take (sent as grpc-timeout and enforced here too). */
  readonly deadlineMs?: number;
  readonly metadata?: MetadataInit;
  readonly signal?: AbortSignal;
}

export interface ChannelOptions {
  readonly connectTimeoutMs?: number;
  readonly receiveMessageBytesMax?: number;
  /** Sent with every call. */
  readonly metadata?: MetadataInit;
  readonly userAgent?: string;
}

/** A server-streaming call: iterate the responses; `cancel()` ends it early. */
export interface ClientReadable<Res> extends AsyncIterable<Res> {
  cancel(): void;
  /** Response headers, once they arrive. */
  readonly headers: Promise<Metadata>;
}

/** A bidirectional call: write requests, iterate responses. */
export interface ClientDuplex<Req, Res> extends ClientReadable<Res> {
  /** Resolves when the stream can take more (flow control). */
  write(message: Req): Promise<void>;
  /** No more requests. */
  end(): void;
}

/** A client-streaming call: write requests, then `end()` resolves with the response. */
export interface ClientWritable<Req, Res> {
  write(message: Req): Promise<void>;
  end(): Promise<Res>;
  cancel(): void;
}

type CallKind = 'unary' | 'stream';

type Connection = Http2ClientConnection<ClientCall>;

export class GrpcChannel {
  readonly host: string;
  readonly port: number;
  readonly authority: string;
  private readonly connectTimeoutMs: number;
  readonly receiveMessageBytesMax: number;
  private readonly baseHeaders: readonly string[];
  private connection: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private readonly waiting: ClientCall[] = [];
  private closedState = false;

  constructor(target: string, options: ChannelOptions = {}) {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target.replace(/^(?:https?|dns|ipv4|ipv6):\/*/, ''));
    if (m === null) throw new GrpcError(Status.INVALID_ARGUMENT, `target "${target}" is not host:port`);
    this.host = m[1] ?? m[2]!;
    this.port = Number(m[3]);
    this.authority = target.replace(/^(?:https?|dns|ipv4|ipv6):\/*/, '');
    this.connectTimeoutMs = options.connectTimeoutMs ?? GRPC_CONNECT_TIMEOUT_MS;
    this.receiveMessageBytesMax = options.receiveMessageBytesMax ?? GRPC_CLIENT_RECEIVE_MESSAGE_BYTES_MAX;
    const base: string[] = [':method', 'POST', ':scheme', 'http', ':path', '', ':authority', this.authority, 'content-type', 'application/grpc', 'te', 'trailers', 'user-agent', options.userAgent ?? 'bulwark-grpc/0.1'];
    flattenMetadata(options.metadata, base);
    this.baseHeaders = base;
  }

  /** Whether a connection is up now (it is made on the first call). */
  get connected(): boolean {
    return this.connection !== undefined && !this.connection.conn.draining;
  }

  unary<Req, Res>(path: string, encode: Encode<Req>, decode: Decode<Res>, request: Req, options?: CallOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const call = new ClientCall(this, 'unary', path, decode as Decode<unknown>, options);
      call.onUnaryResult = (e, v) => (e === undefined ? resolve(v as Res) : reject(e));
      call.sendFirst = encodeRequest(encode, request);
      if (call.sendFirst instanceof GrpcError) return call.fail(call.sendFirst);
      call.endAfterFirst = true;
      this.start(call);
    });
  }

  serverStream<Req, Res>(path: string, encode: Encode<Req>, decode: Decode<Res>, request: Req, options?: CallOptions): ClientReadable<Res> {
    const call = new ClientCall(this, 'stream', path, decode as Decode<unknown>, options);
    call.sendFirst = encodeRequest(encode, request);
    call.endAfterFirst = true;
    if (call.sendFirst instanceof GrpcError) call.fail(call.sendFirst);
    else this.start(call);
    return call.readable() as ClientReadable<Res>;
  }

  bidi<Req, Res>(path: string, encode: Encode<Req>, decode: Decode<Res>, options?: CallOptions): ClientDuplex<Req, Res> {
    const call = new ClientCall(this, 'stream', path, decode as Decode<unknown>, options);
    this.start(call);
    const readable = call.readable() as ClientReadable<Res>;
    return {
      ...readable,
      [Symbol.asyncIterator]: () => readable[Symbol.asyncIterator](),
      write: (m: Req) => call.write(encode, m),
      end: () => call.endRequests(),
    };
  }

  clientStream<Req, Res>(path: string, encode: Encode<Req>, decode: Decode<Res>, options?: CallOptions): ClientWritable<Req, Res> {
    const call = new ClientCall(this, 'unary', path, decode as Decode<unknown>, options);
    const result = new Promise<Res>((resolve, reject) => {
      call.onUnaryResult = (e, v) => (e === undefined ? resolve(v as Res) : reject(e));
    });
    result.catch(() => {}); // observed through end()
    this.start(call);
    return {
      write: (m: Req) => call.write(encode, m),
      end: () => {
        call.endRequests();
        return result;
      },
      cancel: () => call.cancel(new GrpcError(Status.CANCELLED, 'cancelled by the client')),
    };
  }

  /** A unary call by method descriptor: `ch.call(KVService.Range, { key })`. */
  call<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options?: CallOptions): Promise<ResponseOf<M>> {
    return this.unary(method.path, method.encodeRequest, method.decodeResponse, request, options) as Promise<ResponseOf<M>>;
  }

  /** A server-streaming call by method descriptor. */
  stream<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options?: CallOptions): ClientReadable<ResponseOf<M>> {
    return this.serverStream(method.path, method.encodeRequest, method.decodeResponse, request, options) as ClientReadable<ResponseOf<M>>;
  }

  /** A bidirectional call by method descriptor. */
  duplex<M extends AnyMethod>(method: M, options?: CallOptions): ClientDuplex<RequestInitOf<M>, ResponseOf<M>> {
    return this.bidi(method.path, method.encodeRequest, method.decodeResponse, options) as ClientDuplex<RequestInitOf<M>, ResponseOf<M>>;
  }

  /** Closes the connection; calls in flight fail with UNAVAILABLE (or CANCELLED). */
  close(): void {
    this.closedState = true;
    for (const c of this.waiting.splice(0)) c.fail(new GrpcError(Status.CANCELLED, 'channel closed'));
    this.connection?.destroy();
    this.connection = undefined;
  }

  /** @internal */
  headersFor(path: string, options: CallOptions | undefined): string[] {
    const h = this.baseHeaders.slice();
    h[5] = path;
    if (options !== undefined) {
      if (options.deadlineMs !== undefined) h.push('grpc-timeout', formatGrpcTimeout(options.deadlineMs));
      flattenMetadata(options.metadata, h);
    }
    return h;
  }

  private start(call: ClientCall): void {
    if (this.closedState) return call.fail(new GrpcError(Status.CANCELLED, 'channel closed'));
    const c = this.connection;
    if (c !== undefined && !c.conn.draining) {
      if (this.tryOpen(c.conn, call)) return;
      if (this.waiting.length >= GRPC_CLIENT_PENDING_CALLS_MAX) return call.fail(new GrpcError(Status.RESOURCE_EXHAUSTED, `more than ${GRPC_CLIENT_PENDING_CALLS_MAX} calls waiting for a stream`));
      this.waiting.push(call);
      return;
    }
    if (this.waiting.length >= GRPC_CLIENT_PENDING_CALLS_MAX) return call.fail(new GrpcError(Status.RESOURCE_EXHAUSTED, `more than ${GRPC_CLIENT_PENDING_CALLS_MAX} calls waiting for a connection`));
    this.waiting.push(call);
    this.connect();
  }

  private tryOpen(conn: Http2Connection<ClientCall>, call: ClientCall): boolean {
    if (call.finished) return true;
    let s: Http2Stream<ClientCall> | null;
    try {
      s = conn.openStream(call);
    } catch (e) {
      call.fail(new GrpcError(Status.UNAVAILABLE, errorMessage(e)));
      return true;
    }
    if (s === null) return false;
    call.attach(conn, s);
    return true;
  }

  private connect(): void {
    if (this.connecting !== undefined) return;
    const attempt = connectHttp2<ClientCall>({
      host: this.host,
      port: this.port,
      connectTimeoutMs: this.connectTimeoutMs,
      handler: {
        onHeaders: (s, h, e) => s.ctx?.onHeaders(h, e),
        onData: (s, d, e) => s.ctx?.onData(d, e),
        onReset: (s, r) => s.ctx?.onReset(r),
        onWritable: (s) => s.ctx?.onWritable(),
        onClose: () => {
          if (this.connection === connection) this.connection = undefined;
        },
        onGoaway: () => {
          if (this.connection === connection) this.connection = undefined;
          // Calls that were waiting for a slot here get a new connection.
          if (this.waiting.length > 0) this.connect();
        },
      },
    });
    let connection: Connection | undefined;
    this.connecting = attempt;
    attempt.then(
      (c) => {
        connection = c;
        this.connecting = undefined;
        if (this.closedState) {
          c.destroy();
          return;
        }
        this.connection = c;
        this.drainWaiting();
      },
      (e: unknown) => {
        this.connecting = undefined;
        const err = new GrpcError(Status.UNAVAILABLE, errorMessage(e), [], { cause: e });
        for (const call of this.waiting.splice(0)) call.fail(err);
      },
    );
  }

  /** @internal A call finished: a stream slot may be free for a waiting call. */
  drainWaiting(): void {
    const c = this.connection;
    if (this.waiting.length === 0) return;
    if (c === undefined || c.conn.draining) {
      this.connect();
      return;
    }
    while (this.waiting.length > 0) {
      const call = this.waiting[0]!;
      if (!this.tryOpen(c.conn, call)) return;
      this.waiting.shift();
    }
  }
}

function encodeRequest<Req>(encode: Encode<Req>, request: Req): Buffer | GrpcError {
  try {
    return frameMessage(encode(request));
  } catch (e) {
    return new GrpcError(Status.INTERNAL, `grpc: error marshalling request: ${errorMessage(e)}`);
  }
}

/** One call on the client: the stream's owner. */
class ClientCall {
  private conn: Http2Connection<ClientCall> | undefined;
  private stream: Http2Stream<ClientCall> | undefined;
  private readonly reader: MessageReader;
  private responseHeaders: Metadata | undefined;
  private headersWaiters: ((md: Metadata) => void)[] | undefined;
  private result: unknown = undefined;
  private resultCount = 0;
  private queue: MessageQueue<unknown> | undefined;
  finished = false;
  sendFirst: Buffer | GrpcError | undefined;
  endAfterFirst = false;
  private requestsEnded = false;
  /** Writes made before the stream opened. */
  private early: Buffer[] | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writeWaiter: { resolve(): void; reject(e: unknown): void } | undefined;
  private abortListener: (() => void) | undefined;
  onUnaryResult: ((e: GrpcError | undefined, v?: unknown) => void) | undefined;

  constructor(
    private readonly channel: GrpcChannel,
    kind: CallKind,
    private readonly path: string,
    private readonly decode: Decode<unknown>,
    private readonly options: CallOptions | undefined,
  ) {
    this.reader = new MessageReader(channel.receiveMessageBytesMax);
    if (kind === 'stream') this.queue = new MessageQueue<unknown>((n) => this.consume(n), () => this.cancel(new GrpcError(Status.CANCELLED, 'cancelled by the client')));
    const signal = options?.signal;
    if (signal !== undefined) {
      if (signal.aborted) {
        queueMicrotask(() => this.cancel(new GrpcError(Status.CANCELLED, 'cancelled by the client')));
      } else {
        this.abortListener = () => this.cancel(new GrpcError(Status.CANCELLED, 'cancelled by the client'));
        signal.addEventListener('abort', this.abortListener, { once: true });
      }
    }
    const deadlineMs = options?.deadlineMs;
    if (deadlineMs !== undefined) {
      this.timer = setTimeout(() => this.cancel(new GrpcError(Status.DEADLINE_EXCEEDED, 'deadline exceeded')), Math.max(0, Math.min(deadlineMs, 2 ** 31 - 1)));
    }
  }

  readable(): ClientReadable<unknown> {
    const queue = this.queue!;
    return {
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
      cancel: () => this.cancel(new GrpcError(Status.CANCELLED, 'cancelled by the client')),
      headers: new Promise<Metadata>((resolve) => {
        if (this.responseHeaders !== undefined) resolve(this.responseHeaders);
        else (this.headersWaiters ??= []).push(resolve);
      }),
    };
  }

  attach(conn: Http2Connection<ClientCall>, stream: Http2Stream<ClientCall>): void {
    this.conn = conn;
    this.stream = stream;
    const headers = this.channel.headersFor(this.path, this.options);
    const first = this.sendFirst;
    if (first instanceof Buffer) {
      conn.sendHeaders(stream, headers, false);
      conn.sendData(stream, first, this.endAfterFirst);
      this.sendFirst = undefined;
      if (this.endAfterFirst) this.requestsEnded = true;
      return;
    }
    conn.sendHeaders(stream, headers, false);
    if (this.early !== undefined) {
      for (const b of this.early) conn.sendData(stream, b, false);
      this.early = undefined;
    }
    if (this.requestsEnded) conn.end(stream);
  }

  write<Req>(encode: Encode<Req>, message: Req): Promise<void> {
    if (this.finished) return Promise.reject(new GrpcError(Status.CANCELLED, 'the call is over'));
    if (this.requestsEnded) return Promise.reject(new GrpcError(Status.INTERNAL, 'write after end'));
    const framed = encodeRequest(encode, message);
    if (framed instanceof GrpcError) return Promise.reject(framed);
    const conn = this.conn;
    const stream = this.stream;
    if (conn === undefined || stream === undefined) {
      (this.early ??= []).push(framed);
      return Promise.resolve();
    }
    if (conn.sendData(stream, framed, false)) return Promise.resolve();
    if (this.finished) return Promise.reject(new GrpcError(Status.CANCELLED, 'the call is over'));
    stream.wantsWritable = true;
    return new Promise((resolve, reject) => {
      this.writeWaiter = { resolve, reject };
    });
  }

  endRequests(): void {
    if (this.requestsEnded || this.finished) return;
    this.requestsEnded = true;
    if (this.conn !== undefined && this.stream !== undefined) this.conn.end(this.stream);
  }

  onWritable(): void {
    const w = this.writeWaiter;
    this.writeWaiter = undefined;
    w?.resolve();
  }

  private consume(n: number): void {
    if (this.conn !== undefined && this.stream !== undefined) this.conn.consume(this.stream, n);
  }

  onHeaders(headers: string[], endStream: boolean): void {
    if (this.finished) return;
    if (this.responseHeaders === undefined) {
      const md = new Metadata(headers);
      this.responseHeaders = md;
      const st = md.get(':status');
      if (st !== '200') {
        const http = Number(st);
        this.finish(new GrpcError(statusFromHttp(http), `unexpected HTTP status ${st ?? '(none)'}${md.get('grpc-message') !== undefined ? `: ${decodeGrpcMessage(md.get('grpc-message')!)}` : ''}`));
        return;
      }
      const ct = md.get('content-type');
      if (ct === undefined || !ct.startsWith('application/grpc')) {
        this.finish(new GrpcError(Status.UNKNOWN, `unexpected content-type ${ct ?? '(none)'}`));
        return;
      }
      if (this.headersWaiters !== undefined) for (const w of this.headersWaiters.splice(0)) w(md);
      if (!endStream) return;
    }
    if (!endStream) return;
    // Trailers (or a trailers-only response): the status.
    const t = new Metadata(headers);
    const status = t.get('grpc-status');
    if (status === undefined) {
      this.finish(new GrpcError(Status.UNKNOWN, 'response ended without grpc-status'));
      return;
    }
    const code = Number(status) as StatusCode;
    if (code === Status.OK) {
      if (this.reader.partial) this.finish(new GrpcError(Status.INTERNAL, 'response ended in the middle of a message'));
      else this.finish(undefined);
      return;
    }
    const message = decodeGrpcMessage(t.get('grpc-message') ?? '');
    this.finish(new GrpcError(code, message, headers));
  }

  onData(data: Uint8Array, _endStream: boolean): void {
    if (this.finished) return;
    try {
      this.reader.push(data, (msg) => {
        let decoded: unknown;
        try {
          decoded = this.decode(msg);
        } catch (e) {
          throw new GrpcError(Status.INTERNAL, `grpc: error unmarshalling response: ${errorMessage(e)}`);
        }
        if (this.queue !== undefined) {
          this.queue.push(decoded, msg.length + MESSAGE_PREFIX_BYTES);
        } else if (++this.resultCount > 1) {
          throw new GrpcError(Status.INTERNAL, 'more than one response message for a unary call');
        } else {
          this.result = decoded;
        }
      });
    } catch (e) {
      this.consume(data.length);
      this.cancel(e instanceof GrpcError ? e : new GrpcError(Status.INTERNAL, errorMessage(e)));
      return;
    }
    if (this.queue !== undefined) this.queue.received(data.length);
    else this.consume(data.length);
  }

  onReset(reset: StreamReset): void {
    if (this.finished) return;
    switch (reset.type) {
      case 'peer-reset':
        this.finish(
          reset.errorCode === ErrorCode.CANCEL
            ? new GrpcError(Status.CANCELLED, 'stream cancelled by the server')
            : reset.errorCode === ErrorCode.REFUSED_STREAM
              ? new GrpcError(Status.UNAVAILABLE, 'stream refused by the server')
              : reset.errorCode === ErrorCode.NO_ERROR && this.responseHeaders !== undefined
                ? new GrpcError(Status.INTERNAL, 'stream reset before trailers')
                : new GrpcError(Status.INTERNAL, `stream reset by the server (code ${reset.errorCode})`),
        );
        return;
      case 'local-reset':
        this.finish(new GrpcError(Status.INTERNAL, reset.reason));
        return;
      case 'refused':
        this.finish(new GrpcError(Status.UNAVAILABLE, reset.reason));
        return;
      case 'connection-closed':
        this.finish(new GrpcError(Status.UNAVAILABLE, reset.reason));
        return;
    }
  }

  /** Ends the call from our side: RST_STREAM(CANCEL) and the given status. */
  cancel(error: GrpcError): void {
    if (this.finished) return;
    if (this.conn !== undefined && this.stream !== undefined) this.conn.resetStream(this.stream, ErrorCode.CANCEL, error.details);
    this.finish(error);
  }

  fail(error: GrpcError): void {
    this.finish(error);
  }

  private finish(error: GrpcError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.abortListener !== undefined) this.options?.signal?.removeEventListener('abort', this.abortListener);
    // The stream may still be open (an early error); make sure it is released.
    if (this.conn !== undefined && this.stream !== undefined && !this.stream.reset && !(this.stream.localClosed && this.stream.remoteClosed)) {
      this.conn.resetStream(this.stream, ErrorCode.CANCEL, 'call finished');
    }
    const w = this.writeWaiter;
    this.writeWaiter = undefined;
    if (this.queue !== undefined) {
      if (error === undefined) this.queue.end();
      else this.queue.fail(error, false);
      if (error !== undefined) w?.reject(error);
      else w?.resolve();
    } else {
      w?.reject(error ?? new GrpcError(Status.CANCELLED, 'the call is over'));
      const cb = this.onUnaryResult;
      this.onUnaryResult = undefined;
      if (error !== undefined) cb?.(error);
      else if (this.resultCount !== 1) cb?.(new GrpcError(Status.INTERNAL, `expected one response message, got ${this.resultCount}`));
      else cb?.(undefined, this.result);
    }
    if (this.headersWaiters !== undefined) for (const hw of this.headersWaiters.splice(0)) hw(new Metadata([]));
    if (this.conn !== undefined) this.channel.drainWaiting();
  }
}
