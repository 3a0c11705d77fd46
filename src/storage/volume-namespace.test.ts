/**
 * Names on a volume behave as on a plain disk (same results, same error codes), open handles follow
 * renames, and a power cut in the middle of a name change (or of the checkpoint at close) leaves
 * every member agreeing on either the old names or the new.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isDiskError, type Disk } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk, PowerSupply } from './mem-disk.js';
import { StepClock } from './step-clock.js';
import type { RaidVolume } from './volume.js';
import { openVolume } from './volume-open.js';

const NAMES = ['a', 'b', 'd', 'd/a', 'd/e', 'd/e/f', 'g'];

type NsOp =
  | { readonly type: 'mkdir' | 'rmdir' | 'unlink' | 'create' | 'create-new' | 'list' | 'stat' | 'write'; readonly path: string; readonly n: number }
  | { readonly type: 'rename'; readonly from: string; readonly to: string };

const nameArb = fc.constantFrom(...NAMES);
const nsOpArb: fc.Arbitrary<NsOp> = fc.oneof(
  fc.record({ type: fc.constantFrom('mkdir', 'rmdir', 'unlink', 'create', 'create-new', 'list', 'stat', 'write') as fc.Arbitrary<'mkdir'>, path: nameArb, n: fc.integer({ min: 1, max: 9000 }) }),
  fc.record({ type: fc.constant('rename' as const), from: nameArb, to: nameArb }),
);

async function outcome(d: Disk, op: NsOp): Promise<string> {
  try {
    switch (op.type) {
      case 'mkdir':
        await d.mkdir(op.path);
        return 'ok';
      case 'rmdir':
        await d.rmdir(op.path);
        return 'ok';
      case 'unlink':
        await d.unlink(op.path);
        return 'ok';
      case 'create':
      case 'create-new':
        await (await d.open(op.path, op.type)).close();
        return 'ok';
      case 'list':
        return JSON.stringify(await d.list(op.path));
      case 'stat':
        return JSON.stringify(await d.stat(op.path));
      case 'write': {
        const f = await d.open(op.path, 'write');
        await f.write(op.n % 5000, new SeededRandom(op.n).bytes(op.n));
        await f.close();
        return 'ok';
      }
      case 'rename':
        await d.rename(op.from, op.to);
        return 'ok';
    }
  } catch (e) {
    if (isDiskError(e)) return e.code;
    throw e;
  }
}

/** Every file's path and contents, walking from the root. */
async function tree(d: Disk, dir = '.'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await d.list(dir)) {
    if (dir === '.' && name === '.raid') continue;
    const p = dir === '.' ? name : `${dir}/${name}`;
    const st = await d.stat(p);
    if (st!.isDirectory) {
      out.set(`${p}/`, 'dir');
      for (const [k, v] of await tree(d, p)) out.set(k, v);
    } else out.set(p, Buffer.from(await d.readFile(p)).toString('hex'));
  }
  return out;
}

test('a directory renamed, or removed and its name taken by a file, before the checkpoint syncs it', async () => {
  // Found by the property below: the member directory waiting for its sync was looked for under its
  // old name, which was now a file (ENOTDIR), and the volume failed every member.
  for (const level of [1, 5] as const) {
    const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
    let v = await openVolume({ members: disks, clock: new StepClock(), create: { level, chunkBytes: 4096, random: new SeededRandom(1) } });
    await v.mkdir('d/a');
    await v.rename('d', 'a');
    await (await v.open('d', 'create-new')).close();
    await v.mkdir('g/e');
    await v.rmdir('g/e');
    await v.rmdir('g');
    await (await v.open('g', 'create-new')).close();
    await v.close();
    v = await openVolume({ members: disks, clock: new StepClock() });
    assert.deepEqual(await v.list('.'), ['a', 'd', 'g']);
    assert.deepEqual(await v.list('a'), ['a']);
    await v.close();
  }
});

test('names on a volume behave as on a plain disk, error codes included', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(1 as const, 5 as const), fc.array(nsOpArb, { minLength: 1, maxLength: 40 }), async (level, ops) => {
      const plain = new MemDisk('plain');
      const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
      let v = await openVolume({ members: disks, clock: new StepClock(), create: { level, chunkBytes: 4096, random: new SeededRandom(1) } });
      for (const [i, op] of ops.entries()) {
        assert.equal(await outcome(v, op), await outcome(plain, op), `op ${i}: ${JSON.stringify(op)}`);
        if (i % 9 === 8) {
          await v.close();
          v = await openVolume({ members: disks, clock: new StepClock() });
        }
      }
      assert.deepEqual(await tree(v), await tree(plain));
      await v.close();
      // Every member holds the same names (member files mirror the logical tree).
      const names = disks.map((d) => d.filePaths().filter((p) => !p.startsWith('.raid/')));
      for (const n of names) assert.deepEqual(n, names[0]);
    }),
    { numRuns: 40, includeErrorInReport: true },
  );
});

