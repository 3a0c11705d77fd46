/** Our client against our server: every call shape, status paths, and raw requests the client would never send. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectHttp2 } from '../http2/client.js';
import type { Http2Stream } from '../http2/connection.js';
import { GrpcChannel } from './client.js';
import { GrpcError } from './errors.js';
import { GrpcServer } from './server.js';
import { Status } from './status.js';

const id = (b: Uint8Array): Uint8Array => b;
const text = (b: Uint8Array): string => Buffer.from(b).toString();
const buf = (s: string): Uint8Array => Buffer.from(s);

describe('our client and our server', () => {
  let server: GrpcServer;
  let ch: GrpcChannel;
  let port = 0;
  const seen = { deadlineAborts: 0 };

  before(async () => {
    server = new GrpcServer({ receiveMessageBytesMax: 1024 * 1024, mapError: (e) => (e instanceof RangeError ? new GrpcError(Status.OUT_OF_RANGE, `mapped: ${e.message}`) : undefined) });
    server.unary('/t.S/Echo', id, id, (req) => req);
    server.unary('/t.S/Mapped', id, id, () => {
      throw new RangeError('too far');
    });
    server.unary('/t.S/Wait', id, id, async (req, call) => {
      await new Promise<void>((r) => call.signal.addEventListener('abort', () => r()));
      seen.deadlineAborts++;
      return req;
    });
    server.clientStream('/t.S/Concat', id, id, async (requests) => {
      const parts: string[] = [];
      for await (const r of requests) parts.push(text(r));
      return buf(parts.join('+'));
    });
    server.serverStream('/t.S/CountThenFail', id, id, async (req, call) => {
      const n = Number(text(req));
      for (let i = 0; i < n; i++) await call.write(buf(String(i)));
      call.setTrailers({ 'x-count': String(n) });
      throw new GrpcError(Status.ABORTED, 'stopped after the messages');
    });
    server.unary('/t.S/Huge', id, id, () => new Uint8Array(3 * 1024 * 1024));
    port = await server.listen(0);
    ch = new GrpcChannel(`127.0.0.1:${port}`, { receiveMessageBytesMax: 2 * 1024 * 1024 });
  });

  after(async () => {
    ch?.close();
    await server?.close(500);
  });

  test('client streaming', async () => {
    const call = ch.clientStream('/t.S/Concat', id, id);
    await call.write(buf('a'));
    await call.write(buf('b'));
    await call.write(buf('c'));
    assert.equal(text(await call.end()), 'a+b+c');
  });

  test('a stream that ends with an error delivers its messages first, then the status with trailers', async () => {
    const got: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const m of ch.serverStream('/t.S/CountThenFail', id, id, buf('3'))) got.push(text(m));
      })(),
      (e: GrpcError) => {
        assert.equal(e.status, Status.ABORTED);
        assert.equal(e.details, 'stopped after the messages');
        assert.ok(e.metadata.includes('x-count'));
        return true;
      },
    );
    assert.deepEqual(got, ['0', '1', '2']);
  });

  test('mapError turns a thrown error into its status', async () => {
    await assert.rejects(ch.unary('/t.S/Mapped', id, id, buf('x')), (e: GrpcError) => e.status === Status.OUT_OF_RANGE && e.details === 'mapped: too far');
  });

  test('the deadline travels as grpc-timeout: the server aborts its handler too', async () => {
    const before = seen.deadlineAborts;
    await assert.rejects(ch.unary('/t.S/Wait', id, id, buf('x'), { deadlineMs: 100 }), (e: GrpcError) => e.status === Status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 100 && seen.deadlineAborts === before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen.deadlineAborts, before + 1);
  });

  test('message size limits: the server refuses big requests, the client big responses', async () => {
    await assert.rejects(ch.unary('/t.S/Echo', id, id, new Uint8Array(1024 * 1024 + 1)), (e: GrpcError) => e.status === Status.RESOURCE_EXHAUSTED);
    await assert.rejects(ch.unary('/t.S/Huge', id, id, buf('x')), (e: GrpcError) => e.status === Status.RESOURCE_EXHAUSTED);
    assert.equal(text(await ch.unary('/t.S/Echo', id, id, buf('fine'))), 'fine');
  });

  test('breaking out of a response stream cancels the call', async () => {
    let n = 0;
    for await (const m of ch.serverStream('/t.S/CountThenFail', id, id, buf('100'))) {
      void m;
      if (++n === 2) break;
    }
    assert.equal(n, 2);
    assert.equal(text(await ch.unary('/t.S/Echo', id, id, buf('after'))), 'after');
  });

  /** Sends a raw request on a fresh HTTP/2 connection; returns the response header blocks. */
  async function raw(headers: string[], body: Uint8Array | null): Promise<string[][]> {
    const blocks: string[][] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const c = await connectHttp2<null>({
      host: '127.0.0.1',
      port,
      connectTimeoutMs: 2000,
      handler: {
        onHeaders: (_s, h, end) => {
          blocks.push(h);
          if (end) done();
        },
        onData: () => {},
        onReset: () => done(),
        onWritable: () => {},
      },
    });
    const s = c.conn.openStream(null) as Http2Stream<null>;
    c.conn.sendHeaders(s, headers, body === null);
    if (body !== null) c.conn.sendData(s, body, true);
    await finished;
    c.destroy();
    return blocks;
  }

  const REQ = (path: string): string[] => [':method', 'POST', ':scheme', 'http', ':path', path, ':authority', 'x', 'content-type', 'application/grpc', 'te', 'trailers'];
  const statusOf = (blocks: string[][]): string | undefined => {
    const last = blocks.at(-1) ?? [];
    const i = last.indexOf('grpc-status');
    return i < 0 ? undefined : last[i + 1];
  };

  test('a compressed message or an unknown grpc-encoding is UNIMPLEMENTED (trailers-only)', async () => {
    const compressed = Uint8Array.of(1, 0, 0, 0, 1, 0x42);
    const a = await raw(REQ('/t.S/Echo'), compressed);
    assert.equal(statusOf(a), String(Status.UNIMPLEMENTED));
    const b = await raw([...REQ('/t.S/Echo'), 'grpc-encoding', 'gzip'], Uint8Array.of(0, 0, 0, 0, 0));
    assert.equal(statusOf(b), String(Status.UNIMPLEMENTED));
    assert.equal(b.length, 1, 'trailers-only: one header block');
  });

  test('not gRPC at all: HTTP 415 / 405; a request without a message: INTERNAL', async () => {
    const a = await raw([':method', 'POST', ':scheme', 'http', ':path', '/t.S/Echo', ':authority', 'x', 'content-type', 'text/plain'], buf('x'));
    assert.equal(a[0]![a[0]!.indexOf(':status') + 1], '415');
    const b = await raw([':method', 'GET', ':scheme', 'http', ':path', '/t.S/Echo', ':authority', 'x'], null);
    assert.equal(b[0]![b[0]!.indexOf(':status') + 1], '405');
    const c = await raw(REQ('/t.S/Echo'), null);
    assert.equal(statusOf(c), String(Status.INTERNAL));
    const d = await raw(REQ('/t.S/Echo'), Uint8Array.of(0, 0, 0, 0, 9, 1));
    assert.equal(statusOf(d), String(Status.INTERNAL), 'a truncated message');
  });
});
