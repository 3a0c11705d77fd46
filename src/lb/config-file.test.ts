import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readLbConfigFile, watchLbConfigFile } from './config-file.js';
import { LoadBalancer } from './load-balancer.js';
import { nullLogger } from '../env/logger.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the config file is reloaded when it changes and on SIGHUP; a bad file is refused and the running config stays', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-lb-config-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'lb.json');
  const write = (backends: string[], policy = 'round-robin'): Promise<void> => writeFile(path, JSON.stringify({ listen: '127.0.0.1:0', mode: 'http', healthCheck: 'none', policy, backends }));
  await write(['127.0.0.1:1']);
  const lb = await LoadBalancer.start({ config: readLbConfigFile(path) });
  cleanups.push(() => lb.close());
  const stop = watchLbConfigFile(path, lb, nullLogger);
  cleanups.push(async () => stop());
  const ids = (): string[] => lb.balancer.status().map((s) => s.id);

  await write(['127.0.0.1:1', '127.0.0.1:2']);
  await waitFor('the file change to be applied', () => ids().length === 2);

  await writeFile(path, '{ "listen": "127.0.0.1:0", "backends": [');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(ids(), ['127.0.0.1:1', '127.0.0.1:2'], 'a broken file changes nothing');
  assert.ok(lb.metrics.reloadsFailed >= 1);

  stop(); // from here on only SIGHUP reloads
  await write(['127.0.0.1:3'], 'maglev');
  process.emit('SIGHUP', 'SIGHUP');
  assert.deepEqual(ids(), ['127.0.0.1:1', '127.0.0.1:2'], 'not watching any more');
  const stop2 = watchLbConfigFile(path, lb, nullLogger);
  cleanups.push(async () => stop2());
  process.emit('SIGHUP', 'SIGHUP');
  assert.deepEqual(ids(), ['127.0.0.1:3']);
  assert.equal(lb.balancer.policyName, 'maglev');
  assert.throws(() => readLbConfigFile(join(dir, 'missing.json')), /missing\.json: cannot read/);
});
