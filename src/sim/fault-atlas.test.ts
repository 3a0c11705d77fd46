import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { SimDisk } from './disk.js';
import { FaultAtlas, zoneOf } from './fault-atlas.js';

test('zones of a data directory', () => {
  assert.equal(zoneOf('wal/0000000000000001-00000000000000000001.wal'), 'wal');
  assert.equal(zoneOf('snap/snap-1-1.snap'), 'snapshot');
  assert.equal(zoneOf('meta'), 'meta');
  assert.equal(zoneOf('meta.tmp'), 'meta');
  assert.equal(zoneOf('other/file'), 'other');
});

test('never more than f nodes get corrupting faults, and never the meta file', () => {
  for (const nodes of [1, 2, 3, 4, 5, 7]) {
    const f = Math.floor((nodes - 1) / 2);
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const atlas = new FaultAtlas({ nodes, random: new SeededRandom(seed), intensity: 'heavy' });
      assert.equal(atlas.faultTolerance, f);
      assert.ok(atlas.faultyNodes.length <= f, `${nodes} nodes, seed ${seed}: ${atlas.faultyNodes.length} faulty`);
      for (const p of atlas.plans) {
        assert.ok(!p.zones.includes('meta'));
        if (!p.corrupting) {
          assert.equal(p.rates.readBitFlipProbability + p.rates.latentSectorErrorProbability + p.rates.misdirectedWriteProbability + p.rates.tornWriteReorderProbability, 0);
        }
      }
      atlas.faultyNodes.forEach((n) => seen.add(n));
    }
    if (f > 0) assert.equal(seen.size, nodes, `${nodes} nodes: every node is faulty in some seed`);
  }
});

test('disks built from the atlas stay within it, and the audit catches a disk that does not', async () => {
  const atlas = new FaultAtlas({ nodes: 5, random: new SeededRandom(3), intensity: 'heavy', faultyNodesMax: 2 });
  const disks = atlas.plans.map((p) => new SimDisk({ random: new SeededRandom(100 + p.node), sectorBytes: 512, ...atlas.diskOptions(p.node) }));
  for (const d of disks) {
    await d.mkdir('wal');
    await d.mkdir('snap');
    for (const path of ['wal/a.wal', 'snap/b.snap', 'meta']) {
      let f = await d.open(path, 'create');
      await d.syncDir(path.includes('/') ? path.slice(0, path.indexOf('/')) : '.');
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 20; i++) {
          await f.write(i * 512, new Uint8Array(512).fill(i)).catch(() => {});
          await f.read(0, 4096).catch(() => {});
        }
        await f.sync().catch(() => {});
        if (round % 5 === 4) {
          d.crash();
          f = await d.open(path, 'create'); // the old handle died with the crash
        }
      }
    }
  }
  const records = disks.map((d) => d.faultRecords());
  assert.deepEqual(atlas.audit(records), []);
  const faultyDamaged = atlas.faultyNodes.filter((n) => records[n]!.some((r) => r.corrupting));
  assert.ok(faultyDamaged.length > 0, 'heavy intensity damaged some faulty node');
  const healthy = atlas.plans.find((p) => !p.corrupting)!.node;
  const forged = records.map((r, i) => (i === healthy ? [...r, { type: 'bit-rot' as const, path: 'wal/a.wal', offset: 0, corrupting: true, injected: false }] : r));
  assert.ok(atlas.audit(forged).some((p) => p.includes(`node ${healthy}`)));
});