test('an open handle follows its file across renames; writes to a removed file fail with EBADF', async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
  const v = await openVolume({ members: disks, clock: new StepClock(), create: { level: 5, chunkBytes: 4096, random: new SeededRandom(1) } });
  const f = await v.open('one', 'create');
  await f.write(0, new Uint8Array([1, 2, 3]));
  await v.mkdir('sub');
  await v.rename('one', 'sub/two');
  await f.write(3, new Uint8Array([4]));
  await f.sync();
  assert.deepEqual(await v.readFile('sub/two'), new Uint8Array([1, 2, 3, 4]));
  assert.equal(await v.stat('one'), null);
  await v.unlink('sub/two');
  await assert.rejects(f.write(0, new Uint8Array([9])), (e: unknown) => isDiskError(e, 'EBADF'));
  await assert.rejects(v.open('.raid/meta', 'read'), (e: unknown) => isDiskError(e, 'EINVAL'));
  await assert.rejects(v.open('../escape', 'create'), (e: unknown) => isDiskError(e, 'EINVAL'));
  await v.close();
});

type Change = { readonly type: 'rename'; readonly from: string; readonly to: string } | { readonly type: 'unlink'; readonly path: string } | { readonly type: 'create'; readonly path: string; readonly n: number } | { readonly type: 'close' };

async function applyChange(v: RaidVolume, c: Change): Promise<void> {
  switch (c.type) {
    case 'rename':
      return v.rename(c.from, c.to);
    case 'unlink':
      return v.unlink(c.path);
    case 'create': {
      const f = await v.open(c.path, 'create');
      await f.write(0, new SeededRandom(c.n).bytes(c.n));
      await f.sync();
      await v.syncDir('.');
      return;
    }
    case 'close':
      return v.close();
  }
}

test('a power cut during a rename, unlink, create or close leaves the old names or the new, on every member', async () => {
  const changeArb: fc.Arbitrary<Change> = fc.oneof(
    fc.record({ type: fc.constant('rename' as const), from: fc.constantFrom('p', 'q'), to: fc.constantFrom('q', 'r', 'd/s') }),
    fc.record({ type: fc.constant('unlink' as const), path: fc.constantFrom('p', 'q') }),
    fc.record({ type: fc.constant('create' as const), path: fc.constantFrom('r', 'd/t'), n: fc.integer({ min: 1, max: 20000 }) }),
    fc.constant({ type: 'close' as const }),
  );
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(1 as const, 5 as const), changeArb, fc.nat(70), fc.nat(), async (level, change, budget, crashSeed) => {
      const power = new PowerSupply();
      const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`, power));
      const clock = new StepClock();
      let v = await openVolume({ members: disks, clock, create: { level, chunkBytes: 4096, random: new SeededRandom(2) } });
      await v.mkdir('d');
      for (const [name, n] of [['p', 5000], ['q', 12000]] as const) {
        const f = await v.open(name, 'create');
        await f.write(0, new SeededRandom(n).bytes(n));
      }
      await v.sync();
      const before = await tree(v);
      // The new state, computed on a plain disk.
      const plain = new MemDisk('plain');
      for (const [k, val] of before) {
        if (val === 'dir') await plain.mkdir(k.slice(0, -1));
        else await (await plain.open(k, 'create')).write(0, Buffer.from(val, 'hex'));
      }
      if (change.type === 'close') await Promise.resolve();
      else if (change.type === 'create') await (await plain.open(change.path, 'create')).write(0, new SeededRandom(change.n).bytes(change.n));
      else if (change.type === 'rename') await plain.rename(change.from, change.to);
      else await plain.unlink(change.path);
      const after = await tree(plain);

      power.cutAfter(budget);
      let acknowledged = false;
      try {
        await applyChange(v, change);
        acknowledged = true;
      } catch {
        // power cut
      }
      for (const d of disks) d.crash(new SeededRandom(crashSeed));
      power.restore();
      v = await openVolume({ members: disks, clock });
      assert.equal(v.health, 'clean');
      const got = await tree(v);
      const same = (a: Map<string, string>, b: Map<string, string>): boolean => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());
      assert.ok(same(got, before) || same(got, after), `names after the crash: ${[...got.keys()]}`);
      if (acknowledged) assert.ok(same(got, after), 'an acknowledged change survives');
      const scrub = await v.scrub({ mode: 'check' });
      assert.equal(scrub.mismatches, 0);
      await v.close();
      const names = disks.map((d) => d.filePaths().filter((p) => !p.startsWith('.raid/')));
      for (const n of names) assert.deepEqual(n, names[0], 'members agree on names');
    }),
    { numRuns: 150, includeErrorInReport: true },
  );
});
