/**
 * Files, the third seam. Everything durable in Bulwark (log segments, hard state, snapshots, RAID
 * superblocks) is written through a Disk, so the simulator can lose unsynced writes, tear sectors,
 * flip bits and fail fsync, and a RAID volume can stand in for a plain directory.
 *
 * Paths are relative to the Disk's root and use '/' separators. Nothing is durable until
 * `FileHandle.sync` (for contents) and `Disk.syncDir` (for names: create, rename, unlink) return.
 */
import { BulwarkError } from '../core/errors.js';

export type DiskErrorCode =
  | 'EIO'
  | 'ENOSPC'
  | 'ENOENT'
  | 'EEXIST'
  | 'ENOTDIR'
  | 'EISDIR'
  | 'ENOTEMPTY'
  | 'EACCES'
  | 'EROFS'
  | 'EBADF'
  | 'EINVAL';

export class DiskError extends BulwarkError<DiskErrorCode> {
  readonly path: string;

  constructor(code: DiskErrorCode, path: string, message?: string, options?: { cause?: unknown }) {
    super(code, message ?? `${code}: ${path}`, options);
    this.name = 'DiskError';
    this.path = path;
  }
}

export function isDiskError(e: unknown, code?: DiskErrorCode): e is DiskError {
  return e instanceof DiskError && (code === undefined || e.code === code);
}

/**
 * How to open a file: `read` and `write` need an existing file; `create` makes it if missing;
 * `create-new` fails with EEXIST if it exists.
 */
export type OpenMode = 'read' | 'write' | 'create' | 'create-new';

export interface OpenOptions {
  /**
   * Every `write` on the handle is durable when it returns (O_DSYNC): one trip to the device
   * instead of a write and then a sync. Only the written bytes: a truncate, or writes made through
   * another handle, still need `sync`. A failed dsync write is as fatal as a failed sync.
   */
  readonly dsync?: boolean;
}

export interface FileHandle {
  readonly path: string;
  /** Reads up to `lengthBytes` at `position`; fewer bytes come back only at the end of the file. */
  read(position: number, lengthBytes: number): Promise<Uint8Array>;
  /** Writes all of `data` at `position`, extending the file as needed. Not durable until sync. */
  write(position: number, data: Uint8Array): Promise<void>;
  /**
   * Makes every write so far durable (fdatasync). A failure means earlier writes may be lost even
   * if a later sync succeeds (fsyncgate): callers must treat it as fatal, never retry.
   */
  sync(): Promise<void>;
  truncate(sizeBytes: number): Promise<void>;
  sizeBytes(): Promise<number>;
  close(): Promise<void>;
}

export interface FileStat {
  readonly sizeBytes: number;
  readonly isDirectory: boolean;
}

export interface Disk {
  /** For messages: a path on the host, or a simulated disk's name. */
  readonly name: string;
  /** Every implementation honours `options.dsync` (natively, or with withDsync). */
  open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle>;
  /** The whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Names (not paths) in a directory, sorted. */
  list(dir: string): Promise<string[]>;
  /** Creates a directory and its parents; succeeds if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Atomically replaces `to` with `from`. Durable after syncDir of the directory. */
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Removes an empty directory. */
  rmdir(dir: string): Promise<void>;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileStat | null>;
  /** Makes the directory's entries durable (fsync of the directory). */
  syncDir(dir: string): Promise<void>;
}

/**
 * A handle whose writes are durable when they return, for disks without a native O_DSYNC: each
 * write is followed by the handle's sync (which makes every earlier write durable too, more than
 * O_DSYNC promises, never less).
 */
export function withDsync(h: FileHandle): FileHandle {
  return {
    path: h.path,
    read: (position, lengthBytes) => h.read(position, lengthBytes),
    write: async (position, data) => {
      await h.write(position, data);
      await h.sync();
    },
    sync: () => h.sync(),
    truncate: (sizeBytes) => h.truncate(sizeBytes),
    sizeBytes: () => h.sizeBytes(),
    close: () => h.close(),
  };
}

/** The handle as `options` ask for it, for disks that open plain handles. */
export function applyOpenOptions(h: FileHandle, options: OpenOptions | undefined): FileHandle {
  return options?.dsync === true ? withDsync(h) : h;
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : path.slice(0, i);
}

export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '' && p !== '.').join('/').replace(/\/+/g, '/');
}

/**
 * Replaces a file atomically and durably: write a temporary file, fsync it, rename it over the
 * target, fsync the directory. A crash at any point leaves either the old or the new contents.
 */
export async function writeFileAtomic(disk: Disk, path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const f = await disk.open(tmp, 'create');
  try {
    await f.truncate(0);
    await f.write(0, data);
    await f.sync();
  } finally {
    await f.close();
  }
  await disk.rename(tmp, path);
  await disk.syncDir(dirname(path));
}
