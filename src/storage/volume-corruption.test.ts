/**
 * Silent corruption behind the volume's back — a flipped bit, a torn chunk, a chunk written at the
 * wrong offset, a lost member file, damaged metadata — is detected on read by the checksums kept
 * apart from the data, repaired from redundancy (the bad copy rewritten), and counted; scrub in
 * check mode counts without touching, repair mode fixes. Damage beyond redundancy is an EIO with a
 * RaidError('data-lost') cause, never wrong bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDiskError } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { isRaidError } from './errors.js';
import { MemDisk } from './mem-disk.js';
import { RaidLayout, type RaidLevel } from './raid-layout.js';
import { parityOf } from './raid5-math.js';
import { StepClock } from './step-clock.js';
import type { RaidVolume } from './volume.js';
import { openVolume } from './volume-open.js';

const C = 4096;

interface Setup {
  readonly disks: MemDisk[];
  readonly layout: RaidLayout;
  readonly data: Uint8Array;
  v: RaidVolume;
}

async function setup(level: RaidLevel, members: number): Promise<Setup> {
  const disks = Array.from({ length: members }, (_, i) => new MemDisk(`m${i}`));
  const clock = new StepClock();
  let v = await openVolume({ members: disks, clock, create: { level, chunkBytes: C, random: new SeededRandom(5) } });
  const layout = new RaidLayout({ level, memberCount: members, chunkBytes: C });
  const data = new SeededRandom(9).bytes(10 * layout.stripeDataBytes + 1234);
  const f = await v.open('f', 'create');
  await f.write(0, data);
  await f.sync();
  await v.close();
  v = await openVolume({ members: disks, clock });
  return { disks, layout, data, v };
}

/** What member `m` holds at stripe `s` of file f. */
function expectedChunk(x: Setup, s: number, m: number): Uint8Array {
  const L = x.layout;
  const used = L.memberUsedBytes(x.data.length, s, m);
  if (L.level === 1) return x.data.slice(s * C, s * C + used);
  const j = L.columnOf(s, m);
  const base = s * L.stripeDataBytes;
  if (j >= 0) return x.data.slice(base + j * C, base + j * C + used);
  const chunks = Array.from({ length: L.dataChunks }, (_, k) => x.data.subarray(base + k * C, base + k * C + L.dataUsedBytes(x.data.length, s, k)));
  return parityOf(chunks, used);
}

/** A member holding a data chunk of stripe `s` that a read looks at first. */
function dataMemberOf(x: Setup, s: number): number {
  // RAID-1 spreads reads: stripe s is read from member s mod n first.
  return x.layout.level === 1 ? s % x.layout.memberCount : x.layout.dataMember(s, 0);
}

async function readAll(x: Setup): Promise<void> {
  assert.deepEqual(await x.v.readFile('f'), x.data);
}

