/**
 * The connection state machine, in memory: a client and a server connection wired together (or a
 * server fed hand-made frames), no sockets, no timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteSink } from './byte-sink.js';
import { CONNECTION_PREFACE, ErrorCode, FrameType } from './constants.js';
import { Http2Connection, type ConnectionHandler, type Http2Stream, type StreamReset } from './connection.js';
import { decodeFrame, writeData, writeFrameHeader, writeHeaderBlock, writePing, writeRstStream, writeSettings, writeWindowUpdate, type Frame } from './frame.js';
import { FrameParser } from './frame-parser.js';
import { HpackEncoder } from './hpack-encoder.js';

interface Events {
  headers: [number, string[], boolean][];
  data: Map<number, Buffer[]>;
  ended: Set<number>;
  resets: [number, StreamReset][];
  closed: (Error | undefined)[];
  goaways: number[];
}

function handler(events: Events, extra: Partial<ConnectionHandler<unknown>> = {}): ConnectionHandler<unknown> {
  return {
    onHeaders: (s, h, e) => {
      events.headers.push([s.id, h, e]);
      if (e) events.ended.add(s.id);
    },
    onData: (s, d, e) => {
      const list = events.data.get(s.id) ?? [];
      list.push(Buffer.from(d));
      events.data.set(s.id, list);
      if (e) events.ended.add(s.id);
    },
    onReset: (s, r) => events.resets.push([s.id, r]),
    onWritable: () => {},
    onClose: (e) => events.closed.push(e),
    onOutput: () => {},
    onGoaway: (last) => events.goaways.push(last),
    ...extra,
  };
}

const newEvents = (): Events => ({ headers: [], data: new Map(), ended: new Set(), resets: [], closed: [], goaways: [] });

function pair(serverOpts: { concurrentStreamsMax?: number } = {}) {
  const ce = newEvents();
  const se = newEvents();
  const client = new Http2Connection<unknown>({ role: 'client' }, handler(ce));
  const server = new Http2Connection<unknown>({ role: 'server', ...serverOpts }, handler(se));
  /** Moves bytes both ways until quiet. */
  const pump = (): void => {
    for (let i = 0; i < 10_000; i++) {
      const a = client.takeOutput();
      const b = server.takeOutput();
      if (a === null && b === null) return;
      if (a !== null) server.receive(a);
      if (b !== null) client.receive(b);
    }
    throw new Error('pump did not settle');
  };
  return { client, server, ce, se, pump };
}

const REQ = [':method', 'POST', ':scheme', 'http', ':path', '/t.S/M', ':authority', 'x', 'content-type', 'application/grpc', 'te', 'trailers'];
const RES = [':status', '200', 'content-type', 'application/grpc'];

test('many concurrent streams carry their own data both ways', () => {
  const { client, server, se, ce, pump } = pair();
  pump();
  const streams: Http2Stream<unknown>[] = [];
  for (let i = 0; i < 500; i++) {
    const s = client.openStream(i)!;
    client.sendHeaders(s, REQ, false);
    client.sendData(s, Buffer.from(`request ${i}`), true);
    streams.push(s);
  }
  pump();
  assert.equal(se.ended.size, 500);
  // Answer each stream from the server side, in reverse order.
  const serverStreams = new Map<number, Http2Stream<unknown>>();
  server['streams'].forEach((s: Http2Stream<unknown>, id: number) => serverStreams.set(id, s));
  for (const s of [...serverStreams.values()].reverse()) {
    server.sendHeaders(s, RES, false);
    server.sendData(s, Buffer.from(`response to ${Buffer.concat(se.data.get(s.id)!).toString()}`), false);
    server.sendTrailers(s, ['grpc-status', '0']);
  }
  pump();
  for (let i = 0; i < 500; i++) {
    const id = streams[i]!.id;
    assert.equal(Buffer.concat(ce.data.get(id)!).toString(), `response to request ${i}`);
    assert.ok(ce.ended.has(id));
  }
  assert.equal(client.activeStreams, 0);
  assert.equal(server.activeStreams, 0);
});

