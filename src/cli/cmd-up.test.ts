/**
 * How `bulwark up` decides the storage of a new or resumed cluster from its flags and up.json
 * (the real-process side is test/cluster/up.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { choosePaxosQuorums, chooseRaid, readUpRecord } from './cmd-up.js';
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

test('Flexible Paxos quorum sizes: a new paxos cluster takes the flags, a resumed one keeps its record', () => {
  withDir((dir) => {
    const flags = (phase1?: string, phase2?: string): { phase1: string | undefined; phase2: string | undefined } => ({ phase1, phase2 });
    assert.deepEqual(choosePaxosQuorums(dir, null, 'paxos', 5, flags()), { phase1: 0, phase2: 0 });
    assert.deepEqual(choosePaxosQuorums(dir, null, 'paxos', 5, flags('4', '2')), { phase1: 4, phase2: 2 });
    assert.deepEqual(choosePaxosQuorums(dir, null, 'paxos', 5, flags(undefined, '2')), { phase1: 0, phase2: 2 });
    assert.throws(() => choosePaxosQuorums(dir, null, 'paxos', 5, flags('2', '3')), /do not intersect for 5 members/);
    assert.throws(() => choosePaxosQuorums(dir, null, 'paxos', 3, flags('4')), /between 0 \(a majority\) and the 3 members, got 4/);
    assert.throws(() => choosePaxosQuorums(dir, null, 'raft', 3, flags('2', '2')), /paxos cluster only/);
    assert.deepEqual(choosePaxosQuorums(dir, null, 'raft', 3, flags()), { phase1: 0, phase2: 0 });
    const rec = { consensus: 'paxos' as const, paxosQuorums: { phase1: 4, phase2: 2 } };
    assert.deepEqual(choosePaxosQuorums(dir, rec, 'paxos', 5, flags()), { phase1: 4, phase2: 2 });
    assert.deepEqual(choosePaxosQuorums(dir, rec, 'paxos', 5, flags('4', '2')), { phase1: 4, phase2: 2 });
    assert.throws(() => choosePaxosQuorums(dir, rec, 'paxos', 5, flags(undefined, '3')), /was created with --paxos-phase1-quorum 4 --paxos-phase2-quorum 2/);
    // Recorded in up.json and read back; a malformed record reads as absent (the flags are trusted).
    writeFileSync(join(dir, 'up.json'), JSON.stringify({ consensus: 'paxos', raid: null, paxosQuorums: { phase1: 4, phase2: 2 } }));
    assert.deepEqual(readUpRecord(dir).paxosQuorums, { phase1: 4, phase2: 2 });
    writeFileSync(join(dir, 'up.json'), JSON.stringify({ consensus: 'paxos', raid: null, paxosQuorums: { phase1: 'x' } }));
    assert.equal(readUpRecord(dir).paxosQuorums, undefined);
  });
});
