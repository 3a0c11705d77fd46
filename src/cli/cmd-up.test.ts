/**
 * How `bulwark up` decides the storage of a new or resumed cluster from its flags and up.json
 * (the real-process side is test/cluster/up.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chooseRaid, readUpRecord } from './cmd-up.js';
import { UsageError } from './command.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-up-unit-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const none = { level: undefined, disks: undefined };

test('a new cluster takes the flags, with the default disk count per level', () => {
  withDir((dir) => {
    assert.equal(chooseRaid(dir, false, null, none), undefined);
    assert.deepEqual(chooseRaid(dir, false, null, { level: '5', disks: undefined }), { level: 5, disks: 3 });
    assert.deepEqual(chooseRaid(dir, false, null, { level: '1', disks: undefined }), { level: 1, disks: 2 });
    assert.deepEqual(chooseRaid(dir, false, null, { level: '1', disks: '3' }), { level: 1, disks: 3 });
    assert.throws(() => chooseRaid(dir, false, null, { level: '6', disks: undefined }), /--raid must be 1 or 5, got 6/);
    assert.throws(() => chooseRaid(dir, false, null, { level: '5', disks: '2' }), /--disks 2 is not enough for RAID-5 \(at least 3\)/);
    assert.throws(() => chooseRaid(dir, false, null, { level: '5', disks: 'x' }), UsageError);
    assert.throws(() => chooseRaid(dir, false, null, { level: undefined, disks: '3' }), /--disks needs --raid/);
  });
});

test('a resumed cluster keeps its recorded storage and refuses flags that contradict it', () => {
  withDir((dir) => {
    const raid5 = { raid: { level: 5 as const, disks: 3 } };
    assert.deepEqual(chooseRaid(dir, true, raid5, none), { level: 5, disks: 3 });
    assert.deepEqual(chooseRaid(dir, true, raid5, { level: '5', disks: '3' }), { level: 5, disks: 3 });
    assert.throws(() => chooseRaid(dir, true, raid5, { level: '1', disks: undefined }), /RAID-5 over 3 disks, not --raid 1; a cluster keeps the storage/);
    assert.throws(() => chooseRaid(dir, true, raid5, { level: undefined, disks: '4' }), /not --disks 4/);
    const plain = { raid: null };
    assert.equal(chooseRaid(dir, true, plain, none), undefined);
    assert.throws(() => chooseRaid(dir, true, plain, { level: '1', disks: undefined }), /plain directories; a cluster keeps the storage/);
  });
});

test('a cluster from an older `bulwark up` (no raid in up.json) on volumes needs the flags again', () => {
  withDir((dir) => {
    mkdirSync(join(dir, 'm1', 'disk1'), { recursive: true });
    writeFileSync(join(dir, 'up.json'), '{"consensus":"raft"}\n');
    const record = readUpRecord(dir);
    assert.deepEqual(record, { consensus: 'raft' });
    assert.throws(() => chooseRaid(dir, true, record, none), /keep their data on RAID volumes .* run again with the --raid and --disks/);
    assert.deepEqual(chooseRaid(dir, true, record, { level: '5', disks: '3' }), { level: 5, disks: 3 });
  });
});

test('up.json is read defensively', () => {
  withDir((dir) => {
    assert.deepEqual(readUpRecord(dir), {}, 'missing');
    writeFileSync(join(dir, 'up.json'), 'not json');
    assert.deepEqual(readUpRecord(dir), {}, 'garbage');
    writeFileSync(join(dir, 'up.json'), '{"consensus":"zab","raid":{"level":6,"disks":3}}');
    assert.deepEqual(readUpRecord(dir), {}, 'unknown values');
    writeFileSync(join(dir, 'up.json'), '{"consensus":"paxos","raid":{"level":1,"disks":2}}');
    assert.deepEqual(readUpRecord(dir), { consensus: 'paxos', raid: { level: 1, disks: 2 } });
    writeFileSync(join(dir, 'up.json'), '{"consensus":"raft","raid":null}');
    assert.deepEqual(readUpRecord(dir), { consensus: 'raft', raid: null });
  });
});
