/**
 * A crashable in-memory Disk for RAID tests and benchmarks: files and directories in memory with
 * the durability rules of a real file system, and faults on demand.
 *
 * - Contents are durable only after `FileHandle.sync`; names (create, rename, unlink, mkdir) only
 *   after `syncDir` of their directory.
 * - `crash()` loses everything not durable. With a Random it is harsher: each unsynced write or
 *   truncate survives or not independently, and a surviving write may be torn (only a prefix
 *   lands), which is what a power cut does to a disk's write cache.
 * - `fault` makes every operation fail (EIO for a dying disk, ENOENT for a directory that vanished);
 *   `failSync` fails fsync; `flipBit` and `pokeBytes` corrupt data behind the volume's back.
 *
 * Open handles refer to an inode, so they survive renames as on POSIX; a crash invalidates them.
 * (src/sim has the simulator's disk; this one is small and lives with the code it tests.)
 */
import { assert } from '../core/assert.js';
import { DiskError, applyOpenOptions, type Disk, type DiskErrorCode, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../env/disk.js';
import type { Random } from '../env/random.js';

interface UndoWrite {
  readonly type: 'write';
  readonly positionBytes: number;
  readonly data: Uint8Array;
  /** The bytes the write replaced (only those below the old length) and the old length. */
  readonly replaced: Uint8Array;
  readonly oldLengthBytes: number;
}

interface UndoTruncate {
  readonly type: 'truncate';
  readonly lengthBytes: number;
  readonly oldTail: Uint8Array;
  readonly oldLengthBytes: number;
}

type Unsynced = UndoWrite | UndoTruncate;

class Inode {
  buf = new Uint8Array(64);
  lengthBytes = 0;
  /** Changes since the last sync, oldest first, with what they replaced. */
  unsynced: Unsynced[] = [];

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    let cap = this.buf.length;
    while (cap < n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.lengthBytes));
    this.buf = next;
  }

  read(position: number, lengthBytes: number): Uint8Array {
    const end = Math.min(this.lengthBytes, position + lengthBytes);
    return position >= end ? new Uint8Array(0) : this.buf.slice(position, end);
  }

  setLength(n: number): void {
    if (n > this.lengthBytes) {
      this.reserve(n);
      this.buf.fill(0, this.lengthBytes, n);
    }
    this.lengthBytes = n;
  }

  rawWrite(position: number, data: Uint8Array): void {
    if (position > this.lengthBytes) this.setLength(position);
    this.reserve(position + data.length);
    this.buf.set(data, position);
    this.lengthBytes = Math.max(this.lengthBytes, position + data.length);
  }

  write(position: number, data: Uint8Array): void {
    const replaced = this.read(position, data.length);
    this.unsynced.push({ type: 'write', positionBytes: position, data: data.slice(), replaced, oldLengthBytes: this.lengthBytes });
    this.rawWrite(position, data);
  }

  truncate(n: number): void {
    this.unsynced.push({ type: 'truncate', lengthBytes: n, oldTail: this.read(n, this.lengthBytes - n), oldLengthBytes: this.lengthBytes });
    this.setLength(n);
  }

  sync(): void {
    this.unsynced = [];
  }

  /** Rolls back to the last sync, then replays each unsynced change that `keep` lets through. */
  crash(random: Random | null): void {
    const log = this.unsynced;
    for (let i = log.length - 1; i >= 0; i--) {
      const u = log[i]!;
      if (u.type === 'write') {
        this.buf.set(u.replaced, u.positionBytes);
        this.lengthBytes = u.oldLengthBytes;
      } else {
        this.setLength(u.oldLengthBytes);
        this.buf.set(u.oldTail, u.lengthBytes);
      }
    }
    this.unsynced = [];
    if (random === null) return;
    for (const u of log) {
      if (!random.chance(0.5)) continue;
      if (u.type === 'truncate') this.setLength(u.lengthBytes);
      else {
        const torn = random.chance(0.3) ? random.int(u.data.length + 1) : u.data.length;
        this.rawWrite(u.positionBytes, u.data.subarray(0, torn));
      }
    }
  }
}

type Entry = { readonly type: 'file'; readonly inode: Inode } | { readonly type: 'dir' };

const ROOT = '.';

function norm(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return parts.length === 0 ? ROOT : parts.join('/');
}

function parent(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? ROOT : path.slice(0, i);
}

function under(path: string, dir: string): boolean {
  return dir === ROOT ? path !== ROOT : path.startsWith(dir + '/');
}

export type MemDiskFault = { readonly type: 'eio' } | { readonly type: 'gone' };

/**
 * A power supply shared by several disks: after `opsLeft` more operations every one of them fails
 * with EIO, until `crash()` — a machine losing power in the middle of whatever it was doing.
 */
export class PowerSupply {
  opsLeft = Infinity;

  /** Cuts the power after `ops` more operations on any disk attached. */
  cutAfter(ops: number): void {
    this.opsLeft = ops;
  }

