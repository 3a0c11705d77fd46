/**
 * A RAID-1 or RAID-5 volume: a Disk made of other Disks (its members), so anything durable — WAL
 * segments, hard state, snapshots — can live on it unchanged.
 *
 * How a write travels:
 *   write()  → the stripe's image in memory (read and verified first if it was on disk); nothing
 *              reaches a member yet.
 *   sync()   → a flush: one journal record per member (its share of data and parity, plus sizes,
 *              checksums and namespace changes for all), fsynced on every member — the write is
 *              now durable — then written in place without fsync. Concurrent syncs share a flush.
 *   checkpoint (journal full, or close) → fsync the member files written in place, write the
 *              metadata (sizes, checksums, names) to every member, empty the journals.
 * Rename, unlink and rmdir are flushed at once and their directories fsynced on every member, so
 * member namespaces never disagree for longer than one journal record (see docs/raid.md).
 *
 * Member failures never reach callers directly: an error on a member marks it failed, records that
 * in the other members' superblocks (generation + 1) before anything is acknowledged, and the volume
 * goes on degraded. Only when too few members remain does the volume fail; from then on every
 * operation throws EIO with a RaidError('volume-failed') cause. A chunk that cannot be produced
 * throws EIO with RaidError('data-lost'): never wrong bytes.
 *
 * Every operation runs under one lock. The lock is held across member I/O, which keeps the state
 * machine simple; concurrency comes from group commit (writes queue while a flush runs and go out
 * together in the next one).
 */
