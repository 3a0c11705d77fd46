/**
 * A volume's metadata: its directory tree, and for every file its size and the checksum of every
 * chunk. Pure and synchronous; the volume keeps one in memory, logs every change in the journal,
 * and checkpoints the whole of it to `.raid/meta` on every member.
 *
 * Checksums live here rather than beside the chunks, as ZFS keeps them in the parent block pointer:
 * a chunk that a misdirected write put at the wrong offset, or a write that never happened (phantom
 * write), carries no valid checksum of its own to fool the reader with. Because every member holds
 * a copy of this metadata, sizes and checksums survive the loss of any member.
 *
 * Files have stable ids, so a journal record that names file 7 means the same file whatever was
 * renamed since, and an open handle keeps working across a rename.
 */
import { assert } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import type { Brand } from '../core/ids.js';
import { RAID_META_BYTES_MAX, RAID_PATH_BYTES_MAX } from '../core/limits.js';
import { DiskError } from '../env/disk.js';
import { RaidError } from './errors.js';
import type { RaidLayout } from './raid-layout.js';

export type FileId = Brand<number, 'FileId'>;
export const fileId = (n: number): FileId => n as FileId;

export const META_PATH = '.raid/meta';
/** The directory of a volume's own files on every member; no logical path may enter it. */
export const RAID_DIR = '.raid';
export const ROOT = '.';

/** A growable table of CRC32C values. */
export class CrcTable {
  private values: Uint32Array;
  private count = 0;

  constructor(initial?: Uint32Array) {
    this.values = initial ? initial.slice() : new Uint32Array(16);
    this.count = initial ? initial.length : 0;
  }

  get length(): number {
    return this.count;
  }

  get(i: number): number {
    assert(i >= 0 && i < this.count, `checksum index ${i} of ${this.count}`);
    return this.values[i]!;
  }

  set(i: number, crc: number): void {
    assert(i >= 0 && i < this.count, `checksum index ${i} of ${this.count}`);
    this.values[i] = crc;
  }

  /** Shrinks or grows (new entries are zero until set). */
  resize(n: number): void {
    if (n > this.values.length) {
      const next = new Uint32Array(Math.max(n, this.values.length * 2));
      next.set(this.values.subarray(0, this.count));
      this.values = next;
    } else if (n < this.count) {
      this.values.fill(0, n, this.count);
    }
    this.count = n;
  }

  toArray(): Uint32Array {
    return this.values.slice(0, this.count);
  }
}

export interface FileEntry {
  readonly id: FileId;
  path: string;
  /** Size as of the last flush: what the checksums describe. */
  sizeBytes: number;
  readonly crcs: CrcTable;
}

/** A change to the directory tree, as the journal records it. */
export type NsOp =
  | { readonly type: 'mkdir'; readonly path: string }
  | { readonly type: 'rmdir'; readonly path: string }
  | { readonly type: 'create'; readonly path: string; readonly fileId: FileId }
  | { readonly type: 'unlink'; readonly path: string }
  | { readonly type: 'rename'; readonly from: string; readonly to: string };

/** Rename, unlink and rmdir destroy a name; the volume makes each durable on every member before going on. */
export function isDestructive(op: NsOp): boolean {
  return op.type === 'rename' || op.type === 'unlink' || op.type === 'rmdir';
}

