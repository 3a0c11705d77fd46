/**
 * Plain (non-gRPC) HTTP/2 through the L7 HTTP/2 proxy (mode "grpc" is the h2c mode: it carries any
 * HTTP/2 request, gRPC or not): per-stream balancing over one client connection; methods, headers,
 * bodies, statuses and trailers passed through; HTTP retry rules (idempotent methods on 502/503/504
 * and on a refused connection, never a POST that reached a backend). Every server is closed at the end.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { LoadBalancer } from './load-balancer.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface H2Backend {
  readonly name: string;
  readonly port: number;
  served: number;
  kill(): Promise<void>;
}

/**
 * A plain h2c server: echoes the request body, says who it is (x-backend), repeats x-test, answers
 * /status/NNN with that status and /trailers with a trailer holding the sha256 of the body.
 */
async function startH2Backend(name: string, o: { status?: number } = {}): Promise<H2Backend> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const b: H2Backend = {
    name,
    port: 0,
    served: 0,
    kill: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('error', () => {});
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (stream.destroyed || stream.closed) return;
      b.served++;
      const path = String(headers[':path']);
      const body = Buffer.concat(chunks);
      const status = o.status ?? Number(/^\/status\/(\d{3})$/.exec(path)?.[1] ?? 200);
      const out = { ':status': status, 'content-type': 'application/octet-stream', 'x-backend': name, 'x-method': String(headers[':method']), 'x-test': String(headers['x-test'] ?? '') };
      if (path === '/trailers') {
        stream.respond(out, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'x-sha256': createHash('sha256').update(body).digest('hex') }));
        stream.end(body);
        return;
      }
      stream.respond(out);
      stream.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  (b as { port: number }).port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => b.kill());
  return b;
}

interface H2Answer {
  readonly status: number;
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers: http2.IncomingHttpHeaders;
  readonly body: Buffer;
}

function request(s: http2.ClientHttp2Session, o: { method?: string; path: string; body?: Buffer | undefined; headers?: http2.OutgoingHttpHeaders }): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const st = s.request({ ':method': o.method ?? 'GET', ':path': o.path, ...o.headers }, { endStream: o.body === undefined });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    st.setTimeout(20_000, () => st.close(http2.constants.NGHTTP2_CANCEL));
    st.on('response', (h) => (headers = h));
    st.on('trailers', (t) => (trailers = t));
    st.on('data', (c: Buffer) => chunks.push(c));
    st.on('end', () => resolve({ status: Number(headers[':status']), headers, trailers, body: Buffer.concat(chunks) }));
    st.on('error', reject);
    if (o.body !== undefined) st.end(o.body);
  });
}

async function lb(raw: Record<string, unknown>): Promise<LoadBalancer> {
  const l = await LoadBalancer.start({ config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'grpc', ...raw }) });
  cleanups.push(() => l.close());
  return l;
}

function connect(port: number): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  cleanups.push(async () => void s.destroy());
  return s;
}

test('http2 (not gRPC): streams of one connection are balanced; methods, headers, bodies, statuses and trailers pass through', async () => {
  const bs = await Promise.all(['h0', 'h1', 'h2'].map((n) => startH2Backend(n)));
  const l = await lb({ backends: bs.map((b) => `127.0.0.1:${b.port}`), policy: 'round-robin', healthCheck: 'tcp' });
  const s = connect(l.address.port);

  const gets = await Promise.all(Array.from({ length: 30 }, (_, i) => request(s, { path: `/get/${i}`, headers: { 'x-test': `v${i}` } })));
  const counts = new Map<string, number>();
  for (const [i, r] of gets.entries()) {
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-method'], 'GET');
    assert.equal(r.headers['x-test'], `v${i}`, 'request headers reach the backend');
    const who = String(r.headers['x-backend']);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  assert.deepEqual([...counts.entries()].sort(), [['h0', 10], ['h1', 10], ['h2', 10]], 'round-robin per stream, not per connection');

  // A body larger than the flow-control windows and the retry buffer, both ways, byte for byte.
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  const posted = await request(s, { method: 'POST', path: '/trailers', body: big, headers: { 'content-type': 'application/octet-stream' } });
  assert.equal(posted.status, 200);
  assert.equal(posted.headers['x-method'], 'POST');
  assert.ok(posted.body.equals(big), `the body came back intact (${posted.body.length} of ${big.length} bytes)`);
  assert.equal(posted.trailers['x-sha256'], createHash('sha256').update(big).digest('hex'), 'trailers pass through');

  // A status the proxy does not retry is passed through as is, once.
  const retriesBefore = l.metrics.retries;
  const nf = await request(s, { path: '/status/404' });
  assert.equal(nf.status, 404);
  assert.ok(['h0', 'h1', 'h2'].includes(String(nf.headers['x-backend'])));
  assert.equal(l.metrics.retries, retriesBefore);
});

test('http2 (not gRPC): an idempotent request that gets 503 or finds its backend dead goes to another backend; a POST that got 503 does not', async () => {
  const good = await startH2Backend('good');
  const sick = await startH2Backend('sick', { status: 503 });
  const dead = await startH2Backend('dead');
  await dead.kill();
  const l = await lb({
    backends: [`127.0.0.1:${good.port}`, `127.0.0.1:${sick.port}`, `127.0.0.1:${dead.port}`],
    policy: 'round-robin',
    healthCheck: 'none',
    outlierDetection: { enabled: false },
    retries: { perRequest: 2, minPerSecond: 1000 },
  });
  const s = connect(l.address.port);
  for (let i = 0; i < 12; i++) {
    const r = await request(s, { method: i % 2 === 0 ? 'GET' : 'PUT', path: `/i/${i}`, body: i % 2 === 0 ? undefined : Buffer.from(`put ${i}`) });
    assert.equal(r.status, 200, `idempotent request ${i} succeeded`);
    assert.equal(r.headers['x-backend'], 'good');
    if (i % 2 === 1) assert.equal(r.body.toString(), `put ${i}`, 'the replayed body is the original');
  }
  assert.ok(sick.served > 0, 'some idempotent requests hit the sick backend first');
  assert.ok(l.metrics.retries >= 8, `requests that hit the sick or the dead backend were retried (${l.metrics.retries})`);

  // POST is not idempotent: one that reached the sick backend gets its 503.
  const sickBefore = sick.served;
  const goodBefore = good.served;
  const posts = [];
  for (let i = 0; i < 12; i++) posts.push(await request(s, { method: 'POST', path: `/p/${i}`, body: Buffer.from(`post ${i}`) }));
  const gotSick = posts.filter((r) => r.status === 503);
  assert.ok(gotSick.length > 0, 'a POST that reached the sick backend was not retried');
  assert.ok(gotSick.every((r) => r.headers['x-backend'] === 'sick'));
  assert.equal(sick.served - sickBefore, gotSick.length, 'each POST reached the sick backend at most once');
  assert.equal(good.served - goodBefore, posts.length - gotSick.length, 'every other POST was served once, by the good backend');
});
