/**
 * RAID-1 and RAID-5 volumes: Disks made of Disks (see docs/raid.md).
 *
 *   const volume = await openVolume({ members: dirs.map((d) => new NodeDisk(d)), clock, logger,
 *     create: { level: 5, random } });
 *   // volume is a Disk: give it to the WAL and the snapshot store.
 *   volume.status();                      // health, members, counters, rebuild/scrub progress
 *   void volume.rebuild();                // when volume.rebuildPending is not empty
 */
export { RaidError, isRaidError, type RaidErrorCode } from './errors.js';
export { RaidLayout, validateLayout, type RaidLevel, type LayoutOptions } from './raid-layout.js';
export {
  RaidVolume,
  checkAddable,
  type RebuildOptions,
  type RebuildResult,
  type ScrubOptions,
  type ScrubResult,
} from './volume.js';
export {
  assemble,
  createVolume,
  openVolume,
  probeMember,
  type Assembly,
  type CreateVolumeOptions,
  type MemberProbe,
  type OpenVolumeOptions,
} from './volume-open.js';
export type { MemberStatus, VolumeCounters, VolumeHealth, VolumeStatus } from './volume-status.js';
export { volumeMetrics, type MetricSample } from './volume-metrics.js';
export type { Activity, MemberCounters, ScrubMode, ScrubSummary, SlotState, Superblock } from './superblock.js';
export { MemDisk, PowerSupply, type MemDiskFault } from './mem-disk.js';
export { StepClock } from './step-clock.js';