/** New size and checksums of a file after a flush; `stripes` lists every stripe whose checksums changed. */
export interface MetaUpdate {
  readonly fileId: FileId;
  readonly sizeBytes: number;
  readonly stripes: readonly { readonly stripe: number; readonly crcs: readonly number[] }[];
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? ROOT : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Canonical form of a logical path: no '.', '..', empty or leading '/' segments; '.' is the root. */
export function normalizePath(path: string): string {
  if (path.length > RAID_PATH_BYTES_MAX) throw new DiskError('EINVAL', path, `path longer than ${RAID_PATH_BYTES_MAX} bytes`);
  if (path.startsWith('/')) throw new DiskError('EINVAL', path, `absolute path on a volume: ${path}`);
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new DiskError('EINVAL', path, `path escapes the volume: ${path}`);
  if (parts[0] === RAID_DIR) throw new DiskError('EINVAL', path, `${RAID_DIR} is reserved for the volume's own metadata`);
  return parts.length === 0 ? ROOT : parts.join('/');
}

function isUnder(path: string, dir: string): boolean {
  return dir === ROOT ? path !== ROOT : path.startsWith(dir + '/');
}

export class Namespace {
  /** The last journal record whose changes this metadata includes. */
  seq = 0;
  nextFileId = 1;
  private readonly dirs = new Set<string>([ROOT]);
  private readonly files = new Map<string, FileEntry>();
  private readonly byId = new Map<FileId, FileEntry>();
  private readonly children = new Map<string, Set<string>>([[ROOT, new Set()]]);

  constructor(private readonly layout: RaidLayout) {}

  get fileCount(): number {
    return this.files.size;
  }

  file(path: string): FileEntry | undefined {
    return this.files.get(path);
  }

  fileById(id: FileId): FileEntry | undefined {
    return this.byId.get(id);
  }

  isDir(path: string): boolean {
    return this.dirs.has(path);
  }

