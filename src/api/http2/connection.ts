/**
 * One HTTP/2 connection, client or server side, as a synchronous state machine (RFC 9113): bytes
 * in through `receive`, frames out into a buffer the socket adapter takes with `takeOutput`. It
 * owns stream states, SETTINGS, PING, flow control in both directions, RST_STREAM, GOAWAY and
 * CONTINUATION; it calls its handler for header blocks, data and resets.
 *
 * Errors by the peer never throw out of `receive`: a stream error resets that stream, a
 * connection error sends GOAWAY with the RFC's code and closes. Every buffer is bounded (see the
 * H2_* limits): the peer's flow-control windows bound what we queue to send, our windows bound
 * what it can make us hold, and the adapter stops reading when the socket's output backs up.
 */
import { assert } from '../../core/assert.js';
import {
  H2_CONCURRENT_STREAMS_MAX,
  H2_CONNECTION_WINDOW_BYTES,
  H2_FRAME_BYTES_MAX,
  H2_HEADER_BLOCK_BYTES_MAX,
  H2_HEADER_LIST_BYTES_MAX,
  H2_HPACK_TABLE_BYTES,
  H2_IDLE_FRAMES_MAX,
  H2_RESET_STREAMS_EXCESS_MAX,
  H2_STREAM_SEND_BUFFER_BYTES_MAX,
  H2_STREAM_WINDOW_BYTES,
} from '../../core/limits.js';
import { ByteSink } from './byte-sink.js';
import {
  CONNECTION_PREFACE,
  DEFAULT_HEADER_TABLE_SIZE,
  DEFAULT_INITIAL_WINDOW_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  errorCodeName,
  FRAME_SIZE_LIMIT,
  SettingId,
  STREAM_ID_LIMIT,
  WINDOW_SIZE_LIMIT,
} from './constants.js';
import { Http2ClosedError, Http2ConnectionError, Http2StreamError } from './errors.js';
import { decodeFrame, writeData, writeGoaway, writeHeaderBlock, writePing, writeRstStream, writeSettings, writeSettingsAck, writeWindowUpdate, type Frame } from './frame.js';
import { FrameParser } from './frame-parser.js';
import { HpackDecoder } from './hpack-decoder.js';
import { HpackEncoder } from './hpack-encoder.js';
import { HpackError } from './hpack-error.js';

export type Role = 'client' | 'server';

/** How a stream ended other than by both sides finishing it. */
export type StreamReset =
  | { readonly type: 'peer-reset'; readonly errorCode: number }
  | { readonly type: 'local-reset'; readonly errorCode: number; readonly reason: string }
  | { readonly type: 'refused'; readonly reason: string }
  | { readonly type: 'connection-closed'; readonly reason: string };

export interface ConnectionHandler<T> {
  /** A complete header block: request headers (server), response headers or trailers (client). */
  onHeaders(stream: Http2Stream<T>, headers: string[], endStream: boolean): void;
  /** Payload of a DATA frame; `consume(stream, n)` returns its window once it is taken. */
  onData(stream: Http2Stream<T>, data: Uint8Array, endStream: boolean): void;
  /** The stream was reset or lost with the connection; no further callbacks for it. */
  onReset(stream: Http2Stream<T>, reset: StreamReset): void;
  /** Queued data fell below the high-water mark, or the socket drained. */
  onWritable(stream: Http2Stream<T>): void;
  /** The peer sent GOAWAY: streams above `lastStreamId` were refused (onReset already called). */
  onGoaway?(lastStreamId: number, errorCode: number, debug: string): void;
  /** The connection is closed: after a connection error, a completed graceful shutdown, or close(). */
  onClose(error: Error | undefined): void;
  /** Output is waiting; the adapter should arrange a flush (once per tick is enough). */
  onOutput(): void;
  /** A PING we sent was acknowledged. */
  onPingAck?(data: Uint8Array): void;
}

export interface ConnectionOptions {
  readonly role: Role;
  readonly streamWindowBytes?: number;
  readonly connectionWindowBytes?: number;
  readonly concurrentStreamsMax?: number;
  readonly headerListBytesMax?: number;
}