for (const [level, members] of [[5, 3], [1, 2]] as const) {
  const name = `RAID-${level}`;

  test(`${name}: a flipped bit is detected on read, repaired from redundancy and counted`, async () => {
    const x = await setup(level, members);
    const m = dataMemberOf(x, 3);
    x.disks[m]!.flipBit('f', 3 * C + 17, 5);
    await readAll(x);
    const st = x.v.status();
    assert.equal(st.members[m]!.counters.checksumErrors, 1);
    assert.equal(st.members[m]!.counters.repairedChunks, 1);
    assert.equal(st.counters.repairedChunks, 1);
    assert.deepEqual(x.disks[m]!.peekBytes('f', 3 * C, C), expectedChunk(x, 3, m), 'the bad copy was rewritten');
    await x.v.dropCaches();
    await readAll(x);
    assert.equal(x.v.status().counters.checksumErrors, 1, 'nothing new after the repair');
    await x.v.close();
  });

  test(`${name}: a torn chunk (new head, garbage tail) is detected and repaired`, async () => {
    const x = await setup(level, members);
    const m = dataMemberOf(x, 5);
    x.disks[m]!.pokeBytes('f', 5 * C + C / 2, new SeededRandom(1).bytes(C / 2));
    await readAll(x);
    assert.equal(x.v.status().members[m]!.counters.checksumErrors, 1);
    assert.deepEqual(x.disks[m]!.peekBytes('f', 5 * C, C), expectedChunk(x, 5, m));
    await x.v.close();
  });

  test(`${name}: a misdirected write (a valid chunk at the wrong offset) is detected and repaired`, async () => {
    const x = await setup(level, members);
    const m = dataMemberOf(x, 6);
    // The chunk meant for stripe 2 landed on stripe 6's place: valid data, wrong place, and no
    // checksum of its own to vouch for it.
    x.disks[m]!.pokeBytes('f', 6 * C, x.disks[m]!.peekBytes('f', 2 * C, C));
    await readAll(x);
    assert.equal(x.v.status().members[m]!.counters.checksumErrors, 1);
    assert.deepEqual(x.disks[m]!.peekBytes('f', 6 * C, C), expectedChunk(x, 6, m));
    await x.v.close();
  });

  test(`${name}: a member file lost behind the volume's back is rebuilt by reads`, async () => {
    const x = await setup(level, members);
    await x.v.close();
    await x.disks[1]!.unlink('f');
    x.v = await openVolume({ members: x.disks, clock: new StepClock() });
    await readAll(x);
    assert.ok(x.v.status().members[1]!.counters.repairedChunks > 0);
    assert.equal(x.v.health, 'clean', 'one lost file does not fail the member');
    // Reads repair what they read (RAID-1 reads one copy, RAID-5 no parity); a scrub does the rest.
    await x.v.scrub({ mode: 'repair' });
    await x.v.close();
    const L = x.layout;
    for (let s = 0; s < L.stripeCount(x.data.length); s++) {
      assert.deepEqual(x.disks[1]!.peekBytes('f', s * C, C), expectedChunk(x, s, 1), `stripe ${s}`);
    }
  });

  test(`${name}: damage to two copies of one chunk fails the read with EIO (data-lost), never wrong bytes`, async () => {
    const x = await setup(level, members);
    const s = 4;
    if (level === 5) {
      x.disks[x.layout.dataMember(s, 0)]!.flipBit('f', s * C + 1);
      x.disks[x.layout.dataMember(s, 1)]!.flipBit('f', s * C + 1);
    } else {
      for (const d of x.disks) d.flipBit('f', s * C + 1);
    }
    await assert.rejects(x.v.readFile('f'), (e: unknown) => isDiskError(e, 'EIO') && isRaidError(e.cause, 'data-lost'));
    assert.equal(x.v.status().counters.lostStripes, 1);
    // The rest of the file is still there.
    const f = await x.v.open('f', 'read');
    assert.deepEqual(await f.read(0, s * x.layout.stripeDataBytes), x.data.subarray(0, s * x.layout.stripeDataBytes));
    const scrub = await x.v.scrub({ mode: 'check' });
    assert.equal(scrub.lost, 1);
    await x.v.close();
  });

  test(`${name}: scrub check counts mismatches without repairing; repair fixes them; check again finds none`, async () => {
    const x = await setup(level, members);
    // Three damaged chunks on different stripes, including a parity chunk for RAID-5 (which reads
    // never look at, so only a scrub finds it).
    const hits: [number, number][] = level === 5 ? [[1, x.layout.parityMember(1)], [4, x.layout.dataMember(4, 1)], [8, x.layout.dataMember(8, 0)]] : [[1, 0], [4, 1], [8, 0]];
    for (const [s, m] of hits) x.disks[m]!.flipBit('f', s * C + 100);
    const check = await x.v.scrub({ mode: 'check' });
    assert.equal(check.mismatches, 3);
    assert.equal(check.repaired, 0);
    for (const [s, m] of hits) assert.notDeepEqual(x.disks[m]!.peekBytes('f', s * C, C), expectedChunk(x, s, m), 'check mode changes nothing');
    const st = x.v.status();
    assert.equal(st.lastScrub?.mismatches, 3);
    assert.equal(st.activity.type, 'idle');
    const repair = await x.v.scrub({ mode: 'repair' });
    assert.equal(repair.mismatches, 3);
    assert.equal(repair.repaired, 3);
    for (const [s, m] of hits) assert.deepEqual(x.disks[m]!.peekBytes('f', s * C, C), expectedChunk(x, s, m), 'repair rewrote the copy');
    assert.equal((await x.v.scrub({ mode: 'check' })).mismatches, 0);
    await readAll(x);
    await x.v.close();
  });
}