  /** Every directory, parents before children. */
  allDirs(): string[] {
    return [...this.dirs].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Every file, by id (creation order). */
  allFiles(): FileEntry[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  list(dir: string): string[] {
    if (this.files.has(dir)) throw new DiskError('ENOTDIR', dir);
    const c = this.children.get(dir);
    if (c === undefined) throw new DiskError('ENOENT', dir);
    return [...c].sort();
  }

  allocateFileId(): FileId {
    return fileId(this.nextFileId++);
  }

  /**
   * Throws the DiskError a file system would for `op`, or returns the ops that carry it out
   * (mkdir expands into one op per missing parent). Nothing changes until `apply`.
   */
  check(op: NsOp): void {
    switch (op.type) {
      case 'mkdir':
        if (this.files.has(op.path)) throw new DiskError('EEXIST', op.path);
        for (let p = parentOf(op.path); p !== ROOT; p = parentOf(p)) {
          if (this.files.has(p)) throw new DiskError('ENOTDIR', op.path);
        }
        return;
      case 'rmdir':
        if (op.path === ROOT) throw new DiskError('EINVAL', op.path, 'cannot remove the root of a volume');
        if (this.files.has(op.path)) throw new DiskError('ENOTDIR', op.path);
        if (!this.dirs.has(op.path)) throw new DiskError('ENOENT', op.path);
        if ((this.children.get(op.path)?.size ?? 0) > 0) throw new DiskError('ENOTEMPTY', op.path);
        return;
      case 'create':
        this.checkParent(op.path);
        if (this.dirs.has(op.path)) throw new DiskError('EISDIR', op.path);
        if (this.files.has(op.path)) throw new DiskError('EEXIST', op.path);
        return;
      case 'unlink':
        if (this.dirs.has(op.path)) throw new DiskError('EISDIR', op.path);
        if (!this.files.has(op.path)) throw new DiskError('ENOENT', op.path);
        return;
      case 'rename': {
        const fromFile = this.files.has(op.from);
        const fromDir = this.dirs.has(op.from) && op.from !== ROOT;
        if (!fromFile && !fromDir) throw new DiskError(op.from === ROOT ? 'EINVAL' : 'ENOENT', op.from);
        this.checkParent(op.to);
        if (op.from === op.to) return;
        if (fromFile && this.dirs.has(op.to)) throw new DiskError('EISDIR', op.to);
        if (fromDir) {
          if (this.files.has(op.to)) throw new DiskError('ENOTDIR', op.to);
          if (isUnder(op.to, op.from)) throw new DiskError('EINVAL', op.to, `cannot move ${op.from} into itself`);
          if ((this.children.get(op.to)?.size ?? 0) > 0) throw new DiskError('ENOTEMPTY', op.to);
        }
        return;
      }
    }
  }

  private checkParent(path: string): void {
    if (path === ROOT) throw new DiskError('EISDIR', path);
    const parent = parentOf(path);
    if (this.files.has(parent)) throw new DiskError('ENOTDIR', path);
    if (!this.dirs.has(parent)) throw new DiskError('ENOENT', path, `ENOENT: ${path}: no directory ${parent}`);
  }

  /** Applies a checked op (live) or a journaled one (replay). */
  apply(op: NsOp): void {
    this.check(op);
    switch (op.type) {
      case 'mkdir': {
        const missing: string[] = [];
        for (let p = op.path; p !== ROOT && !this.dirs.has(p); p = parentOf(p)) missing.push(p);
        for (const d of missing.reverse()) this.addDir(d);
        return;
      }
      case 'rmdir':
        this.dirs.delete(op.path);
        this.children.delete(op.path);
        this.children.get(parentOf(op.path))?.delete(baseName(op.path));
        return;
      case 'create': {
        assert(!this.byId.has(op.fileId), `file id ${op.fileId} is new`);
        const e: FileEntry = { id: op.fileId, path: op.path, sizeBytes: 0, crcs: new CrcTable() };
        this.addFile(e);
        if (op.fileId >= this.nextFileId) this.nextFileId = op.fileId + 1;
        return;
      }
      case 'unlink':
        this.removeFile(this.files.get(op.path)!);
        return;
      case 'rename':
        if (op.from === op.to) return;
        if (this.files.has(op.from)) {
          const e = this.files.get(op.from)!;
          const replaced = this.files.get(op.to);
          if (replaced !== undefined) this.removeFile(replaced);
          this.removeFile(e);
          e.path = op.to;
          this.addFile(e);
        } else {
          this.renameDir(op.from, op.to);
        }
        return;
    }
  }

  private addDir(d: string): void {
    this.dirs.add(d);
    this.children.set(d, new Set());
    this.children.get(parentOf(d))!.add(baseName(d));
  }

  private addFile(e: FileEntry): void {
    this.files.set(e.path, e);
    this.byId.set(e.id, e);
    this.children.get(parentOf(e.path))!.add(baseName(e.path));
  }

  private removeFile(e: FileEntry): void {
    this.files.delete(e.path);
    this.byId.delete(e.id);
    this.children.get(parentOf(e.path))?.delete(baseName(e.path));
  }

  private renameDir(from: string, to: string): void {
    if (this.dirs.has(to)) {
      this.dirs.delete(to);
      this.children.delete(to);
      this.children.get(parentOf(to))?.delete(baseName(to));
    }
    const move = (p: string): string => to + p.slice(from.length);
    const dirs = [...this.dirs].filter((d) => d === from || isUnder(d, from));
    const files = [...this.files.values()].filter((f) => isUnder(f.path, from));
    for (const f of files) this.removeFile(f);
    this.children.get(parentOf(from))!.delete(baseName(from));
    for (const d of dirs) {
      this.dirs.delete(d);
      this.children.delete(d);
    }
    for (const d of dirs.map(move).sort((a, b) => a.length - b.length)) this.addDir(d);
    for (const f of files) {
      f.path = move(f.path);
      this.addFile(f);
    }
  }

  /** Records a flush: new size and checksums. Unknown ids are files unlinked since; skipped. */
  applyMeta(u: MetaUpdate): void {
    const e = this.byId.get(u.fileId);
    if (e === undefined) return;
    e.sizeBytes = u.sizeBytes;
    e.crcs.resize(this.layout.stripeCount(u.sizeBytes) * this.layout.checksumsPerStripe);
    for (const s of u.stripes) {
      assert(s.crcs.length === this.layout.checksumsPerStripe, 'one checksum per column');
      if (s.stripe >= this.layout.stripeCount(u.sizeBytes)) continue;
      for (let c = 0; c < s.crcs.length; c++) e.crcs.set(s.stripe * this.layout.checksumsPerStripe + c, s.crcs[c]!);
    }
  }

  // -------------------------------------------------------------------------------------------
  // The checkpoint file.

  encode(arrayId: string): Uint8Array {
    const w = new ByteWriter(4096);
    w.raw(META_MAGIC).u32(META_VERSION).u64(BigInt('0x' + arrayId)).u53(this.seq).u53(this.nextFileId);
    const dirs = this.allDirs().filter((d) => d !== ROOT);
    w.varint(dirs.length);
    for (const d of dirs) w.string(d);
    const files = this.allFiles();
    w.varint(files.length);
    for (const f of files) {
      w.u53(f.id).string(f.path).u53(f.sizeBytes).varint(f.crcs.length);
      const crcs = f.crcs.toArray();
      for (let i = 0; i < crcs.length; i++) w.u32(crcs[i]!);
    }
    const body = w.finish();
    const out = new Uint8Array(body.length + 4);
    out.set(body);
    new DataView(out.buffer).setUint32(body.length, crc32c(body), true);
    return out;
  }

  static decode(bytes: Uint8Array, layout: RaidLayout, arrayId: string, where: string): Namespace {
    try {
      if (bytes.length < 8 || bytes.length > RAID_META_BYTES_MAX) throw new DecodeError(`metadata of ${bytes.length} bytes`);
      const body = bytes.subarray(0, bytes.length - 4);
      const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
      if (crc32c(body) !== stored) throw new DecodeError('checksum mismatch');
      const r = new ByteReader(body);
      if (!r.raw(META_MAGIC.length).every((b, i) => b === META_MAGIC[i])) throw new DecodeError('bad magic');
      if (r.u32() !== META_VERSION) throw new DecodeError('unsupported version');
      const id = r.u64().toString(16).padStart(16, '0');
      if (id !== arrayId) throw new DecodeError(`belongs to array ${id}, not ${arrayId}`);
      const ns = new Namespace(layout);
      ns.seq = r.u53('seq');
      const nextFileId = r.u53('next file id');
      const dirCount = r.varint('dirs');
      for (let i = 0; i < dirCount; i++) {
        const d = decodedPath(r.string(RAID_PATH_BYTES_MAX, 'dir'));
        ns.apply({ type: 'mkdir', path: d });
      }
      const fileCount = r.varint('files');
      for (let i = 0; i < fileCount; i++) {
        const fid = fileId(r.u53('file id'));
        const path = decodedPath(r.string(RAID_PATH_BYTES_MAX, 'file'));
        const sizeBytes = r.u53('size');
        const n = r.varint('checksums');
        if (n !== layout.stripeCount(sizeBytes) * layout.checksumsPerStripe) throw new DecodeError(`${path}: ${n} checksums for ${sizeBytes} bytes`);
        const crcs = new Uint32Array(n);
        for (let k = 0; k < n; k++) crcs[k] = r.u32();
        if (fid <= 0 || ns.byId.has(fid)) throw new DecodeError(`duplicate file id ${fid}`);
        ns.apply({ type: 'create', path, fileId: fid });
        const e = ns.byId.get(fid)!;
        e.sizeBytes = sizeBytes;
        e.crcs.resize(n);
        for (let k = 0; k < n; k++) e.crcs.set(k, crcs[k]!);
      }
      r.done('metadata');
      if (nextFileId < ns.nextFileId) throw new DecodeError('next file id behind the files');
      ns.nextFileId = nextFileId;
      return ns;
    } catch (e) {
      if (e instanceof DecodeError || e instanceof DiskError) {
        throw new RaidError('corrupt', `${where}: bad metadata: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
}

/** A path read from disk must already be canonical. */
function decodedPath(p: string): string {
  let n: string;
  try {
    n = normalizePath(p);
  } catch (e) {
    throw new DecodeError(`bad path ${JSON.stringify(p)}: ${(e as Error).message}`);
  }
  if (n !== p || n === ROOT) throw new DecodeError(`bad path ${JSON.stringify(p)}`);
  return n;
}

const META_MAGIC = new TextEncoder().encode('BWRAIDMT');
const META_VERSION = 1;
