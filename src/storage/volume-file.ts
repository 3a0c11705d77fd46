/**
 * An open file on a volume. It names the file by id, so it follows renames as a POSIX descriptor
 * follows its inode; all the work is the volume's.
 */
import { DiskError, type FileHandle } from '../env/disk.js';
import type { FileId } from './namespace.js';

/** What a VolumeFile needs from its volume. */
export interface VolumeFileHost {
  fileRead(id: FileId, path: string, position: number, lengthBytes: number): Promise<Uint8Array>;
  fileWrite(id: FileId, path: string, position: number, data: Uint8Array): Promise<void>;
  fileTruncate(id: FileId, path: string, sizeBytes: number): Promise<void>;
  fileSize(id: FileId, path: string): Promise<number>;
  /** Makes every write so far durable on every member (group commit across the volume). */
  sync(): Promise<void>;
}

export class VolumeFile implements FileHandle {
  private closed = false;

  constructor(
    private readonly host: VolumeFileHost,
    readonly fileId: FileId,
    readonly path: string,
  ) {}

  private live(): void {
    if (this.closed) throw new DiskError('EBADF', this.path, `EBADF: ${this.path}: handle closed`);
  }

  read(position: number, lengthBytes: number): Promise<Uint8Array> {
    this.live();
    return this.host.fileRead(this.fileId, this.path, position, lengthBytes);
  }

  write(position: number, data: Uint8Array): Promise<void> {
    this.live();
    return this.host.fileWrite(this.fileId, this.path, position, data);
  }

  sync(): Promise<void> {
    this.live();
    return this.host.sync();
  }

  truncate(sizeBytes: number): Promise<void> {
    this.live();
    return this.host.fileTruncate(this.fileId, this.path, sizeBytes);
  }

  sizeBytes(): Promise<number> {
    this.live();
    return this.host.fileSize(this.fileId, this.path);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
