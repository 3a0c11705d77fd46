import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { LoadBalancer } from './load-balancer.js';
import { grpcCall, startGrpcBackend } from './test-backend.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function client(port: number): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  cleanups.push(async () => void s.destroy());
  return s;
}

const text = (b: Uint8Array | null): string => (b === null ? '' : new TextDecoder().decode(b));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('grpc: unary calls are balanced per stream over one client connection, trailers pass through', async () => {
  const bs = await Promise.all(['g0', 'g1', 'g2'].map((n) => startGrpcBackend(n)));
  for (const b of bs) cleanups.push(() => b.kill());
  const l = await LoadBalancer.start({ config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'grpc', backends: bs.map((b) => `127.0.0.1:${b.port}`), policy: 'round-robin', healthCheck: 'grpc' }) });
  cleanups.push(() => l.close());
  const s = await client(l.address.port);
  const results = await Promise.all(Array.from({ length: 30 }, () => grpcCall(s, '/test.Echo/Say', new Uint8Array([1, 2, 3]))));
  assert.ok(results.every((r) => r.code === 0));
  const counts = new Map<string, number>();
  for (const r of results) counts.set(text(r.message), (counts.get(text(r.message)) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [10, 10, 10]);
});

test('grpc: the gRPC health check takes a NOT_SERVING backend out', async () => {
  const good = await startGrpcBackend('good');
  const sick = await startGrpcBackend('sick', { health: 'NOT_SERVING' });
  cleanups.push(() => good.kill(), () => sick.kill());
  const l = await LoadBalancer.start({
    config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'grpc', backends: [`127.0.0.1:${good.port}`, `127.0.0.1:${sick.port}`], healthCheck: { type: 'grpc', intervalMs: 50, timeoutMs: 500 } }),
  });
  cleanups.push(() => l.close());
  const deadline = Date.now() + 10_000;
  while (l.balancer.status().find((b) => b.spec.port === sick.port)?.state !== 'down') {
    assert.ok(Date.now() < deadline, 'sick backend marked down');
    await sleep(20);
  }
  const s = await client(l.address.port);
  for (let i = 0; i < 10; i++) assert.equal(text((await grpcCall(s, '/test.Echo/Say', new Uint8Array())).message), 'good');
});

test('grpc: a call never sent (backend refused) is retried; a sent, non-idempotent call that fails is not', async () => {
  const live = await startGrpcBackend('live');
  const dead = await startGrpcBackend('dead');
  cleanups.push(() => live.kill());
  await dead.kill();
  const flaky = await startGrpcBackend('flaky', { unary: () => ({ code: 14, error: 'try elsewhere' }) });
  cleanups.push(() => flaky.kill());
  const l = await LoadBalancer.start({
    config: parseLbConfig({
      listen: '127.0.0.1:0',
      mode: 'grpc',
      backends: [`127.0.0.1:${dead.port}`, `127.0.0.1:${live.port}`],
      policy: 'round-robin',
      healthCheck: 'none',
      outlierDetection: { enabled: false },
      retries: { idempotentGrpcMethods: ['/test.Echo/Get'] },
    }),
  });
  cleanups.push(() => l.close());
  const s = await client(l.address.port);
  for (let i = 0; i < 6; i++) {
    const r = await grpcCall(s, '/test.Echo/Put', new Uint8Array([i]));
    assert.equal(r.code, 0, `call ${i}: ${r.error}`);
    assert.equal(text(r.message), 'live');
  }
  assert.ok(l.metrics.retries >= 3, 'calls that hit the dead backend were retried');

  // UNAVAILABLE from a backend: an idempotent method goes elsewhere, another method gets the error.
  const l2 = await LoadBalancer.start({
    config: parseLbConfig({
      listen: '127.0.0.1:0',
      mode: 'grpc',
      backends: [`127.0.0.1:${flaky.port}`, `127.0.0.1:${live.port}`],
      policy: 'round-robin',
      healthCheck: 'none',
      outlierDetection: { enabled: false },
      retries: { idempotentGrpcMethods: ['/test.Echo/Get'] },
    }),
  });
  cleanups.push(() => l2.close());
  const s2 = await client(l2.address.port);
  const gets = await Promise.all(Array.from({ length: 6 }, () => grpcCall(s2, '/test.Echo/Get', new Uint8Array())));
  assert.ok(gets.every((r) => r.code === 0 && text(r.message) === 'live'), 'idempotent calls retried');
  const puts = await Promise.all(Array.from({ length: 6 }, () => grpcCall(s2, '/test.Echo/Put', new Uint8Array())));
  assert.equal(puts.filter((r) => r.code === 14 && r.error === 'try elsewhere').length, 3, 'non-idempotent calls see the error');
});

test('grpc: beyond max requests the balancer answers RESOURCE_EXHAUSTED at once', async () => {
  const slow = await startGrpcBackend('slow');
  cleanups.push(() => slow.kill());
  const l = await LoadBalancer.start({
    config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'grpc', backends: [`127.0.0.1:${slow.port}`], healthCheck: 'none', circuitBreakers: { maxRequests: 1 } }),
  });
  cleanups.push(() => l.close());
  const s = await client(l.address.port);
  // Hold one stream open (never ended) so the breaker is full.
  const held = s.request({ ':method': 'POST', ':path': '/test.Echo/Hold', 'content-type': 'application/grpc', te: 'trailers' });
  held.on('error', () => {});
  await sleep(100);
  const r = await grpcCall(s, '/test.Echo/Say', new Uint8Array());
  assert.equal(r.code, 8);
  assert.match(r.error, /overloaded/);
  held.close(http2.constants.NGHTTP2_CANCEL);
});
