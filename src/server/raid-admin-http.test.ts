/** The /raid endpoints: every operation, and a clear JSON error for every bad request. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { nullLogger } from '../env/logger.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk, StepClock, openVolume } from '../storage/index.js';
import { isLoopback, raidAdminHandler } from './raid-admin-http.js';
import { RaidMonitor, type RaidLiveStatus } from './raid-monitor.js';

async function serve(handler: ReturnType<typeof raidAdminHandler>): Promise<{ server: Server; base: string }> {
  const server = createServer((req, res) => {
    void Promise.resolve(handler(req, res)).then((handled) => {
      if (!handled) {
        res.writeHead(404);
        res.end('not mine\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function call(base: string, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${base}${path}`, { method });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

const settle = async (rounds = 300): Promise<void> => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

test('/raid on a member without a volume: 404 with a reason; other paths are not ours', async () => {
  const { server, base } = await serve(raidAdminHandler(null));
  try {
    const r = await call(base, 'GET', '/raid/status');
    assert.equal(r.status, 404);
    assert.equal((r.body['error'] as { code: string }).code, 'no-raid');
    assert.equal((await fetch(`${base}/metrics`)).status, 404);
    assert.equal(await (await fetch(`${base}/raidx`)).text(), 'not mine\n', '/raidx is not a /raid path');
  } finally {
    server.close();
  }
});

test('/raid: status, fail, remove, add (rebuilds), rebuild, scrub, and errors', async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`/m/d${i}`));
  const clock = new StepClock();
  const volume = await openVolume({ members: disks, clock, create: { level: 5, chunkBytes: 4096, random: new SeededRandom(5) } });
  const f = await volume.open('data', 'create');
  await f.write(0, new SeededRandom(6).bytes(64 * 1024));
  await f.sync();
  const monitor = new RaidMonitor({ volume, clock, logger: nullLogger, onFailed: () => undefined, openDisk: async (dir) => new MemDisk(dir), pid: 1 });
  monitor.start();
  const { server, base } = await serve(raidAdminHandler(monitor));
  try {
    const st = await call(base, 'GET', '/raid/status');
    assert.equal(st.status, 200);
    assert.equal((st.body as unknown as RaidLiveStatus).health, 'clean');

    assert.equal((await call(base, 'GET', '/raid/fail?member=1')).status, 405, 'changes are POSTs');
    assert.equal((await call(base, 'POST', '/raid/status')).status, 405);
    assert.equal((await call(base, 'POST', '/raid/frobnicate')).status, 404);
    assert.equal((await call(base, 'POST', '/raid/fail')).status, 400, 'a member is required');
    assert.equal((await call(base, 'POST', '/raid/fail?member=7')).status, 400, 'no such slot');
    assert.equal((await call(base, 'POST', '/raid/fail?member=/elsewhere')).status, 400, 'no such directory');
    assert.equal((await call(base, 'POST', '/raid/scrub?mode=fast')).status, 400);
    assert.equal((await call(base, 'POST', '/raid/rebuild?rate=-3')).status, 400);
    assert.equal((await call(base, 'POST', '/raid/add?dir=relative/path')).status, 400);
    const nothing = await call(base, 'POST', '/raid/rebuild');
    assert.equal(nothing.status, 409);
    assert.match((nothing.body['error'] as { message: string }).message, /nothing to rebuild/);

    const failed = await call(base, 'POST', '/raid/fail?member=/m/d1');
    assert.equal(failed.status, 200);
    assert.equal((failed.body['status'] as RaidLiveStatus).health, 'degraded');
    const second = await call(base, 'POST', '/raid/fail?member=0');
    assert.equal(second.status, 409, 'failing a second RAID-5 member would fail the volume');
    assert.match((second.body['error'] as { message: string }).message, /would leave 1 usable members/);

    assert.equal((await call(base, 'POST', '/raid/remove?member=1')).status, 200);
    assert.equal(monitor.status().members[1]!.state, 'missing');
    const added = await call(base, 'POST', '/raid/add?dir=/m/spare');
    assert.equal(added.status, 200);
    assert.equal(added.body['member'], 1);
    assert.equal((added.body['status'] as RaidLiveStatus).job?.type, 'rebuild');
    await settle();
    assert.equal(monitor.status().health, 'clean');

    const scrub = await call(base, 'POST', '/raid/scrub?mode=check&rate=1000000000');
    assert.equal(scrub.status, 202);
    await settle();
    const after = (await call(base, 'GET', '/raid/status')).body as unknown as RaidLiveStatus;
    assert.equal(after.job?.type, 'scrub');
    assert.equal(after.job?.state, 'done');
    assert.equal(after.lastScrub?.mismatches, 0);
  } finally {
    server.close();
    monitor.stop();
    await volume.close();
  }
});

test('isLoopback: IPv4 loopback, IPv6 loopback and the mapped form; nothing else', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.ok(isLoopback(a), a);
  for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '0.0.0.0', '::', '', undefined, '1127.0.0.1']) assert.ok(!isLoopback(a), String(a));
});