test('flow control: 5 MB each way with a receiver that consumes late', () => {
  const { client, server, se, ce, pump } = pair();
  pump();
  const big = Buffer.alloc(5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  const s = client.openStream(0)!;
  client.sendHeaders(s, REQ, false);
  client.sendData(s, big, true);
  pump();
  const ss = server['streams'].get(s.id) as Http2Stream<unknown>;
  const receivedBeforeConsume = Buffer.concat(se.data.get(s.id)!).length;
  // Nothing consumed yet: the sender stopped at the stream window (1 MiB).
  assert.equal(receivedBeforeConsume, 1024 * 1024);
  let consumed = 0;
  for (let round = 0; round < 100 && !se.ended.has(s.id); round++) {
    const received = Buffer.concat(se.data.get(s.id)!).length;
    server.consume(ss, received - consumed);
    consumed = received;
    pump();
  }
  assert.ok(se.ended.has(s.id));
  assert.ok(Buffer.concat(se.data.get(s.id)!).equals(big));
  server.sendHeaders(ss, RES, false);
  server.sendData(ss, big, false);
  server.sendTrailers(ss, ['grpc-status', '0']);
  pump();
  const cs = s;
  for (let round = 0; round < 100 && !ce.ended.has(s.id); round++) {
    client.consume(cs, 256 * 1024);
    pump();
  }
  assert.ok(ce.ended.has(s.id));
  assert.ok(Buffer.concat(ce.data.get(s.id)!).equals(big));
  assert.equal(client.closed || server.closed, false);
});

test('PING is acknowledged with the same payload', () => {
  const { client, server, pump } = pair();
  pump();
  const acks: Buffer[] = [];
  client['handler'].onPingAck = (d: Uint8Array) => acks.push(Buffer.from(d));
  client.ping(Buffer.from('12345678'));
  pump();
  assert.deepEqual(acks.map(String), ['12345678']);
  assert.equal(server.closed, false);
});

test('the peer stream limit: the client waits, the server refuses streams beyond it', () => {
  const { client, server, se, pump } = pair({ concurrentStreamsMax: 2 });
  pump();
  const a = client.openStream(1)!;
  const b = client.openStream(2)!;
  assert.equal(client.openStream(3), null, 'the client respects MAX_CONCURRENT_STREAMS');
  client.sendHeaders(a, REQ, false);
  client.sendHeaders(b, REQ, false);
  pump();
  assert.equal(server.activeStreams, 2);
  // A raw third stream, bypassing the client's check, is refused.
  const raw = rawServer({ concurrentStreamsMax: 1 });
  raw.headers(1, REQ, false);
  raw.headers(3, REQ, false);
  const rst = raw.frames().find((f) => f.type === 'rst-stream');
  assert.deepEqual(rst, { type: 'rst-stream', streamId: 3, errorCode: ErrorCode.REFUSED_STREAM });
  void se;
});

test('graceful GOAWAY: in-flight streams finish, new ones are refused, then the connection closes', () => {
  const { client, server, ce, se, pump } = pair();
  pump();
  const s = client.openStream(0)!;
  client.sendHeaders(s, REQ, false);
  client.sendData(s, Buffer.from('x'), true);
  pump();
  server.shutdown();
  pump();
  assert.equal(ce.goaways.length >= 1, true);
  assert.throws(() => client.openStream(9));
  assert.equal(server.closed, false, 'open stream keeps the connection');
  const ss = server['streams'].get(s.id) as Http2Stream<unknown>;
  server.sendHeaders(ss, RES, false);
  server.sendData(ss, Buffer.from('done'), false);
  server.sendTrailers(ss, ['grpc-status', '0']);
  pump();
  assert.equal(Buffer.concat(ce.data.get(s.id)!).toString(), 'done');
  assert.ok(ce.ended.has(s.id));
  assert.equal(server.closed, true);
  assert.equal(client.closed, true);
  assert.deepEqual(se.closed, [undefined]);
});

/** A server connection fed hand-made client frames; its output is parsed back into frames. */
function rawServer(opts: { concurrentStreamsMax?: number } = {}) {
  const events = newEvents();
  const server = new Http2Connection<unknown>({ role: 'server', ...opts }, handler(events));
  const encoder = new HpackEncoder();
  const out = new ByteSink();
  out.bytes(CONNECTION_PREFACE);
  writeSettings(out, []);
  server.receive(out.take());
  const parser = new FrameParser({ frameBytesMax: 1 << 20, expectPreface: false });
  const seen: Frame[] = [];
  const frames = (): Frame[] => {
    const b = server.takeOutput();
    if (b !== null) parser.push(b, (t, f, s, p) => seen.push(decodeFrame(t, f, s, p)));
    return seen;
  };
  return {
    server,
    events,
    frames,
    send(write: (o: ByteSink) => void): void {
      const o = new ByteSink();
      write(o);
      server.receive(o.take());
    },
    headers(id: number, h: string[], end: boolean): void {
      const block = new ByteSink();
      encoder.encode(h, block);
      this.send((o) => writeHeaderBlock(o, id, block.take(), end, 16384));
    },
    goaway(): Frame | undefined {
      return frames().find((f) => f.type === 'goaway');
    },
  };
}

const goawayCode = (f: Frame | undefined): number | undefined => (f?.type === 'goaway' ? f.errorCode : undefined);

test('protocol violations end the connection with the RFC error code', () => {
  const cases: [string, (r: ReturnType<typeof rawServer>) => void, number][] = [
    ['garbage instead of a frame header', (r) => r.send((o) => o.bytes(Buffer.from('\x00\x00\x04\x04\x00\x00\x00\x00\x00zzzz'))), ErrorCode.FRAME_SIZE_ERROR],
    ['a frame over our max size', (r) => r.send((o) => writeFrameHeader(o, 20_000, FrameType.DATA, 0, 1)), ErrorCode.FRAME_SIZE_ERROR],
    ['DATA on an idle stream', (r) => r.send((o) => writeData(o, 5, Buffer.from('x'), false)), ErrorCode.PROTOCOL_ERROR],
    ['an invalid HPACK block', (r) => r.send((o) => writeHeaderBlock(o, 1, Buffer.from([0x80]), true, 16384)), ErrorCode.COMPRESSION_ERROR],
    ['a connection window overflow', (r) => r.send((o) => writeWindowUpdate(o, 0, 2 ** 31 - 1)), ErrorCode.FLOW_CONTROL_ERROR],
    ['a frame between HEADERS and CONTINUATION', (r) => r.send((o) => { writeFrameHeader(o, 0, FrameType.HEADERS, 0, 1); writePing(o, Buffer.alloc(8), false); }), ErrorCode.PROTOCOL_ERROR],
    ['a server-side even stream id', (r) => r.headers(2, REQ, true), ErrorCode.PROTOCOL_ERROR],
    ['PUSH_PROMISE from a client', (r) => r.send((o) => { writeFrameHeader(o, 4, FrameType.PUSH_PROMISE, 4, 1); o.u32(2); }), ErrorCode.PROTOCOL_ERROR],
    ['a bad SETTINGS value', (r) => r.send((o) => writeSettings(o, [[5, 100]])), ErrorCode.PROTOCOL_ERROR],
  ];
  for (const [name, act, code] of cases) {
    const r = rawServer();
    act(r);
    assert.equal(goawayCode(r.goaway()), code, name);
    assert.equal(r.server.closed, true, name);
  }
});

test('stream errors reset one stream and the connection lives on', () => {
  const r = rawServer();
  r.headers(1, REQ, false);
  r.send((o) => {
    writeFrameHeader(o, 4, FrameType.WINDOW_UPDATE, 0, 1); // zero increment on a stream: stream error
    o.u32(0);
  });
  r.headers(3, REQ, false);
  r.send((o) => writeData(o, 3, Buffer.alloc(10), true));
  const rst = r.frames().find((f) => f.type === 'rst-stream');
  assert.deepEqual(rst, { type: 'rst-stream', streamId: 1, errorCode: ErrorCode.PROTOCOL_ERROR });
  assert.equal(r.server.closed, false);
  assert.ok(r.events.ended.has(3));
  assert.deepEqual(r.events.resets.map(([id, x]) => [id, x.type]), [[1, 'local-reset']]);
});

test('a flood of pings or resets is cut off with ENHANCE_YOUR_CALM', () => {
  const pings = rawServer();
  pings.send((o) => {
    for (let i = 0; i < 20_000; i++) writePing(o, Buffer.alloc(8), false);
  });
  assert.equal(goawayCode(pings.goaway()), ErrorCode.ENHANCE_YOUR_CALM);
  const resets = rawServer();
  for (let id = 1; id < 2 * 3000; id += 2) {
    resets.headers(id, REQ, false);
    resets.send((o) => writeRstStream(o, id, ErrorCode.CANCEL));
  }
  assert.equal(goawayCode(resets.goaway()), ErrorCode.ENHANCE_YOUR_CALM);
});

test('DATA beyond the stream window is a stream error', () => {
  const r = rawServer();
  r.headers(1, REQ, false);
  // The stream window is 1 MiB; the connection window is larger, so only the stream is reset.
  r.send((o) => {
    for (let i = 0; i < 65; i++) writeData(o, 1, Buffer.alloc(16384), false);
  });
  const rst = r.frames().find((f) => f.type === 'rst-stream');
  assert.deepEqual(rst, { type: 'rst-stream', streamId: 1, errorCode: ErrorCode.FLOW_CONTROL_ERROR });
  assert.equal(r.server.closed, false);
});

test('an oversized header list resets the stream but keeps HPACK in step', () => {
  const r = rawServer();
  r.headers(1, [...REQ, 'x-big', 'v'.repeat(70_000)], true);
  r.headers(3, REQ, true);
  const rst = r.frames().find((f) => f.type === 'rst-stream');
  assert.equal(rst?.type === 'rst-stream' ? rst.streamId : 0, 1);
  assert.deepEqual(r.events.headers.map(([id]) => id), [3]);
  assert.equal(r.server.closed, false);
});
