/**
 * The volume against a plain file: random writes, truncates, reads, syncs, member failures and
 * reopenings (a failed member comes back stale and is resynced), applied both to a volume and to
 * a plain in-memory Disk. Every read must return exactly what the plain file returns, and at the end
 * every file must read back the same with each single member lost (RAID-5) or with every loss
 * short of all members (RAID-1). fast-check prints the seed and the shrunk case on failure.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Disk } from '../env/disk.js';
import { SeededRandom } from '../env/random.js';
import { MemDisk } from './mem-disk.js';
import type { RaidLevel } from './raid-layout.js';
import { StepClock } from './step-clock.js';
import type { RaidVolume } from './volume.js';
import { openVolume } from './volume-open.js';

const CHUNK = 4096;
const FILES = ['a', 'dir/b'];

type Op =
  | { readonly type: 'write'; readonly file: number; readonly pos: number; readonly len: number; readonly seed: number }
  | { readonly type: 'truncate'; readonly file: number; readonly size: number }
  | { readonly type: 'read'; readonly file: number; readonly pos: number; readonly len: number }
  | { readonly type: 'sync' }
  | { readonly type: 'drop-caches' }
  | { readonly type: 'fail'; readonly member: number }
  | { readonly type: 'reopen' };

const opArb = (members: number): fc.Arbitrary<Op> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ type: fc.constant('write' as const), file: fc.nat(1), pos: fc.nat(6 * CHUNK), len: fc.integer({ min: 1, max: 3 * CHUNK }), seed: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ type: fc.constant('truncate' as const), file: fc.nat(1), size: fc.nat(8 * CHUNK) }) },
    { weight: 4, arbitrary: fc.record({ type: fc.constant('read' as const), file: fc.nat(1), pos: fc.nat(8 * CHUNK), len: fc.integer({ min: 1, max: 4 * CHUNK }) }) },
    { weight: 2, arbitrary: fc.constant({ type: 'sync' as const }) },
    { weight: 2, arbitrary: fc.constant({ type: 'drop-caches' as const }) },
    { weight: 1, arbitrary: fc.record({ type: fc.constant('fail' as const), member: fc.nat(members - 1) }) },
    { weight: 1, arbitrary: fc.constant({ type: 'reopen' as const }) },
  );

class Harness {
  readonly disks: MemDisk[];
  readonly plain = new MemDisk('plain');
  readonly clock = new StepClock();
  volume!: RaidVolume;
  private readonly failed = new Set<number>();

  constructor(
    readonly level: RaidLevel,
    readonly memberCount: number,
  ) {
    this.disks = Array.from({ length: memberCount }, (_, i) => new MemDisk(`m${i}`));
  }

  /** Members that may fail at once without failing the volume. */
  get redundancy(): number {
    return this.level === 5 ? 1 : this.memberCount - 1;
  }

  async start(): Promise<void> {
    this.volume = await openVolume({ members: this.disks, clock: this.clock, create: { level: this.level, chunkBytes: CHUNK, random: new SeededRandom(7) } });
    await this.volume.mkdir('dir');
    await this.plain.mkdir('dir');
    for (const f of FILES) {
      await (await this.volume.open(f, 'create')).close();
      await (await this.plain.open(f, 'create')).close();
    }
  }

  private async both<T>(fn: (d: Disk) => Promise<T>): Promise<[T, T]> {
    return [await fn(this.volume), await fn(this.plain)];
  }

  async apply(op: Op): Promise<void> {
    switch (op.type) {
      case 'write': {
        const data = new SeededRandom(op.seed).bytes(op.len);
        await this.both(async (d) => (await d.open(FILES[op.file]!, 'write')).write(op.pos, data));
        return;
      }
      case 'truncate':
        await this.both(async (d) => (await d.open(FILES[op.file]!, 'write')).truncate(op.size));
        return;
      case 'read': {
        const [got, want] = await this.both(async (d) => (await d.open(FILES[op.file]!, 'read')).read(op.pos, op.len));
        assert.deepEqual(got, want, `read ${FILES[op.file]} [${op.pos}, +${op.len})`);
        return;
      }
      case 'sync':
        await this.volume.sync();
        return;
      case 'drop-caches':
        await this.volume.dropCaches();
        return;
      case 'fail':
        if (this.failed.size >= this.redundancy || this.failed.has(op.member)) return;
        this.failed.add(op.member);
        this.disks[op.member]!.fault = { type: 'eio' };
        return;
      case 'reopen':
        await this.reopen();
        return;
    }
  }

  /** Close, bring failed members back, reopen: they are stale, so the volume resyncs them. */
  async reopen(): Promise<void> {
    await this.volume.close();
    for (const i of this.failed) this.disks[i]!.fault = null;
    this.volume = await openVolume({ members: this.disks, clock: this.clock });
    if (this.failed.size > 0) {
      assert.deepEqual(this.volume.rebuildPending.sort(), [...this.failed].sort(), 'returning members are found stale');
      await this.volume.rebuild();
    }
    this.failed.clear();
    assert.equal(this.volume.health, 'clean');
  }

  async checkAllFiles(what: string): Promise<void> {
    for (const f of FILES) {
      const [got, want] = await this.both((d) => d.readFile(f));
      assert.deepEqual(got, want, `${what}: ${f}`);
    }
    // Nothing was corrupted, so every checksum the volume kept (incrementally) must match.
    assert.equal(this.volume.status().counters.checksumErrors, 0, `${what}: checksums agree with data`);
  }

  /** Every loss the level survives: open without those members and read everything. */
  async checkEveryLoss(): Promise<void> {
    await this.reopen();
    const n = this.memberCount;
    const subsets: number[][] = [];
    for (let mask = 1; mask < 1 << n; mask++) {
      const s = [...Array(n).keys()].filter((i) => mask & (1 << i));
      if (s.length <= this.redundancy) subsets.push(s);
    }
    for (const lost of subsets) {
      await this.volume.close();
      for (const i of lost) this.disks[i]!.fault = { type: 'gone' };
      this.volume = await openVolume({ members: this.disks, clock: this.clock, resync: false });
      assert.equal(this.volume.health, 'degraded');
      await this.checkAllFiles(`members ${lost} lost`);
      for (const i of lost) this.failed.add(i);
      await this.reopen();
      await this.checkAllFiles(`after resyncing ${lost}`);
    }
    const scrub = await this.volume.scrub({ mode: 'check' });
    assert.equal(scrub.mismatches, 0, 'a clean volume scrubs clean');
    await this.volume.close();
  }
}

for (const [level, members] of [[5, 3], [5, 4], [1, 2], [1, 3]] as const) {
  test(`RAID-${level} with ${members} members reads back exactly what a plain file does, through failures and resyncs`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(members), { minLength: 5, maxLength: 40 }), async (ops) => {
        const h = new Harness(level, members);
        await h.start();
        for (const op of ops) await h.apply(op);
        await h.checkAllFiles('after the run');
        await h.checkEveryLoss();
      }),
      { numRuns: 25, includeErrorInReport: true },
    );
  });
}
