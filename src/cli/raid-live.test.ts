/** `bulwark raid ... --endpoint URL` against a live member's /raid endpoints (served in-process here). */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { nullLogger } from '../env/logger.js';
import { SeededRandom } from '../env/random.js';
import { raidAdminHandler } from '../server/raid-admin-http.js';
import { RaidMonitor } from '../server/raid-monitor.js';
import { MemDisk, StepClock, openVolume } from '../storage/index.js';
import { BULWARK_MAIN } from '../server/local-cluster.js';
import { endpointUrl } from './raid-live.js';

/**
 * Runs the real `bulwark` binary (capturing this process's stdout would also swallow the test
 * runner's own reports, which travel on it).
 */
function raid(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BULWARK_MAIN, 'raid', ...args], { timeout: 60_000 }, (e, out, err) => {
      resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, out, err });
    });
  });
}

test('endpointUrl: host:port or a URL, down to scheme and authority', () => {
  assert.equal(endpointUrl('127.0.0.1:2379'), 'http://127.0.0.1:2379');
  assert.equal(endpointUrl('http://127.0.0.1:2379/'), 'http://127.0.0.1:2379');
  assert.equal(endpointUrl('https://[::1]:2379/x'), 'https://[::1]:2379');
});

test('bulwark raid --endpoint: status, fail, add with the rebuild followed to the end, scrub', { timeout: 60_000 }, async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`/vol/d${i}`));
  const clock = new StepClock();
  const volume = await openVolume({ members: disks, clock, create: { level: 5, chunkBytes: 4096, random: new SeededRandom(8) } });
  const f = await volume.open('data', 'create');
  await f.write(0, new SeededRandom(9).bytes(200 * 1024));
  await f.sync();
  const monitor = new RaidMonitor({ volume, clock, logger: nullLogger, onFailed: () => undefined, openDisk: async (dir) => new MemDisk(dir), pid: 77 });
  monitor.start();
  const handler = raidAdminHandler(monitor);
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const ep = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const st = await raid('status', '--endpoint', ep);
    assert.equal(st.code, 0);
    assert.match(st.out, /State: +clean, open in process 77 \(live/);
    assert.match(st.out, /1 +\/vol\/d1 +active/);
    const json = JSON.parse((await raid('status', '--endpoint', ep, '--json')).out) as { health: string; live: boolean; members: { directory: string }[] };
    assert.equal(json.health, 'clean');
    assert.equal(json.live, true);
    assert.equal(json.members[2]!.directory, '/vol/d2');

    const usage = await raid('fail', '--endpoint', ep, '/vol/d0,/vol/d1,/vol/d2', '1');
    assert.equal(usage.code, 2, 'no directories with --endpoint');
    assert.match(usage.err, /unexpected 1 \(with --endpoint, give no directories\)/);
    const failed = await raid('fail', '--endpoint', ep, '1');
    assert.equal(failed.code, 0, failed.err);
    assert.match(failed.out, /Member 1 failed; the volume is degraded/);
    const refused = await raid('fail', '--endpoint', ep, '2');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /would leave 1 usable members/);

    const added = await raid('add', '--endpoint', ep, '/vol/spare');
    assert.equal(added.code, 0, added.err);
    assert.match(added.out, /\/vol\/spare is member 1/);
    assert.match(added.out, /Rebuilt member 1: .* Volume clean/);

    const scrub = await raid('scrub', '--endpoint', ep, '--check');
    assert.equal(scrub.code, 0, scrub.err);
    assert.match(scrub.out, /mismatch_cnt 0, repaired 0, lost 0/);
    const nothing = await raid('rebuild', '--endpoint', ep);
    assert.match(nothing.out, /Nothing to rebuild/);
  } finally {
    server.close();
    monitor.stop();
    await volume.close();
  }
});

test('bulwark raid --endpoint: a member that does not answer is a clear error', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  const r = await raid('status', '--endpoint', `127.0.0.1:${port}`);
  assert.equal(r.code, 1);
  assert.match(r.err, /cannot reach http:\/\/127\.0\.0\.1:\d+/);
});
