/**
 * The on-disk formats (superblock, metadata checkpoint, journal records) round-trip, and any
 * damage — a flipped bit, a cut, random bytes — is a typed error or a shorter journal, never a
 * crash or a wrong decode.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRaidError } from './errors.js';
import { decodeJournal, encodeRecord, type JournalRecord } from './journal-record.js';
import { Namespace, fileId } from './namespace.js';
import { RaidLayout } from './raid-layout.js';
import { ZERO_COUNTERS, decodeSuperblock, encodeSuperblock, type Superblock } from './superblock.js';

const ARRAY = '0123456789abcdef';
const layout = new RaidLayout({ level: 5, memberCount: 3, chunkBytes: 4096 });

const sb: Superblock = {
  arrayId: ARRAY, level: 5, memberCount: 3, memberIndex: 1, chunkBytes: 65536, generation: 42, updateCount: 99, clean: false, owner: '4242@host',
  createdWallMs: 1, updatedWallMs: 2,
  slots: [
    { state: 'active', reason: '', counters: ZERO_COUNTERS },
    { state: 'failed', reason: 'journal write failed: EIO', counters: { readErrors: 1, writeErrors: 2, checksumErrors: 3, repairedChunks: 4 } },
    { state: 'rebuilding', reason: 'new disk', counters: ZERO_COUNTERS },
  ],
  activity: { type: 'rebuild', member: 2, doneBytes: 10, totalBytes: 20 },
  lastScrub: { mode: 'check', finishedWallMs: 5, checkedBytes: 6, mismatches: 7, repaired: 0, lost: 0 },
};

test('superblock: round trip, and every damage is a typed corrupt error', () => {
  const bytes = encodeSuperblock(sb);
  assert.deepEqual(decodeSuperblock(bytes, 't'), sb);
  fc.assert(
    fc.property(fc.nat(bytes.length * 8 - 1), fc.nat(bytes.length), (bit, cut) => {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decodeSuperblock(flipped, 't'), (e: unknown) => isRaidError(e, 'corrupt'));
      if (cut < bytes.length) assert.throws(() => decodeSuperblock(bytes.subarray(0, cut), 't'), (e: unknown) => isRaidError(e, 'corrupt'));
    }),
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => void assert.throws(() => decodeSuperblock(junk, 't'), (e: unknown) => isRaidError(e, 'corrupt'))));
});

function sampleNamespace(): Namespace {
  const ns = new Namespace(layout);
  ns.apply({ type: 'mkdir', path: 'wal/old' });
  ns.apply({ type: 'create', path: 'wal/0001.seg', fileId: ns.allocateFileId() });
  ns.apply({ type: 'create', path: 'hard-state', fileId: ns.allocateFileId() });
  ns.applyMeta({ fileId: fileId(1), sizeBytes: 3 * 8192 + 5, stripes: [0, 1, 2, 3].map((stripe) => ({ stripe, crcs: [stripe, stripe + 1, stripe + 2] })) });
  ns.seq = 17;
  return ns;
}

test('metadata checkpoint: round trip, and every damage is a typed corrupt error', () => {
  const ns = sampleNamespace();
  const bytes = ns.encode(ARRAY);
  const back = Namespace.decode(bytes, layout, ARRAY, 't');
  assert.equal(back.seq, 17);
  assert.deepEqual(back.encode(ARRAY), bytes);
  assert.deepEqual(back.list('wal'), ['0001.seg', 'old']);
  assert.equal(back.file('wal/0001.seg')!.crcs.get(7), 3, 'stripe 2, member 1');
  assert.throws(() => Namespace.decode(bytes, layout, 'ffffffffffffffff', 't'), (e: unknown) => isRaidError(e, 'corrupt'), 'another array');
  fc.assert(
    fc.property(fc.nat(bytes.length * 8 - 1), (bit) => {
      const flipped = bytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => Namespace.decode(flipped, layout, ARRAY, 't'), (e: unknown) => isRaidError(e, 'corrupt'));
    }),
  );
});

test('journal: records round trip; a torn tail, a flipped bit or another member\'s record ends the journal there', () => {
  const recs: JournalRecord[] = [1, 2, 3].map((seq) => ({
    seq,
    memberIndex: 2,
    nsOps: seq === 1 ? [{ type: 'create', path: 'a', fileId: fileId(1) }, { type: 'rename', from: 'a', to: 'b' }] : [],
    metas: [{ fileId: fileId(1), sizeBytes: seq * 100, stripes: [{ stripe: 0, crcs: [1, 2, 3] }] }],
    ops: [{ type: 'truncate', fileId: fileId(1), lengthBytes: 5 }, { type: 'write', fileId: fileId(1), offsetBytes: seq * 10, data: new Uint8Array(seq * 7).fill(seq) }],
  }));
  const parts = recs.map((r) => encodeRecord(ARRAY, r, 3));
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const o = { arrayId: ARRAY, memberIndex: 2, checksumsPerStripe: 3 };
  const back = decodeJournal(all, o);
  assert.deepEqual(back.records, recs);
  assert.equal(back.validBytes, all.length);
  assert.equal(decodeJournal(all, { ...o, memberIndex: 1 }).records.length, 0, "another member's journal");
  fc.assert(
    fc.property(fc.nat(all.length - 1), fc.nat(7), (pos, bit) => {
      const cut = decodeJournal(all.subarray(0, pos), o);
      assert.ok(cut.records.length <= 2 && cut.validBytes <= pos);
      assert.deepEqual(cut.records, recs.slice(0, cut.records.length));
      const flipped = all.slice();
      flipped[pos]! ^= 1 << bit;
      const f = decodeJournal(flipped, o);
      const hit = parts.findIndex((_, i) => pos < parts.slice(0, i + 1).reduce((n, p) => n + p.length, 0));
      assert.equal(f.records.length, hit, 'records before the damage survive, none after');
    }),
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), (junk) => void decodeJournal(junk, o)));
});
