/**
 * Hostile and unlucky peers against the real server over sockets: garbage, a reader that never
 * reads, resets mid-stream, shutdown with calls in flight. The server must keep serving others.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { GrpcChannel } from './client.js';
import { type GrpcError } from './errors.js';
import { GrpcServer } from './server.js';
import { Status } from './status.js';

const id = (b: Uint8Array): Uint8Array => b;
const CHUNK = 64 * 1024;

describe('robustness', () => {
  let server: GrpcServer;
  let port = 0;
  const progress = { written: 0, writeRejected: false, aborted: 0 };

  before(async () => {
    server = new GrpcServer();
    server.unary('/t.S/Echo', id, id, (req) => req);
    server.unary('/t.S/Slow', id, id, async (req) => {
      await new Promise((r) => setTimeout(r, 300));
      return req;
    });
    server.serverStream('/t.S/Flood', id, id, async (_req, call) => {
      try {
        for (let i = 0; i < 2000 && !call.cancelled; i++) {
          await call.write(new Uint8Array(CHUNK));
          progress.written++;
        }
      } catch {
        progress.writeRejected = true;
      }
    });
    server.bidi('/t.S/Hold', id, id, async (requests, call) => {
      call.signal.addEventListener('abort', () => progress.aborted++);
      for await (const r of requests) await call.write(r);
    });
    port = await server.listen(0);
  });

  after(async () => {
    await server?.close(1000);
  });

  test('garbage on one connection closes it; other connections are served', async () => {
    const ch = new GrpcChannel(`127.0.0.1:${port}`);
    await ch.unary('/t.S/Echo', id, id, Buffer.from('a'));
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n' + 'z'.repeat(1000))));
      s.on('data', () => {});
      s.on('close', () => resolve(true));
      s.on('error', () => {});
      setTimeout(() => resolve(false), 5000).unref();
    });
    assert.equal(closed, true);
    const r = await ch.unary('/t.S/Echo', id, id, Buffer.from('still here'));
    assert.equal(Buffer.from(r).toString(), 'still here');
    ch.close();
  });

  test('a reader that never reads stops the writer after a bounded amount; cancel releases it', async () => {
    const ch = new GrpcChannel(`127.0.0.1:${port}`);
    const other = new GrpcChannel(`127.0.0.1:${port}`);
    const stream = ch.serverStream('/t.S/Flood', id, id, new Uint8Array(0));
    await stream.headers;
    await new Promise((r) => setTimeout(r, 500));
    const stalledAt = progress.written;
    // Our receive window (1 MiB) plus the server's send buffer (1 MiB) plus a message or two.
    assert.ok(stalledAt <= (2 * 1024 * 1024) / CHUNK + 4, `writer stalled after ${stalledAt} messages`);
    assert.ok(stalledAt >= 8, `writer made progress (${stalledAt})`);
    const r = await other.unary('/t.S/Echo', id, id, Buffer.from('unaffected'));
    assert.equal(Buffer.from(r).toString(), 'unaffected');
    await new Promise((r2) => setTimeout(r2, 200));
    assert.equal(progress.written, stalledAt, 'no progress without reading');
    stream.cancel();
    for (let i = 0; i < 100 && !progress.writeRejected; i++) await new Promise((r2) => setTimeout(r2, 20));
    assert.equal(progress.writeRejected, true);
    ch.close();
    other.close();
  });

  test('a client that resets mid-stream aborts the handler; the server serves on', async () => {
    const ch = new GrpcChannel(`127.0.0.1:${port}`);
    const call = ch.bidi('/t.S/Hold', id, id);
    await call.write(Buffer.from('1'));
    const it = call[Symbol.asyncIterator]();
    assert.equal(Buffer.from((await it.next()).value as Uint8Array).toString(), '1');
    const before = progress.aborted;
    call.cancel();
    for (let i = 0; i < 100 && progress.aborted === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(progress.aborted, before + 1);
    await assert.rejects(it.next(), (e: GrpcError) => e.status === Status.CANCELLED);
    const r = await ch.unary('/t.S/Echo', id, id, Buffer.from('ok'));
    assert.equal(Buffer.from(r).toString(), 'ok');
    ch.close();
  });

  test('graceful close lets in-flight calls finish and refuses new connections', async () => {
    const s2 = new GrpcServer();
    let started!: () => void;
    const handlerStarted = new Promise<void>((r) => (started = r));
    s2.unary('/t.S/Slow', id, id, async (req) => {
      started();
      await new Promise((r) => setTimeout(r, 300));
      return req;
    });
    const p2 = await s2.listen(0);
    const ch = new GrpcChannel(`127.0.0.1:${p2}`, { connectTimeoutMs: 5000 });
    const inflight = ch.unary('/t.S/Slow', id, id, Buffer.from('finish me'));
    // Close only once the call is in flight on the server (a fixed sleep races a loaded machine).
    await handlerStarted;
    const closing = s2.close(5000);
    assert.equal(Buffer.from(await inflight).toString(), 'finish me');
    await closing;
    await assert.rejects(ch.unary('/t.S/Slow', id, id, Buffer.from('x')), (e: GrpcError) => e.status === Status.UNAVAILABLE);
    ch.close();
  });
});
