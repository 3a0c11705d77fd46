/**
 * A simulated member's data on a RAID-1 or RAID-5 volume (src/storage) over several SimDisks, with
 * member-level disk faults while the cluster runs:
 *
 * - one disk per volume is the volume's "bad" disk: it alone gets random disk faults (bit flips,
 *   latent sector errors, misdirected writes, reordered tears, fsync EIO, ENOSPC), injected bit
 *   rot, and losses (every operation on it fails with EIO from then on, open files included);
 * - a lost disk is replaced after a while by a blank one, added to the live volume and rebuilt
 *   online (or, with the member down, assembled and rebuilt when it starts);
 * - a crash tears every disk of the volume independently: crashes land mid-stripe, between one
 *   disk's journal fsync and another's (crash-in-sync aims at exactly that).
 *
 * That stays within what a volume survives, so its member must never see damage: recovery of the
 * write-ahead log reporting damage, the volume failing, a stripe lost or a volume that does not
 * assemble are all reported as storage-durability violations (the volume let the damage through),
 * while the cluster-level checkers check the rest (no acknowledged write lost, linearizability).
 */
import { errorMessage } from '../core/errors.js';
import { SIM_RAID_CHUNK_BYTES } from '../core/limits.js';
import { DiskError, type Disk, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import { SeededRandom, type Random } from '../env/random.js';
import { openVolume, type RaidVolume, type VolumeCounters } from '../storage/index.js';
import type { StorageRecoveryReport } from '../wal/open-storage.js';
import { NO_DISK_FAULTS, SimDisk, type FaultRecord, type SimDiskFaultRates } from './disk.js';
import type { EventLoop } from './event-loop.js';
import type { FaultIntensity } from './fault-atlas.js';
import type { SimParams, SimRaidParams } from './params.js';
import { exponential } from './random-util.js';
import { SimClock } from './sim-clock.js';
import type { SimStorageDevice } from './storage-device.js';

/** Random faults of a volume's bad disk, per operation. Heavier than the node-level atlas's: RAID repairs them. */
const BAD_DISK_RATES: Readonly<Record<FaultIntensity, SimDiskFaultRates>> = {
  off: NO_DISK_FAULTS,
  light: {
    readBitFlipProbability: 0.002,
    latentSectorErrorProbability: 0.002,
    misdirectedWriteProbability: 0.001,
    tornWriteReorderProbability: 0.2,
    fsyncErrorProbability: 0.001,
    enospcProbability: 0.001,
  },
  heavy: {
    readBitFlipProbability: 0.02,
    latentSectorErrorProbability: 0.02,
    misdirectedWriteProbability: 0.01,
    tornWriteReorderProbability: 0.5,
    fsyncErrorProbability: 0.005,
    enospcProbability: 0.005,
  },
};

/** Counters over a run, summed over every incarnation's volume. */
export interface RaidSimStats {
  /** Disks lost (every operation on them failing). */
  disksLost: number;
  /** Blank disks put in their place. */
  disksReplaced: number;
  /** Bit rot injected on purpose. */
  rotInjected: number;
  /** Corrupting faults the bad disks suffered (random and injected). */
  diskFaults: number;
  /** Rebuilds that brought a member back in sync. */
  rebuilds: number;
  checksumErrors: number;
  repairedChunks: number;
  reconstructedStripes: number;
  /** Times a volume was assembled (once per incarnation that opened its storage). */
  opens: number;
}

export function emptyRaidStats(): RaidSimStats {
  return { disksLost: 0, disksReplaced: 0, rotInjected: 0, diskFaults: 0, rebuilds: 0, checksumErrors: 0, repairedChunks: 0, reconstructedStripes: 0, opens: 0 };
}

export function addRaidStats(into: RaidSimStats, x: RaidSimStats): void {
  for (const k of Object.keys(into) as (keyof RaidSimStats)[]) into[k] += x[k];
}

/**
 * Puts every member on a RAID volume of `level` (drawn from its own stream, so the seed's other
 * parameters stay as they were).
 */
export function withRaidStorage(p: SimParams, level: 1 | 5, seed: number): SimParams {
  const r = new SeededRandom(BigInt(seed) ^ 0x7a1d_5eedn);
  const disks = level === 5 ? r.intBetween(3, 5) : r.intBetween(2, 3);
  const electionMs = p.node.tickMs * p.node.engine.electionTicks;
  const calm = !Number.isFinite(p.faults.actionMsMean) || p.storage.faultIntensity === 'off';
  const raid: SimRaidParams = {
    level,
    disks,
    chunkBytes: SIM_RAID_CHUNK_BYTES,
    actionMsMean: calm ? Infinity : Math.round(electionMs * r.intBetween(5, 20)),
    replaceMsMean: Math.round(electionMs * r.intBetween(2, 10)),
  };
  return { ...p, storage: { ...p.storage, kind: 'wal', raid } };
}

export interface SimRaidDeviceOptions {
  /** The member, for names and logs. */
  readonly name: string;
  readonly loop: EventLoop;
  readonly random: Random;
  readonly raid: SimRaidParams;
  readonly sectorBytes: 512 | 4096;
  readonly faultIntensity: FaultIntensity;
  /** The member's fsync failure rate: its bad disk's. */
  readonly syncFailRate: number;
  /** Runs `fn` after a disk latency. */
  readonly schedule: (fn: () => void) => void;
  /** A disk sync was issued (the member may aim a crash at it). */
  readonly onSync: () => void;
  readonly logger: Logger;
}

interface Slot {
  disk: SimDisk;
  /** Replacements so far (names the disk). */
  generation: number;
}

interface Incarnation {
  readonly clock: SimClock;
  volume: RaidVolume | null;
  rebuilding: boolean;
}

export class SimRaidDevice implements SimStorageDevice {
  readonly name: string;
  /** The slot whose disk suffers every fault. */
  readonly badSlot: number;
  private readonly slots: Slot[];
  /** Every disk that ever served, with its slot (for the audit). */
  private readonly everyDisk: { readonly slot: number; readonly disk: SimDisk }[] = [];
  private readonly dead = new Set<SimDisk>();
  private readonly random: Random;
  private readonly nemesisRandom: Random;
  private inc: Incarnation | null = null;
  private faultsOn = true;
  private readonly problems: string[] = [];
  private readonly counters = emptyRaidStats();
  private replacing = false;
  /** The volume exists (opened once): before, a lost disk would only keep it from being created. */
  private created = false;

  constructor(private readonly o: SimRaidDeviceOptions) {
    this.name = o.name;
    this.random = o.random.fork();
    this.nemesisRandom = o.random.fork();
    this.badSlot = this.nemesisRandom.int(o.raid.disks);
    this.slots = Array.from({ length: o.raid.disks }, (_, i) => ({ disk: this.newDisk(i, 0), generation: 0 }));
    this.scheduleNemesis();
  }

  // -------------------------------------------------------------------------------------------
  // SimStorageDevice.

  mount(): Disk {
    this.retire();
    const inc: Incarnation = { clock: new SimClock(this.o.loop, `${this.name} raid`), volume: null, rebuilding: false };
    this.inc = inc;
    return new LazyDisk(`raid${this.o.raid.level}(${this.name})`, async () => {
      const members = this.slots.map((s) => this.memberView(s.disk));
      let volume: RaidVolume;
      try {
        volume = await openVolume({
          members,
          clock: inc.clock,
          logger: this.o.logger.child({ component: 'raid' }),
          create: { level: this.o.raid.level, chunkBytes: this.o.raid.chunkBytes, random: this.random.fork() },
          owner: this.name,
        });
      } catch (e) {
        if (this.inc === inc) this.problems.push(`${this.name}: the volume did not open although one disk at most was bad: ${errorMessage(e)}`);
        throw new DiskError('EIO', '.', `EIO: the volume did not open: ${errorMessage(e)}`, { cause: e });
      }
      inc.volume = volume;
      this.created = true;
      this.counters.opens++;
      this.ensureRebuild(inc);
      return volume;
    });
  }

  crash(): void {
    this.retire();
    for (const s of this.slots) s.disk.crash();
  }

  setFaults(faults: Partial<SimDiskFaultRates>): void {
    // Healing: the bad disk calms down and a lost one is replaced, so the volume ends whole.
    this.faultsOn = Object.values({ ...NO_DISK_FAULTS, ...faults }).some((x) => x > 0);
    this.slots[this.badSlot]!.disk.setFaults(faults);
    if (!this.faultsOn && this.dead.has(this.slots[this.badSlot]!.disk)) this.replace();
  }

  /** Member-disk faults are audited against the volume's own plan (audit()), not the node atlas. */
  faultRecords(): readonly FaultRecord[] {
    return [];
  }

  checkRecovery(report: StorageRecoveryReport): string | null {
    if (report.alarm === null) return null;
    return `the RAID volume let damage through to the write-ahead log (recovery row ${report.row}, action ${report.action}) although one disk at most was bad`;
  }

  // -------------------------------------------------------------------------------------------
  // For the simulation's report.

  /** Problems found: the volume failed or lost data, or faults strayed from the bad disk. */
  audit(): string[] {
    this.harvest(this.inc);
    const out = [...this.problems];
    for (const { slot, disk } of this.everyDisk) {
      if (slot === this.badSlot) continue;
      const bad = disk.faultRecords().filter((r) => r.corrupting);
      if (bad.length > 0) out.push(`${this.name}: disk ${slot} suffered ${bad[0]!.type} on ${bad[0]!.path}, but only disk ${this.badSlot} may`);
    }
    return out;
  }

  stats(): RaidSimStats {
    const live = this.inc?.volume?.status().counters;
    const s = { ...this.counters };
    if (live !== undefined) addCounters(s, live);
    s.diskFaults = this.everyDisk.reduce((n, x) => n + x.disk.faultRecords().filter((r) => r.corrupting).length, 0);
    return s;
  }

  // -------------------------------------------------------------------------------------------

  private newDisk(slot: number, generation: number): SimDisk {
    const bad = slot === this.badSlot;
    const rates = BAD_DISK_RATES[this.o.faultIntensity];
    const disk = new SimDisk({
      name: `${this.name} disk ${slot}${generation > 0 ? `#${generation}` : ''}`,
      random: this.random.fork(),
      sectorBytes: this.o.sectorBytes,
      schedule: (fn) => this.o.schedule(fn),
      faults: bad && this.faultsOn ? { ...rates, fsyncErrorProbability: Math.max(rates.fsyncErrorProbability, this.o.syncFailRate) } : NO_DISK_FAULTS,
      corruptible: () => bad,
      // One disk's syncs stand for the volume's (each flush syncs every disk's journal), so a
      // volume draws crashes-in-sync about as often as a single disk would.
      onSync: slot === (this.badSlot + 1) % this.o.raid.disks ? () => this.o.onSync() : () => undefined,
    });
    this.everyDisk.push({ slot, disk });
    return disk;
  }

  /** A member disk as the volume sees it: the mount, failing every operation once the disk is lost. */
  private memberView(disk: SimDisk): Disk {
    return new LosableDisk(disk.mount(), () => this.dead.has(disk));
  }

  /** The incarnation ends (crash or a new mount): what its volume counted is kept. */
  private retire(): void {
    const inc = this.inc;
    if (inc === null) return;
    this.harvest(inc);
    inc.clock.kill();
    this.inc = null;
  }

  private harvest(inc: Incarnation | null): void {
    const v = inc?.volume;
    if (v === null || v === undefined) return;
    const st = v.status();
    if (st.health === 'failed') this.problems.push(`${this.name}: the volume failed although one disk at most was bad: ${st.failure}`);
    if (st.counters.lostStripes > 0) this.problems.push(`${this.name}: ${st.counters.lostStripes} stripes lost although one disk at most was bad`);
    addCounters(this.counters, st.counters);
    inc!.volume = null;
  }

  /** Rebuilds pending members in the background, again whenever more are pending when one ends. */
  private ensureRebuild(inc: Incarnation): void {
    const v = inc.volume;
    if (v === null || inc.rebuilding || this.inc !== inc || v.rebuildPending.length === 0 || v.health === 'failed') return;
    inc.rebuilding = true;
    v.rebuild().then(
      (r) => {
        inc.rebuilding = false;
        if (this.inc !== inc) return;
        this.counters.rebuilds += r.members.length;
        this.ensureRebuild(inc);
      },
      () => {
        // The disk being rebuilt was lost again, or the volume failed (audit() says so).
        inc.rebuilding = false;
      },
    );
  }

  private scheduleNemesis(): void {
    const mean = this.o.raid.actionMsMean;
    if (!Number.isFinite(mean)) return;
    this.o.loop.schedule(exponential(this.nemesisRandom, mean), `${this.name} raid nemesis`, () => {
      if (!this.faultsOn) return;
      this.act();
      this.scheduleNemesis();
    });
  }

  private act(): void {
    const slot = this.slots[this.badSlot]!;
    if (this.dead.has(slot.disk)) return;
    if (this.nemesisRandom.chance(0.3) && this.created) {
      this.dead.add(slot.disk);
      this.counters.disksLost++;
      this.o.loop.trace(`raid lose ${this.name} disk ${this.badSlot}`);
      this.o.loop.schedule(exponential(this.nemesisRandom, this.o.raid.replaceMsMean), `${this.name} raid replace`, () => {
        if (this.dead.has(this.slots[this.badSlot]!.disk)) this.replace();
      });
      return;
    }
    const files = slot.disk.files().filter((f) => f.sizeBytes > 0);
    if (files.length === 0) return;
    const f = this.nemesisRandom.pick(files);
    slot.disk.inject({ type: 'bit-rot', path: f.path, offset: this.nemesisRandom.int(f.sizeBytes), bit: this.nemesisRandom.int(8) });
    this.counters.rotInjected++;
    this.o.loop.trace(`raid rot ${this.name} disk ${this.badSlot} ${f.path}`);
  }

  /** A blank disk where the lost one was: added to the running volume and rebuilt, or assembled at the next start. */
  private replace(): void {
    const s = this.slots[this.badSlot]!;
    s.generation++;
    s.disk = this.newDisk(this.badSlot, s.generation);
    this.counters.disksReplaced++;
    this.o.loop.trace(`raid replace ${this.name} disk ${this.badSlot}`);
    const inc = this.inc;
    if (inc === null || inc.volume === null || this.replacing) return;
    const v = inc.volume;
    const disk = s.disk;
    this.replacing = true;
    void (async () => {
      try {
        // The loss may not be noticed yet (no I/O since): a probe fails the dead disk first.
        await v.probe().catch(() => undefined);
        if (this.inc !== inc || this.slots[this.badSlot]!.disk !== disk) return;
        await v.addMember(this.memberView(disk), { index: this.badSlot });
        this.ensureRebuild(inc);
      } catch {
        // Not now (a rebuild of the slot still running, the member crashing): the next start takes it.
      } finally {
        this.replacing = false;
      }
    })();
  }
}

function addCounters(into: RaidSimStats, c: VolumeCounters): void {
  into.checksumErrors += c.checksumErrors;
  into.repairedChunks += c.repairedChunks;
  into.reconstructedStripes += c.reconstructedStripes;
}

/** A Disk whose every operation fails with EIO once `lost()` says so: a disk pulled out. */
class LosableDisk implements Disk {
  readonly name: string;

  constructor(
    private readonly disk: Disk,
    private readonly lost: () => boolean,
  ) {
    this.name = disk.name;
  }

  check(path: string): void {
    if (this.lost()) throw new DiskError('EIO', path, `EIO: ${this.name}: ${path}: the disk is gone`);
  }

  private async run<T>(path: string, fn: () => Promise<T>): Promise<T> {
    this.check(path);
    const r = await fn();
    this.check(path);
    return r;
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const h = await this.run(path, () => this.disk.open(path, mode, options));
    return new LosableFile(h, this);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.run(path, () => this.disk.readFile(path));
  }
  list(dir: string): Promise<string[]> {
    return this.run(dir, () => this.disk.list(dir));
  }
  mkdir(dir: string): Promise<void> {
    return this.run(dir, () => this.disk.mkdir(dir));
  }
  rename(from: string, to: string): Promise<void> {
    return this.run(from, () => this.disk.rename(from, to));
  }
  unlink(path: string): Promise<void> {
    return this.run(path, () => this.disk.unlink(path));
  }
  rmdir(dir: string): Promise<void> {
    return this.run(dir, () => this.disk.rmdir(dir));
  }
  stat(path: string): Promise<FileStat | null> {
    return this.run(path, () => this.disk.stat(path));
  }
  syncDir(dir: string): Promise<void> {
    return this.run(dir, () => this.disk.syncDir(dir));
  }
}

class LosableFile implements FileHandle {
  readonly path: string;

  constructor(
    private readonly h: FileHandle,
    private readonly disk: LosableDisk,
  ) {
    this.path = h.path;
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    this.disk.check(this.path);
    const r = await fn();
    this.disk.check(this.path);
    return r;
  }

  read(position: number, lengthBytes: number): Promise<Uint8Array> {
    return this.run(() => this.h.read(position, lengthBytes));
  }
  write(position: number, data: Uint8Array): Promise<void> {
    return this.run(() => this.h.write(position, data));
  }
  sync(): Promise<void> {
    return this.run(() => this.h.sync());
  }
  truncate(sizeBytes: number): Promise<void> {
    return this.run(() => this.h.truncate(sizeBytes));
  }
  sizeBytes(): Promise<number> {
    return this.run(() => this.h.sizeBytes());
  }
  close(): Promise<void> {
    return this.h.close();
  }
}

/** The volume, opened (assembled, its journal replayed) on first use. */
class LazyDisk implements Disk {
  private opened: Promise<Disk> | null = null;

  constructor(
    readonly name: string,
    private readonly openFn: () => Promise<Disk>,
  ) {}

  private d(): Promise<Disk> {
    this.opened ??= this.openFn();
    return this.opened;
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    return (await this.d()).open(path, mode, options);
  }
  async readFile(path: string): Promise<Uint8Array> {
    return (await this.d()).readFile(path);
  }
  async list(dir: string): Promise<string[]> {
    return (await this.d()).list(dir);
  }
  async mkdir(dir: string): Promise<void> {
    return (await this.d()).mkdir(dir);
  }
  async rename(from: string, to: string): Promise<void> {
    return (await this.d()).rename(from, to);
  }
  async unlink(path: string): Promise<void> {
    return (await this.d()).unlink(path);
  }
  async rmdir(dir: string): Promise<void> {
    return (await this.d()).rmdir(dir);
  }
  async stat(path: string): Promise<FileStat | null> {
    return (await this.d()).stat(path);
  }
  async syncDir(dir: string): Promise<void> {
    return (await this.d()).syncDir(dir);
  }
}
