import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeDisk } from './disk.js';
import { isDiskError, writeFileAtomic } from '../disk.js';

test('NodeDisk: positional writes, sync, rename, list, typed errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-disk-'));
  try {
    const disk = new NodeDisk(dir);
    await disk.mkdir('a/b');
    const f = await disk.open('a/b/x', 'create-new');
    await f.write(0, new Uint8Array([1, 2, 3]));
    await f.write(10, new Uint8Array([9]));
    await f.sync();
    assert.equal(await f.sizeBytes(), 11);
    assert.deepEqual([...(await f.read(0, 20))], [1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 9]);
    await f.close();
    await assert.rejects(disk.open('a/b/x', 'create-new'), (e) => isDiskError(e, 'EEXIST'));
    await assert.rejects(disk.open('missing', 'read'), (e) => isDiskError(e, 'ENOENT'));
    await writeFileAtomic(disk, 'a/b/y', new Uint8Array([7]));
    assert.deepEqual(await disk.list('a/b'), ['x', 'y']);
    assert.deepEqual([...(await disk.readFile('a/b/y'))], [7]);
    assert.equal(await disk.stat('nope'), null);
    await assert.rejects(disk.open('../escape', 'read'), /escapes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('NodeDisk: dsync handles (O_DSYNC) in every mode write at positions and need no sync', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-disk-'));
  try {
    const disk = new NodeDisk(dir);
    const f = await disk.open('x', 'create-new', { dsync: true });
    await f.write(0, new Uint8Array([1, 2, 3]));
    await f.write(1, new Uint8Array([9]));
    await f.close();
    await assert.rejects(disk.open('x', 'create-new', { dsync: true }), (e) => isDiskError(e, 'EEXIST'));
    await assert.rejects(disk.open('missing', 'write', { dsync: true }), (e) => isDiskError(e, 'ENOENT'));
    // 'write' and 'create' keep the contents and write in place (never O_APPEND, never O_TRUNC).
    const w = await disk.open('x', 'write', { dsync: true });
    await w.write(3, new Uint8Array([4]));
    await w.close();
    const c = await disk.open('x', 'create', { dsync: true });
    await c.write(0, new Uint8Array([7]));
    assert.deepEqual([...(await c.read(0, 10))], [7, 9, 3, 4]);
    await c.close();
    const n = await disk.open('new', 'create', { dsync: true });
    await n.write(2, new Uint8Array([5]));
    await n.close();
    assert.deepEqual([...(await disk.readFile('new'))], [0, 0, 5]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
