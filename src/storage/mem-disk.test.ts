import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDiskError, writeFileAtomic } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk, PowerSupply } from './mem-disk.js';

test('MemDisk: unsynced contents and unsynced names are lost on a crash; synced ones survive', async () => {
  const d = new MemDisk();
  await d.mkdir('dir');
  await d.syncDir('.');
  const f = await d.open('dir/a', 'create');
  await f.write(0, new Uint8Array([1, 2, 3]));
  await f.sync();
  await d.syncDir('dir');
  await f.write(3, new Uint8Array([4]));
  await f.truncate(2);
  const g = await d.open('dir/b', 'create');
  await g.write(0, new Uint8Array([9]));
  await g.sync();
  d.crash();
  assert.deepEqual(await d.readFile('dir/a'), new Uint8Array([1, 2, 3]));
  assert.equal(await d.stat('dir/b'), null, 'a name is durable only after syncDir');
  await assert.rejects(f.read(0, 1), (e: unknown) => isDiskError(e, 'EBADF'), 'handles die with the power');
  await writeFileAtomic(d, 'dir/a', new Uint8Array([7]));
  d.crash();
  assert.deepEqual(await d.readFile('dir/a'), new Uint8Array([7]));
});

test('MemDisk: a random crash keeps a subset of unsynced writes, possibly torn, and never touches synced bytes', async () => {
  for (let seed = 0; seed < 50; seed++) {
    const d = new MemDisk();
    const f = await d.open('f', 'create');
    await f.write(0, new Uint8Array(100).fill(1));
    await f.sync();
    await d.syncDir('.');
    await f.write(10, new Uint8Array(20).fill(2));
    await f.write(150, new Uint8Array(10).fill(3));
    d.crash(new SeededRandom(seed));
    const b = await d.readFile('f');
    assert.ok(b.length === 100 || (b.length >= 150 && b.length <= 160), 'the extending write is there (maybe torn) or not');
    for (let i = 0; i < 100; i++) assert.ok(b[i] === 1 || (i >= 10 && i < 30 && b[i] === 2), `byte ${i}`);
  }
});

test('MemDisk: faults, a shared power supply, renames that keep open handles', async () => {
  const power = new PowerSupply();
  const d = new MemDisk('x', power);
  const f = await d.open('a', 'create');
  await d.rename('a', 'b');
  await f.write(0, new Uint8Array([5]));
  assert.deepEqual(await d.readFile('b'), new Uint8Array([5]));
  d.fault = { type: 'gone' };
  await assert.rejects(d.list('.'), (e: unknown) => isDiskError(e, 'ENOENT'));
  d.fault = { type: 'eio' };
  await assert.rejects(f.read(0, 1), (e: unknown) => isDiskError(e, 'EIO'));
  d.fault = null;
  power.cutAfter(1);
  await d.stat('b');
  await assert.rejects(d.stat('b'), (e: unknown) => isDiskError(e, 'EIO'));
  power.restore();
  d.failSync = true;
  await assert.rejects(f.sync(), (e: unknown) => isDiskError(e, 'EIO'));
});

test('MemDisk: a dsync handle (withDsync) makes each write durable when it returns', async () => {
  const d = new MemDisk();
  const f = await d.open('a', 'create', { dsync: true });
  await d.syncDir('.');
  await f.write(0, new Uint8Array([1, 2]));
  const plain = await d.open('b', 'create');
  await d.syncDir('.');
  await plain.write(0, new Uint8Array([3]));
  d.crash();
  assert.deepEqual(await d.readFile('a'), new Uint8Array([1, 2]), 'the dsync write survives without a sync');
  assert.deepEqual(await d.readFile('b'), new Uint8Array([]), 'the plain write was never synced');
});