export class Http2Stream<T> {
  /** Owner's state (the gRPC call). */
  ctx: T | undefined = undefined;
  /** We have sent END_STREAM (or reset). */
  localClosed = false;
  /** We have queued END_STREAM; it goes once queued data has been sent. */
  localEnding = false;
  /** The peer has sent END_STREAM (or reset). */
  remoteClosed = false;
  reset = false;
  sendWindow: number;
  /** What the peer may still send us on this stream. */
  recvWindow: number;
  /** Bytes taken by the owner and not yet returned to the peer in a WINDOW_UPDATE. */
  recvConsumedBytes = 0;
  readonly queue: Uint8Array[] = [];
  queueHeadOffset = 0;
  queuedBytes = 0;
  pendingTrailers: string[] | null = null;
  /** The owner wants onWritable when there is room again. */
  wantsWritable = false;
  /** The request or response headers have been received (the next block is trailers). */
  headersReceived = false;

  constructor(
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }
}

const SHUTDOWN_PING = Uint8Array.of(0x62, 0x75, 0x6c, 0x77, 0x61, 0x72, 0x6b, 0x21); // "bulwark!"

export class Http2Connection<T> {
  readonly role: Role;
  private readonly handler: ConnectionHandler<T>;
  private readonly parser: FrameParser;
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder(H2_HPACK_TABLE_BYTES);
  private out = new ByteSink();
  private readonly scratch = new ByteSink(1024);
  private outputScheduled = false;
  private readonly streams = new Map<number, Http2Stream<T>>();
  /** Streams with queued data, waiting for window or socket. */
  private readonly pending = new Set<Http2Stream<T>>();

  // Our settings.
  private readonly streamWindowBytes: number;
  private readonly connectionWindowBytes: number;
  private readonly concurrentStreamsMax: number;

  // The peer's settings.
  private peerInitialWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  private peerFrameBytesMax = DEFAULT_MAX_FRAME_SIZE;
  private peerConcurrentStreamsMax = Number.POSITIVE_INFINITY;
  private peerSettingsReceived = false;

  private connSendWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  private connRecvWindow = DEFAULT_INITIAL_WINDOW_SIZE;
  private connRecvConsumedBytes = 0;

  /** Client: the id of the next stream we open. */
  private nextStreamId: number;
  /** The highest stream id the peer has opened. */
  private lastPeerStreamId = 0;
  /** Stream id and continuation state of a header block in progress. */
  private continuationStreamId = 0;
  private continuationParts: Uint8Array[] = [];
  private continuationBytes = 0;
  private continuationEndStream = false;

  private idleFrames = 0;
  private resetBudget = H2_RESET_STREAMS_EXCESS_MAX;
  private outputBlocked = false;

  /** GOAWAY state: we sent one (and the last stream we will process), the peer sent one. */
  private goawaySent = false;
  private goawayLastStreamId = STREAM_ID_LIMIT;
  private shutdownPingSent = false;
  private peerGoaway = false;
  private closedState = false;

