/**
 * The member's view of its log store: times every fsync for etcd_disk_wal_fsync_duration_seconds
 * and applies the WAL failpoints (a slow or failing disk on demand).
 */
import type { LogIndex } from '../core/ids.js';
import type { LogStore } from '../consensus/storage.js';
import type { Entry } from '../consensus/types.js';
import type { Clock } from '../env/clock.js';
import { DiskError } from '../env/disk.js';
import type { Failpoints } from './failpoints.js';

export class ObservedLogStore implements LogStore {
  private syncs = 0;

  constructor(
    private readonly inner: LogStore,
    private readonly clock: Clock,
    private readonly failpoints: Failpoints,
    private readonly observeSyncS: (seconds: number) => void,
  ) {}

  append(entries: readonly Entry[], replaceSuffix: boolean): void {
    this.inner.append(entries, replaceSuffix);
  }

  setHardState(hardState: Uint8Array): void {
    this.inner.setHardState(hardState);
  }

  async sync(): Promise<void> {
    const start = this.clock.nowMs();
    this.syncs++;
    if (this.failpoints.walFsyncDelayMs > 0) await this.clock.sleep(this.failpoints.walFsyncDelayMs);
    if (this.failpoints.walFsyncErrorAfter !== null && this.syncs >= this.failpoints.walFsyncErrorAfter) {
      throw new DiskError('EIO', 'wal', 'EIO: fsync failed (failpoint wal-fsync-error-after)');
    }
    await this.inner.sync();
    this.observeSyncS((this.clock.nowMs() - start) / 1000);
  }

  compact(index: LogIndex): Promise<void> {
    return this.inner.compact(index);
  }

  reset(snapshotIndex: LogIndex): Promise<void> {
    return this.inner.reset(snapshotIndex);
  }

  async resetWith(snapshotIndex: LogIndex, entries: readonly Entry[], hardState: Uint8Array | null): Promise<void> {
    // One fsync, like sync(): the same failpoints and the same timing.
    const start = this.clock.nowMs();
    this.syncs++;
    if (this.failpoints.walFsyncDelayMs > 0) await this.clock.sleep(this.failpoints.walFsyncDelayMs);
    if (this.failpoints.walFsyncErrorAfter !== null && this.syncs >= this.failpoints.walFsyncErrorAfter) {
      throw new DiskError('EIO', 'wal', 'EIO: fsync failed (failpoint wal-fsync-error-after)');
    }
    await this.inner.resetWith(snapshotIndex, entries, hardState);
    this.observeSyncS((this.clock.nowMs() - start) / 1000);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
