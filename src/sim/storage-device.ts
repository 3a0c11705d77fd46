/**
 * What a simulated member keeps its data on: one SimDisk, or a RAID volume over several
 * (raid-device.ts). It outlives the member's crashes; each incarnation mounts it anew.
 */
import type { Disk } from '../env/disk.js';
import type { StorageRecoveryReport } from '../wal/open-storage.js';
import type { FaultRecord, SimDiskFaultRates } from './disk.js';

export interface SimStorageDevice {
  readonly name: string;
  /** The view of one incarnation; after the next crash() its calls never complete. */
  mount(): Disk;
  /** The process died: what was not durable is lost or torn. */
  crash(): void;
  /** Replaces the fault rates (the liveness phase turns them off). */
  setFaults(faults: Partial<SimDiskFaultRates>): void;
  /** Faults for the cluster-level fault atlas to audit. */
  faultRecords(): readonly FaultRecord[];
  /**
   * After recovery: a problem to report when damage reached the write-ahead log although the
   * device should have kept it out (a RAID volume within its redundancy), else null.
   */
  checkRecovery?(report: StorageRecoveryReport): string | null;
}
