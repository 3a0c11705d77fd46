import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteSink } from './byte-sink.js';
import { CONNECTION_PREFACE, ErrorCode } from './constants.js';
import { Http2ConnectionError, Http2StreamError } from './errors.js';
import { decodeFrame, writeData, writeGoaway, writeHeaderBlock, writePing, writeRstStream, writeSettings, writeWindowUpdate, type Frame } from './frame.js';
import { FrameParser } from './frame-parser.js';

type Spec =
  | { kind: 'data'; streamId: number; data: Uint8Array; end: boolean }
  | { kind: 'headers'; streamId: number; block: Uint8Array; end: boolean }
  | { kind: 'settings'; settings: [number, number][] }
  | { kind: 'ping'; data: Uint8Array; ack: boolean }
  | { kind: 'rst'; streamId: number; code: number }
  | { kind: 'window'; streamId: number; increment: number }
  | { kind: 'goaway'; last: number; code: number; debug: string };

const streamId = fc.integer({ min: 1, max: 2 ** 31 - 1 });
const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constant('data' as const), streamId, data: fc.uint8Array({ maxLength: 300 }), end: fc.boolean() }),
  fc.record({ kind: fc.constant('headers' as const), streamId, block: fc.uint8Array({ maxLength: 100 }), end: fc.boolean() }),
  fc.record({ kind: fc.constant('settings' as const), settings: fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.nat()), { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('ping' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }), ack: fc.boolean() }),
  fc.record({ kind: fc.constant('rst' as const), streamId, code: fc.nat() }),
  fc.record({ kind: fc.constant('window' as const), streamId: fc.integer({ min: 0, max: 100 }), increment: fc.integer({ min: 1, max: 2 ** 31 - 1 }) }),
  fc.record({ kind: fc.constant('goaway' as const), last: fc.integer({ min: 0, max: 2 ** 31 - 1 }), code: fc.nat(), debug: fc.string({ maxLength: 20 }) }),
);

function write(out: ByteSink, s: Spec): void {
  switch (s.kind) {
    case 'data': return writeData(out, s.streamId, s.data, s.end);
    case 'headers': return writeHeaderBlock(out, s.streamId, s.block, s.end, 16384);
    case 'settings': return writeSettings(out, s.settings);
    case 'ping': return writePing(out, s.data, s.ack);
    case 'rst': return writeRstStream(out, s.streamId, s.code);
    case 'window': return writeWindowUpdate(out, s.streamId, s.increment);
    case 'goaway': return writeGoaway(out, s.last, s.code, s.debug);
  }
}

function expected(s: Spec): unknown {
  switch (s.kind) {
    case 'data': return { type: 'data', streamId: s.streamId, endStream: s.end, data: [...s.data], flowBytes: s.data.length };
    case 'headers': return { type: 'headers', streamId: s.streamId, endStream: s.end, endHeaders: true, block: [...s.block], dependsOn: 0 };
    case 'settings': return { type: 'settings', ack: false, settings: s.settings };
    case 'ping': return { type: 'ping', ack: s.ack, data: [...s.data] };
    case 'rst': return { type: 'rst-stream', streamId: s.streamId, errorCode: s.code };
    case 'window': return { type: 'window-update', streamId: s.streamId, increment: s.increment };
    case 'goaway': return { type: 'goaway', lastStreamId: s.last, errorCode: s.code, debugData: [...Buffer.from(s.debug, 'utf8')] };
  }
}

const plain = (f: Frame): unknown =>
  JSON.parse(JSON.stringify(f, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v)));

function parseAll(bytes: Uint8Array, cuts: number[], preface: boolean): unknown[] {
  const p = new FrameParser({ frameBytesMax: 16384, expectPreface: preface });
  const got: unknown[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    // Copy each piece so views into earlier chunks would show any aliasing bug.
    p.push(Uint8Array.from(bytes.subarray(at, cut)), (t, fl, s, payload) => got.push(plain(decodeFrame(t, fl, s, payload))));
    at = cut;
  }
  return got;
}

