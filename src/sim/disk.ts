/**
 * SimDisk: an in-memory Disk with the failure behaviour of a real one, for the simulator and for
 * storage tests. Deterministic from its Random.
 *
 * The model (after lazyfs, turmoil and TigerBeetle's simulated storage):
 * - Each file has durable bytes (what survives a crash) and volatile bytes (what reads see: the page
 *   cache). Writes and truncates go to volatile at once and wait in a per-file list of unsynced
 *   operations; FileHandle.sync makes the operations issued before it durable.
 * - Names are the same: creating, renaming and unlinking a file changes the volatile namespace and
 *   is logged; Disk.syncDir makes the logged operations on that directory durable. Directories
 *   themselves (mkdir) are durable at once.
 * - crash(): every open handle dies and every operation in flight never completes. Per file, a
 *   random prefix of the unsynced operations survives; the operation at the cut is torn at sector
 *   granularity (sectors of it reach the disk in order up to a point, and the torn sector may hold
 *   garbage). Per directory, a random prefix of the unsynced name operations survives. Torn writes
 *   only touch the bytes the write covered (powersafe overwrite, as SQLite and raft-wal assume).
 * - Faults, each by probability or injected on purpose (inject): bit flips on read (transient),
 *   bit rot (persistent), latent sector errors (EIO on read until a write to the sector lets the
 *   drive remap it, or the file is cut before it),
 *   misdirected writes (the device puts the data at another offset; the page cache shows the right
 *   data until a crash), fsync EIO (the unsynced operations are then dropped while reads still see
 *   them: fsyncgate), ENOSPC, and tears whose sectors land in any order. The corrupting faults only
 *   touch paths `corruptible` allows, so a fault atlas can keep them within what a cluster survives.
 * - Operations complete through `schedule` after a latency, so a simulator keeps virtual time.
 *   Stand-alone (no schedule given) they complete on the next microtask.
 * - Give each incarnation of a process its own mount(): after a crash the old incarnation's calls
 *   (even ones it makes later, from promise callbacks still queued) never complete.
 */
