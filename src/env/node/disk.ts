import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { DiskError, withDsync, type Disk, type DiskErrorCode, type FileHandle, type FileStat, type OpenMode, type OpenOptions } from '../disk.js';

const KNOWN_CODES = new Set<string>([
  'EIO', 'ENOSPC', 'ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'ENOTEMPTY', 'EACCES', 'EROFS', 'EBADF', 'EINVAL',
]);

function toDiskError(e: unknown, p: string): DiskError {
  const code = (e as { code?: unknown }).code;
  const c: DiskErrorCode = typeof code === 'string' && KNOWN_CODES.has(code) ? (code as DiskErrorCode) : 'EIO';
  if (code === 'EPERM') return new DiskError('EACCES', p, `EACCES: ${p}: ${(e as Error).message}`, { cause: e });
  return new DiskError(c, p, `${c}: ${p}: ${(e as Error).message}`, { cause: e });
}

async function wrap<T>(p: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw toDiskError(e, p);
  }
}

const FLAGS: Record<OpenMode, string> = { read: 'r', write: 'r+', create: 'a+', 'create-new': 'wx+' };

/** Numeric flags for O_DSYNC opens (never O_APPEND: writes go at explicit positions). */
const DSYNC_FLAGS: Record<OpenMode, number> = {
  read: fsc.O_RDONLY,
  write: fsc.O_RDWR,
  create: fsc.O_RDWR | fsc.O_CREAT,
  'create-new': fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL,
};

class NodeFile implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: fs.FileHandle,
    private readonly hostPath: string,
  ) {}

  read(position: number, lengthBytes: number): Promise<Uint8Array> {
    return wrap(this.hostPath, async () => {
      const buf = Buffer.allocUnsafe(lengthBytes);
      let got = 0;
      while (got < lengthBytes) {
        const { bytesRead } = await this.fh.read(buf, got, lengthBytes - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, got);
    });
  }

  write(position: number, data: Uint8Array): Promise<void> {
    return wrap(this.hostPath, async () => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    });
  }

  sync(): Promise<void> {
    return wrap(this.hostPath, () => this.fh.datasync());
  }

  truncate(sizeBytes: number): Promise<void> {
    return wrap(this.hostPath, () => this.fh.truncate(sizeBytes));
  }

  sizeBytes(): Promise<number> {
    return wrap(this.hostPath, async () => (await this.fh.stat()).size);
  }

  close(): Promise<void> {
    return wrap(this.hostPath, () => this.fh.close());
  }
}

/** A Disk rooted at a directory of the host file system. */
export class NodeDisk implements Disk {
  readonly name: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.name = this.root;
  }

  private host(p: string): string {
    const resolved = path.resolve(this.root, p);
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new DiskError('EINVAL', p, `path escapes the disk root: ${p}`);
    }
    return resolved;
  }

  async open(p: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const h = this.host(p);
    if (options?.dsync === true) {
      // O_DSYNC: the write and the device flush in one thread-pool trip instead of two.
      if (fsc.O_DSYNC === undefined) return withDsync(await this.open(p, mode));
      const fh = await wrap(h, () => fs.open(h, DSYNC_FLAGS[mode] | fsc.O_DSYNC, 0o666));
      return new NodeFile(p, fh, h);
    }
    // 'a+' would force appends to the end; open with O_CREAT then reopen read-write for pwrite.
    if (mode === 'create') {
      await wrap(h, async () => (await fs.open(h, 'a')).close());
      const fh = await wrap(h, () => fs.open(h, 'r+'));
      return new NodeFile(p, fh, h);
    }
    const fh = await wrap(h, () => fs.open(h, FLAGS[mode]));
    return new NodeFile(p, fh, h);
  }

  readFile(p: string): Promise<Uint8Array> {
    const h = this.host(p);
    return wrap(h, async () => {
      const b = await fs.readFile(h);
      return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    });
  }

  list(dir: string): Promise<string[]> {
    const h = this.host(dir);
    return wrap(h, async () => (await fs.readdir(h)).sort());
  }

  mkdir(dir: string): Promise<void> {
    const h = this.host(dir);
    return wrap(h, async () => {
      await fs.mkdir(h, { recursive: true });
    });
  }

  rename(from: string, to: string): Promise<void> {
    const a = this.host(from);
    const b = this.host(to);
    return wrap(a, () => fs.rename(a, b));
  }

  unlink(p: string): Promise<void> {
    const h = this.host(p);
    return wrap(h, () => fs.unlink(h));
  }

  rmdir(dir: string): Promise<void> {
    const h = this.host(dir);
    return wrap(h, () => fs.rmdir(h));
  }

  async stat(p: string): Promise<FileStat | null> {
    const h = this.host(p);
    try {
      const s = await fs.stat(h);
      return { sizeBytes: s.size, isDirectory: s.isDirectory() };
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return null;
      throw toDiskError(e, h);
    }
  }

  syncDir(dir: string): Promise<void> {
    const h = this.host(dir);
    return wrap(h, async () => {
      const fh = await fs.open(h, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }
}