  restore(): void {
    this.opsLeft = Infinity;
  }

  get off(): boolean {
    return this.opsLeft <= 0;
  }

  take(): boolean {
    if (this.opsLeft <= 0) return false;
    this.opsLeft--;
    return true;
  }
}

export interface MemDiskStats {
  syncs: number;
  syncDirs: number;
  bytesWritten: number;
  bytesRead: number;
}

export class MemDisk implements Disk {
  private entries = new Map<string, Entry>([[ROOT, { type: 'dir' }]]);
  private durable = new Map<string, Entry>([[ROOT, { type: 'dir' }]]);
  /** Bumped by crash(): handles from before it are dead. */
  private epoch = 0;
  /** Every operation fails while set. */
  fault: MemDiskFault | null = null;
  /** fsync (file and directory) fails with EIO while set, and loses nothing else. */
  failSync = false;
  readonly stats: MemDiskStats = { syncs: 0, syncDirs: 0, bytesWritten: 0, bytesRead: 0 };

  constructor(
    readonly name = 'mem',
    private readonly power: PowerSupply | null = null,
  ) {}

  /** Throws the injected fault, if any. */
  check(path: string): void {
    if (this.power !== null && !this.power.take()) throw new DiskError('EIO', `${this.name}:${path}`, `EIO: ${this.name}:${path}: power cut`);
    if (this.fault === null) return;
    if (this.fault.type === 'eio') throw new DiskError('EIO', `${this.name}:${path}`, `EIO: ${this.name}:${path}: injected fault`);
    throw new DiskError('ENOENT', `${this.name}:${path}`, `ENOENT: ${this.name}:${path}: the disk is gone`);
  }

  private err(code: DiskErrorCode, path: string): DiskError {
    return new DiskError(code, `${this.name}:${path}`);
  }

  private fileEntry(p: string): Inode {
    const e = this.entries.get(p);
    if (e === undefined) throw this.err('ENOENT', p);
    if (e.type === 'dir') throw this.err('EISDIR', p);
    return e.inode;
  }