  constructor(options: ConnectionOptions, handler: ConnectionHandler<T>) {
    this.role = options.role;
    this.handler = handler;
    this.streamWindowBytes = options.streamWindowBytes ?? H2_STREAM_WINDOW_BYTES;
    this.connectionWindowBytes = options.connectionWindowBytes ?? H2_CONNECTION_WINDOW_BYTES;
    this.concurrentStreamsMax = options.concurrentStreamsMax ?? H2_CONCURRENT_STREAMS_MAX;
    const headerListBytesMax = options.headerListBytesMax ?? H2_HEADER_LIST_BYTES_MAX;
    assert(this.streamWindowBytes >= DEFAULT_INITIAL_WINDOW_SIZE && this.streamWindowBytes <= WINDOW_SIZE_LIMIT, 'stream window');
    assert(this.connectionWindowBytes >= DEFAULT_INITIAL_WINDOW_SIZE && this.connectionWindowBytes <= WINDOW_SIZE_LIMIT, 'connection window');
    this.parser = new FrameParser({ frameBytesMax: H2_FRAME_BYTES_MAX, expectPreface: this.role === 'server' });
    this.decoder = new HpackDecoder({ tableBytesMax: H2_HPACK_TABLE_BYTES, headerListBytesMax });
    this.nextStreamId = this.role === 'client' ? 1 : 2;

    if (this.role === 'client') this.out.bytes(CONNECTION_PREFACE);
    const settings: [number, number][] = [
      [SettingId.INITIAL_WINDOW_SIZE, this.streamWindowBytes],
      [SettingId.MAX_HEADER_LIST_SIZE, headerListBytesMax],
    ];
    if (this.role === 'client') settings.push([SettingId.ENABLE_PUSH, 0]);
    else settings.push([SettingId.MAX_CONCURRENT_STREAMS, this.concurrentStreamsMax]);
    if (H2_HPACK_TABLE_BYTES !== DEFAULT_HEADER_TABLE_SIZE) settings.push([SettingId.HEADER_TABLE_SIZE, H2_HPACK_TABLE_BYTES]);
    writeSettings(this.out, settings);
    if (this.connectionWindowBytes > DEFAULT_INITIAL_WINDOW_SIZE) {
      writeWindowUpdate(this.out, 0, this.connectionWindowBytes - DEFAULT_INITIAL_WINDOW_SIZE);
      this.connRecvWindow = this.connectionWindowBytes;
    }
  }

  // -------------------------------------------------------------------------------------------
  // State for the owner.

  get closed(): boolean {
    return this.closedState;
  }

