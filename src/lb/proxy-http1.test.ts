/**
 * HTTP/1.1 mode over real sockets on 127.0.0.1: failover with retries, health rise and fall, backups,
 * retry budget, circuit breaker, draining, reload. Every server is closed at the end, pass or fail.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { LoadBalancer } from './load-balancer.js';
import { httpGet, startHttpBackend, type TestBackend } from './test-backend.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function backends(names: readonly string[]): Promise<TestBackend[]> {
  const bs = await Promise.all(names.map((n) => startHttpBackend(n)));
  for (const b of bs) cleanups.push(() => b.kill());
  return bs;
}

async function lb(raw: Record<string, unknown>): Promise<LoadBalancer> {
  const l = await LoadBalancer.start({ config: parseLbConfig({ listen: '127.0.0.1:0', mode: 'http', ...raw }) });
  cleanups.push(() => l.close());
  return l;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function stateOf(l: LoadBalancer, port: number): string | undefined {
  return l.balancer.status().find((s) => s.spec.port === port)?.state;
}

test('a backend killed during load: no idempotent request fails, traffic moves off within the fall count, returns after the rise count', async () => {
  const bs = await backends(['a', 'b', 'c']);
  const interval = 100;
  const l = await lb({
    backends: bs.map((b) => `127.0.0.1:${b.port}`),
    healthCheck: { type: 'tcp', intervalMs: interval, timeoutMs: 100, rise: 2, fall: 3 },
    outlierDetection: { enabled: false },
    retries: { minPerSecond: 1000 },
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  cleanups.push(async () => agent.destroy());
  let failures = 0;
  let done = 0;
  let stop = false;
  const seen = new Map<string, number>();
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 5000 && !stop; i++) {
      const r = await httpGet(l.address.port, `/x${i}`, { agent });
      if (r.status !== 200) failures++;
      seen.set(r.backend, (seen.get(r.backend) ?? 0) + 1);
      done++;
    }
  };
  const loops = Promise.all([loop(), loop(), loop(), loop()]);
  await waitFor('some traffic', () => done > 200);
  const victim = bs[1]!;
  await victim.kill();
  const killedAt = Date.now();
  await waitFor('the victim to be marked down', () => stateOf(l, victim.port) === 'down');
  const downAfterMs = Date.now() - killedAt;
  const servedWhenDown = victim.served;
  const doneWhenDown = done;
  await waitFor('more traffic', () => done > doneWhenDown + 300);
  assert.equal(victim.served, servedWhenDown, 'a down backend gets no traffic');
  await victim.restart();
  await waitFor('the victim to come back up', () => stateOf(l, victim.port) === 'up');
  const servedAtUp = victim.served;
  await waitFor('traffic back on the victim', () => victim.served > servedAtUp + 20);
  stop = true;
  await loops;
  assert.equal(failures, 0, 'every idempotent request succeeded (retried on another backend)');
  // fall (3) × interval (100 ms) plus a timeout and scheduling slack on a loaded machine.
  assert.ok(downAfterMs < 3 * interval + 3000, `marked down after ${downAfterMs} ms`);
  assert.ok(l.metrics.retries > 0 || seen.size === 3, 'the kill was noticed');
});

test('backups take over only when every primary is down, and hand traffic back', async () => {
  const [p1, p2, b1] = await backends(['p1', 'p2', 'b1']);
  const l = await lb({
    backends: [`127.0.0.1:${p1!.port}`, `127.0.0.1:${p2!.port}`, `127.0.0.1:${b1!.port},backup`],
    healthCheck: { type: 'http', path: '/health', intervalMs: 50, timeoutMs: 200, rise: 1, fall: 1 },
  });
  const who = async (n: number): Promise<Set<string>> => {
    const s = new Set<string>();
    for (let i = 0; i < n; i++) s.add((await httpGet(l.address.port, '/')).backend);
    return s;
  };
  assert.deepEqual(await who(10), new Set(['p1', 'p2']));
  await p1!.kill();
  await waitFor('p1 down', () => stateOf(l, p1!.port) === 'down');
  assert.deepEqual(await who(10), new Set(['p2']));
  await p2!.kill();
  await waitFor('p2 down', () => stateOf(l, p2!.port) === 'down');
  assert.equal(l.balancer.mode, 'backup');
  assert.deepEqual(await who(10), new Set(['b1']));
  await p2!.restart();
  await waitFor('p2 up', () => stateOf(l, p2!.port) === 'up');
  assert.deepEqual(await who(10), new Set(['p2']));
});

test('retries stay within the retry budget', async () => {
  const [good] = await backends(['good']);
  const bad = await startHttpBackend('bad', (_req, res) => res.writeHead(503).end('no'));
  cleanups.push(() => bad.kill());
  const l = await lb({
    backends: [`127.0.0.1:${bad.port}`, `127.0.0.1:${good!.port}`],
    policy: 'round-robin',
    healthCheck: 'none',
    outlierDetection: { enabled: false },
    retries: { perRequest: 1, budgetPercent: 10, minPerSecond: 0 },
  });
  let ok = 0;
  for (let i = 0; i < 200; i++) if ((await httpGet(l.address.port, '/')).status === 200) ok++;
  // Half the requests hit `bad` first; only 10% of all requests may be retried.
  assert.ok(l.metrics.retries <= 20, `retries ${l.metrics.retries} within 10% of 200`);
  assert.ok(l.metrics.retryBudgetExhausted > 0, 'the budget ran out');
  assert.ok(ok >= 100 && ok <= 125, `ok ${ok}: the good half plus the budgeted retries`);
});

test('the circuit breaker answers 503 at once beyond max requests', async () => {
  const [slow] = await backends(['slow']);
  const l = await lb({ backends: [`127.0.0.1:${slow!.port}`], healthCheck: 'none', circuitBreakers: { maxRequests: 2 } });
  const results = await Promise.all(Array.from({ length: 6 }, () => httpGet(l.address.port, '/?delay=300')));
  const statuses = results.map((r) => r.status).sort();
  assert.deepEqual(statuses, [200, 200, 503, 503, 503, 503]);
  assert.equal(l.snapshot().breakers.rejections('requests'), 4);
});

test('draining: a backend removed by reload finishes its in-flight requests and gets no new ones; connections stay open', async () => {
  const [a, b] = await backends(['a', 'b']);
  const l = await lb({ backends: [`127.0.0.1:${a!.port}`, `127.0.0.1:${b!.port}`], policy: 'round-robin', healthCheck: 'none' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(async () => agent.destroy());
  await httpGet(l.address.port, '/', { agent });
  const inFlight = Array.from({ length: 4 }, () => httpGet(l.address.port, '/?delay=400'));
  await waitFor('requests in flight on a', () => (l.balancer.status().find((s) => s.spec.port === a!.port)?.active ?? 0) > 0);
  const config = l.currentConfig;
  l.reload(parseLbConfig({ listen: '127.0.0.1:0', mode: 'http', backends: [`127.0.0.1:${b!.port}`], healthCheck: 'none' }));
  assert.equal(stateOf(l, a!.port), 'draining');
  const servedByA = a!.served;
  const after = await Promise.all(Array.from({ length: 6 }, () => httpGet(l.address.port, '/', { agent })));
  assert.ok(after.every((r) => r.status === 200 && r.backend === 'b'), 'new requests go to b only');
  const finished = await Promise.all(inFlight);
  assert.ok(finished.every((r) => r.status === 200), 'in-flight requests finished');
  assert.equal(a!.served, servedByA);
  await waitFor('a removed', () => stateOf(l, a!.port) === undefined);
  assert.equal(l.metrics.reloadsOk, 1);
  assert.equal(config.listen.port, 0);
  // The client's keep-alive connection to the balancer survived the reload.
  const sockets = Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length;
  assert.equal(sockets, 1);
});

test('a reload that needs a restart is refused and changes nothing', async () => {
  const [a] = await backends(['a']);
  const l = await lb({ backends: [`127.0.0.1:${a!.port}`], healthCheck: 'none' });
  assert.throws(() => l.reload(parseLbConfig({ listen: '127.0.0.1:0', mode: 'tcp', backends: [`127.0.0.1:${a!.port}`] })), /mode cannot change/);
  assert.equal(l.metrics.reloadsFailed, 1);
  assert.equal((await httpGet(l.address.port, '/')).status, 200);
});

test('the admin port serves the status page and Prometheus metrics', async () => {
  const [a] = await backends(['a']);
  const l = await lb({ backends: [`127.0.0.1:${a!.port}`, '127.0.0.1:1,backup'], healthCheck: 'none', admin: '127.0.0.1:0' });
  await httpGet(l.address.port, '/');
  const port = l.adminAddress!.port;
  const page = await httpGet(port, '/');
  assert.match(page.body, /<table>/);
  assert.match(page.body, new RegExp(`127.0.0.1:${a!.port}`));
  assert.match(page.body, /backup/);
  const metrics = await httpGet(port, '/metrics');
  assert.match(metrics.body, new RegExp(`bulwark_lb_backend_state\\{backend="127.0.0.1:${a!.port}",state="up"\\} 1`));
  assert.match(metrics.body, /bulwark_lb_backend_backup\{backend="127.0.0.1:1"\} 1/);
  assert.match(metrics.body, /bulwark_lb_request_duration_seconds_bucket\{backend="[^"]+",le="\+Inf"\} 1/);
  assert.match(metrics.body, /bulwark_lb_requests_total\{result="ok"\} 1/);
  const json = JSON.parse((await httpGet(port, '/status.json')).body) as { backends: unknown[] };
  assert.equal(json.backends.length, 2);
});

test('a non-idempotent request is not retried; a dead backend answers 502', async () => {
  const [a] = await backends(['a']);
  const port = a!.port;
  await a!.kill();
  const l = await lb({ backends: [`127.0.0.1:${port}`], healthCheck: 'none', outlierDetection: { enabled: false } });
  const r = await httpGet(l.address.port, '/', { method: 'POST', body: 'x' });
  assert.equal(r.status, 502);
  assert.equal(l.metrics.retries, 0);
});