import { assertNever } from '../core/assert.js';
import { DiskError, applyOpenOptions, type Disk, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../env/disk.js';
import type { Random } from '../env/random.js';

export interface SimDiskLatency {
  readonly readMs: number;
  readonly writeMs: number;
  readonly syncMs: number;
  /** Open, list, rename, unlink, stat, mkdir, syncDir. */
  readonly metaMs: number;
  /** Up to this much is added to every latency, uniformly. */
  readonly jitterMs: number;
}

export interface SimDiskFaultRates {
  /** Per read call: one bit of the returned bytes is flipped (the stored bytes are fine). */
  readonly readBitFlipProbability: number;
  /** Per successful file sync: one sector of the file becomes unreadable (EIO) until rewritten. */
  readonly latentSectorErrorProbability: number;
  /** Per write: the device puts the data at another sector-aligned offset of the file. */
  readonly misdirectedWriteProbability: number;
  /** Per file sync: it fails with EIO and the file's unsynced operations are lost. */
  readonly fsyncErrorProbability: number;
  /** Per write: it fails with ENOSPC and writes nothing. */
  readonly enospcProbability: number;
  /** Per torn write at a crash: its sectors land in any order, not as a prefix. */
  readonly tornWriteReorderProbability: number;
}

export const NO_DISK_FAULTS: SimDiskFaultRates = {
  readBitFlipProbability: 0,
  latentSectorErrorProbability: 0,
  misdirectedWriteProbability: 0,
  fsyncErrorProbability: 0,
  enospcProbability: 0,
  tornWriteReorderProbability: 0,
};

/** Faults to inject on purpose; each applies once (bit rot and sector errors persist on the medium). */
export type SimDiskFault =
  | { readonly type: 'bit-rot'; readonly path: string; readonly offset: number; readonly bit: number }
  | { readonly type: 'latent-sector-error'; readonly path: string; readonly offset: number; readonly lengthBytes: number }
  | { readonly type: 'misdirect-next-write'; readonly path: string; readonly shiftBytes: number }
  | { readonly type: 'fail-next-sync'; readonly path: string | null }
  | { readonly type: 'enospc-next-write'; readonly path: string | null }
  | { readonly type: 'flip-next-read'; readonly path: string };

/** What happened, for a failure report and for checking a fault atlas was respected. */
export interface FaultRecord {
  readonly type: 'read-bit-flip' | 'bit-rot' | 'latent-sector-error' | 'misdirected-write' | 'fsync-eio' | 'enospc' | 'torn-write' | 'torn-write-reordered' | 'crash';
  readonly path: string;
  readonly offset: number;
  /** True for faults that damage or hide stored data (the atlas bounds these). */
  readonly corrupting: boolean;
  /** Injected on purpose (inject) rather than drawn at random. */
  readonly injected: boolean;
}

export interface SimDiskOptions {
  readonly name?: string;
  readonly random: Random;
  /** Runs `fn` after `latencyMs` of simulated time. */
  readonly schedule?: (fn: () => void, latencyMs: number) => void;
  readonly latency?: Partial<SimDiskLatency>;
  readonly sectorBytes?: 512 | 4096;
  /** Writes that would make the files' total size exceed this fail with ENOSPC. */
  readonly capacityBytes?: number;
  readonly faults?: Partial<SimDiskFaultRates>;
  /** Which paths corrupting faults (flips, rot, sector errors, misdirection, reordered tears) may touch. */
  readonly corruptible?: (path: string) => boolean;
  /**
   * Random corrupting faults allowed between two crashes (injected ones are not counted). A fault
   * atlas sets 1: recovery must detect every single fault, while two faults on the two copies of
   * the same record are beyond what any one replica can tell from a crash. Default: no limit.
   */
  readonly corruptingFaultsPerLifeMax?: number;
  /** Called when a file sync is issued (a simulator aims crashes at the window it opens). */
  readonly onSync?: (path: string) => void;
}

export interface CrashOptions {
  /** 'tear' (default): a random prefix of unsynced operations survives, the cut one torn. 'lose': none does. */
  readonly mode?: 'tear' | 'lose';
}

const NO_LATENCY: SimDiskLatency = { readMs: 0, writeMs: 0, syncMs: 0, metaMs: 0, jitterMs: 0 };

type FileOp =
  | { readonly type: 'write'; readonly seq: number; readonly offset: number; readonly data: Uint8Array }
  | { readonly type: 'truncate'; readonly seq: number; readonly sizeBytes: number };

type NameOp =
  | { readonly type: 'link'; readonly path: string; readonly inode: number }
  | { readonly type: 'unlink'; readonly path: string }
  | { readonly type: 'rename'; readonly from: string; readonly to: string };

/** A growable byte array with a logical size. */
class Bytes {
  private buf = new Uint8Array(0);
  size = 0;

  write(offset: number, data: Uint8Array): void {
    const end = offset + data.length;
    if (end > this.buf.length) {
      const next = new Uint8Array(Math.max(end, this.buf.length * 2, 1024));
      next.set(this.buf.subarray(0, this.size));
      this.buf = next;
    }
    if (offset > this.size) this.buf.fill(0, this.size, offset);
    this.buf.set(data, offset);
    if (end > this.size) this.size = end;
  }

  truncate(sizeBytes: number): void {
    if (sizeBytes > this.size) this.write(sizeBytes, new Uint8Array(0));
    else {
      this.buf.fill(0, sizeBytes, this.size);
      this.size = sizeBytes;
    }
  }

  read(offset: number, lengthBytes: number): Uint8Array {
    const end = Math.min(this.size, offset + lengthBytes);
    return offset >= end ? new Uint8Array(0) : this.buf.slice(offset, end);
  }

  flipBit(offset: number, bit: number): void {
    if (offset < this.size) this.buf[offset]! ^= 1 << bit;
  }

  clone(): Bytes {
    const c = new Bytes();
    c.write(0, this.buf.subarray(0, this.size));
    return c;
  }
}

class Inode {
  durable = new Bytes();
  volatile = new Bytes();
  unsynced: FileOp[] = [];
  nextOpSeq = 1;
  /** Unreadable sector numbers. */
  readonly badSectors = new Set<number>();
}

export class SimDisk implements Disk {
  readonly name: string;
  private readonly random: Random;
  private readonly scheduleFn: (fn: () => void, latencyMs: number) => void;
  private readonly latency: SimDiskLatency;
  readonly sectorBytes: number;
  private readonly capacityBytes: number;
  private faults: SimDiskFaultRates;
  private readonly corruptibleOption: (path: string) => boolean;
  private readonly corruptingPerLifeMax: number;
  private corruptingThisLife = 0;
  private readonly onSync: (path: string) => void;

  private readonly inodes = new Map<number, Inode>();
  private nextInode = 1;
  private readonly dirs = new Set<string>(['']);
  /** The namespace reads see, and the one a crash falls back to plus the surviving logged ops. */
  private names = new Map<string, number>();
  private durableNames = new Map<string, number>();
  private nameLog: { op: NameOp; durable: boolean }[] = [];
  private epoch = 0;
  private injected: SimDiskFault[] = [];
  private readonly records: FaultRecord[] = [];

  constructor(options: SimDiskOptions) {
    this.name = options.name ?? 'simdisk';
    this.random = options.random;
    this.scheduleFn = options.schedule ?? ((fn) => void Promise.resolve().then(fn));
    this.latency = { ...NO_LATENCY, ...options.latency };
    this.sectorBytes = options.sectorBytes ?? 4096;
    this.capacityBytes = options.capacityBytes ?? Number.MAX_SAFE_INTEGER;
    this.faults = { ...NO_DISK_FAULTS, ...options.faults };
    this.corruptibleOption = options.corruptible ?? (() => true);
    this.corruptingPerLifeMax = options.corruptingFaultsPerLifeMax ?? Number.POSITIVE_INFINITY;
    this.onSync = options.onSync ?? (() => {});
  }

  // ---------------------------------------------------------------------------------------------
  // Control

  /** Replaces the fault rates (a simulator turns faults off to heal). */
  setFaults(faults: Partial<SimDiskFaultRates>): void {
    this.faults = { ...NO_DISK_FAULTS, ...faults };
  }

  inject(fault: SimDiskFault): void {
    switch (fault.type) {
      case 'bit-rot': {
        const inode = this.inodeAt(fault.path);
        inode.durable.flipBit(fault.offset, fault.bit);
        inode.volatile.flipBit(fault.offset, fault.bit);
        this.record('bit-rot', fault.path, fault.offset, true, true);
        return;
      }
      case 'latent-sector-error': {
        const inode = this.inodeAt(fault.path);
        const first = Math.floor(fault.offset / this.sectorBytes);
        const last = Math.floor((fault.offset + Math.max(1, fault.lengthBytes) - 1) / this.sectorBytes);
        for (let s = first; s <= last; s++) inode.badSectors.add(s);
        this.record('latent-sector-error', fault.path, fault.offset, true, true);
        return;
      }
      case 'misdirect-next-write':
      case 'fail-next-sync':
      case 'enospc-next-write':
      case 'flip-next-read':
        this.injected.push(fault);
        return;
      default:
        assertNever(fault, 'disk fault');
    }
  }

  /** Everything that went wrong so far. */
  faultRecords(): readonly FaultRecord[] {
    return this.records;
  }

  /**
   * The process using this disk died: handles close, operations in flight never complete, and what
   * was not durable is lost or torn. The disk can be used again at once (a restart).
   */
  crash(options: CrashOptions = {}): void {
    const mode = options.mode ?? 'tear';
    this.epoch++;
    this.injected = this.injected.filter((f) => f.type === 'bit-rot' || f.type === 'latent-sector-error');
    // Names: the durable ones, plus a random prefix of the logged operations (ext4 orders its journal).
    const keep = mode === 'lose' ? 0 : this.random.int(this.nameLog.length + 1);
    const names = new Map(this.durableNames);
    this.nameLog.forEach((entry, i) => {
      if (entry.durable || i < keep) applyNameOp(names, entry.op);
    });
    this.names = names;
    this.durableNames = new Map(names);
    this.nameLog = [];
    const live = new Set(names.values());
    for (const id of [...this.inodes.keys()]) if (!live.has(id)) this.inodes.delete(id);
    for (const [path, id] of names) {
      const inode = this.inodes.get(id)!;
      if (mode === 'tear') this.tear(path, inode);
      inode.unsynced = [];
      inode.volatile = inode.durable.clone();
    }
    this.corruptingThisLife = 0;
    this.record('crash', '', 0, false);
  }

  /** A file's durable bytes (what a crash now would leave, before tearing), or null. For tests. */
  durableBytes(path: string): Uint8Array | null {
    const id = this.durableNames.get(norm(path));
    if (id === undefined) return null;
    const d = this.inodes.get(id)!.durable;
    return d.read(0, d.size);
  }

  /** The files the current namespace holds, with their sizes (a nemesis picks one to damage). */
  files(): { readonly path: string; readonly sizeBytes: number }[] {
    return [...this.names].map(([path, id]) => ({ path, sizeBytes: this.inodes.get(id)!.volatile.size })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  // ---------------------------------------------------------------------------------------------
  // Disk: as seen by the current process. A process that outlives a crash() must not touch the
  // disk again; give each incarnation its own mount() so its late calls never complete.

  /** A view of the disk for one process incarnation; after the next crash() its calls never complete. */
  mount(): Disk {
    return new SimDiskMount(this, this.epoch);
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    // A dsync write is a write and a sync to the fault model: a crash before it returns may lose it.
    return applyOpenOptions(await this.openAt(this.epoch, path, mode), options);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.readFileAt(this.epoch, path);
  }
  list(dir: string): Promise<string[]> {
    return this.listAt(this.epoch, dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.mkdirAt(this.epoch, dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.renameAt(this.epoch, from, to);
  }
  unlink(path: string): Promise<void> {
    return this.unlinkAt(this.epoch, path);
  }
  rmdir(dir: string): Promise<void> {
    return this.rmdirAt(this.epoch, dir);
  }
  stat(path: string): Promise<FileStat | null> {
    return this.statAt(this.epoch, path);
  }
  syncDir(dir: string): Promise<void> {
    return this.syncDirAt(this.epoch, dir);
  }

  /** @internal */
  openAt(epoch: number, path: string, mode: OpenMode): Promise<FileHandle> {
    const p = norm(path);
    return this.op(this.latency.metaMs, () => {
      this.requireParent(p);
      if (this.dirs.has(p)) throw new DiskError('EISDIR', p);
      let id = this.names.get(p);
      if (id !== undefined && mode === 'create-new') throw new DiskError('EEXIST', p);
      if (id === undefined) {
        if (mode === 'read' || mode === 'write') throw new DiskError('ENOENT', p);
        id = this.nextInode++;
        this.inodes.set(id, new Inode());
        this.logName({ type: 'link', path: p, inode: id });
      }
      return new SimFile(this, p, id, epoch);
    }, epoch);
  }

  /** @internal */
  readFileAt(epoch: number, path: string): Promise<Uint8Array> {
    const p = norm(path);
    return this.op(this.latency.readMs, () => {
      const id = this.names.get(p);
      if (id === undefined) throw new DiskError(this.dirs.has(p) ? 'EISDIR' : 'ENOENT', p);
      const inode = this.inodes.get(id)!;
      return this.readBytes(p, inode, 0, inode.volatile.size);
    }, epoch);
  }

  /** @internal */
  listAt(epoch: number, dir: string): Promise<string[]> {
    const d = norm(dir);
    return this.op(this.latency.metaMs, () => {
      if (!this.dirs.has(d)) throw new DiskError(this.names.has(d) ? 'ENOTDIR' : 'ENOENT', d);
      const out = new Set<string>();
      for (const p of [...this.names.keys(), ...this.dirs]) if (p !== '' && parentOf(p) === d) out.add(baseOf(p));
      return [...out].sort();
    }, epoch);
  }

  /** @internal */
  mkdirAt(epoch: number, dir: string): Promise<void> {
    const d = norm(dir);
    return this.op(this.latency.metaMs, () => {
      const parts = d === '' ? [] : d.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const prefix = parts.slice(0, i).join('/');
        if (this.names.has(prefix)) throw new DiskError('ENOTDIR', prefix);
        this.dirs.add(prefix);
      }
    }, epoch);
  }

  /** @internal */
  renameAt(epoch: number, from: string, to: string): Promise<void> {
    const a = norm(from);
    const b = norm(to);
    return this.op(this.latency.metaMs, () => {
      if (!this.names.has(a)) throw new DiskError(this.dirs.has(a) ? 'EISDIR' : 'ENOENT', a);
      this.requireParent(b);
      if (this.dirs.has(b)) throw new DiskError('EISDIR', b);
      this.logName({ type: 'rename', from: a, to: b });
    }, epoch);
  }

  /** @internal */
  unlinkAt(epoch: number, path: string): Promise<void> {
    const p = norm(path);
    return this.op(this.latency.metaMs, () => {
      if (!this.names.has(p)) throw new DiskError(this.dirs.has(p) ? 'EISDIR' : 'ENOENT', p);
      this.logName({ type: 'unlink', path: p });
    }, epoch);
  }

  /** @internal */
  rmdirAt(epoch: number, dir: string): Promise<void> {
    const d = norm(dir);
    return this.op(this.latency.metaMs, () => {
      if (!this.dirs.has(d)) throw new DiskError('ENOENT', d);
      for (const p of [...this.names.keys(), ...this.dirs]) if (p !== d && p.startsWith(d + '/')) throw new DiskError('ENOTEMPTY', d);
      this.dirs.delete(d);
    }, epoch);
  }

  /** @internal */
  statAt(epoch: number, path: string): Promise<FileStat | null> {
    const p = norm(path);
    return this.op(this.latency.metaMs, () => {
      if (this.dirs.has(p)) return { sizeBytes: 0, isDirectory: true };
      const id = this.names.get(p);
      return id === undefined ? null : { sizeBytes: this.inodes.get(id)!.volatile.size, isDirectory: false };
    }, epoch);
  }

  /** @internal */
  syncDirAt(epoch: number, dir: string): Promise<void> {
    const d = norm(dir);
    return this.op(this.latency.syncMs, () => {
      if (!this.dirs.has(d)) throw new DiskError('ENOENT', d);
      for (const entry of this.nameLog) if (touchesDir(entry.op, d)) entry.durable = true;
      while (this.nameLog.length > 0 && this.nameLog[0]!.durable) applyNameOp(this.durableNames, this.nameLog.shift()!.op);
    }, epoch);
  }

  // ---------------------------------------------------------------------------------------------
  // File operations (called by SimFile)

  /** @internal */
  fileRead(path: string, inodeId: number, epoch: number, position: number, lengthBytes: number): Promise<Uint8Array> {
    return this.op(this.latency.readMs, () => this.readBytes(path, this.inodeFor(path, inodeId), position, lengthBytes), epoch);
  }

  /** @internal */
  fileWrite(path: string, inodeId: number, epoch: number, position: number, data: Uint8Array): Promise<void> {
    const copy = data.slice();
    return this.op(this.latency.writeMs, () => {
      const inode = this.inodeFor(path, inodeId);
      const growth = Math.max(0, position + copy.length - inode.volatile.size);
      if (this.takeInjected('enospc-next-write', path) || this.random.chance(this.faults.enospcProbability) || this.totalBytes() + growth > this.capacityBytes) {
        this.record('enospc', path, position, false);
        throw new DiskError('ENOSPC', path);
      }
      inode.volatile.write(position, copy);
      let deviceOffset = position;
      const shift = this.misdirection(path);
      if (shift.shiftBytes !== 0) {
        deviceOffset = Math.max(0, position + shift.shiftBytes);
        this.record('misdirected-write', path, position, true, shift.injected);
      }
      inode.unsynced.push({ type: 'write', seq: inode.nextOpSeq++, offset: deviceOffset, data: copy });
      // Writing a sector lets the drive remap it: the latent error is gone.
      for (let s = Math.floor(position / this.sectorBytes); s * this.sectorBytes < position + copy.length; s++) inode.badSectors.delete(s);
    }, epoch);
  }

  /** @internal */
  fileSync(path: string, inodeId: number, epoch: number): Promise<void> {
    if (epoch === this.epoch) this.onSync(path);
    const inode0 = this.inodes.get(inodeId);
    const upTo = inode0 === undefined ? 0 : inode0.nextOpSeq - 1;
    return this.op(this.latency.syncMs, () => {
      const inode = this.inodeFor(path, inodeId);
      if (this.takeInjected('fail-next-sync', path) || this.random.chance(this.faults.fsyncErrorProbability)) {
        // fsyncgate: the kernel drops the dirty pages it could not write; reads still see them.
        inode.unsynced = [];
        this.record('fsync-eio', path, 0, false);
        throw new DiskError('EIO', path, `EIO: fsync failed: ${path}`);
      }
      while (inode.unsynced.length > 0 && inode.unsynced[0]!.seq <= upTo) applyFileOp(inode.durable, inode.unsynced.shift()!);
      if (this.corruptible(path) && inode.durable.size > 0 && this.random.chance(this.faults.latentSectorErrorProbability)) {
        const sector = this.random.int(Math.ceil(inode.durable.size / this.sectorBytes));
        inode.badSectors.add(sector);
        this.record('latent-sector-error', path, sector * this.sectorBytes, true);
      }
    }, epoch);
  }

  /** @internal */
  fileTruncate(path: string, inodeId: number, epoch: number, sizeBytes: number): Promise<void> {
    return this.op(this.latency.writeMs, () => {
      const inode = this.inodeFor(path, inodeId);
      inode.volatile.truncate(sizeBytes);
      for (const sector of [...inode.badSectors]) if (sector * this.sectorBytes >= sizeBytes) inode.badSectors.delete(sector);
      inode.unsynced.push({ type: 'truncate', seq: inode.nextOpSeq++, sizeBytes });
    }, epoch);
  }

  /** @internal */
  fileSize(path: string, inodeId: number, epoch: number): Promise<number> {
    return this.op(this.latency.metaMs, () => this.inodeFor(path, inodeId).volatile.size, epoch);
  }

  /** @internal */
  fileClose(epoch: number): Promise<void> {
    return this.op(0, () => undefined, epoch);
  }

  // ---------------------------------------------------------------------------------------------

  private op<T>(latencyMs: number, fn: () => T, epoch = this.epoch): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (epoch !== this.epoch) return; // a handle from before a crash: its process is gone
      const delay = latencyMs + (this.latency.jitterMs > 0 ? this.random.float() * this.latency.jitterMs : 0);
      this.scheduleFn(() => {
        // The process crashed while the operation was in flight: it never completes.
        if (epoch !== this.epoch) return;
        try {
          resolve(fn());
        } catch (e) {
          reject(e);
        }
      }, delay);
    });
  }

  private readBytes(path: string, inode: Inode, position: number, lengthBytes: number): Uint8Array {
    const end = Math.min(inode.volatile.size, position + lengthBytes);
    for (let s = Math.floor(position / this.sectorBytes); s * this.sectorBytes < end; s++) {
      if (inode.badSectors.has(s)) throw new DiskError('EIO', path, `EIO: unreadable sector ${s} of ${path}`);
    }
    const out = inode.volatile.read(position, lengthBytes);
    const injected = this.takeInjected('flip-next-read', path);
    const flip = injected || (this.corruptible(path) && this.random.chance(this.faults.readBitFlipProbability));
    if (flip && out.length > 0) {
      const at = this.random.int(out.length);
      out[at]! ^= 1 << this.random.int(8);
      this.record('read-bit-flip', path, position + at, true, injected);
    }
    return out;
  }

  /** How far the device misplaces this write (0: it does not), and whether that was injected. */
  private misdirection(path: string): { shiftBytes: number; injected: boolean } {
    const inj = this.injected.findIndex((f) => f.type === 'misdirect-next-write' && f.path === path);
    if (inj >= 0) {
      const f = this.injected.splice(inj, 1)[0] as Extract<SimDiskFault, { type: 'misdirect-next-write' }>;
      return { shiftBytes: f.shiftBytes, injected: true };
    }
    if (!this.corruptible(path) || !this.random.chance(this.faults.misdirectedWriteProbability)) return { shiftBytes: 0, injected: false };
    const sectors = this.random.intBetween(1, 8);
    return { shiftBytes: (this.random.chance(0.5) ? -1 : 1) * sectors * this.sectorBytes, injected: false };
  }

  /** Applies a random prefix of a file's unsynced operations to its durable bytes, tearing the cut one. */
  private tear(path: string, inode: Inode): void {
    const ops = inode.unsynced;
    if (ops.length === 0) return;
    const k = this.random.int(ops.length + 1);
    for (let i = 0; i < k; i++) applyFileOp(inode.durable, ops[i]!);
    const cut = ops[k];
    if (cut === undefined || cut.type !== 'write' || cut.data.length === 0) return;
    // The write's pieces, split at sector boundaries of the file.
    const pieces: [number, number][] = [];
    for (let at = cut.offset; at < cut.offset + cut.data.length; ) {
      const next = Math.min(cut.offset + cut.data.length, (Math.floor(at / this.sectorBytes) + 1) * this.sectorBytes);
      pieces.push([at, next]);
      at = next;
    }
    const reorder = this.corruptible(path) && this.random.chance(this.faults.tornWriteReorderProbability);
    const persisted = this.random.int(pieces.length + 1);
    pieces.forEach(([from, to], i) => {
      const fate = reorder ? this.random.pick(['kept', 'lost', 'garbage'] as const) : i < persisted ? 'kept' : i === persisted && this.random.chance(0.5) ? 'garbage' : 'lost';
      if (fate === 'kept') inode.durable.write(from, cut.data.subarray(from - cut.offset, to - cut.offset));
      else if (fate === 'garbage') inode.durable.write(from, this.random.bytes(to - from));
    });
    this.record(reorder ? 'torn-write-reordered' : 'torn-write', path, cut.offset, reorder);
  }

  private takeInjected(type: 'fail-next-sync' | 'enospc-next-write' | 'flip-next-read', path: string): boolean {
    const i = this.injected.findIndex((f) => f.type === type && (f.path === null || f.path === path));
    if (i < 0) return false;
    this.injected.splice(i, 1);
    return true;
  }

  private totalBytes(): number {
    let n = 0;
    for (const inode of this.inodes.values()) n += inode.volatile.size;
    return n;
  }

  private record(type: FaultRecord['type'], path: string, offset: number, corrupting: boolean, injected = false): void {
    if (corrupting && !injected) this.corruptingThisLife++;
    this.records.push({ type, path, offset, corrupting, injected });
  }

  /** May a random corrupting fault hit `path` now? */
  private corruptible(path: string): boolean {
    return this.corruptingThisLife < this.corruptingPerLifeMax && this.corruptibleOption(path);
  }

  private logName(op: NameOp): void {
    applyNameOp(this.names, op);
    this.nameLog.push({ op, durable: false });
    // Unlinked inodes stay while a crash could bring their name back.
  }

  private requireParent(p: string): void {
    const parent = parentOf(p);
    if (!this.dirs.has(parent)) throw new DiskError(this.names.has(parent) ? 'ENOTDIR' : 'ENOENT', p);
  }

  private inodeAt(path: string): Inode {
    const id = this.names.get(norm(path));
    if (id === undefined) throw new DiskError('ENOENT', path);
    return this.inodes.get(id)!;
  }

  private inodeFor(path: string, id: number): Inode {
    const inode = this.inodes.get(id);
    if (inode === undefined) throw new DiskError('EBADF', path);
    return inode;
  }
}

class SimDiskMount implements Disk {
  readonly name: string;

  constructor(
    private readonly disk: SimDisk,
    private readonly epoch: number,
  ) {
    this.name = disk.name;
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    return applyOpenOptions(await this.disk.openAt(this.epoch, path, mode), options);
  }
  readFile(path: string): Promise<Uint8Array> {
    return this.disk.readFileAt(this.epoch, path);
  }
  list(dir: string): Promise<string[]> {
    return this.disk.listAt(this.epoch, dir);
  }
  mkdir(dir: string): Promise<void> {
    return this.disk.mkdirAt(this.epoch, dir);
  }
  rename(from: string, to: string): Promise<void> {
    return this.disk.renameAt(this.epoch, from, to);
  }
  unlink(path: string): Promise<void> {
    return this.disk.unlinkAt(this.epoch, path);
  }
  rmdir(dir: string): Promise<void> {
    return this.disk.rmdirAt(this.epoch, dir);
  }
  stat(path: string): Promise<FileStat | null> {
    return this.disk.statAt(this.epoch, path);
  }
  syncDir(dir: string): Promise<void> {
    return this.disk.syncDirAt(this.epoch, dir);
  }
}

class SimFile implements FileHandle {
  private closed = false;

  constructor(
    private readonly disk: SimDisk,
    readonly path: string,
    private readonly inode: number,
    private readonly epoch: number,
  ) {}

  private check(): void {
    if (this.closed) throw new DiskError('EBADF', this.path, `EBADF: ${this.path} is closed`);
  }

  read(position: number, lengthBytes: number): Promise<Uint8Array> {
    this.check();
    return this.disk.fileRead(this.path, this.inode, this.epoch, position, lengthBytes);
  }

  write(position: number, data: Uint8Array): Promise<void> {
    this.check();
    return this.disk.fileWrite(this.path, this.inode, this.epoch, position, data);
  }

  sync(): Promise<void> {
    this.check();
    return this.disk.fileSync(this.path, this.inode, this.epoch);
  }

  truncate(sizeBytes: number): Promise<void> {
    this.check();
    return this.disk.fileTruncate(this.path, this.inode, this.epoch, sizeBytes);
  }

  sizeBytes(): Promise<number> {
    this.check();
    return this.disk.fileSize(this.path, this.inode, this.epoch);
  }

  close(): Promise<void> {
    this.check();
    this.closed = true;
    return this.disk.fileClose(this.epoch);
  }
}

function applyFileOp(b: Bytes, op: FileOp): void {
  if (op.type === 'write') b.write(op.offset, op.data);
  else b.truncate(op.sizeBytes);
}

function applyNameOp(names: Map<string, number>, op: NameOp): void {
  switch (op.type) {
    case 'link':
      names.set(op.path, op.inode);
      return;
    case 'unlink':
      names.delete(op.path);
      return;
    case 'rename': {
      const id = names.get(op.from);
      // An earlier operation this one depended on did not survive the crash.
      if (id === undefined) return;
      names.delete(op.from);
      names.set(op.to, id);
      return;
    }
    default:
      assertNever(op, 'name op');
  }
}

function touchesDir(op: NameOp, dir: string): boolean {
  switch (op.type) {
    case 'link':
    case 'unlink':
      return parentOf(op.path) === dir;
    case 'rename':
      // One journal transaction: syncing either directory makes it durable.
      return parentOf(op.from) === dir || parentOf(op.to) === dir;
    default:
      return assertNever(op, 'name op');
  }
}

/** 'a//b/./c/' → 'a/b/c'; the root is ''. */
function norm(p: string): string {
  return p
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
