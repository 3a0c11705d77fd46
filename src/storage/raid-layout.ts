/**
 * Where each byte of a logical file lives on the members: pure geometry, no I/O.
 *
 * A logical file is cut into stripes. Member m holds, in a member file of the same path, one chunk
 * of every stripe: stripe s occupies member bytes [s * chunkBytes, (s + 1) * chunkBytes).
 *
 * - RAID-1: a stripe is one chunk of logical data, and every member holds a copy of it, so a member
 *   file is a plain copy of the logical file. One checksum per stripe (all copies are equal).
 * - RAID-5: a stripe holds (members - 1) data chunks and one parity chunk (their XOR). Parity
 *   rotates left-symmetric, md's default: the parity of stripe s is on member (n - 1) - (s mod n)
 *   and data chunk j follows it, on member (parity + 1 + j) mod n. Consecutive logical chunks so
 *   land on consecutive members and a sequential read touches every member evenly. One checksum
 *   per member chunk.
 *
 * A chunk is "used" up to the logical size: data chunk j of stripe s covers logical bytes
 * [s*D + j*C, s*D + (j+1)*C) (D = data bytes per stripe, C = chunk bytes), and its used length is
 * that range clipped to the size. Bytes past the used length are zero by definition; a checksum
 * covers exactly the used bytes. The parity chunk's used length is data chunk 0's, the longest of
 * the stripe (a stripe fills its chunks in order).
 */
import { assert, assertNever, assertUint } from '../core/assert.js';
import {
  RAID1_MEMBERS_MIN,
  RAID5_MEMBERS_MIN,
  RAID_CHUNK_BYTES_MAX,
  RAID_CHUNK_BYTES_MIN,
  RAID_MEMBERS_MAX,
} from '../core/limits.js';
import { RaidError } from './errors.js';

export type RaidLevel = 1 | 5;

export interface LayoutOptions {
  readonly level: RaidLevel;
  readonly memberCount: number;
  readonly chunkBytes: number;
}

/** Checks options from an operator or a superblock; a typed error says what is wrong. */
export function validateLayout(o: LayoutOptions): void {
  if (o.level !== 1 && o.level !== 5) throw new RaidError('invalid-config', `RAID level must be 1 or 5, got ${String(o.level)}`);
  const min = o.level === 5 ? RAID5_MEMBERS_MIN : RAID1_MEMBERS_MIN;
  if (!Number.isInteger(o.memberCount) || o.memberCount < min || o.memberCount > RAID_MEMBERS_MAX) {
    throw new RaidError('invalid-config', `RAID-${o.level} needs ${min} to ${RAID_MEMBERS_MAX} members, got ${o.memberCount}`);
  }
  const c = o.chunkBytes;
  if (!Number.isInteger(c) || c < RAID_CHUNK_BYTES_MIN || c > RAID_CHUNK_BYTES_MAX || (c & (c - 1)) !== 0) {
    throw new RaidError('invalid-config', `chunk size must be a power of two from ${RAID_CHUNK_BYTES_MIN} to ${RAID_CHUNK_BYTES_MAX} bytes, got ${c}`);
  }
}

export class RaidLayout {
  readonly level: RaidLevel;
  readonly memberCount: number;
  readonly chunkBytes: number;
  /** Data chunks per stripe: n - 1 for RAID-5, 1 for RAID-1. */
  readonly dataChunks: number;
  /** Logical bytes per stripe. */
  readonly stripeDataBytes: number;
  /** Checksums kept per stripe: one per member for RAID-5, one for all copies for RAID-1. */
  readonly checksumsPerStripe: number;

  constructor(o: LayoutOptions) {
    validateLayout(o);
    this.level = o.level;
    this.memberCount = o.memberCount;
    this.chunkBytes = o.chunkBytes;
    this.dataChunks = o.level === 5 ? o.memberCount - 1 : 1;
    this.stripeDataBytes = this.dataChunks * o.chunkBytes;
    this.checksumsPerStripe = o.level === 5 ? o.memberCount : 1;
  }

  /** Members that must be usable for every byte to be readable. */
  get membersRequired(): number {
    switch (this.level) {
      case 1:
        return 1;
      case 5:
        return this.memberCount - 1;
      default:
        return assertNever(this.level, 'RAID level');
    }
  }

  stripeCount(sizeBytes: number): number {
    return Math.ceil(sizeBytes / this.stripeDataBytes);
  }

  stripeOf(position: number): number {
    return Math.floor(position / this.stripeDataBytes);
  }

  /** RAID-5: the member holding the parity of `stripe`. */
  parityMember(stripe: number): number {
    assert(this.level === 5, 'parity exists only in RAID-5');
    return this.memberCount - 1 - (stripe % this.memberCount);
  }

  /** RAID-5: the member holding data chunk `j` of `stripe`. */
  dataMember(stripe: number, j: number): number {
    assert(this.level === 5 && j >= 0 && j < this.dataChunks, 'data chunk index in range');
    return (this.parityMember(stripe) + 1 + j) % this.memberCount;
  }

  /** RAID-5: which data chunk of `stripe` member `m` holds, or -1 for the parity chunk. */
  columnOf(stripe: number, member: number): number {
    assert(this.level === 5, 'columns exist only in RAID-5');
    const p = this.parityMember(stripe);
    if (member === p) return -1;
    return (member - p - 1 + this.memberCount) % this.memberCount;
  }

  /** Used length of data chunk `j` of `stripe` for a file of `sizeBytes`. */
  dataUsedBytes(sizeBytes: number, stripe: number, j: number): number {
    const start = stripe * this.stripeDataBytes + j * this.chunkBytes;
    return Math.max(0, Math.min(this.chunkBytes, sizeBytes - start));
  }

  /** Used length of member `m`'s chunk of `stripe` (data, parity or mirror copy). */
  memberUsedBytes(sizeBytes: number, stripe: number, member: number): number {
    if (this.level === 1) return this.dataUsedBytes(sizeBytes, stripe, 0);
    const j = this.columnOf(stripe, member);
    return this.dataUsedBytes(sizeBytes, stripe, j === -1 ? 0 : j);
  }

  /** Index into a file's checksum table of member `m`'s chunk of `stripe`. */
  checksumIndex(stripe: number, member: number): number {
    return this.level === 1 ? stripe : stripe * this.memberCount + member;
  }

  /**
   * Length of member `m`'s file for a logical file of `sizeBytes`: up to the end of its used bytes
   * in the last stripe. Member bytes past it are absent (and read as zeros).
   */
  memberFileBytes(sizeBytes: number, member: number): number {
    assertUint(sizeBytes, 'sizeBytes');
    if (sizeBytes === 0) return 0;
    const last = this.stripeCount(sizeBytes) - 1;
    return last * this.chunkBytes + this.memberUsedBytes(sizeBytes, last, member);
  }

  /** Bytes a member holds for a logical file: what a rebuild writes and a scrub reads. */
  memberBytesTotal(sizeBytes: number): number {
    let total = 0;
    for (let m = 0; m < this.memberCount; m++) total += this.memberFileBytes(sizeBytes, m);
    return total;
  }
}