test('frames round-trip through the parser whole, byte by byte and in random splits', () => {
  fc.assert(
    fc.property(fc.array(spec, { maxLength: 12 }), fc.array(fc.nat(4000), { maxLength: 20 }), fc.boolean(), (specs, cuts, preface) => {
      const out = new ByteSink(64);
      if (preface) out.bytes(CONNECTION_PREFACE);
      for (const s of specs) write(out, s);
      const bytes = out.take();
      const want = specs.map(expected);
      assert.deepEqual(parseAll(bytes, [], preface), want);
      assert.deepEqual(parseAll(bytes, cuts, preface), want);
      assert.deepEqual(parseAll(bytes, Array.from({ length: bytes.length }, (_, i) => i), preface), want);
    }),
    { numRuns: 150, verbose: true },
  );
});

test('a bad preface and an oversized frame are connection errors', () => {
  const p = new FrameParser({ frameBytesMax: 16384, expectPreface: true });
  assert.throws(() => p.push(Buffer.from('GET / HTTP/1.1\r\n'), () => {}), Http2ConnectionError);
  const q = new FrameParser({ frameBytesMax: 16384, expectPreface: false });
  const e = (() => {
    try {
      q.push(Uint8Array.of(0x00, 0x40, 0x01, 0, 0, 0, 0, 0, 1), () => {});
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(e instanceof Http2ConnectionError);
  assert.equal(e.h2Code, ErrorCode.FRAME_SIZE_ERROR);
});

test('per-type payload checks name the RFC error code', () => {
  const conn = (type: number, flags: number, sid: number, payload: number[], code: number): void => {
    assert.throws(() => decodeFrame(type, flags, sid, Uint8Array.from(payload)), (e: unknown) => e instanceof Http2ConnectionError && e.h2Code === code);
  };
  conn(0x0, 0, 0, [], ErrorCode.PROTOCOL_ERROR); // DATA on stream 0
  conn(0x0, 0x8, 1, [5, 1, 2], ErrorCode.PROTOCOL_ERROR); // padding too long
  conn(0x3, 0, 1, [0, 0, 0], ErrorCode.FRAME_SIZE_ERROR); // RST_STREAM size
  conn(0x4, 0, 0, [0, 1, 0, 0, 0], ErrorCode.FRAME_SIZE_ERROR); // SETTINGS size
  conn(0x4, 1, 0, [0, 1, 0, 0, 0, 0], ErrorCode.FRAME_SIZE_ERROR); // SETTINGS ack with payload
  conn(0x4, 0, 3, [], ErrorCode.PROTOCOL_ERROR); // SETTINGS on a stream
  conn(0x6, 0, 0, [1, 2, 3], ErrorCode.FRAME_SIZE_ERROR); // PING size
  conn(0x7, 0, 0, [0, 0, 0, 1], ErrorCode.FRAME_SIZE_ERROR); // GOAWAY size
  conn(0x8, 0, 1, [0, 0, 1], ErrorCode.FRAME_SIZE_ERROR); // WINDOW_UPDATE size
  assert.throws(() => decodeFrame(0x2, 0, 1, Uint8Array.of(0, 0, 0, 1)), Http2StreamError); // PRIORITY size
  const padded = decodeFrame(0x0, 0x9, 1, Uint8Array.of(2, 7, 7, 0, 0));
  assert.equal(padded.type, 'data');
  assert.deepEqual(padded.type === 'data' ? [...padded.data] : [], [7, 7]);
  assert.equal(padded.type === 'data' ? padded.flowBytes : 0, 5);
  assert.equal(decodeFrame(0xfa, 0, 1, Uint8Array.of(1, 2)).type, 'unknown');
});

test('random garbage never crashes the parser: it yields frames or a typed error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const p = new FrameParser({ frameBytesMax: 16384, expectPreface: false });
      try {
        p.push(bytes, (t, f, s, payload) => {
          try {
            decodeFrame(t, f, s, payload);
          } catch (e) {
            assert.ok(e instanceof Http2ConnectionError || e instanceof Http2StreamError, String(e));
          }
        });
      } catch (e) {
        assert.ok(e instanceof Http2ConnectionError, String(e));
      }
    }),
    { numRuns: 1000 },
  );
});
