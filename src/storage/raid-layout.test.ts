import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isRaidError } from './errors.js';
import { RaidLayout } from './raid-layout.js';

test('RAID-5 left-symmetric: parity rotates from the last member down; data follows parity', () => {
  const L = new RaidLayout({ level: 5, memberCount: 4, chunkBytes: 4096 });
  // md's left-symmetric table for 4 disks: P on 3,2,1,0; D0 right after P.
  assert.deepEqual([0, 1, 2, 3, 4].map((s) => L.parityMember(s)), [3, 2, 1, 0, 3]);
  assert.deepEqual([0, 1, 2].map((j) => L.dataMember(0, j)), [0, 1, 2]);
  assert.deepEqual([0, 1, 2].map((j) => L.dataMember(1, j)), [3, 0, 1]);
  assert.deepEqual([0, 1, 2].map((j) => L.dataMember(2, j)), [2, 3, 0]);
});

test('every stripe puts parity and each data chunk on distinct members, and columnOf inverts dataMember', () => {
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 16 }), fc.nat(10_000), (n, s) => {
      const L = new RaidLayout({ level: 5, memberCount: n, chunkBytes: 4096 });
      const owners = [L.parityMember(s), ...Array.from({ length: n - 1 }, (_, j) => L.dataMember(s, j))];
      assert.equal(new Set(owners).size, n);
      for (let j = 0; j < n - 1; j++) assert.equal(L.columnOf(s, L.dataMember(s, j)), j);
      assert.equal(L.columnOf(s, L.parityMember(s)), -1);
    }),
  );
});

test('used lengths add up to the file size, and member files end at their last used byte', () => {
  fc.assert(
    fc.property(fc.constantFrom(1 as const, 5 as const), fc.integer({ min: 3, max: 6 }), fc.nat(200_000), (level, n, size) => {
      const L = new RaidLayout({ level, memberCount: n, chunkBytes: 4096 });
      let total = 0;
      for (let s = 0; s < L.stripeCount(size); s++) for (let j = 0; j < L.dataChunks; j++) total += L.dataUsedBytes(size, s, j);
      assert.equal(total, size);
      for (let m = 0; m < n; m++) {
        let end = 0;
        for (let s = 0; s < L.stripeCount(size); s++) {
          const u = L.memberUsedBytes(size, s, m);
          if (u > 0) end = s * L.chunkBytes + u;
        }
        assert.ok(L.memberFileBytes(size, m) >= end, 'covers every used byte');
        assert.ok(L.memberFileBytes(size, m) <= end + L.chunkBytes, 'and not a chunk more');
      }
      if (level === 1) for (let m = 0; m < n; m++) assert.equal(L.memberFileBytes(size, m), size, 'a mirror copy is the file');
    }),
  );
});

test('layouts that make no volume are typed errors', () => {
  const bad = [
    { level: 5 as const, memberCount: 2, chunkBytes: 4096 },
    { level: 1 as const, memberCount: 1, chunkBytes: 4096 },
    { level: 5 as const, memberCount: 17, chunkBytes: 4096 },
    { level: 5 as const, memberCount: 3, chunkBytes: 5000 },
    { level: 5 as const, memberCount: 3, chunkBytes: 1024 },
    { level: 6 as unknown as 5, memberCount: 4, chunkBytes: 4096 },
  ];
  for (const o of bad) assert.throws(() => new RaidLayout(o), (e: unknown) => isRaidError(e, 'invalid-config'), JSON.stringify(o));
});
