import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32c } from '../core/crc32c.js';
import { leaseId, logIndex } from '../core/ids.js';
import { deleteRangeOp, prefixEnd, putOp, rangeOp } from './command.js';
import { KvError } from './errors.js';
import { KvStore } from './kv-store.js';
import { Applier } from '../../test/kv/helpers.js';

function sample(): { bytes: Uint8Array; index: number } {
  const a = new Applier(new KvStore());
  a.apply({ type: 'lease-grant', id: leaseId(9n), ttlSec: 60 });
  const sid = a.apply({ type: 'session-open' }).index;
  for (let i = 0; i < 60; i++) a.apply(putOp(`k${i % 9}`, `v${i}`, { lease: i % 4 === 0 ? leaseId(9n) : leaseId(0n) }), i % 7 === 0 ? { clientId: sid, seq: i + 1, lowestUnacked: 1 } : null);
  a.apply(deleteRangeOp('k3'));
  a.apply({ type: 'compaction', revision: 30, physical: false });
  return { bytes: Buffer.concat([...a.store.snapshot().chunks()]), index: a.store.appliedIndex };
}

/** Restores, and if that worked, exercises the store: only typed errors may come out. */
function restoreAndUse(data: Uint8Array, index: number): 'ok' | 'refused' {
  const st = new KvStore();
  try {
    const sink = st.restore(logIndex(index));
    sink.write(data);
    sink.finish();
  } catch (e) {
    if (e instanceof KvError && e.code === 'snapshot-invalid') return 'refused';
    throw e;
  }
  const a = new Applier(st);
  for (const op of [putOp('k1', 'x'), deleteRangeOp('k', { rangeEnd: prefixEnd('k') }), { type: 'compaction' as const, revision: st.revision, physical: true }, { type: 'lease-revoke' as const, id: leaseId(9n) }]) a.apply(op);
  st.range(rangeOp('k', { rangeEnd: prefixEnd('k') }));
  st.stateHash();
  return 'ok';
}

/** Rewrites the end frame's checksum so a change inside earlier frames passes the CRC and reaches the validators. */
function refreshCrc(data: Uint8Array): Uint8Array {
  const out = data.slice();
  const view = new DataView(out.buffer);
  let pos = 0;
  let crc = 0;
  while (pos + 5 <= out.length) {
    const len = view.getUint32(pos, true);
    if (pos + 5 + len > out.length) return out;
    if (out[pos + 4] === 8 && pos + 5 + len === out.length && len >= 4) {
      view.setUint32(pos + 5 + len - 4, crc, true);
      return out;
    }
    crc = crc32c(out, crc, pos, pos + 5 + len);
    pos += 5 + len;
  }
  return out;
}

test('a damaged snapshot is refused with a typed error, never anything else', () => {
  const { bytes, index } = sample();
  assert.equal(restoreAndUse(bytes, index), 'ok');
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.nat(bytes.length), (at, x, cut) => {
      const flipped = bytes.slice();
      flipped[at % bytes.length]! ^= x;
      assert.equal(restoreAndUse(flipped, index), 'refused');
      if (cut < bytes.length) assert.equal(restoreAndUse(bytes.subarray(0, cut), index), 'refused');
    }),
    { numRuns: 300 },
  );
});

test('damage behind a recomputed checksum is caught by the structural checks or restores a usable store', () => {
  const { bytes, index } = sample();
  let refused = 0;
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const d = bytes.slice();
      d[at % d.length]! ^= x;
      if (restoreAndUse(refreshCrc(d), index) === 'refused') refused++;
    }),
    { numRuns: 500 },
  );
  assert.ok(refused > 100, `${refused} refused`);
});

test('random bytes are refused', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (data) => assert.equal(restoreAndUse(data, 1), 'refused')), { numRuns: 500 });
});