  /** No new streams can be opened here (we or the peer sent GOAWAY, or the connection closed). */
  get draining(): boolean {
    return this.closedState || this.peerGoaway || this.goawaySent;
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** Client: whether the peer's concurrency limit leaves room for another stream now. */
  get canOpenStream(): boolean {
    return !this.draining && this.streams.size < this.peerConcurrentStreamsMax && this.nextStreamId <= STREAM_ID_LIMIT;
  }

  get hasOutput(): boolean {
    return this.out.lengthBytes > 0;
  }

  /** The bytes to write to the socket now, or null. */
  takeOutput(): Buffer | null {
    this.outputScheduled = false;
    if (this.out.lengthBytes === 0) return null;
    const size = this.out.buf.length;
    return this.out.take(Math.min(size, 64 * 1024));
  }

  /** The adapter reports socket backpressure: while blocked, queued DATA stays queued. */
  setOutputBlocked(blocked: boolean): void {
    if (this.outputBlocked === blocked) return;
    this.outputBlocked = blocked;
    if (!blocked) {
      this.flushPending();
      for (const s of this.streams.values()) this.maybeWritable(s);
    }
  }

  isWritable(stream: Http2Stream<T>): boolean {
    return !this.outputBlocked && stream.queuedBytes < H2_STREAM_SEND_BUFFER_BYTES_MAX && !stream.localClosed && !stream.reset;
  }

  // -------------------------------------------------------------------------------------------
  // Input.

  /** Feeds bytes from the socket. Never throws for anything the peer sends. */
  receive(chunk: Uint8Array): void {
    if (this.closedState) return;
    try {
      this.parser.push(chunk, this.onRawFrame);
    } catch (e) {
      this.onError(e);
    }
    this.returnConnectionWindow();
  }

  private readonly onRawFrame = (type: number, flags: number, streamId: number, payload: Uint8Array): void => {
    if (this.closedState) return;
    let frame: Frame;
    try {
      frame = decodeFrame(type, flags, streamId, payload);
    } catch (e) {
      if (e instanceof Http2StreamError) {
        this.streamError(e);
        return;
      }
      throw e;
    }
    try {
      this.onFrame(frame);
    } catch (e) {
      if (e instanceof Http2StreamError) this.streamError(e);
      else throw e;
    }
  };

  private onError(e: unknown): void {
    if (e instanceof Http2ConnectionError) this.fail(e.h2Code, e.message);
    else if (e instanceof HpackError) this.fail(ErrorCode.COMPRESSION_ERROR, e.message);
    else throw e;
  }

  private onFrame(f: Frame): void {
    if (this.continuationStreamId !== 0 && f.type !== 'continuation') {
      throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `${f.type} frame inside a header block`);
    }
    switch (f.type) {
      case 'data':
        return this.onDataFrame(f.streamId, f.data, f.flowBytes, f.endStream);
      case 'headers':
        if (f.endHeaders) return this.onHeaderBlock(f.streamId, f.block, f.endStream);
        this.continuationStreamId = f.streamId;
        this.continuationParts = [f.block];
        this.continuationBytes = f.block.length;
        this.continuationEndStream = f.endStream;
        return;
      case 'continuation': {
        if (f.streamId !== this.continuationStreamId) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block in progress');
        this.continuationBytes += f.block.length;
        if (this.continuationBytes > H2_HEADER_BLOCK_BYTES_MAX) throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block over ${H2_HEADER_BLOCK_BYTES_MAX} bytes`);
        if (f.block.length === 0 && !f.endHeaders) this.idle();
        this.continuationParts.push(f.block);
        if (!f.endHeaders) return;
        const block = Buffer.concat(this.continuationParts);
        const id = this.continuationStreamId;
        this.continuationStreamId = 0;
        this.continuationParts = [];
        return this.onHeaderBlock(id, block, this.continuationEndStream);
      }
      case 'priority':
        return this.idle();
      case 'rst-stream':
        return this.onRstStream(f.streamId, f.errorCode);
      case 'settings':
        return this.onSettings(f.ack, f.settings);
      case 'push-promise':
        throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE is disabled');
      case 'ping':
        this.idle();
        if (f.ack) {
          if (this.shutdownPingSent && Buffer.compare(f.data, SHUTDOWN_PING) === 0) this.finalGoaway();
          else this.handler.onPingAck?.(f.data);
        } else {
          writePing(this.out, f.data, true);
          this.outputReady();
        }
        return;
      case 'goaway':
        return this.onGoawayFrame(f.lastStreamId, f.errorCode, Buffer.from(f.debugData).toString('utf8'));
      case 'window-update':
        return this.onWindowUpdate(f.streamId, f.increment);
      case 'unknown':
        return this.idle();
      default:
        throw new Error(`unhandled frame ${(f as Frame).type}`);
    }
  }

  /** Counts a frame that did no work; a peer sending only such frames is flooding us. */
  private idle(): void {
    if (++this.idleFrames > H2_IDLE_FRAMES_MAX) throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many frames without progress');
  }

  private isPeerInitiated(id: number): boolean {
    return this.role === 'server' ? id % 2 === 1 : id % 2 === 0;
  }

  /** A stream id we have never seen from the peer (or, for our own ids, never opened). */
  private isIdle(id: number): boolean {
    return this.isPeerInitiated(id) ? id > this.lastPeerStreamId : id >= this.nextStreamId;
  }

  private onDataFrame(id: number, data: Uint8Array, flowBytes: number, endStream: boolean): void {
    if (flowBytes > this.connRecvWindow) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `DATA of ${flowBytes} bytes beyond the connection window ${this.connRecvWindow}`);
    this.connRecvWindow -= flowBytes;
    this.connRecvConsumedBytes += flowBytes;
    if (flowBytes === 0 && !endStream) this.idle();
    else this.idleFrames = 0;
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return; // a stream we closed or reset: its data is late, not wrong
    }
    if (s.remoteClosed) throw new Http2StreamError(id, ErrorCode.STREAM_CLOSED, 'DATA after END_STREAM');
    if (!s.headersReceived) throw new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, 'DATA before HEADERS');
    if (flowBytes > s.recvWindow) throw new Http2StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, `DATA of ${flowBytes} bytes beyond the stream window ${s.recvWindow}`);
    s.recvWindow -= flowBytes;
    // Padding is never handed to the owner, so its window comes back at once.
    if (flowBytes > data.length) s.recvConsumedBytes += flowBytes - data.length;
    if (endStream) s.remoteClosed = true;
    this.handler.onData(s, data, endStream);
    if (endStream) this.maybeRemove(s);
  }

  private onHeaderBlock(id: number, block: Uint8Array, endStream: boolean): void {
    this.idleFrames = 0;
    // Decode first, always: the HPACK state must follow the peer even for a stream we refuse.
    const decoded = this.decoder.decode(block);
    let s = this.streams.get(id);
    if (s === undefined) {
      if (!this.isPeerInitiated(id)) {
        if (this.isIdle(id)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${id}`);
        return; // response to a stream we reset
      }
      if (this.role === 'client') throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'server-initiated stream');
      if (id <= this.lastPeerStreamId) return; // trailers of a stream we reset
      this.lastPeerStreamId = id;
      if (this.goawaySent && id > this.goawayLastStreamId) {
        this.refuse(id);
        return;
      }
      if (this.streams.size >= this.concurrentStreamsMax) {
        this.refuse(id);
        return;
      }
      if (decoded.oversized) throw new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, `header list of ${decoded.listBytes} bytes is too large`);
      s = new Http2Stream<T>(id, this.peerInitialWindow, this.streamWindowBytes);
      this.streams.set(id, s);
    } else {
      if (s.remoteClosed) throw new Http2StreamError(id, ErrorCode.STREAM_CLOSED, 'HEADERS after END_STREAM');
      if (decoded.oversized) throw new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, `header list of ${decoded.listBytes} bytes is too large`);
      if (s.headersReceived && !endStream && this.role === 'server') throw new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, 'trailers without END_STREAM');
    }
    s.headersReceived = true;
    if (endStream) s.remoteClosed = true;
    this.handler.onHeaders(s, decoded.headers, endStream);
    if (endStream) this.maybeRemove(s);
  }

  /** REFUSED_STREAM tells the client the stream was not processed and may be retried. */
  private refuse(id: number): void {
    writeRstStream(this.out, id, ErrorCode.REFUSED_STREAM);
    this.outputReady();
  }

  private onRstStream(id: number, errorCode: number): void {
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return this.idle();
    }
    if (this.isPeerInitiated(id) && !s.localClosed && --this.resetBudget < 0) {
      throw new Http2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'too many streams reset by the peer');
    }
    this.dropStream(s, { type: 'peer-reset', errorCode });
  }

  private onSettings(ack: boolean, settings: readonly (readonly [number, number])[]): void {
    this.idle();
    if (ack) return;
    for (const [id, value] of settings) {
      switch (id) {
        case SettingId.HEADER_TABLE_SIZE:
          this.encoder.setPeerTableSize(value);
          break;
        case SettingId.ENABLE_PUSH:
          if (value > 1 || (this.role === 'client' && value !== 0)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `ENABLE_PUSH ${value}`);
          break;
        case SettingId.MAX_CONCURRENT_STREAMS:
          this.peerConcurrentStreamsMax = value;
          break;
        case SettingId.INITIAL_WINDOW_SIZE: {
          if (value > WINDOW_SIZE_LIMIT) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value}`);
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > WINDOW_SIZE_LIMIT) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window overflow after SETTINGS');
          }
          break;
        }
        case SettingId.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > FRAME_SIZE_LIMIT) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value}`);
          this.peerFrameBytesMax = value;
          break;
        default:
          break; // MAX_HEADER_LIST_SIZE is advisory; unknown settings are ignored (§6.5.2)
      }
    }
    this.peerSettingsReceived = true;
    writeSettingsAck(this.out);
    this.outputReady();
    this.flushPending();
  }

  private onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      if (increment === 0) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.connSendWindow += increment;
      if (this.connSendWindow > WINDOW_SIZE_LIMIT) throw new Http2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflow');
      this.flushPending();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) {
      if (this.isIdle(id)) throw new Http2ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return this.idle();
    }
    if (increment === 0) throw new Http2StreamError(id, ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
    s.sendWindow += increment;
    if (s.sendWindow > WINDOW_SIZE_LIMIT) throw new Http2StreamError(id, ErrorCode.FLOW_CONTROL_ERROR, 'stream window overflow');
    this.flushStream(s);
  }

  private onGoawayFrame(lastStreamId: number, errorCode: number, debug: string): void {
    this.idle();
    this.peerGoaway = true;
    // Our streams above lastStreamId were not processed: they may be retried elsewhere.
    for (const s of [...this.streams.values()]) {
      if (!this.isPeerInitiated(s.id) && s.id > lastStreamId) {
        this.dropStream(s, { type: 'refused', reason: `GOAWAY ${errorCodeName(errorCode)} ${debug}`.trim() });
      }
    }
    this.handler.onGoaway?.(lastStreamId, errorCode, debug);
    if (errorCode !== ErrorCode.NO_ERROR) this.close(new Http2ClosedError(`peer sent GOAWAY ${errorCodeName(errorCode)}${debug ? `: ${debug}` : ''}`));
    else this.maybeFinished();
  }

  private streamError(e: Http2StreamError): void {
    const s = this.streams.get(e.streamId);
    writeRstStream(this.out, e.streamId, e.h2Code);
    this.outputReady();
    if (s !== undefined) {
      s.localClosed = true;
      this.dropStream(s, { type: 'local-reset', errorCode: e.h2Code, reason: e.message });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Output: streams.

  /** Client: opens a stream. Returns null when the peer's concurrency limit is reached. */
  openStream(ctx: T): Http2Stream<T> | null {
    assert(this.role === 'client', 'only clients open streams');
    if (this.closedState || this.peerGoaway || this.goawaySent) throw new Http2ClosedError('connection is closed or going away');
    if (this.nextStreamId > STREAM_ID_LIMIT) throw new Http2ClosedError('stream ids exhausted');
    if (this.streams.size >= this.peerConcurrentStreamsMax) return null;
    const s = new Http2Stream<T>(this.nextStreamId, this.peerInitialWindow, this.streamWindowBytes);
    this.nextStreamId += 2;
    s.ctx = ctx;
    this.streams.set(s.id, s);
    return s;
  }

  /** Sends a header block; with `endStream`, it closes our side (trailers, or a trailers-only response). */
  sendHeaders(s: Http2Stream<T>, headers: readonly string[], endStream: boolean): void {
    if (s.reset || s.localClosed || this.closedState) return;
    assert(!s.localEnding, 'headers after the stream was ended');
    if (endStream && s.queuedBytes > 0) {
      s.pendingTrailers = [...headers];
      s.localEnding = true;
      return;
    }
    this.scratch.reset();
    this.encoder.encode(headers, this.scratch);
    writeHeaderBlock(this.out, s.id, this.scratch.buf.subarray(0, this.scratch.pos), endStream, this.peerFrameBytesMax);
    this.outputReady();
    if (endStream) {
      s.localEnding = true;
      s.localClosed = true;
      this.maybeRemove(s);
    }
  }

  /**
   * Queues `data` (the caller must not change it afterwards) and sends what the windows allow.
   * Returns whether the stream can take more now (see isWritable / onWritable).
   */
  sendData(s: Http2Stream<T>, data: Uint8Array, endStream: boolean): boolean {
    if (s.reset || s.localClosed || this.closedState) return false;
    assert(!s.localEnding, 'data after the stream was ended');
    if (data.length > 0) {
      s.queue.push(data);
      s.queuedBytes += data.length;
    }
    if (endStream) s.localEnding = true;
    this.flushStream(s);
    return this.isWritable(s);
  }

  /** Sends trailers after any queued data and closes our side. */
  sendTrailers(s: Http2Stream<T>, trailers: readonly string[]): void {
    this.sendHeaders(s, trailers, true);
  }

  /** Ends our side with an empty DATA frame after queued data. */
  end(s: Http2Stream<T>): void {
    if (s.localEnding || s.localClosed || s.reset) return;
    this.sendData(s, new Uint8Array(0), true);
  }

  resetStream(s: Http2Stream<T>, errorCode: number, reason = 'reset by us'): void {
    if (s.reset || this.closedState) return;
    if (!(s.localClosed && s.remoteClosed)) {
      writeRstStream(this.out, s.id, errorCode);
      this.outputReady();
    }
    s.localClosed = true;
    this.dropStream(s, { type: 'local-reset', errorCode, reason }, false);
  }

  /** The owner has taken `n` bytes of the stream's data: return them to the peer's window. */
  consume(s: Http2Stream<T>, n: number): void {
    if (n <= 0) return;
    s.recvConsumedBytes += n;
    if (s.remoteClosed || s.reset) return;
    if (s.recvConsumedBytes >= this.streamWindowBytes / 4 || s.recvWindow < this.streamWindowBytes / 2) {
      writeWindowUpdate(this.out, s.id, s.recvConsumedBytes);
      s.recvWindow += s.recvConsumedBytes;
      s.recvConsumedBytes = 0;
      this.outputReady();
    }
  }

  private returnConnectionWindow(): void {
    if (this.closedState || this.connRecvConsumedBytes < this.connectionWindowBytes / 4) return;
    writeWindowUpdate(this.out, 0, this.connRecvConsumedBytes);
    this.connRecvWindow += this.connRecvConsumedBytes;
    this.connRecvConsumedBytes = 0;
    this.outputReady();
  }

  private flushStream(s: Http2Stream<T>): void {
    if (this.outputBlocked && s.queuedBytes > 0) {
      this.pending.add(s);
      return;
    }
    const wasWritable = s.queuedBytes < H2_STREAM_SEND_BUFFER_BYTES_MAX;
    let wrote = false;
    while (s.queue.length > 0) {
      const chunk = s.queue[0]!;
      const remaining = chunk.length - s.queueHeadOffset;
      const n = Math.min(remaining, s.sendWindow, this.connSendWindow, this.peerFrameBytesMax);
      if (n <= 0) {
        this.pending.add(s);
        if (wrote) this.outputReady();
        if (!wasWritable) this.maybeWritable(s);
        return;
      }
      wrote = true;
      const last = n === remaining && s.queue.length === 1 && s.localEnding && s.pendingTrailers === null;
      writeData(this.out, s.id, chunk.subarray(s.queueHeadOffset, s.queueHeadOffset + n), last);
      s.sendWindow -= n;
      this.connSendWindow -= n;
      s.queuedBytes -= n;
      if (n === remaining) {
        s.queue.shift();
        s.queueHeadOffset = 0;
      } else {
        s.queueHeadOffset += n;
      }
      if (last) s.localClosed = true;
    }
    this.pending.delete(s);
    this.outputReady();
    if (s.localEnding && !s.localClosed) {
      if (s.pendingTrailers !== null) {
        const t = s.pendingTrailers;
        s.pendingTrailers = null;
        s.localEnding = false;
        this.sendHeaders(s, t, true);
        return;
      }
      writeData(this.out, s.id, new Uint8Array(0), true);
      s.localClosed = true;
    }
    if (s.localClosed) this.maybeRemove(s);
    else if (!wasWritable || s.wantsWritable) this.maybeWritable(s);
  }

  private flushPending(): void {
    if (this.pending.size === 0 || this.connSendWindow <= 0) return;
    for (const s of [...this.pending]) {
      if (this.connSendWindow <= 0 || this.outputBlocked) break;
      this.flushStream(s);
    }
  }

  private maybeWritable(s: Http2Stream<T>): void {
    if (s.wantsWritable && this.isWritable(s)) {
      s.wantsWritable = false;
      this.handler.onWritable(s);
    }
  }

  private maybeRemove(s: Http2Stream<T>): void {
    if (s.reset) return;
    if (s.localClosed && !s.remoteClosed && this.role === 'server') {
      // The response is complete while the request is still coming: tell the client to stop
      // sending (RFC 9113 §8.1); the stream ends here without an error to the owner.
      writeRstStream(this.out, s.id, ErrorCode.NO_ERROR);
      this.outputReady();
      this.dropStream(s, { type: 'local-reset', errorCode: ErrorCode.NO_ERROR, reason: 'response complete' }, false);
      if (this.isPeerInitiated(s.id) && this.resetBudget < H2_RESET_STREAMS_EXCESS_MAX) this.resetBudget++;
      return;
    }
    if (!(s.localClosed && s.remoteClosed)) return;
    if (this.streams.get(s.id) !== s) return;
    this.streams.delete(s.id);
    this.pending.delete(s);
    if (this.isPeerInitiated(s.id) && this.resetBudget < H2_RESET_STREAMS_EXCESS_MAX) this.resetBudget++;
    this.maybeFinished();
  }

  private dropStream(s: Http2Stream<T>, reset: StreamReset, notify = true): void {
    if (s.reset) return;
    s.reset = true;
    s.localClosed = true;
    s.remoteClosed = true;
    s.queue.length = 0;
    s.queuedBytes = 0;
    s.pendingTrailers = null;
    this.streams.delete(s.id);
    this.pending.delete(s);
    if (notify) this.handler.onReset(s, reset);
    this.maybeFinished();
  }

  // -------------------------------------------------------------------------------------------
  // Output: the connection.

  ping(data: Uint8Array): void {
    if (this.closedState) return;
    writePing(this.out, data, false);
    this.outputReady();
  }

  /**
   * Graceful shutdown (RFC 9113 §6.8): GOAWAY with the largest id, so the client stops opening
   * streams, then after a PING round trip GOAWAY with the last stream we will serve. In-flight
   * streams finish; the connection closes when the last one does.
   */
  shutdown(): void {
    if (this.closedState || this.goawaySent) return;
    this.goawaySent = true;
    if (this.role === 'server') {
      writeGoaway(this.out, STREAM_ID_LIMIT, ErrorCode.NO_ERROR, 'shutting down');
      writePing(this.out, SHUTDOWN_PING, false);
      this.shutdownPingSent = true;
    } else {
      writeGoaway(this.out, this.lastPeerStreamId, ErrorCode.NO_ERROR, 'client closing');
      this.goawayLastStreamId = this.lastPeerStreamId;
    }
    this.outputReady();
    this.maybeFinished();
  }

  private finalGoaway(): void {
    this.shutdownPingSent = false;
    this.goawayLastStreamId = this.lastPeerStreamId;
    writeGoaway(this.out, this.lastPeerStreamId, ErrorCode.NO_ERROR, 'shutting down');
    this.outputReady();
    this.maybeFinished();
  }

  private maybeFinished(): void {
    if (this.closedState || this.streams.size > 0) return;
    const weAreDone = this.goawaySent && !this.shutdownPingSent;
    if (weAreDone || this.peerGoaway) this.close(undefined);
  }

  /** A connection error: GOAWAY with `code`, then close. */
  fail(code: number, message: string): void {
    if (this.closedState) return;
    writeGoaway(this.out, this.lastPeerStreamId, code, message);
    this.outputReady();
    this.close(new Http2ConnectionError(code, message));
  }

  /** Closes now: every open stream is reset with 'connection-closed'. Output written so far stays. */
  close(error: Error | undefined): void {
    if (this.closedState) return;
    this.closedState = true;
    const reason = error === undefined ? 'connection closed' : error.message;
    for (const s of [...this.streams.values()]) this.dropStream(s, { type: 'connection-closed', reason });
    this.handler.onClose(error);
  }

  /** The socket ended or failed under us. */
  socketClosed(error: Error | undefined): void {
    this.close(error ?? new Http2ClosedError('connection closed by the peer'));
  }

  get peerSettingsSeen(): boolean {
    return this.peerSettingsReceived;
  }

  private outputReady(): void {
    if (this.outputScheduled) return;
    this.outputScheduled = true;
    this.handler.onOutput();
  }
}
