/**
 * Reading and moving segment files: the I/O half of recovery. A read that hits an unreadable sector
 * (EIO) is narrowed down to the bad sectors so that one bad sector costs only its own bytes, which
 * are filled with 0xff: never a valid frame, so the scanner sees damage exactly there.
 */
import { isDiskError, joinPath, type Disk } from '../env/disk.js';
import { WAL_RECOVERY_READ_CHUNK_BYTES, WAL_RECOVERY_SECTOR_BYTES } from '../core/limits.js';
import type { ByteRange } from './wal-recovery.js';

export interface FileRead {
  readonly bytes: Uint8Array;
  readonly unreadable: readonly ByteRange[];
}

export async function readFileTolerant(disk: Disk, path: string): Promise<FileRead> {
  const h = await disk.open(path, 'read');
  try {
    const size = await h.sizeBytes();
    const bytes = new Uint8Array(size);
    const unreadable: ByteRange[] = [];
    // A failed range is split in halves until the unreadable sectors are found: a few bad sectors
    // cost a few dozen reads, not one read per sector of the chunk.
    const readRange = async (off: number, len: number): Promise<void> => {
      try {
        bytes.set(await h.read(off, len), off);
      } catch (e) {
        if (!isDiskError(e, 'EIO')) throw e;
        if (len <= WAL_RECOVERY_SECTOR_BYTES) {
          bytes.fill(0xff, off, off + len);
          const prev = unreadable.at(-1);
          if (prev !== undefined && prev.offset + prev.lengthBytes === off) unreadable[unreadable.length - 1] = { offset: prev.offset, lengthBytes: prev.lengthBytes + len };
          else unreadable.push({ offset: off, lengthBytes: len });
          return;
        }
        const half = Math.ceil(len / 2 / WAL_RECOVERY_SECTOR_BYTES) * WAL_RECOVERY_SECTOR_BYTES;
        await readRange(off, half);
        await readRange(off + half, len - half);
      }
    };
    for (let off = 0; off < size; off += WAL_RECOVERY_READ_CHUNK_BYTES) await readRange(off, Math.min(WAL_RECOVERY_READ_CHUNK_BYTES, size - off));
    return { bytes, unreadable };
  } finally {
    await h.close();
  }
}

/** A name in `dir` that is not taken yet: `name`, else `name.1`, `name.2`, … */
export async function freeName(disk: Disk, dir: string, name: string): Promise<string> {
  const taken = new Set(await disk.list(dir));
  if (!taken.has(name)) return name;
  for (let n = 1; ; n++) if (!taken.has(`${name}.${n}`)) return `${name}.${n}`;
}

/** Writes `data` to a new file and fsyncs it (the caller fsyncs the directory). */
export async function writeNewFile(disk: Disk, path: string, data: Uint8Array): Promise<void> {
  const f = await disk.open(path, 'create-new');
  try {
    await f.write(0, data);
    await f.sync();
  } finally {
    await f.close();
  }
}

export function quarantineDir(walDir: string): string {
  return joinPath(walDir, 'quarantine');
}
