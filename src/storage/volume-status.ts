/**
 * The health of a volume as the server, `/metrics` and `bulwark raid status` report it.
 */
import type { RaidLevel } from './raid-layout.js';
import type { Activity, MemberCounters, ScrubSummary, SlotState } from './superblock.js';

/**
 * `clean`: every member in sync. `degraded`: serving with less redundancy than configured (a member
 * failed, missing or still rebuilding). `failed`: too few members; every operation fails with EIO.
 */
export type VolumeHealth = 'clean' | 'degraded' | 'failed';

export interface MemberStatus {
  readonly index: number;
  /** The member's Disk name (its directory), or null for an empty slot. */
  readonly name: string | null;
  readonly state: SlotState;
  /** Why the member failed, when it did. */
  readonly reason: string;
  readonly counters: MemberCounters;
}

export interface VolumeCounters {
  /** Chunks that failed their checksum on read (bit rot, torn or misdirected writes). */
  readonly checksumErrors: number;
  readonly readErrors: number;
  readonly writeErrors: number;
  /** Chunks rewritten from redundancy (self-healing reads and scrub repair). */
  readonly repairedChunks: number;
  /** Stripes rebuilt from redundancy to serve a read (a bad chunk, or a member out). */
  readonly reconstructedStripes: number;
  /** Stripes no copy could produce: reads failed with EIO rather than return wrong bytes. */
  readonly lostStripes: number;
  /** Journal commits (one per group of synced writes) and checkpoints. */
  readonly flushes: number;
  readonly checkpoints: number;
  readonly journalBytes: number;
}

export interface VolumeStatus {
  readonly name: string;
  readonly arrayId: string;
  readonly level: RaidLevel;
  readonly memberCount: number;
  readonly chunkBytes: number;
  readonly generation: number;
  readonly health: VolumeHealth;
  readonly degraded: boolean;
  /** Why the volume failed, when it did. */
  readonly failure: string | null;
  readonly members: readonly MemberStatus[];
  /** A rebuild or scrub in progress (bytes done of total), or idle. */
  readonly activity: Activity;
  readonly lastScrub: ScrubSummary | null;
  readonly counters: VolumeCounters;
  /** Whether the last shutdown was clean (as read from the superblocks; false while open). */
  readonly clean: boolean;
}
