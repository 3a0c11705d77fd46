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