test('RAID-5 degraded: corruption in a stripe whose other data chunk is on the lost member is data-lost, not wrong bytes', async () => {
  const x = await setup(5, 3);
  await x.v.close();
  const s = 2;
  const lost = x.layout.dataMember(s, 0);
  x.disks[lost]!.fault = { type: 'gone' };
  x.disks[x.layout.dataMember(s, 1)]!.flipBit('f', s * C + 3);
  x.v = await openVolume({ members: x.disks, clock: new StepClock(), resync: false });
  assert.equal(x.v.health, 'degraded');
  await assert.rejects(x.v.readFile('f'), (e: unknown) => isDiskError(e, 'EIO') && isRaidError(e.cause, 'data-lost'));
  await x.v.close();
});

test('RAID-1 with three copies: a lost member and a corrupt copy still leave a good one', async () => {
  const x = await setup(1, 3);
  await x.v.close();
  x.disks[0]!.fault = { type: 'gone' };
  x.disks[1]!.flipBit('f', 7 * C);
  x.v = await openVolume({ members: x.disks, clock: new StepClock(), resync: false });
  await readAll(x);
  assert.deepEqual(x.disks[1]!.peekBytes('f', 7 * C, C), expectedChunk(x, 7, 1));
  await x.v.close();
});

test('a damaged superblock takes its member out; the volume serves degraded and a forced re-add rebuilds it', async () => {
  const x = await setup(5, 3);
  await x.v.close();
  x.disks[2]!.flipBit('.raid/superblock', 20);
  x.v = await openVolume({ members: x.disks, clock: new StepClock() });
  assert.equal(x.v.health, 'degraded');
  assert.match(x.v.status().members[2]!.reason, /superblock unreadable/);
  await readAll(x);
  await assert.rejects(x.v.addMember(x.disks[2]!), (e: unknown) => isRaidError(e, 'foreign-member'));
  assert.equal(await x.v.addMember(x.disks[2]!, { force: true }), 2);
  const r = await x.v.rebuild();
  assert.deepEqual(r.members, [2]);
  assert.equal(x.v.health, 'clean');
  assert.equal((await x.v.scrub({ mode: 'check' })).mismatches, 0);
  await x.v.close();
});

test('damaged metadata on one member costs nothing: another copy is used and the damage rewritten', async () => {
  const x = await setup(5, 3);
  await x.v.close();
  x.disks[0]!.flipBit('.raid/meta', 30);
  x.v = await openVolume({ members: x.disks, clock: new StepClock() });
  assert.equal(x.v.health, 'clean');
  await readAll(x);
  await x.v.close();
  x.disks[1]!.fault = { type: 'gone' };
  x.disks[2]!.fault = { type: 'gone' };
  // Only member 0's metadata left to read: it must be whole again.
  await assert.rejects(openVolume({ members: x.disks, clock: new StepClock() }), (e: unknown) => isRaidError(e, 'volume-failed'));
  x.disks[2]!.fault = null;
  x.v = await openVolume({ members: x.disks, clock: new StepClock(), resync: false });
  await readAll(x);
  await x.v.close();
});

test('a damaged journal record on one member: the others hold it, replay uses them and heals the member', async () => {
  const disks = [0, 1, 2].map((i) => new MemDisk(`m${i}`));
  const clock = new StepClock();
  const v = await openVolume({ members: disks, clock, create: { level: 5, chunkBytes: C, random: new SeededRandom(5) } });
  const data = new SeededRandom(3).bytes(5 * 2 * C);
  const f = await v.open('f', 'create');
  await f.write(0, data);
  await f.sync(); // durable in the journals; not yet checkpointed
  for (const d of disks) d.crash(); // lose the unsynced in-place writes
  disks[0]!.flipBit('.raid/journal', 60);
  const w = await openVolume({ members: disks, clock });
  assert.deepEqual(await w.readFile('f'), data);
  assert.equal((await w.scrub({ mode: 'check' })).mismatches, 0, 'the member that missed the record was healed');
  await w.close();
});
