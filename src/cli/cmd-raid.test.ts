import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NodeClock } from '../env/node/clock.js';
import { NodeDisk } from '../env/node/disk.js';
import { openVolume } from '../storage/index.js';
import { formatBytes, parseBytes, raidCommand } from './cmd-raid.js';
import { UsageError } from './command.js';

/** Runs `bulwark raid ...` in this process and returns its exit code and standard output. */
async function raid(...args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => {
    chunks.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await raidCommand.run(args);
    return { code, out: chunks.join('') };
  } finally {
    process.stdout.write = write;
    process.stderr.write = errWrite;
  }
}

test('sizes: parsed in binary and decimal units, printed readably', () => {
  assert.equal(parseBytes('64KiB', 'x'), 65536);
  assert.equal(parseBytes('64K', 'x'), 65536);
  assert.equal(parseBytes('1MiB', 'x'), 1 << 20);
  assert.equal(parseBytes('1.5MB', 'x'), 1_500_000);
  assert.equal(parseBytes('4096', 'x'), 4096);
  assert.throws(() => parseBytes('lots', 'x'), UsageError);
  assert.throws(() => parseBytes('0', 'x'), UsageError);
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(65536), '64.0 KiB');
});

test('bulwark raid: create, status, fail, remove, add (with rebuild), scrub, on real directories', { timeout: 60_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'bulwark-raid-cli-'));
  try {
    const [d1, d2, d3, d4] = ['d1', 'd2', 'd3', 'd4'].map((d) => join(root, d)) as [string, string, string, string];
    const created = await raid('create', '--level', '5', '--chunk', '16KiB', d1, d2, d3);
    assert.equal(created.code, 0);
    assert.match(created.out, /Created RAID-5 volume [0-9a-f]{16} over 3 members, chunk 16.0 KiB/);
    await assert.rejects(raid('create', '--level', '5', d1, d2, d3), /already holds a RAID member/);

    // Put some data on it the way a server would.
    const v = await openVolume({ members: [d1, d2, d3].map((d) => new NodeDisk(d)), clock: new NodeClock() });
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    await (await v.open('snap', 'create')).write(0, data);
    await v.close();

    const st = await raid('status', `${d1},${d2},${d3}`, '--json');
    const json = JSON.parse(st.out) as { health: string; members: { state: string; directory: string }[]; level: number };
    assert.equal(json.health, 'clean');
    assert.equal(json.level, 5);
    assert.deepEqual(json.members.map((m) => m.state), ['active', 'active', 'active']);

    assert.equal((await raid('fail', `${d1},${d2},${d3}`, d2)).code, 0);
    const table = await raid('status', `${d3},${d1},${d2}`);
    assert.match(table.out, /State: +degraded/);
    assert.match(table.out, /1 +\S+d2 +stale/);
    assert.equal((await raid('remove', `${d1},${d2},${d3}`, '1')).code, 0);
    const added = await raid('add', `${d1},${d2},${d3}`, d4, '--rate', '512MiB');
    assert.equal(added.code, 0);
    assert.match(added.out, /is member 1/);
    assert.match(added.out, /Rebuilt member 1: .* Volume clean/);
    const check = await raid('scrub', `${d1},${d4},${d3}`, '--check');
    assert.match(check.out, /mismatch_cnt 0, repaired 0, lost 0/);
    await assert.rejects(raid('scrub', `${d1},${d4},${d3}`), UsageError);

    const w = await openVolume({ members: [d4, d3].map((d) => new NodeDisk(d)), clock: new NodeClock(), resync: false });
    assert.deepEqual(await w.readFile('snap'), data, 'the rebuilt member and one other hold everything');
    await w.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
