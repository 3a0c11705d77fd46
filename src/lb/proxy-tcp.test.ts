import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { LoadBalancer } from './load-balancer.js';
import { startTcpBackend, type TestBackend } from './test-backend.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** Connects, sends `payload`, half-closes, and reads everything until the backend closes. */
function exchange(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      s.end();
      resolve(Buffer.concat(chunks).toString());
    });
    s.on('error', reject);
    s.setTimeout(20_000, () => s.destroy(new Error('test connection timed out')));
    s.end(payload);
  });
}

async function setup(n: number, raw: Record<string, unknown> = {}): Promise<{ bs: TestBackend[]; l: LoadBalancer }> {
  const bs = await Promise.all(Array.from({ length: n }, (_, i) => startTcpBackend(`t${i}`)));
  for (const b of bs) cleanups.push(() => b.kill());
  const l = await LoadBalancer.start({ config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'tcp', backends: bs.map((b) => `127.0.0.1:${b.port}`), healthCheck: 'none', ...raw }) });
  cleanups.push(() => l.close());
  return { bs, l };
}

test('tcp: bytes are spliced both ways, half-close passes through, connections spread round-robin', async () => {
  const { l } = await setup(2, { policy: 'round-robin' });
  const big = 'x'.repeat(1_000_000);
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => exchange(l.address.port, i === 0 ? big : `hello ${i}`)));
  const names = answers.map((a) => a.split('\n')[0]);
  assert.deepEqual(new Set(names), new Set(['t0', 't1']));
  assert.equal(names.filter((n) => n === 't0').length, 3);
  assert.equal(answers[0], `${names[0]}\n${big}`, 'a megabyte echoed intact');
  assert.equal(answers[1], `${names[1]}\nhello 1`);
});

test('tcp: a refused backend is retried on another before any byte is sent', async () => {
  const { bs, l } = await setup(2, { policy: 'round-robin', outlierDetection: { enabled: false } });
  await bs[0]!.kill();
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => exchange(l.address.port, `m${i}`)));
  assert.ok(answers.every((a, i) => a === `t1\nm${i}`), 'every connection reached t1');
  assert.ok(l.metrics.retries >= 1);
});

test('tcp: the connection circuit breaker closes connections beyond the limit at once', async () => {
  const { l } = await setup(1, { circuitBreakers: { maxConnections: 2 } });
  const open = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: l.address.port });
          s.once('data', () => resolve(s));
        }),
    ),
  );
  const refused = await exchange(l.address.port, 'third').catch(() => '');
  assert.equal(refused, '', 'the third connection is closed without an answer');
  assert.equal(l.snapshot().breakers.rejections('connections'), 1);
  for (const s of open) s.destroy();
});

test('tcp: consistent hashing on the client address keeps a client on one backend', async () => {
  const { l } = await setup(3, { policy: 'maglev' });
  const names = new Set<string>();
  for (let i = 0; i < 8; i++) names.add((await exchange(l.address.port, 'x')).split('\n')[0]!);
  assert.equal(names.size, 1);
});

test('tcp: a reload keeps open connections; a removed backend keeps its connections until the drain timeout', async () => {
  const { bs, l } = await setup(2, { policy: 'round-robin' });
  const s = net.connect({ host: '127.0.0.1', port: l.address.port });
  s.on('error', () => {});
  const received: Buffer[] = [];
  s.on('data', (c: Buffer) => received.push(c));
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  const text = (): string => Buffer.concat(received).toString();
  const waitText = async (want: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!text().endsWith(want)) {
      assert.ok(Date.now() < deadline, `waiting for ${JSON.stringify(want)}, have ${JSON.stringify(text())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  s.write('one');
  await waitText('one');
  const mine = text().split('\n')[0]!;
  const other = bs.find((b) => b.name !== mine)!;
  l.reload(parseLbConfig({ listen: '127.0.0.1:0', mode: 'tcp', backends: [`127.0.0.1:${other.port}`], healthCheck: 'none', policy: 'least-conn', drainTimeoutMs: 300 }));
  assert.equal(l.balancer.status().find((b) => b.state === 'draining')?.active, 1);
  s.write('two');
  await waitText('two');
  assert.equal(text(), `${mine}\nonetwo`, 'the spliced connection survived the reload');
  await closed; // cut when the drain time ran out
  assert.equal(l.balancer.status().length, 1);
});