  private needParentDir(p: string): void {
    const e = this.entries.get(parent(p));
    if (e === undefined) throw this.err('ENOENT', p);
    if (e.type !== 'dir') throw this.err('ENOTDIR', p);
  }

  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    this.check(path);
    const p = norm(path);
    let e = this.entries.get(p);
    if (e !== undefined && mode === 'create-new') throw this.err('EEXIST', p);
    if (e === undefined) {
      if (mode === 'read' || mode === 'write') throw this.err('ENOENT', p);
      this.needParentDir(p);
      e = { type: 'file', inode: new Inode() };
      this.entries.set(p, e);
    }
    if (e.type === 'dir') throw this.err('EISDIR', p);
    return applyOpenOptions(new MemFile(this, p, e.inode, this.epoch), options);
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.check(path);
    const inode = this.fileEntry(norm(path));
    this.stats.bytesRead += inode.lengthBytes;
    return inode.read(0, inode.lengthBytes);
  }

  async list(dir: string): Promise<string[]> {
    this.check(dir);
    const d = norm(dir);
    const e = this.entries.get(d);
    if (e === undefined) throw this.err('ENOENT', d);
    if (e.type !== 'dir') throw this.err('ENOTDIR', d);
    const names: string[] = [];
    for (const p of this.entries.keys()) if (p !== ROOT && parent(p) === d) names.push(p.slice(d === ROOT ? 0 : d.length + 1));
    return names.sort();
  }

  async mkdir(dir: string): Promise<void> {
    this.check(dir);
    const d = norm(dir);
    const missing: string[] = [];
    for (let p = d; ; p = parent(p)) {
      const e = this.entries.get(p);
      if (e !== undefined) {
        if (e.type !== 'dir') throw this.err(p === d ? 'EEXIST' : 'ENOTDIR', d);
        break;
      }
      missing.push(p);
    }
    for (const p of missing.reverse()) this.entries.set(p, { type: 'dir' });
  }

  async rename(from: string, to: string): Promise<void> {
    this.check(from);
    const f = norm(from);
    const t = norm(to);
    const e = this.entries.get(f);
    if (e === undefined) throw this.err('ENOENT', f);
    this.needParentDir(t);
    if (f === t) return;
    const target = this.entries.get(t);
    if (e.type === 'file') {
      if (target?.type === 'dir') throw this.err('EISDIR', t);
      this.entries.delete(f);
      this.entries.set(t, e);
      return;
    }
    if (under(t, f)) throw this.err('EINVAL', t);
    if (target?.type === 'file') throw this.err('ENOTDIR', t);
    if (target?.type === 'dir' && [...this.entries.keys()].some((p) => under(p, t))) throw this.err('ENOTEMPTY', t);
    const moved = [...this.entries].filter(([p]) => p === f || under(p, f));
    for (const [p] of moved) this.entries.delete(p);
    for (const [p, x] of moved) this.entries.set(t + p.slice(f.length), x);
  }

  async unlink(path: string): Promise<void> {
    this.check(path);
    const p = norm(path);
    this.fileEntry(p);
    this.entries.delete(p);
  }

  async rmdir(dir: string): Promise<void> {
    this.check(dir);
    const d = norm(dir);
    const e = this.entries.get(d);
    if (e === undefined) throw this.err('ENOENT', d);
    if (e.type !== 'dir') throw this.err('ENOTDIR', d);
    if (d === ROOT) throw this.err('EINVAL', d);
    if ([...this.entries.keys()].some((p) => under(p, d))) throw this.err('ENOTEMPTY', d);
    this.entries.delete(d);
  }

  async stat(path: string): Promise<FileStat | null> {
    this.check(path);
    const e = this.entries.get(norm(path));
    if (e === undefined) return null;
    return e.type === 'dir' ? { sizeBytes: 0, isDirectory: true } : { sizeBytes: e.inode.lengthBytes, isDirectory: false };
  }

  async syncDir(dir: string): Promise<void> {
    this.check(dir);
    const d = norm(dir);
    const e = this.entries.get(d);
    if (e === undefined) throw this.err('ENOENT', d);
    if (e.type !== 'dir') throw this.err('ENOTDIR', d);
    if (this.failSync) throw new DiskError('EIO', `${this.name}:${d}`, `EIO: ${this.name}:${d}: injected fsync failure`);
    this.stats.syncDirs++;
    for (const p of [...this.durable.keys()]) if (p !== ROOT && parent(p) === d && !this.entries.has(p)) this.durable.delete(p);
    for (const [p, x] of this.entries) if (p !== ROOT && parent(p) === d) this.durable.set(p, x);
  }

  /**
   * A power cut: names revert to what syncDir made durable, contents to what sync made durable
   * (with `random`, a random subset of unsynced changes survives, some torn). Open handles die.
   */
  crash(random: Random | null = null): void {
    this.epoch++;
    const inodes = new Set<Inode>();
    for (const e of [...this.entries.values(), ...this.durable.values()]) if (e.type === 'file') inodes.add(e.inode);
    for (const i of inodes) i.crash(random);
    const next = new Map<string, Entry>([[ROOT, { type: 'dir' }]]);
    const paths = [...this.durable.keys()].sort((a, b) => a.split('/').length - b.split('/').length);
    for (const p of paths) {
      if (p === ROOT) continue;
      if (next.get(parent(p))?.type === 'dir') next.set(p, this.durable.get(p)!);
    }
    this.entries = next;
    this.durable = new Map(next);
  }

  /** Flips one bit of a file's contents, durable or not: silent corruption. */
  flipBit(path: string, positionBytes: number, bit = 0): void {
    const inode = this.fileEntry(norm(path));
    assert(positionBytes < inode.lengthBytes, `flipBit past the end of ${path}`);
    inode.buf[positionBytes]! ^= 1 << bit;
  }

  /** Overwrites bytes behind everyone's back (a torn or misdirected write that already landed). */
  pokeBytes(path: string, positionBytes: number, data: Uint8Array): void {
    this.fileEntry(norm(path)).rawWrite(positionBytes, data);
  }

  /** Reads bytes without fault injection (for tests that inspect member files). */
  peekBytes(path: string, positionBytes: number, lengthBytes: number): Uint8Array {
    return this.fileEntry(norm(path)).read(positionBytes, lengthBytes);
  }

  /** Every file path, for tests. */
  filePaths(): string[] {
    return [...this.entries].filter(([, e]) => e.type === 'file').map(([p]) => p).sort();
  }

  isLive(epoch: number): boolean {
    return epoch === this.epoch;
  }
}

class MemFile implements FileHandle {
  private closed = false;

  constructor(
    private readonly disk: MemDisk,
    readonly path: string,
    private readonly inode: Inode,
    private readonly epoch: number,
  ) {}

  private live(): void {
    this.disk.check(this.path);
    if (this.closed || !this.disk.isLive(this.epoch)) throw new DiskError('EBADF', `${this.disk.name}:${this.path}`);
  }

  async read(position: number, lengthBytes: number): Promise<Uint8Array> {
    this.live();
    this.disk.stats.bytesRead += lengthBytes;
    return this.inode.read(position, lengthBytes);
  }

  async write(position: number, data: Uint8Array): Promise<void> {
    this.live();
    this.disk.stats.bytesWritten += data.length;
    this.inode.write(position, data);
  }

  async sync(): Promise<void> {
    this.live();
    if (this.disk.failSync) throw new DiskError('EIO', `${this.disk.name}:${this.path}`, `EIO: ${this.disk.name}:${this.path}: injected fsync failure`);
    this.disk.stats.syncs++;
    this.inode.sync();
  }

  async truncate(sizeBytes: number): Promise<void> {
    this.live();
    this.inode.truncate(sizeBytes);
  }

  async sizeBytes(): Promise<number> {
    this.live();
    return this.inode.lengthBytes;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
