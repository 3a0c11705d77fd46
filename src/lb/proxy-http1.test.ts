/**
 * HTTP/1.1 mode over real sockets on 127.0.0.1: failover with retries, health rise and fall, backups,
 * retry budget, circuit breaker, draining, reload. Every server is closed at the end, pass or fail.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { LoadBalancer } from './load-balancer.js';
import { realProbe, type Probe } from './health-probe.js';
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

test('a backend killed during load: no idempotent request fails, traffic moves off at the fall-th failed check, returns only after the rise-th good one', async () => {
  const rise = 2;
  const fall = 3;
  // The victim answers health checks (/health) apart from proxied requests, and notes how many
  // checks it had answered since its last restart when each proxied request arrived.
  const victimLog = { healthSinceStart: 0, proxiedAtHealth: [] as number[] };
  const victim = await startHttpBackend('b', (req, res, b) => {
    if (req.url === '/health') {
      b.served--; // `served` counts proxied requests only
      victimLog.healthSinceStart++;
      res.writeHead(200).end('ok');
      return;
    }
    victimLog.proxiedAtHealth.push(victimLog.healthSinceStart);
    res.writeHead(200, { 'x-backend': b.name }).end(`${b.name}\n`);
  });
  cleanups.push(() => victim.kill());
  const [a, c] = await backends(['a', 'c']);
  // Every health check of the victim, in order, with the victim's state when the check started
  // (checks of one backend run one after another, and a result changes the state before the next starts).
  const checks: { stateAtStart: string | undefined; ok: boolean }[] = [];
  let l: LoadBalancer | null = null;
  const probe: Probe = async (spec, check, timeoutMs) => {
    const stateAtStart = l === null ? undefined : stateOf(l, spec.port);
    const r = await realProbe(spec, check, timeoutMs);
    if (spec.port === victim.port) checks.push({ stateAtStart, ok: r.ok });
    return r;
  };
  l = await LoadBalancer.start({
    config: parseLbConfig({
      listen: '127.0.0.1:0',
      mode: 'http',
      backends: [a!, victim, c!].map((b) => `127.0.0.1:${b.port}`),
      healthCheck: { type: 'http', path: '/health', intervalMs: 100, timeoutMs: 1000, rise, fall },
      outlierDetection: { enabled: false },
      retries: { minPerSecond: 1000 },
    }),
    probe,
  });
  const lbNow = l;
  cleanups.push(() => lbNow.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  cleanups.push(async () => agent.destroy());
  let failures = 0;
  let done = 0;
  let stop = false;
  const loop = async (): Promise<void> => {
    for (let i = 0; i < 20_000 && !stop; i++) {
      const r = await httpGet(lbNow.address.port, `/x${i}`, { agent });
      if (r.status !== 200) failures++;
      done++;
    }
  };
  const loops = Promise.all([loop(), loop(), loop(), loop()]);
  try {
    await waitFor('some traffic on the victim', () => done > 200 && victim.served > 20, 30_000);
    await victim.kill();
    const checksAtKill = checks.length;
    await waitFor('the victim to be marked down', () => stateOf(lbNow, victim.port) === 'down', 30_000);
    // Requests that picked the victim before it went down are retried elsewhere; after that none
    // is sent to it, so nothing more needs a retry.
    const doneAtDown = done;
    await waitFor('traffic to settle', () => done > doneAtDown + 50, 30_000);
    const retriesAfterDown = lbNow.metrics.retries;
    const settled = done;
    await waitFor('more traffic', () => done > settled + 300, 30_000);
    assert.equal(lbNow.metrics.retries, retriesAfterDown, 'no request went to the down backend');

    victimLog.healthSinceStart = 0;
    const proxiedBefore = victimLog.proxiedAtHealth.length;
    await victim.restart();
    await waitFor('the victim to come back up', () => stateOf(lbNow, victim.port) === 'up', 30_000);
    await waitFor('traffic back on the victim', () => victimLog.proxiedAtHealth.length > proxiedBefore + 20, 30_000);
    const checksAtUp = checks.length;
    await waitFor('a check that starts with the victim up', () => checks.slice(checksAtUp).some((ch) => ch.stateAtStart === 'up'), 30_000);
    stop = true;
    await loops;
    assert.equal(failures, 0, 'every idempotent request succeeded (retried on another backend)');

    // Down exactly at the fall-th failed check after the kill: the checks from the kill until the
    // first one that started with the victim down.
    const sinceKill = checks.slice(checksAtKill);
    const firstDown = sinceKill.findIndex((ch) => ch.stateAtStart === 'down');
    assert.ok(firstDown >= fall, `checks since the kill: ${JSON.stringify(sinceKill)}`);
    const beforeDown = sinceKill.slice(0, firstDown);
    assert.deepEqual(beforeDown.slice(-fall).map((ch) => ch.ok), Array(fall).fill(false), 'the last fall checks before going down failed');
    assert.equal(beforeDown.slice(-fall)[0]!.stateAtStart, 'up', 'up until the fall-th failure, not down earlier');
    // Up exactly at the rise-th good check after the restart.
    const afterDown = sinceKill.slice(firstDown);
    const firstUp = afterDown.findIndex((ch) => ch.stateAtStart === 'up');
    assert.ok(firstUp >= rise, `checks since going down: ${JSON.stringify(afterDown)}`);
    assert.deepEqual(afterDown.slice(firstUp - rise, firstUp).map((ch) => ch.ok), Array(rise).fill(true), 'the last rise checks before coming up passed');
    assert.equal(afterDown[firstUp - 1]!.stateAtStart, 'down', 'down until the rise-th good check, not up earlier');
    // And the restarted victim saw no proxied request before it had answered rise checks.
    const proxiedSinceRestart = victimLog.proxiedAtHealth.slice(proxiedBefore);
    assert.ok(proxiedSinceRestart.length > 0 && proxiedSinceRestart.every((n) => n >= rise), `health checks answered when each proxied request arrived: ${proxiedSinceRestart.slice(0, 10).join(',')}`);
  } finally {
    stop = true;
    await loops.catch(() => {});
  }
});

test('backups take over only when every primary is down, and hand traffic back', async () => {
  const [p1, p2, b1] = await backends(['p1', 'p2', 'b1']);
  const l = await lb({
    backends: [`127.0.0.1:${p1!.port}`, `127.0.0.1:${p2!.port}`, `127.0.0.1:${b1!.port},backup`],
    // A long timeout: with fall 1, one check slowed by a loaded machine would take a live primary out.
    healthCheck: { type: 'http', path: '/health', intervalMs: 50, timeoutMs: 5000, rise: 1, fall: 1 },
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
  const first = await httpGet(l.address.port, '/', { agent });
  const inFlight = Array.from({ length: 4 }, () => httpGet(l.address.port, '/?delay=400'));
  await waitFor('requests in flight on a', () => (l.balancer.status().find((s) => s.spec.port === a!.port)?.active ?? 0) > 0);
  const config = l.currentConfig;
  l.reload(parseLbConfig({ listen: '127.0.0.1:0', mode: 'http', backends: [`127.0.0.1:${b!.port}`], healthCheck: 'none' }));
  assert.equal(stateOf(l, a!.port), 'draining');
  const after = await Promise.all(Array.from({ length: 6 }, () => httpGet(l.address.port, '/', { agent })));
  assert.ok(after.every((r) => r.status === 200 && r.backend === 'b'), 'new requests go to b only');
  const finished = await Promise.all(inFlight);
  assert.ok(finished.every((r) => r.status === 200), 'in-flight requests finished');
  // a served exactly the requests answered by a, all sent before the reload (a request the balancer
  // had already sent to a may reach it after the reload, so counting at reload time would race).
  assert.equal(a!.served, [first, ...finished].filter((r) => r.backend === 'a').length);
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
