// Recovery that finds damage must be crash-atomic: its repair marker and newest hard state survive a
// failure between cutting the damaged log and writing the commit batch (simulator: paxos,
// storage-faults, seed 34, where an ENOSPC there left an empty, clean-looking log).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { joinPath } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { SimDisk } from '../sim/disk.js';
import { SEGMENT_HEADER_BYTES } from './segment-header.js';
import { decodeRecoveryIntent, encodeRecoveryIntent, RECOVERY_INTENT_FILE } from './recovery-intent.js';
import { openWal } from './wal.js';

const enc = new TextEncoder();
const SEGMENT_BYTES = 16 * 1024;
const entry = (i: number): Entry => ({ index: logIndex(i), term: term(1), kind: 'normal', data: enc.encode(`entry ${i}`.padEnd(500, '.')) });

async function buildLog(n: number): Promise<{ disk: SimDisk; first: string }> {
  const disk = new SimDisk({ random: new SeededRandom(7) });
  const { wal } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  for (let i = 1; i <= n; i++) {
    wal.append([entry(i)], true);
    wal.setHardState(enc.encode(`hs${i}`));
    await wal.sync();
  }
  await wal.close();
  const segments = (await disk.list('wal')).filter((s) => s.endsWith('.wal')).sort();
  assert.ok(segments.length > 3, 'the log spans several segments');
  return { disk, first: segments[0]! };
}

test('a recovery that fails after cutting the damaged log leaves its repair marker and hard state for the next one', async () => {
  const { disk, first } = await buildLog(60);
  // Damage in the first (sealed, committed) segment: recovery keeps its header, quarantines the rest.
  disk.inject({ type: 'bit-rot', path: joinPath('wal', first), offset: SEGMENT_HEADER_BYTES + 40, bit: 1 });
  // The commit batch that would carry the repair marker fails (the disk is full).
  disk.inject({ type: 'enospc-next-write', path: joinPath('wal', first) });
  await assert.rejects(openWal(disk, { segmentBytes: SEGMENT_BYTES }), (e: Error & { code?: string }) => e.code === 'wal-fatal');

  const { wal, recovered } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  assert.ok(recovered.repairUntil !== null && recovered.repairUntil >= 60, `repair up to the acknowledged end, got ${recovered.repairUntil}`);
  assert.deepEqual(recovered.hardState, enc.encode('hs60'), 'the newest hard state, not an older one or none');
  assert.equal(recovered.report.corrupt, true, 'reported as damage');
  await wal.close();

  // Finished now: the intent is gone and the marker lives in the log itself.
  assert.equal((await disk.list('wal')).includes(RECOVERY_INTENT_FILE), false);
  const again = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  assert.ok(again.recovered.repairUntil !== null && again.recovered.repairUntil >= 60);
  assert.deepEqual(again.recovered.hardState, enc.encode('hs60'));
  await again.wal.close();
});

test('a clean restart writes no intent', async () => {
  const { disk } = await buildLog(10);
  const { wal, recovered } = await openWal(disk, { segmentBytes: SEGMENT_BYTES });
  assert.equal(recovered.repairUntil, null);
  assert.equal((await disk.list('wal')).includes(RECOVERY_INTENT_FILE), false);
  await wal.close();
});

test('the intent round-trips, and damage to it is reported, never thrown', () => {
  for (const intent of [
    { repairUntil: 0, hardState: null },
    { repairUntil: 12345, hardState: enc.encode('promise 7') },
  ]) {
    const bytes = encodeRecoveryIntent(intent);
    assert.deepEqual(decodeRecoveryIntent(bytes), { type: 'intent', intent });
    for (let i = 0; i < bytes.length; i++) {
      const bad = bytes.slice();
      bad[i]! ^= 0x10;
      assert.equal(decodeRecoveryIntent(bad).type, 'corrupt', `flip at byte ${i}`);
    }
    assert.equal(decodeRecoveryIntent(bytes.subarray(0, bytes.length - 1)).type, 'corrupt');
  }
  assert.equal(decodeRecoveryIntent(new Uint8Array(0)).type, 'corrupt');
});
