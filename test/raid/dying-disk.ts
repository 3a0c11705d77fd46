/**
 * One member directory of a RAID volume that a test can make die under a running server, as a
 * real disk dies: I/O on it fails.
 *
 * As root with loop devices, mkfs.ext4 and python3 at hand, the directory is its own ext4 file
 * system on a loop device, and dying is ext4's shutdown ioctl (EXT4_IOC_SHUTDOWN, what xfstests'
 * "godown" does): every read, write and fsync on it fails with EIO at once, open files included.
 * Otherwise (or with BULWARK_TEST_DISK_DEATH=rename; chmod alone does not stop root) the directory is renamed away: paths under it stop
 * resolving while open files go on working, which the volume notices through its superblock probe.
 *
 * Replacing it leaves an empty directory at the same path, as an operator mounts a new disk where
 * the dead one was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';

export type DyingMethod = 'ext4-shutdown' | 'renamed-away';

const EXT4_IOC_SHUTDOWN = 0x8004587d;
/** EXT4_GOING_FLAGS_NOLOGFLUSH: stop at once, as a pulled disk does. */
const GOING_NOLOGFLUSH = 2;

export class DyingDisk {
  private mounted = false;

  private constructor(
    readonly path: string,
    readonly method: DyingMethod,
    private readonly image: string | null,
  ) {}

  /** Prepares `path` (which must not exist yet) as a disk that can die. */
  static create(path: string, o: { sizeMiB?: number } = {}): DyingDisk {
    mkdirSync(path, { recursive: true });
    if (process.getuid?.() === 0 && process.env['BULWARK_TEST_DISK_DEATH'] !== 'rename') {
      const image = `${path}.img`;
      try {
        execFileSync('truncate', ['-s', `${o.sizeMiB ?? 96}M`, image]);
        execFileSync('mkfs.ext4', ['-q', '-F', image], { stdio: 'ignore' });
        execFileSync('mount', ['-o', 'loop', image, path], { stdio: 'ignore' });
        execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore' });
        const d = new DyingDisk(path, 'ext4-shutdown', image);
        d.mounted = true;
        return d;
      } catch {
        try {
          execFileSync('umount', [path], { stdio: 'ignore' });
        } catch {
          /* it was not mounted */
        }
        rmSync(image, { force: true });
      }
    }
    return new DyingDisk(path, 'renamed-away', null);
  }

  /** The disk dies under whoever uses it. */
  kill(): void {
    if (this.method === 'ext4-shutdown') {
      const script = `import fcntl, os, struct\nfd = os.open(${JSON.stringify(this.path)}, os.O_RDONLY)\nfcntl.ioctl(fd, ${EXT4_IOC_SHUTDOWN}, struct.pack('I', ${GOING_NOLOGFLUSH}))\n`;
      execFileSync('python3', ['-c', script]);
    } else {
      renameSync(this.path, `${this.path}.dead`);
    }
  }

  /** The dead disk is taken out and an empty one is put at the same path. */
  replace(): void {
    if (this.method === 'ext4-shutdown') this.unmount();
    else if (!existsSync(this.path)) mkdirSync(this.path);
  }

  /** Unmounts (lazily: a server may still hold files) and removes the image. Safe to call twice. */
  cleanup(): void {
    this.unmount();
    if (this.image !== null) rmSync(this.image, { force: true });
  }

  private unmount(): void {
    if (!this.mounted) return;
    execFileSync('umount', ['-l', this.path], { stdio: 'ignore' });
    this.mounted = false;
  }
}