import { AssertionError, assert, assertNever, assertUint } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import {
  RAID_DIRTY_BYTES_MAX,
  RAID_JOURNAL_BYTES_MAX,
  RAID_PROBE_INTERVAL_MS,
  RAID_PROGRESS_PERSIST_BYTES,
  RAID_REBUILD_BYTES_PER_SEC_DEFAULT,
  RAID_RESYNC_BYTES_PER_SEC_MIN,
  RAID_RESYNC_STEP_BYTES,
  RAID_SCRUB_BYTES_PER_SEC_DEFAULT,
  RAID_STRIPE_CACHE_BYTES_MAX,
} from '../core/limits.js';
import type { Clock } from '../env/clock.js';
import { DiskError, applyOpenOptions, isDiskError, writeFileAtomic, type Disk, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import { RaidError } from './errors.js';
import { JOURNAL_PATH, encodeRecord, type MemberOp } from './journal-record.js';
import { Member } from './member.js';
import { Mutex } from './mutex.js';
import {
  META_PATH,
  RAID_DIR,
  ROOT,
  isDestructive,
  normalizePath,
  parentOf,
  type FileEntry,
  type FileId,
  type MetaUpdate,
  type Namespace,
  type NsOp,
} from './namespace.js';
import type { RaidLayout } from './raid-layout.js';
import { crc32cPatch } from './crc32c-patch.js';
import { parityOf, xorInto } from './raid5-math.js';
import { readStripe, type ChunkRead, type StripeIo, type StripeReport } from './stripe-io.js';
import { SUPERBLOCK_PATH, decodeSuperblock, encodeSuperblock, type Activity, type ScrubMode, type ScrubSummary, type Superblock } from './superblock.js';
import { VolumeFile, type VolumeFileHost } from './volume-file.js';
import type { VolumeCounters, VolumeHealth, VolumeStatus } from './volume-status.js';

/** A stripe's logical bytes in memory, and what of them the next flush must write. */
interface StripeImage {
  readonly fileId: FileId;
  readonly stripe: number;
  readonly data: Uint8Array;
  /** RAID-5: the XOR of the data columns, kept current as data is written. */
  readonly parity: Uint8Array | null;
  /**
   * Per column (data chunks, then parity): the CRC32C of the column's first `crcBytes` bytes, or
   * -1 when unknown. Kept current as bytes change (crc32c-patch.ts), so a flush costs the bytes it
   * writes, not whole chunks.
   */
  readonly crc: number[];
  readonly crcBytes: number[];
  dirty: boolean;
  /** Logical byte range within the stripe written since the last flush (empty when lo >= hi). */
  lo: number;
  hi: number;
  /** RAID-5: the whole parity chunk must be rewritten (a truncation zeroed data under it). */
  parityDirty: boolean;
}

/** A file's state beyond what the namespace has flushed. */
interface FileState {
  readonly entry: FileEntry;
  /** The size callers see, with unflushed writes and truncations. */
  sizeBytes: number;
  /**
   * The lowest size since the last flush. Member bytes past it are stale on disk until the next
   * flush truncates them, so loads treat them as zeros.
   */
  lowWaterBytes: number;
  readonly dirty: Set<number>;
}

type MutableCounters = { -readonly [K in keyof VolumeCounters]: VolumeCounters[K] };

export interface RebuildOptions {
  /** Throttle, as md's speed_limit_max. */
  readonly bytesPerSecMax?: number;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
  /** Member bytes per locked step (at most RAID_RESYNC_STEP_BYTES, the default). */
  readonly stepBytes?: number;
}

export interface RebuildResult {
  readonly members: readonly number[];
  readonly bytes: number;
  /** Stripes that could not be produced for the new member (a second failure in the same stripe). */
  readonly lostStripes: number;
  readonly elapsedMs: number;
}

export interface ScrubOptions extends RebuildOptions {
  readonly mode: ScrubMode;
}

export interface ScrubResult extends ScrubSummary {
  readonly elapsedMs: number;
}

/** Stripes of a file whose journaled writes some members missed: healed after replay. */
export interface HealTarget {
  readonly fileId: FileId;
  readonly stripes: readonly number[];
  readonly members: readonly number[];
}

/**
 * The last journal record, held back because some members in sync lack their part of it: a crash
 * tore it there before it was acknowledged (a sync returns once every member has fsynced its
 * part), or a disk damaged it there after the fsync. replay() completes it only once the missing
 * parts have been rebuilt in memory from the others. If they cannot be, another member is failing
 * too: were the record acknowledged, that would be a second fault (damage, then a failure), beyond
 * RAID-5; so it was torn, never acknowledged, and nothing of it reached any member in place (that
 * comes after every journal fsync). It is dropped rather than left half applied, which would cost
 * the whole stripes it touched, acknowledged data included: the RAID-5 write hole by another door.
 */
export interface PendingRecord {
  readonly seq: number;
  readonly metas: readonly MetaUpdate[];
  /** Its writes, per member (empty for the members that lack it). */
  readonly ops: readonly (readonly MemberOp[])[];
  /** Members in sync that lack their part. */
  readonly missing: readonly number[];
  /** Every one of them holds the records before it (so lacks only this one): dropping it is safe. */
  readonly droppable: boolean;
}

/** What openVolume found in the journals: name changes to redo, and each record's writes per member. */
export interface ReplayPlan {
  readonly lastNsOps: readonly NsOp[];
  readonly records: readonly (readonly MemberOp[])[][];
  readonly heal: readonly HealTarget[];
  readonly pending: PendingRecord | null;
}

export interface VolumeInit {
  readonly arrayId: string;
  readonly layout: RaidLayout;
  readonly members: Member[];
  readonly namespace: Namespace;
  readonly generation: number;
  readonly updateCount: number;
  readonly createdWallMs: number;
  readonly journalSeq: number;
  readonly lastScrub: ScrubSummary | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly owner: string;
}

const RESERVED_MEMBER_ROOT_NAMES = new Set([RAID_DIR, 'lost+found']);

export class RaidVolume implements Disk, VolumeFileHost {
  readonly layout: RaidLayout;
  readonly arrayId: string;
  private readonly members: Member[];
  private readonly ns: Namespace;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly lock = new Mutex();
  private readonly io: StripeIo;

  private generation: number;
  private updateCount: number;
  private readonly createdWallMs: number;
  private clean = false;
  private owner: string;
  /** Member states changed and the superblocks do not say so yet. */
  private stateDirty = false;
  private failure: RaidError | null = null;
  private closed = false;

  private readonly files = new Map<FileId, FileState>();
  private readonly touched = new Set<FileId>();
  private readonly cache = new Map<string, StripeImage>();
  private cacheBytes = 0;
  private dirtyBytes = 0;
  private pendingNs: NsOp[] = [];
  /** Counts changes; a sync waits until `flushedSeq` passes the count it saw. */
  private mutationSeq = 0;
  private flushedSeq = 0;
  /** The sequence number of the last journal record. */
  private journalSeq: number;

  private activity: Activity = { type: 'idle' };
  private lastScrub: ScrubSummary | null;
  private busy: 'rebuild' | 'scrub' | null = null;
  private readonly counters: MutableCounters = {
    checksumErrors: 0, readErrors: 0, writeErrors: 0, repairedChunks: 0, reconstructedStripes: 0,
    lostStripes: 0, flushes: 0, checkpoints: 0, journalBytes: 0,
  };
  private readonly zeroCrcs = new Map<number, number>();
  private lastProbeMs = -Infinity;

  constructor(init: VolumeInit) {
    this.layout = init.layout;
    this.arrayId = init.arrayId;
    this.members = init.members;
    this.ns = init.namespace;
    this.generation = init.generation;
    this.updateCount = init.updateCount;
    this.createdWallMs = init.createdWallMs;
    this.journalSeq = init.journalSeq;
    this.lastScrub = init.lastScrub;
    this.clock = init.clock;
    this.logger = init.logger;
    this.owner = init.owner;
    assert(this.members.length === this.layout.memberCount, 'one Member per slot');
    this.io = {
      layout: this.layout,
      member: (i) => this.members[i]!,
      readChunk: (m, entry, stripe, used) => this.readChunk(m, entry, stripe, used),
      repairChunk: (m, entry, stripe, bytes) => this.repairChunk(m, entry, stripe, bytes),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Status.

  /** raid5(d1,d2,d3): the level and the members' Disk names. */
  get name(): string {
    return `raid${this.layout.level}(${this.members.map((m) => m.name).join(',')})`;
  }

  get health(): VolumeHealth {
    if (this.failure !== null) return 'failed';
    return this.members.every((m) => m.readable) ? 'clean' : 'degraded';
  }

  status(): VolumeStatus {
    const health = this.health;
    return {
      name: this.name,
      arrayId: this.arrayId,
      level: this.layout.level,
      memberCount: this.layout.memberCount,
      chunkBytes: this.layout.chunkBytes,
      generation: this.generation,
      health,
      degraded: health !== 'clean',
      failure: this.failure?.message ?? null,
      members: this.members.map((m) => ({
        index: m.index,
        name: m.disk?.name ?? null,
        state: m.state,
        reason: m.reason,
        counters: { ...m.counters },
      })),
      activity: this.activity,
      lastScrub: this.lastScrub,
      counters: { ...this.counters },
      clean: this.clean,
    };
  }

  /**
   * Flushes, then forgets every cached stripe, so the next reads go to the members and verify
   * their checksums again (for tests and tools, as `echo 3 > /proc/sys/vm/drop_caches`).
   */
  async dropCaches(): Promise<void> {
    await this.op('.', async () => {
      await this.flushLocked();
      this.cache.clear();
      this.cacheBytes = 0;
    });
  }

  // -------------------------------------------------------------------------------------------
  // The Disk interface.

  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    // dsync on a volume: each write, then the file's sync (which syncs the members it touched).
    return this.op(path, async () => applyOpenOptions(this.openPlain(path, mode), options));
  }

  private openPlain(path: string, mode: OpenMode): VolumeFile {
    const p = normalizePath(path);
    if (this.ns.isDir(p)) throw new DiskError(mode === 'create-new' ? 'EEXIST' : 'EISDIR', p);
    const entry = this.ns.file(p);
    if (entry !== undefined) {
      if (mode === 'create-new') throw new DiskError('EEXIST', p);
      return new VolumeFile(this, entry.id, p);
    }
    if (mode === 'read' || mode === 'write') throw new DiskError('ENOENT', p);
    const op: NsOp = { type: 'create', path: p, fileId: this.ns.allocateFileId() };
    this.changeNamespace(op);
    return new VolumeFile(this, op.fileId, p);
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.op(path, async () => {
      const p = normalizePath(path);
      if (this.ns.isDir(p)) throw new DiskError('EISDIR', p);
      const entry = this.ns.file(p);
      if (entry === undefined) throw new DiskError('ENOENT', p);
      const fs = this.fileState(entry.id, p);
      return this.readLocked(fs, 0, fs.sizeBytes);
    });
  }

  list(dir: string): Promise<string[]> {
    return this.op(dir, async () => this.ns.list(normalizePath(dir)));
  }

  mkdir(dir: string): Promise<void> {
    return this.op(dir, async () => {
      const p = normalizePath(dir);
      if (this.ns.isDir(p)) return;
      this.changeNamespace({ type: 'mkdir', path: p });
    });
  }

  rename(from: string, to: string): Promise<void> {
    return this.op(from, async () => {
      const op: NsOp = { type: 'rename', from: normalizePath(from), to: normalizePath(to) };
      this.ns.check(op);
      if (op.from === op.to) return;
      const replaced = this.ns.file(op.to);
      if (replaced !== undefined) await this.dropFile(replaced.id);
      this.changeNamespace(op);
      await this.flushLocked();
    });
  }

  unlink(path: string): Promise<void> {
    return this.op(path, async () => {
      const op: NsOp = { type: 'unlink', path: normalizePath(path) };
      this.ns.check(op);
      await this.dropFile(this.ns.file(op.path)!.id);
      this.changeNamespace(op);
      await this.flushLocked();
    });
  }

  rmdir(dir: string): Promise<void> {
    return this.op(dir, async () => {
      this.changeNamespace({ type: 'rmdir', path: normalizePath(dir) });
      await this.flushLocked();
    });
  }

  stat(path: string): Promise<FileStat | null> {
    return this.op(path, async () => {
      const p = normalizePath(path);
      if (this.ns.isDir(p)) return { sizeBytes: 0, isDirectory: true };
      const entry = this.ns.file(p);
      if (entry === undefined) return null;
      return { sizeBytes: this.files.get(entry.id)?.sizeBytes ?? entry.sizeBytes, isDirectory: false };
    });
  }

  /** Names are journaled with the data, so making a directory durable is a flush. */
  async syncDir(dir: string): Promise<void> {
    await this.op(dir, async () => {
      const p = normalizePath(dir);
      if (this.ns.file(p) !== undefined) throw new DiskError('ENOTDIR', p);
      if (!this.ns.isDir(p)) throw new DiskError('ENOENT', p);
    });
    await this.sync();
  }

  /**
   * Makes every change so far durable on every member. Callers that arrive while a flush runs wait
   * for the next one, which carries all their writes at once (group commit).
   */
  async sync(): Promise<void> {
    const target = this.mutationSeq;
    if (this.flushedSeq >= target && this.failure === null && !this.closed) return;
    await this.op('.', async () => {
      if (this.flushedSeq < target) await this.flushLocked();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Files (VolumeFileHost).

  fileRead(id: FileId, path: string, position: number, lengthBytes: number): Promise<Uint8Array> {
    assertUint(position, 'position');
    assertUint(lengthBytes, 'lengthBytes');
    return this.op(path, async () => {
      const fs = this.fileState(id, path);
      return this.readLocked(fs, position, Math.max(0, Math.min(lengthBytes, fs.sizeBytes - position)));
    });
  }

  fileWrite(id: FileId, path: string, position: number, data: Uint8Array): Promise<void> {
    assertUint(position, 'position');
    return this.op(path, async () => {
      const fs = this.fileState(id, path);
      await this.writeLocked(fs, position, data);
    });
  }

  fileTruncate(id: FileId, path: string, sizeBytes: number): Promise<void> {
    assertUint(sizeBytes, 'sizeBytes');
    return this.op(path, async () => {
      const fs = this.fileState(id, path);
      await this.truncateLocked(fs, sizeBytes);
    });
  }

  fileSize(id: FileId, path: string): Promise<number> {
    return this.op(path, async () => this.fileState(id, path).sizeBytes);
  }

  // -------------------------------------------------------------------------------------------
  // Plumbing shared by every operation.

  /** Runs `fn` under the lock; member trouble never escapes except as a DiskError. */
  private op<T>(path: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.checkUsable(path);
      try {
        return await fn();
      } catch (e) {
        throw this.asDiskError(e, path);
      }
    });
  }

  private checkUsable(path: string): void {
    if (this.closed) throw new DiskError('EBADF', path, `EBADF: ${path}: volume ${this.name} is closed`);
    if (this.failure !== null) throw new DiskError('EIO', path, `EIO: ${path}: ${this.failure.message}`, { cause: this.failure });
  }

  private asDiskError(e: unknown, path: string): unknown {
    if (e instanceof RaidError) return new DiskError('EIO', path, `EIO: ${path}: ${e.message}`, { cause: e });
    return e;
  }

  private changeNamespace(op: NsOp): void {
    this.ns.check(op);
    this.ns.apply(op);
    this.pendingNs.push(op);
    this.mutationSeq++;
  }

  private fileState(id: FileId, path: string): FileState {
    const entry = this.ns.fileById(id);
    if (entry === undefined) throw new DiskError('EBADF', path, `EBADF: ${path}: the file was removed`);
    let fs = this.files.get(id);
    if (fs === undefined) {
      fs = { entry, sizeBytes: entry.sizeBytes, lowWaterBytes: entry.sizeBytes, dirty: new Set() };
      this.files.set(id, fs);
    }
    return fs;
  }

  /** Forgets a file that is being unlinked or replaced: its cache, pending writes and handles. */
  private async dropFile(id: FileId): Promise<void> {
    const fs = this.files.get(id);
    if (fs !== undefined) {
      this.dirtyBytes -= fs.dirty.size * this.layout.stripeDataBytes;
      for (const [key, img] of this.cache) {
        if (img.fileId === id) {
          this.cache.delete(key);
          this.cacheBytes -= img.data.length;
        }
      }
    }
    this.files.delete(id);
    this.touched.delete(id);
    for (const m of this.members) {
      m.unsynced.delete(id);
      await m.closeHandle(id);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The stripe cache.

  private key(id: FileId, stripe: number): string {
    return `${id}/${stripe}`;
  }

  /**
   * The stripe's image: from the cache, or all zeros when nothing of it is on disk (or the caller
   * will overwrite all of it), or read from the members and verified.
   */
  private async image(fs: FileState, stripe: number, overwriteAll: boolean): Promise<StripeImage> {
    const key = this.key(fs.entry.id, stripe);
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const L = this.layout;
    const D = L.stripeDataBytes;
    const start = stripe * D;
    const columns = L.dataChunks + (L.level === 5 ? 1 : 0);
    let data: Uint8Array;
    const crc = new Array<number>(columns).fill(0);
    const crcBytes = new Array<number>(columns).fill(0);
    if (overwriteAll || start >= fs.lowWaterBytes) {
      // Nothing of it on disk, or all of it about to be replaced: an empty image, empty checksums.
      data = new Uint8Array(D);
    } else {
      data = await this.loadStripe(fs.entry, stripe);
      for (let j = 0; j < L.dataChunks; j++) {
        // The data was verified against these checksums (or rebuilt to match them).
        crc[j] = fs.entry.crcs.get(L.checksumIndex(stripe, L.level === 1 ? 0 : L.dataMember(stripe, j)));
        crcBytes[j] = L.dataUsedBytes(fs.entry.sizeBytes, stripe, j);
      }
      if (L.level === 5) crc[L.dataChunks] = -1; // parity is recomputed from the data, not trusted
      if (fs.lowWaterBytes < start + D) {
        data.fill(0, fs.lowWaterBytes - start);
        crc.fill(-1);
      }
    }
    const parity = L.level === 5 ? this.parityImage(data) : null;
    const img: StripeImage = { fileId: fs.entry.id, stripe, data, parity, crc, crcBytes, dirty: false, lo: D, hi: 0, parityDirty: false };
    this.cache.set(key, img);
    this.cacheBytes += D;
    this.evict();
    return img;
  }

  /** Reads a flushed stripe from the members, healing what it can; data-lost if it cannot. */
  private async loadStripe(entry: FileEntry, stripe: number): Promise<Uint8Array> {
    const report = await readStripe(this.io, entry, stripe, 'read');
    this.noteReport(report);
    await this.persistIfChanged();
    if (report.data === null) {
      throw new RaidError('data-lost', `${this.name}: ${entry.path}: stripe ${stripe} cannot be read from any copy or rebuilt from parity`);
    }
    return report.data;
  }

  private noteReport(r: StripeReport): void {
    if (r.reconstructed) this.counters.reconstructedStripes++;
    if (r.data === null) {
      this.counters.lostStripes++;
      this.logger.error('raid: stripe lost', { volume: this.name });
    }
  }

  private evict(): void {
    if (this.cacheBytes <= RAID_STRIPE_CACHE_BYTES_MAX) return;
    for (const [key, img] of this.cache) {
      if (this.cacheBytes <= RAID_STRIPE_CACHE_BYTES_MAX) break;
      if (img.dirty) continue;
      this.cache.delete(key);
      this.cacheBytes -= img.data.length;
    }
  }

  private markDirty(fs: FileState, img: StripeImage, lo: number, hi: number): void {
    if (!img.dirty) {
      img.dirty = true;
      this.dirtyBytes += img.data.length;
      fs.dirty.add(img.stripe);
    }
    if (lo < hi) {
      img.lo = Math.min(img.lo, lo);
      img.hi = Math.max(img.hi, hi);
    }
    this.touched.add(fs.entry.id);
  }

  // -------------------------------------------------------------------------------------------
  // Reads, writes, truncation (under the lock).

  private async readLocked(fs: FileState, position: number, lengthBytes: number): Promise<Uint8Array> {
    const out = new Uint8Array(lengthBytes);
    const D = this.layout.stripeDataBytes;
    const end = position + lengthBytes;
    for (let s = Math.floor(position / D); s * D < end; s++) {
      const img = await this.image(fs, s, false);
      const a = Math.max(position, s * D);
      const b = Math.min(end, (s + 1) * D);
      out.set(img.data.subarray(a - s * D, b - s * D), a - position);
    }
    return out;
  }

  private async writeLocked(fs: FileState, position: number, data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    if (position > fs.sizeBytes) await this.extendLocked(fs, position);
    const D = this.layout.stripeDataBytes;
    const end = position + data.length;
    for (let s = Math.floor(position / D); s * D < end; s++) {
      const a = Math.max(position, s * D);
      const b = Math.min(end, (s + 1) * D);
      const img = await this.image(fs, s, a === s * D && b === (s + 1) * D);
      this.writeImage(img, a - s * D, data.subarray(a - position, b - position));
      this.markDirty(fs, img, a - s * D, b - s * D);
      fs.sizeBytes = Math.max(fs.sizeBytes, b);
      if (this.dirtyBytes >= RAID_DIRTY_BYTES_MAX) await this.flushLocked();
    }
    this.mutationSeq++;
  }

  /** Grows a file with zeros. The partial stripe at the old end changes checksums, so it is dirtied. */
  private async extendLocked(fs: FileState, sizeBytes: number): Promise<void> {
    assert(sizeBytes > fs.sizeBytes, 'extend grows');
    const D = this.layout.stripeDataBytes;
    if (fs.sizeBytes % D !== 0) {
      const img = await this.image(fs, Math.floor(fs.sizeBytes / D), false);
      this.markDirty(fs, img, 0, 0);
    }
    fs.sizeBytes = sizeBytes;
    this.touched.add(fs.entry.id);
  }

  private async truncateLocked(fs: FileState, sizeBytes: number): Promise<void> {
    if (sizeBytes === fs.sizeBytes) return;
    this.mutationSeq++;
    if (sizeBytes > fs.sizeBytes) {
      await this.extendLocked(fs, sizeBytes);
      return;
    }
    const D = this.layout.stripeDataBytes;
    const keep = Math.ceil(sizeBytes / D);
    for (const [key, img] of this.cache) {
      if (img.fileId !== fs.entry.id || img.stripe < keep) continue;
      this.cache.delete(key);
      this.cacheBytes -= img.data.length;
      if (img.dirty) this.dirtyBytes -= img.data.length;
      fs.dirty.delete(img.stripe);
    }
    if (sizeBytes % D !== 0) {
      const s = Math.floor(sizeBytes / D);
      const img = await this.image(fs, s, false);
      img.data.fill(0, sizeBytes - s * D);
      if (img.parity !== null) img.parity.set(this.parityImage(img.data));
      img.crc.fill(-1);
      this.markDirty(fs, img, 0, 0);
      img.parityDirty = true;
    }
    fs.sizeBytes = sizeBytes;
    fs.lowWaterBytes = Math.min(fs.lowWaterBytes, sizeBytes);
    this.touched.add(fs.entry.id);
  }

  // -------------------------------------------------------------------------------------------
  // Member chunk I/O for stripe-io.ts.

  /** `overlay`: member-file writes and truncations to lay over what is in place (a record not written yet). */
  private async readChunk(m: Member, entry: FileEntry, stripe: number, usedBytes: number, overlay: readonly MemberOp[] = []): Promise<ChunkRead> {
    let bytes: Uint8Array;
    try {
      const h = await m.handle(entry.id, entry.path, false);
      bytes = await h.read(stripe * this.layout.chunkBytes, usedBytes);
    } catch (e) {
      if (!isDiskError(e)) throw e;
      m.counters.readErrors++;
      this.counters.readErrors++;
      await this.checkMemberAlive(m, e);
      return { health: 'unreadable', bytes: null };
    }
    if (bytes.length < usedBytes) {
      const padded = new Uint8Array(usedBytes);
      padded.set(bytes);
      bytes = padded;
    }
    if (overlay.length > 0) bytes = layOver(bytes, stripe * this.layout.chunkBytes, entry.id, overlay);
    if (crc32c(bytes) === entry.crcs.get(this.layout.checksumIndex(stripe, m.index))) return { health: 'ok', bytes };
    m.counters.checksumErrors++;
    this.counters.checksumErrors++;
    this.logger.warn('raid: checksum mismatch', { volume: this.name, slot: m.index, path: entry.path, stripe });
    return { health: 'corrupt', bytes };
  }

  /**
   * Reads every member's superblock by path and fails the members that cannot: a directory deleted,
   * unmounted or made unreadable under a running volume is noticed here, since writes to already
   * open files keep succeeding. Flushes run it at most every RAID_PROBE_INTERVAL_MS; a server may
   * also run it on a timer.
   */
  async probe(): Promise<void> {
    await this.op('.', () => this.probeLocked());
  }

  private async probeLocked(): Promise<void> {
    this.lastProbeMs = this.clock.nowMs();
    await this.eachMember('superblock probe', async (m) => {
      await m.disk!.readFile(SUPERBLOCK_PATH);
    });
    await this.persistIfChanged();
  }

  /**
   * After a failed read: a member whose superblock is gone or unreadable has lost its directory or
   * its disk, and is failed; otherwise only this file or sector is bad, and repair will rewrite it.
   */
  private async checkMemberAlive(m: Member, cause: DiskError): Promise<void> {
    if (!m.writable) return;
    let alive = false;
    try {
      alive = (await m.disk!.stat(SUPERBLOCK_PATH)) !== null;
    } catch {
      alive = false;
    }
    if (!alive) this.markFailed(m, `member unreadable: ${cause.message}`);
  }

  private async repairChunk(m: Member, entry: FileEntry, stripe: number, bytes: Uint8Array): Promise<boolean> {
    if (!m.writable) return false;
    try {
      const h = await m.handle(entry.id, entry.path, true);
      await h.write(stripe * this.layout.chunkBytes, bytes);
      m.unsynced.add(entry.id);
      m.dirtyDirs.add(parentOf(entry.path));
    } catch (e) {
      if (!isDiskError(e)) throw e;
      m.counters.writeErrors++;
      this.counters.writeErrors++;
      this.markFailed(m, `repair write failed: ${e.message}`);
      return false;
    }
    m.counters.repairedChunks++;
    this.counters.repairedChunks++;
    this.logger.info('raid: chunk repaired', { volume: this.name, slot: m.index, path: entry.path, stripe });
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Flush: journal, then in place.

  /** Writes everything pending as one journal record per member, then in place. */
  private async flushLocked(): Promise<void> {
    if (this.pendingNs.length === 0 && this.touched.size === 0) {
      this.flushedSeq = this.mutationSeq;
      return;
    }
    if (this.clock.nowMs() - this.lastProbeMs >= RAID_PROBE_INTERVAL_MS) await this.probeLocked();
    const target = this.mutationSeq;
    const nsOps = this.pendingNs;
    this.pendingNs = [];
    const { metas, ops } = this.buildFileChanges();
    for (const u of metas) this.ns.applyMeta(u);
    const seq = ++this.journalSeq;
    const cps = this.layout.checksumsPerStripe;

    await this.eachMember('journal write', async (m) => {
      const record = encodeRecord(this.arrayId, { seq, memberIndex: m.index, nsOps, metas, ops: ops[m.index]! }, cps);
      await m.journal!.write(m.journalBytes, record);
      await m.journal!.sync();
      m.journalBytes += record.length;
      this.counters.journalBytes += record.length;
    });
    // The write is acknowledged after this: a member that missed its record must be known failed.
    await this.persistIfChanged();

    await this.eachMember('write in place', async (m) => {
      await this.applyNamespace(m, nsOps);
      await this.applyMemberOps(m, ops[m.index]!);
    });
    const destructive = nsOps.filter(isDestructive);
    if (destructive.length > 0) {
      // The next record must not exist until this name change is durable on every member (replay
      // assumes that of every record but the last; see docs/raid.md).
      const dirs = new Set<string>();
      for (const op of destructive) {
        if (op.type === 'rename') dirs.add(parentOf(op.from)).add(parentOf(op.to));
        else dirs.add(parentOf(op.path));
      }
      await this.eachMember('fsync directory', async (m) => {
        for (const d of dirs) await m.disk!.syncDir(d);
      });
    }
    await this.persistIfChanged();
    this.counters.flushes++;
    this.flushedSeq = target;
    if (this.members.some((m) => m.writable && m.journalBytes >= RAID_JOURNAL_BYTES_MAX)) await this.checkpointLocked();
  }

  /** Turns dirty stripes and size changes into metadata updates and per-member writes. */
  private buildFileChanges(): { metas: MetaUpdate[]; ops: MemberOp[][] } {
    const L = this.layout;
    const ops: MemberOp[][] = this.members.map(() => []);
    const metas: MetaUpdate[] = [];
    for (const id of [...this.touched].sort((a, b) => a - b)) {
      const fs = this.files.get(id)!;
      const flushed = fs.entry.sizeBytes;
      const low = fs.lowWaterBytes;
      const size = fs.sizeBytes;
      if (low < flushed) {
        for (let m = 0; m < L.memberCount; m++) ops[m]!.push({ type: 'truncate', fileId: id, lengthBytes: L.memberFileBytes(low, m) });
      }
      const stripes: { stripe: number; crcs: number[] }[] = [];
      for (const s of [...fs.dirty].sort((a, b) => a - b)) {
        const img = this.cache.get(this.key(id, s));
        assert(img !== undefined && img.dirty, 'dirty stripes stay cached');
        stripes.push({ stripe: s, crcs: this.stripeChanges(id, size, img, ops) });
        img.dirty = false;
        img.lo = L.stripeDataBytes;
        img.hi = 0;
        img.parityDirty = false;
        this.dirtyBytes -= img.data.length;
      }
      // Stripes wholly past the low-water mark are zeros now (new, or truncated away and regrown).
      const boundary = Math.floor(low / L.stripeDataBytes);
      assert(low % L.stripeDataBytes === 0 || boundary >= L.stripeCount(size) || fs.dirty.has(boundary) || (low === flushed && size === flushed),
        'the stripe at the low-water mark is dirty whenever sizes changed');
      for (let s = Math.ceil(low / L.stripeDataBytes); s < L.stripeCount(size); s++) {
        if (!fs.dirty.has(s)) stripes.push({ stripe: s, crcs: this.zeroStripeCrcs(size, s) });
      }
      fs.dirty.clear();
      fs.lowWaterBytes = size;
      metas.push({ fileId: id, sizeBytes: size, stripes });
    }
    this.touched.clear();
    return { metas, ops };
  }

  /** One dirty stripe: its new checksums, and the member writes (data and parity) it needs. */
  private stripeChanges(id: FileId, size: number, img: StripeImage, ops: MemberOp[][]): number[] {
    const L = this.layout;
    const C = L.chunkBytes;
    const s = img.stripe;
    switch (L.level) {
      case 1: {
        const used = L.dataUsedBytes(size, s, 0);
        const hi = Math.min(img.hi, used);
        if (img.lo < hi) {
          const bytes = img.data.slice(img.lo, hi);
          for (const o of ops) o.push({ type: 'write', fileId: id, offsetBytes: s * C + img.lo, data: bytes });
        }
        return [this.columnCrc(img, 0, img.data, used)];
      }
      case 5: {
        const k = L.dataChunks;
        const parity = img.parity!;
        const used = Array.from({ length: k }, (_, j) => L.dataUsedBytes(size, s, j));
        const parityUsed = used[0]!;
        const crcs = new Array<number>(L.memberCount).fill(0);
        let pLo = img.parityDirty ? 0 : C;
        let pHi = img.parityDirty ? parityUsed : 0;
        for (let j = 0; j < k; j++) {
          const chunk = img.data.subarray(j * C, (j + 1) * C);
          const m = L.dataMember(s, j);
          crcs[m] = this.columnCrc(img, j, chunk, used[j]!);
          const a = Math.max(img.lo - j * C, 0);
          const b = Math.min(img.hi - j * C, used[j]!);
          if (a < b) {
            ops[m]!.push({ type: 'write', fileId: id, offsetBytes: s * C + a, data: chunk.slice(a, b) });
            pLo = Math.min(pLo, a);
            pHi = Math.max(pHi, b);
          }
        }
        const pm = L.parityMember(s);
        crcs[pm] = this.columnCrc(img, k, parity, parityUsed);
        pHi = Math.min(pHi, parityUsed);
        if (pLo < pHi) ops[pm]!.push({ type: 'write', fileId: id, offsetBytes: s * C + pLo, data: parity.slice(pLo, pHi) });
        return crcs;
      }
      default:
        return assertNever(L.level, 'RAID level');
    }
  }

  /** RAID-5: the parity of a stripe image's data columns, a whole chunk long. */
  private parityImage(data: Uint8Array): Uint8Array {
    const C = this.layout.chunkBytes;
    return parityOf(Array.from({ length: this.layout.dataChunks }, (_, j) => data.subarray(j * C, (j + 1) * C)), C);
  }

  /** Writes `bytes` at stripe offset `offset` of an image, keeping its parity and checksums current. */
  private writeImage(img: StripeImage, offset: number, bytes: Uint8Array): void {
    const C = this.layout.chunkBytes;
    const end = offset + bytes.length;
    for (let j = Math.floor(offset / C); j * C < end; j++) {
      const x = Math.max(offset, j * C) - j * C;
      const y = Math.min(end, (j + 1) * C) - j * C;
      const col = img.data.subarray(j * C, (j + 1) * C);
      const src = bytes.subarray(j * C + x - offset, j * C + y - offset);
      const delta = src.slice();
      xorInto(delta, col.subarray(x, y));
      col.set(src, x);
      patchColumnCrc(img, j, col, x, y, delta);
      if (img.parity !== null) {
        xorInto(img.parity.subarray(x, y), delta);
        patchColumnCrc(img, this.layout.dataChunks, img.parity, x, y, delta);
      }
    }
  }

  /** The checksum of column `c` over its `used` bytes, from the kept state where it can be. */
  private columnCrc(img: StripeImage, c: number, bytes: Uint8Array, used: number): number {
    const known = img.crc[c]!;
    const covered = img.crcBytes[c]!;
    if (known < 0 || covered > used) img.crc[c] = crc32c(bytes, 0, 0, used);
    else if (covered < used) img.crc[c] = crc32c(bytes, known, covered, used);
    img.crcBytes[c] = used;
    return img.crc[c]!;
  }

  private zeroCrc(lengthBytes: number): number {
    let c = this.zeroCrcs.get(lengthBytes);
    if (c === undefined) {
      c = crc32c(new Uint8Array(lengthBytes));
      this.zeroCrcs.set(lengthBytes, c);
    }
    return c;
  }

  private zeroStripeCrcs(size: number, s: number): number[] {
    const L = this.layout;
    if (L.level === 1) return [this.zeroCrc(L.dataUsedBytes(size, s, 0))];
    return Array.from({ length: L.memberCount }, (_, m) => this.zeroCrc(L.memberUsedBytes(size, s, m)));
  }

  private async applyNamespace(m: Member, nsOps: readonly NsOp[]): Promise<void> {
    const disk = m.disk!;
    for (const op of nsOps) {
      switch (op.type) {
        case 'mkdir':
          await disk.mkdir(op.path);
          for (let p = op.path; p !== ROOT; p = parentOf(p)) m.dirtyDirs.add(parentOf(p));
          break;
        case 'create': {
          // Truncate: a stray file of that name on this member must not lend the new file its bytes.
          if (this.ns.fileById(op.fileId) !== undefined) {
            await (await m.handle(op.fileId, op.path, true)).truncate(0);
          } else {
            // Created and unlinked within one flush: make it and let the unlink that follows remove it.
            const h = await disk.open(op.path, 'create');
            await h.close();
          }
          m.dirtyDirs.add(parentOf(op.path));
          break;
        }
        case 'rename':
          // Directories waiting for a sync move with their names.
          for (const d of [...m.dirtyDirs]) {
            if (d === op.from || d.startsWith(`${op.from}/`)) {
              m.dirtyDirs.delete(d);
              m.dirtyDirs.add(op.to + d.slice(op.from.length));
            }
          }
          try {
            await disk.rename(op.from, op.to);
          } catch (e) {
            if (!isDiskError(e, 'ENOENT')) throw e;
            // This member lost its copy; make sure the new name holds no stale file either, so
            // reads find it missing and repair it.
            await tolerate(disk.unlink(op.to), 'ENOENT', 'EISDIR');
          }
          break;
        case 'unlink':
          await tolerate(disk.unlink(op.path), 'ENOENT');
          break;
        case 'rmdir':
          await tolerate(disk.rmdir(op.path), 'ENOENT', 'ENOTEMPTY');
          break;
        default:
          assertNever(op, 'namespace op');
      }
    }
  }

  private async applyMemberOps(m: Member, ops: readonly MemberOp[]): Promise<void> {
    for (const op of ops) {
      const entry = this.ns.fileById(op.fileId);
      assert(entry !== undefined, 'ops name live files');
      const h = await m.handle(op.fileId, entry.path, true);
      if (op.type === 'truncate') await h.truncate(op.lengthBytes);
      else await h.write(op.offsetBytes, op.data);
      m.unsynced.add(op.fileId);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoint: in-place writes durable, metadata to every member, journals emptied.

  private async checkpointLocked(): Promise<void> {
    await this.flushLocked();
    await this.eachMember('fsync member files', async (m) => {
      for (const id of [...m.unsynced]) {
        await m.openHandle(id)?.sync();
        m.unsynced.delete(id);
      }
      for (const d of [...m.dirtyDirs]) {
        // Gone, or a file by now (removed and its name reused): nothing left to sync under that name.
        await tolerate(m.disk!.syncDir(d), 'ENOENT', 'ENOTDIR');
        m.dirtyDirs.delete(d);
      }
    });
    await this.persistIfChanged();
    this.ns.seq = this.journalSeq;
    const meta = this.ns.encode(this.arrayId);
    await this.eachMember('write metadata', (m) => writeFileAtomic(m.disk!, META_PATH, meta));
    await this.persistIfChanged();
    await this.eachMember('reset journal', async (m) => {
      await m.journal!.truncate(0);
      await m.journal!.sync();
      m.journalBytes = 0;
    });
    await this.persistIfChanged();
    this.counters.checkpoints++;
  }

  // -------------------------------------------------------------------------------------------
  // Member failure and superblocks.

  /** Runs `fn` on every writable member in parallel; a member whose I/O fails is failed. */
  private async eachMember(what: string, fn: (m: Member) => Promise<void>): Promise<void> {
    await Promise.all(
      this.members.filter((m) => m.writable).map(async (m) => {
        try {
          await fn(m);
        } catch (e) {
          if (!isDiskError(e) || e instanceof AssertionError) throw e;
          m.counters.writeErrors++;
          this.counters.writeErrors++;
          this.markFailed(m, `${what} failed: ${e.message}`);
        }
      }),
    );
  }

  private markFailed(m: Member, reason: string, byOperator = false): void {
    if (!m.writable) return;
    const wasRebuilding = m.state === 'rebuilding';
    m.state = 'failed';
    m.reason = reason;
    this.stateDirty = true;
    const fields = { volume: this.name, slot: m.index, disk: m.name, reason, rebuilding: wasRebuilding };
    if (byOperator) this.logger.info('raid: member failed by the operator', fields);
    else this.logger.error('raid: member failed', fields);
    void m.closeAll();
  }

  /**
   * Records member state changes in the superblocks of the members still written (generation + 1),
   * or fails the volume when too few members remain. Must run before anything that depended on a
   * failed member is acknowledged.
   */
  private async persistIfChanged(): Promise<void> {
    while (this.stateDirty) {
      this.stateDirty = false;
      const usable = this.members.filter((m) => m.readable);
      if (usable.length < this.layout.membersRequired) {
        this.failVolume(usable.length);
        throw this.failure!;
      }
      this.generation++;
      await this.writeSuperblocks();
    }
  }

  private failVolume(usable: number): void {
    if (this.failure !== null) return;
    const reasons = this.members.filter((m) => !m.readable).map((m) => `member ${m.index} (${m.name}): ${m.reason || m.state}`);
    this.failure = new RaidError(
      'volume-failed',
      `volume ${this.name} failed: ${usable} of ${this.layout.memberCount} members usable, RAID-${this.layout.level} needs ${this.layout.membersRequired}; ${reasons.join('; ')}`,
    );
    this.logger.error('raid: volume failed', { volume: this.name, reason: this.failure.message });
    for (const m of this.members) void m.closeAll();
  }

  superblockFor(index: number): Superblock {
    return {
      arrayId: this.arrayId,
      level: this.layout.level,
      memberCount: this.layout.memberCount,
      memberIndex: index,
      chunkBytes: this.layout.chunkBytes,
      generation: this.generation,
      updateCount: this.updateCount,
      clean: this.clean,
      owner: this.owner,
      createdWallMs: this.createdWallMs,
      updatedWallMs: Math.floor(this.clock.wallMs()),
      slots: this.members.map((m) => ({ state: m.state, reason: m.reason, counters: { ...m.counters } })),
      activity: this.activity,
      lastScrub: this.lastScrub,
    };
  }

  /** Writes the superblock of every member still written; failures fail the member (caller persists). */
  private async writeSuperblocks(): Promise<void> {
    this.updateCount++;
    await Promise.all(
      this.members.filter((m) => m.writable).map(async (m) => {
        try {
          await writeFileAtomic(m.disk!, SUPERBLOCK_PATH, encodeSuperblock(this.superblockFor(m.index)));
        } catch (e) {
          if (!isDiskError(e)) throw e;
          m.counters.writeErrors++;
          this.counters.writeErrors++;
          this.markFailed(m, `superblock write failed: ${e.message}`);
        }
      }),
    );
  }

  /** A change of array state: generation + 1 on every member, then any failures it caused. */
  private async bumpGeneration(): Promise<void> {
    this.generation++;
    await this.writeSuperblocks();
    await this.persistIfChanged();
  }

  // -------------------------------------------------------------------------------------------
  // Opening and closing (the rest of assembly is in volume-open.ts).

  /**
   * Finishes recovery for openVolume: redoes the last journal record's name changes (the only ones
   * that may be half done), makes every member's tree match the namespace, and replays every
   * journaled member write in order. Replay is idempotent: writes land at fixed offsets, and files
   * are named by id, resolved against the namespace after all records.
   */
  async replay(plan: ReplayPlan): Promise<void> {
    await this.lock.run(async () => {
      await this.eachMember('replay name changes', async (m) => {
        if (m.state !== 'active') return;
        const disk = m.disk!;
        for (const op of plan.lastNsOps) {
          if (op.type === 'rename') {
            if ((await disk.stat(op.from)) !== null) await disk.rename(op.from, op.to);
          } else if (op.type === 'unlink') await tolerate(disk.unlink(op.path), 'ENOENT');
          else if (op.type === 'rmdir') await tolerate(disk.rmdir(op.path), 'ENOENT', 'ENOTEMPTY');
        }
        for (const d of this.ns.allDirs()) if (d !== ROOT) await disk.mkdir(d);
        for (const f of this.ns.allFiles()) {
          if ((await disk.stat(f.path)) !== null) continue;
          // Created in the last record but not yet in place, or lost: reads repair what is missing.
          await (await disk.open(f.path, 'create')).close();
          if (f.sizeBytes > 0) this.logger.warn('raid: member file missing; recreated for repair', { volume: this.name, slot: m.index, path: f.path });
        }
        for (const d of this.ns.allDirs()) m.dirtyDirs.add(d);
      });
      await this.persistIfChanged();
      for (const record of plan.records) {
        await this.eachMember('replay writes', async (m) => {
          if (m.state !== 'active') return;
          const ops = record[m.index] ?? [];
          await this.applyMemberOps(m, ops.filter((op) => this.ns.fileById(op.fileId) !== undefined));
        });
        await this.persistIfChanged();
      }
      await this.heal(plan.heal);
      if (plan.pending !== null) await this.replayPending(plan.pending);
      for (const m of this.members) {
        if (m.state !== 'rebuilding') continue;
        try {
          await this.prepareRebuildTarget(m);
        } catch (e) {
          if (!isDiskError(e)) throw e;
          this.markFailed(m, `preparing the resync failed: ${e.message}`);
        }
      }
      await this.persistIfChanged();
    });
  }

  /**
   * The held-back last record (PendingRecord): the chunks of the members that lack it are rebuilt
   * in memory from the others' in-place chunks with their parts of the record laid over, each
   * checked against the record's checksums; only then is anything written. If some cannot be
   * rebuilt, the record is dropped (see PendingRecord); when a missing member lacks earlier records
   * too (its journal is damaged) it is applied as before, and what cannot be rebuilt reads as lost.
   */
  private async replayPending(p: PendingRecord): Promise<void> {
    const inverse = p.metas.map((u) => this.inverseMeta(u));
    for (const u of p.metas) this.ns.applyMeta(u);
    const rebuilt: { m: Member; entry: FileEntry; stripe: number; bytes: Uint8Array }[] = [];
    const overlayIo: StripeIo = {
      layout: this.layout,
      member: (i) => this.members[i]!,
      readChunk: (m, entry, stripe, used) => this.readChunk(m, entry, stripe, used, p.ops[m.index] ?? []),
      repairChunk: async (m, entry, stripe, bytes) => {
        rebuilt.push({ m, entry, stripe, bytes });
        return true;
      },
    };
    let complete = true;
    for (const u of p.metas) {
      const entry = this.ns.fileById(u.fileId);
      if (entry === undefined) continue;
      for (const s of new Set(u.stripes.map((x) => x.stripe))) {
        if (s >= this.layout.stripeCount(entry.sizeBytes)) continue;
        const report = await readStripe(overlayIo, entry, s, 'repair');
        if (report.data === null) complete = false;
      }
    }
    await this.persistIfChanged();
    if (!complete && p.droppable) {
      for (const inv of inverse.reverse()) this.ns.applyMeta(inv);
      this.logger.warn('raid: the last journal record was torn by a crash and cannot be completed without a member that failed; dropped (it was never acknowledged)', {
        volume: this.name, seq: p.seq, missingOn: p.missing,
      });
      return;
    }
    await this.eachMember('replay writes', async (m) => {
      if (m.state !== 'active') return;
      await this.applyMemberOps(m, (p.ops[m.index] ?? []).filter((op) => this.ns.fileById(op.fileId) !== undefined));
    });
    await this.persistIfChanged();
    for (const r of rebuilt) await this.repairChunk(r.m, r.entry, r.stripe, r.bytes);
    for (const u of p.metas) {
      const entry = this.ns.fileById(u.fileId);
      if (entry !== undefined) await this.cutToLength(entry, p.missing);
    }
    this.journalSeq = p.seq;
    if (!complete) {
      // Maybe acknowledged: apply it, and let what cannot be rebuilt read as lost (never wrong).
      await this.heal(p.metas.map((u) => ({ fileId: u.fileId, stripes: u.stripes.map((x) => x.stripe), members: p.missing })));
    }
    await this.persistIfChanged();
  }

  /** The MetaUpdate that undoes `u`: the file's size and checksums as they are now. */
  private inverseMeta(u: MetaUpdate): MetaUpdate {
    const e = this.ns.fileById(u.fileId);
    if (e === undefined) return { fileId: u.fileId, sizeBytes: 0, stripes: [] };
    const L = this.layout;
    const before = L.stripeCount(e.sizeBytes);
    const stripes = new Set(u.stripes.map((x) => x.stripe).filter((x) => x < before));
    for (let x = L.stripeCount(u.sizeBytes); x < before; x++) stripes.add(x);
    return {
      fileId: u.fileId,
      sizeBytes: e.sizeBytes,
      stripes: [...stripes].map((stripe) => ({ stripe, crcs: Array.from({ length: L.checksumsPerStripe }, (_, c) => e.crcs.get(stripe * L.checksumsPerStripe + c)) })),
    };
  }

  /**
   * Rewrites, from redundancy, the stripes some members missed in replay, and cuts their member files
   * back to length (a missed truncation must not leave stale bytes past the end).
   */
  private async heal(targets: readonly HealTarget[]): Promise<void> {
    for (const t of targets) {
      const entry = this.ns.fileById(t.fileId);
      if (entry === undefined) continue;
      await this.cutToLength(entry, t.members);
      for (const s of new Set(t.stripes)) {
        if (s >= this.layout.stripeCount(entry.sizeBytes)) continue;
        // Repair mode reads parity too: a member that missed a record may hold stale parity.
        this.noteReport(await readStripe(this.io, entry, s, 'repair'));
      }
      await this.persistIfChanged();
    }
  }

  /** Cuts the member files of `members` back to their length for `entry` (a missed truncation leaves stale bytes). */
  private async cutToLength(entry: FileEntry, members: readonly number[]): Promise<void> {
    for (const i of members) {
      const m = this.members[i]!;
      if (!m.writable) continue;
      try {
        const h = await m.handle(entry.id, entry.path, true);
        const want = this.layout.memberFileBytes(entry.sizeBytes, i);
        if ((await h.sizeBytes()) > want) await h.truncate(want);
        m.unsynced.add(entry.id);
      } catch (e) {
        if (!isDiskError(e)) throw e;
        this.markFailed(m, `healing after replay failed: ${e.message}`);
      }
    }
  }

  /** Marks the volume open (dirty) on every member; called once by openVolume. */
  async markOpen(): Promise<void> {
    await this.lock.run(async () => {
      this.clean = false;
      await this.bumpGeneration();
      await this.checkpointLocked();
    });
  }

  /** Flushes, checkpoints, marks the volume clean on every member, and closes member files. */
  async close(): Promise<void> {
    await this.lock.run(async () => {
      if (this.closed) return;
      try {
        if (this.failure === null) {
          await this.checkpointLocked();
          this.clean = true;
          this.owner = '';
          await this.bumpGeneration();
        }
      } finally {
        this.closed = true;
        await Promise.all(this.members.map((m) => m.closeAll()));
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Administration: fail, remove, add (mdadm --fail, --remove, --add).

  /** Takes a member out of the array, as if its disk had died. Refused if that would fail the volume. */
  async failMember(index: number, reason = 'failed by operator'): Promise<void> {
    await this.admin(async () => {
      const m = this.slot(index);
      if (!m.writable) throw new RaidError('invalid-state', `member ${index} is already ${m.state}`);
      const usable = this.members.filter((x) => x.readable && x !== m).length;
      if (m.readable && usable < this.layout.membersRequired) {
        throw new RaidError('invalid-state', `failing member ${index} would leave ${usable} usable members; RAID-${this.layout.level} needs ${this.layout.membersRequired}`);
      }
      await this.flushLocked();
      this.markFailed(m, reason, true);
      await this.persistIfChanged();
    });
  }

  /** Empties the slot of a failed member, so a new disk can take it. */
  async removeMember(index: number): Promise<void> {
    await this.admin(async () => {
      const m = this.slot(index);
      if (m.state !== 'failed') throw new RaidError('invalid-state', `member ${index} is ${m.state}; only a failed member can be removed (fail it first)`);
      await m.closeAll();
      const fresh = new Member(index, null, 'missing');
      this.members[index] = fresh;
      await this.bumpGeneration();
    });
  }

  /**
   * Puts `disk` into the first empty (or else failed) slot as a member being rebuilt: it receives
   * every write from now on, and `rebuild()` copies the rest. The disk must be blank, or a former
   * member of this volume (a stale member coming back); `force` overrides the check.
   */
  async addMember(disk: Disk, o: { force?: boolean; index?: number } = {}): Promise<number> {
    return this.admin(async () => {
      const index = o.index ?? this.members.findIndex((m) => m.state === 'missing');
      const slot = index >= 0 ? index : this.members.findIndex((m) => m.state === 'failed');
      if (slot < 0) throw new RaidError('invalid-state', `volume ${this.name} has no empty or failed slot; fail and remove a member first`);
      const old = this.slot(slot);
      if (old.writable) throw new RaidError('invalid-state', `slot ${slot} holds member ${old.name}, which is ${old.state}`);
      if (!o.force) await checkAddable(disk, this.arrayId);
      await old.closeAll();
      await disk.mkdir(RAID_DIR);
      const m = new Member(slot, disk, 'rebuilding');
      m.journal = await disk.open(JOURNAL_PATH, 'create');
      await m.journal.truncate(0);
      await m.journal.sync();
      await disk.syncDir(RAID_DIR);
      await disk.syncDir(ROOT);
      this.members[slot] = m;
      await this.flushLocked();
      try {
        await this.prepareRebuildTarget(m);
      } catch (e) {
        if (!isDiskError(e)) throw e;
        this.markFailed(m, `preparing the new member failed: ${e.message}`);
        await this.persistIfChanged();
        throw new RaidError('invalid-state', `${disk.name} could not join ${this.name}: ${e.message}`, { cause: e });
      }
      await this.bumpGeneration();
      this.logger.info('raid: member added', { volume: this.name, slot: slot, disk: disk.name });
      return slot;
    });
  }

  private slot(index: number): Member {
    const m = this.members[index];
    if (m === undefined) throw new RaidError('invalid-state', `no member ${index}; the volume has ${this.layout.memberCount}`);
    return m;
  }

  private admin<T>(fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      if (this.closed) throw new RaidError('invalid-state', `volume ${this.name} is closed`);
      if (this.failure !== null) throw this.failure;
      return fn();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Rebuild (md's "recover"): copy every chunk a rebuilding member should hold, from the others.

  /** Members waiting for a rebuild. */
  get rebuildPending(): number[] {
    return this.members.filter((m) => m.state === 'rebuilding').map((m) => m.index);
  }

  /**
   * Rebuilds every member in the rebuilding state, online: the volume keeps serving, and the lock
   * is taken one step (RAID_RESYNC_STEP_BYTES of the member) at a time, throttled to a rate.
   * When done the member is active and the generation goes up.
   */
  async rebuild(o: RebuildOptions = {}): Promise<RebuildResult> {
    this.startActivity('rebuild');
    const startMs = this.clock.nowMs();
    const done: number[] = [];
    let bytes = 0;
    let lostStripes = 0;
    try {
      for (;;) {
        const m = this.members.find((x) => x.state === 'rebuilding');
        if (m === undefined) break;
        const r = await this.rebuildMember(m, o, startMs, bytes);
        bytes += r.bytes;
        lostStripes += r.lostStripes;
        done.push(m.index);
      }
    } finally {
      await this.endActivity();
    }
    return { members: done, bytes, lostStripes, elapsedMs: this.clock.nowMs() - startMs };
  }

  private startActivity(kind: 'rebuild' | 'scrub'): void {
    if (this.closed) throw new RaidError('invalid-state', `volume ${this.name} is closed`);
    if (this.failure !== null) throw this.failure;
    if (this.busy !== null) throw new RaidError('invalid-state', `a ${this.busy} is already running on ${this.name}`);
    this.busy = kind;
  }

  private async endActivity(): Promise<void> {
    this.busy = null;
    this.activity = { type: 'idle' };
    if (this.closed || this.failure !== null) return;
    await this.lock.run(async () => {
      if (this.closed || this.failure !== null) return;
      await this.writeSuperblocks();
      await this.persistIfChanged();
    });
  }

  private async rebuildMember(m: Member, o: RebuildOptions, startMs: number, bytesBefore: number): Promise<{ bytes: number; lostStripes: number }> {
    const L = this.layout;
    const rate = Math.max(RAID_RESYNC_BYTES_PER_SEC_MIN, o.bytesPerSecMax ?? RAID_REBUILD_BYTES_PER_SEC_DEFAULT);
    let total = 0;
    await this.step(m, async () => {
      await this.flushLocked();
      await this.prepareRebuildTarget(m);
      for (const f of this.ns.allFiles()) total += L.memberFileBytes(f.sizeBytes, m.index);
      this.activity = { type: 'rebuild', member: m.index, doneBytes: 0, totalBytes: total };
      await this.writeSuperblocks();
      this.logger.info('raid: rebuild started', { volume: this.name, slot: m.index, bytes: total });
    });
    let doneBytes = 0;
    let lostStripes = 0;
    let persistedAt = 0;
    const stepStripes = Math.max(1, Math.floor(stepBytes(o) / L.chunkBytes));
    for (let lastId = 0; ; ) {
      const id = this.ns.allFiles().find((f) => f.id > lastId)?.id;
      if (id === undefined) break;
      lastId = id;
      for (let s = 0; ; s += stepStripes) {
        if (o.signal?.aborted) throw new RaidError('invalid-state', `rebuild of member ${m.index} aborted`);
        const r = await this.step(m, () => this.rebuildStep(m, id, s, stepStripes));
        doneBytes += r.bytes;
        lostStripes += r.lost;
        total = Math.max(total, doneBytes);
        this.activity = { type: 'rebuild', member: m.index, doneBytes, totalBytes: total };
        o.onProgress?.(doneBytes, total);
        if (doneBytes - persistedAt >= RAID_PROGRESS_PERSIST_BYTES) {
          persistedAt = doneBytes;
          await this.step(m, () => this.writeSuperblocks());
        }
        await this.throttle(startMs, bytesBefore + doneBytes, rate);
        if (r.end) break;
      }
    }
    await this.step(m, async () => {
      // Everything the member holds must be durable before it is trusted.
      await this.checkpointLocked();
      for (const d of this.ns.allDirs()) await m.disk!.syncDir(d);
      // The checkpoint fails a member whose fsync fails rather than throw: it must not come back.
      if (m.state !== 'rebuilding') throw new RaidError('invalid-state', `member ${m.index} failed at the end of its rebuild: ${m.reason}`);
      m.state = 'active';
      m.reason = '';
      this.activity = { type: 'idle' };
      await this.bumpGeneration();
      this.logger.info('raid: rebuild complete', { volume: this.name, slot: m.index, bytes: doneBytes, lostStripes });
    });
    return { bytes: doneBytes, lostStripes };
  }

  /**
   * Runs one locked step of a rebuild. The rebuild ends with an error if its member failed, or the
   * volume failed or closed (a closing server stops its rebuild this way).
   */
  private step<T>(m: Member, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      this.checkUsable('.');
      if (m.state !== 'rebuilding') throw new RaidError('invalid-state', `member ${m.index} left the rebuild: ${m.state} ${m.reason}`);
      try {
        return await fn();
      } catch (e) {
        // Every member I/O in a step that can throw a DiskError is the rebuilding member's own.
        if (isDiskError(e) && m.writable && !this.closed && this.failure === null) {
          this.markFailed(m, `rebuild write failed: ${e.message}`);
          await this.persistIfChanged();
        }
        throw e;
      }
    });
  }

  /**
   * Makes a rebuilding member's tree match the namespace: strays (files a stale member kept) removed,
   * directories and files present, so writes can land on it before the rebuild reaches them.
   */
  async prepareRebuildTarget(m: Member): Promise<void> {
    const disk = m.disk!;
    const strays: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const name of await disk.list(dir)) {
        if (dir === ROOT && RESERVED_MEMBER_ROOT_NAMES.has(name)) continue;
        const p = dir === ROOT ? name : `${dir}/${name}`;
        const st = await disk.stat(p);
        if (st === null) continue;
        if (st.isDirectory) {
          await walk(p);
          if (!this.ns.isDir(p)) strays.push(p);
        } else if (this.ns.file(p) === undefined) {
          await disk.unlink(p);
        }
      }
    };
    await walk(ROOT);
    for (const d of strays) await tolerate(disk.rmdir(d), 'ENOENT', 'ENOTEMPTY');
    for (const d of this.ns.allDirs()) if (d !== ROOT) await disk.mkdir(d);
    for (const f of this.ns.allFiles()) await m.handle(f.id, f.path, true);
  }

  /** Writes member `m`'s chunks of stripes [first, first + count) of file `id`. */
  private async rebuildStep(m: Member, id: FileId, first: number, count: number): Promise<{ bytes: number; lost: number; end: boolean }> {
    const entry = this.ns.fileById(id);
    if (entry === undefined) return { bytes: 0, lost: 0, end: true };
    if (this.touched.has(id)) await this.flushLocked();
    const L = this.layout;
    const stripes = L.stripeCount(entry.sizeBytes);
    const h = await m.handle(id, entry.path, true);
    let bytes = 0;
    let lost = 0;
    const last = Math.min(stripes, first + count);
    // The stripes of a step are read (and written) concurrently: a step is bounded, and the
    // members' disks do better with several requests in flight.
    const stripeList = Array.from({ length: Math.max(0, last - first) }, (_, i) => first + i);
    const chunks = await Promise.all(stripeList.map((s) => this.memberChunk(entry, s, m.index)));
    await this.persistIfChanged();
    await Promise.all(
      stripeList.map(async (s, i) => {
        const chunk = chunks[i]!;
        if (chunk === null) {
          lost++;
          return;
        }
        await h.write(s * L.chunkBytes, chunk);
        bytes += chunk.length;
      }),
    );
    m.unsynced.add(id);
    const end = last >= stripes;
    if (end) {
      await h.truncate(L.memberFileBytes(entry.sizeBytes, m.index));
      await h.sync();
      m.unsynced.delete(id);
    }
    return { bytes, lost, end };
  }

  /** What member `member` should hold for stripe `s`, computed from the other members. */
  private async memberChunk(entry: FileEntry, s: number, member: number): Promise<Uint8Array | null> {
    const L = this.layout;
    const img = this.cache.get(this.key(entry.id, s));
    const used = L.memberUsedBytes(entry.sizeBytes, s, member);
    if (img !== undefined && img.parity !== null && L.columnOf(s, member) === -1) return img.parity.slice(0, used);
    let data: Uint8Array;
    if (img !== undefined) data = img.data;
    else {
      const report = await readStripe(this.io, entry, s, 'read');
      this.noteReport(report);
      if (report.data === null) return null;
      data = report.data;
    }
    if (L.level === 1) return data.slice(0, used);
    const j = L.columnOf(s, member);
    const C = L.chunkBytes;
    if (j >= 0) return data.slice(j * C, j * C + used);
    const chunks = Array.from({ length: L.dataChunks }, (_, k) => data.subarray(k * C, k * C + L.dataUsedBytes(entry.sizeBytes, s, k)));
    return parityOf(chunks, used);
  }

  private async throttle(startMs: number, doneBytes: number, bytesPerSec: number): Promise<void> {
    const dueMs = startMs + (doneBytes / bytesPerSec) * 1000;
    const waitMs = dueMs - this.clock.nowMs();
    if (waitMs > 1) await this.clock.sleep(waitMs);
  }

  // -------------------------------------------------------------------------------------------
  // Scrub (md's "check" and "repair" sync_action).

  /**
   * Reads every chunk of every file on every member in the array, verifies checksums and
   * parity/mirror agreement, and counts mismatches; in repair mode rewrites what is wrong.
   * Online and throttled like a rebuild.
   */
  async scrub(o: ScrubOptions): Promise<ScrubResult> {
    this.startActivity('scrub');
    const L = this.layout;
    const rate = Math.max(RAID_RESYNC_BYTES_PER_SEC_MIN, o.bytesPerSecMax ?? RAID_SCRUB_BYTES_PER_SEC_DEFAULT);
    const startMs = this.clock.nowMs();
    let total = 0;
    for (const f of this.ns.allFiles()) total += L.memberBytesTotal(f.sizeBytes);
    let checked = 0;
    let mismatches = 0;
    let repaired = 0;
    let lost = 0;
    let persistedAt = 0;
    const stepStripes = Math.max(1, Math.floor(stepBytes(o) / (L.chunkBytes * L.memberCount)));
    try {
      this.activity = { type: 'scrub', mode: o.mode, doneBytes: 0, totalBytes: total, mismatches: 0 };
      for (let lastId = 0; ; ) {
        const id = this.ns.allFiles().find((f) => f.id > lastId)?.id;
        if (id === undefined) break;
        lastId = id;
        for (let s = 0; ; s += stepStripes) {
          if (o.signal?.aborted) throw new RaidError('invalid-state', 'scrub aborted');
          const r = await this.op('.', () => this.scrubStep(id, s, stepStripes, o.mode));
          checked += r.bytes;
          mismatches += r.mismatches;
          repaired += r.repaired;
          lost += r.lost;
          total = Math.max(total, checked);
          this.activity = { type: 'scrub', mode: o.mode, doneBytes: checked, totalBytes: total, mismatches };
          o.onProgress?.(checked, total);
          if (checked - persistedAt >= RAID_PROGRESS_PERSIST_BYTES) {
            persistedAt = checked;
            await this.op('.', () => this.writeSuperblocks());
          }
          await this.throttle(startMs, checked, rate);
          if (r.end) break;
        }
      }
      this.lastScrub = { mode: o.mode, finishedWallMs: Math.floor(this.clock.wallMs()), checkedBytes: checked, mismatches, repaired, lost };
      this.logger.info('raid: scrub finished', { volume: this.name, ...this.lastScrub });
    } finally {
      await this.endActivity();
    }
    return { ...this.lastScrub, elapsedMs: this.clock.nowMs() - startMs };
  }

  private async scrubStep(id: FileId, first: number, count: number, mode: ScrubMode): Promise<{ bytes: number; mismatches: number; repaired: number; lost: number; end: boolean }> {
    const entry = this.ns.fileById(id);
    const result = { bytes: 0, mismatches: 0, repaired: 0, lost: 0, end: true };
    if (entry === undefined) return result;
    if (this.touched.has(id)) await this.flushLocked();
    const L = this.layout;
    const stripes = L.stripeCount(entry.sizeBytes);
    const last = Math.min(stripes, first + count);
    let journalParity = false;
    const stripeList = Array.from({ length: Math.max(0, last - first) }, (_, i) => first + i);
    const reports = await Promise.all(stripeList.map((s) => readStripe(this.io, entry, s, mode)));
    for (const [i, s] of stripeList.entries()) {
      const r = reports[i]!;
      this.noteReport(r);
      for (let m = 0; m < L.memberCount; m++) if (this.members[m]!.readable) result.bytes += L.memberUsedBytes(entry.sizeBytes, s, m);
      result.mismatches += r.mismatches;
      result.repaired += r.repaired;
      if (r.data === null) result.lost++;
      if (r.parityNeedsJournal && mode === 'repair') {
        // Parity disagrees with data although it matches its checksum: rewrite it through the
        // journal, with its new checksum.
        const fs = this.fileState(id, entry.path);
        const img = await this.image(fs, s, false);
        this.markDirty(fs, img, 0, 0);
        img.parityDirty = true;
        this.mutationSeq++;
        journalParity = true;
        result.repaired++;
      }
    }
    if (journalParity) await this.flushLocked();
    await this.persistIfChanged();
    result.end = last >= stripes;
    return result;
  }
}

function stepBytes(o: RebuildOptions): number {
  return Math.min(RAID_RESYNC_STEP_BYTES, Math.max(1, o.stepBytes ?? RAID_RESYNC_STEP_BYTES));
}

/** Keeps column `c`'s checksum current after its bytes [x, y) changed by `delta` (old xor new). */
function patchColumnCrc(img: StripeImage, c: number, column: Uint8Array, x: number, y: number, delta: Uint8Array): void {
  let crc = img.crc[c]!;
  if (crc < 0) return;
  const covered = img.crcBytes[c]!;
  if (x < covered) crc = crc32cPatch(crc, covered, x, delta.subarray(0, Math.min(y, covered) - x));
  if (y > covered) {
    crc = crc32c(column, crc, covered, y);
    img.crcBytes[c] = y;
  }
  img.crc[c] = crc;
}

/** Awaits `p`, ignoring DiskErrors with the given codes (a member copy already gone, say). */
async function tolerate(p: Promise<void>, ...codes: DiskError['code'][]): Promise<void> {
  try {
    await p;
  } catch (e) {
    if (!codes.some((c) => isDiskError(e, c))) throw e;
  }
}

/** A disk may join a volume if it is blank, or was a member of this same volume before. */
/** `chunk` (member-file bytes from `start`) with file `id`'s writes and truncations applied in order. */
function layOver(chunk: Uint8Array, start: number, id: FileId, ops: readonly MemberOp[]): Uint8Array {
  const out = chunk.slice();
  const end = start + out.length;
  for (const op of ops) {
    if (op.fileId !== id) continue;
    if (op.type === 'truncate') {
      if (op.lengthBytes < end) out.fill(0, Math.max(0, op.lengthBytes - start));
      continue;
    }
    const lo = Math.max(start, op.offsetBytes);
    const hi = Math.min(end, op.offsetBytes + op.data.length);
    if (lo < hi) out.set(op.data.subarray(lo - op.offsetBytes, hi - op.offsetBytes), lo - start);
  }
  return out;
}

export async function checkAddable(disk: Disk, arrayId: string): Promise<void> {
  const names = (await disk.list(ROOT)).filter((n) => n !== 'lost+found');
  if (names.length === 0) return;
  if (names.includes(RAID_DIR)) {
    let sb: Uint8Array | null = null;
    try {
      sb = await disk.readFile(SUPERBLOCK_PATH);
    } catch {
      sb = null;
    }
    if (sb !== null) {
      try {
        if (decodeSuperblock(sb, disk.name).arrayId === arrayId) return;
      } catch {
        // An unreadable superblock is not a member of ours.
      }
      throw new RaidError('foreign-member', `${disk.name} belongs to another volume (or has a damaged superblock); use --force to overwrite it`);
    }
  }
  throw new RaidError('not-blank', `${disk.name} is not empty (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); use --force to overwrite it`);
}
