/**
 * The superblock: one small file on each member (`.raid/superblock`) that says which volume the
 * member belongs to, where it sits, and the volume's state as of the last change.
 *
 * Every member carries the whole array's state (each slot's state and error counters), so any one
 * member can tell the others' fate. The generation counter goes up on every change of array state
 * (a member failed, added, rebuilt; the volume opened dirty or closed clean); `updateCount` goes up on
 * every write, including progress notes. On assembly the superblock with the highest (generation,
 * updateCount) speaks for the array; a member whose own superblock is older and whom that newest
 * superblock counts out is stale, and is resynced, never trusted.
 *
 * Layout: magic "BWRAIDSB", a format version, the fields below, CRC32C of all of it at the end.
 * Written with writeFileAtomic (temporary file, fsync, rename, fsync of the directory), so a crash
 * leaves the old or the new superblock, never a torn one.
 */
import { assertNever } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import { RAID_SUPERBLOCK_BYTES_MAX } from '../core/limits.js';
import { validateLayout, type RaidLevel } from './raid-layout.js';
import { RaidError } from './errors.js';

export const SUPERBLOCK_PATH = '.raid/superblock';
const MAGIC = new TextEncoder().encode('BWRAIDSB');
const FORMAT_VERSION = 1;
const REASON_BYTES_MAX = 512;

/**
 * A slot's state. `active`: in sync, read and written. `rebuilding`: written, never read, until its
 * rebuild completes. `failed`: out of the array until replaced or resynced. `missing`: the slot is
 * empty (the member was removed).
 */
export type SlotState = 'active' | 'rebuilding' | 'failed' | 'missing';
const SLOT_STATES: readonly SlotState[] = ['active', 'rebuilding', 'failed', 'missing'];

export interface MemberCounters {
  /** Reads that failed (EIO, missing file). */
  readonly readErrors: number;
  /** Writes, fsyncs and namespace operations that failed. */
  readonly writeErrors: number;
  /** Chunks that did not match their checksum (bit rot, torn and misdirected writes). */
  readonly checksumErrors: number;
  /** Chunks rewritten from redundancy (self-healing and scrub repair). */
  readonly repairedChunks: number;
}

export const ZERO_COUNTERS: MemberCounters = { readErrors: 0, writeErrors: 0, checksumErrors: 0, repairedChunks: 0 };

export interface SlotRecord {
  readonly state: SlotState;
  /** Why the member is failed (empty otherwise). */
  readonly reason: string;
  readonly counters: MemberCounters;
}

export type ScrubMode = 'check' | 'repair';

/** What a long-running operation was doing at the last progress note (for `raid status`). */
export type Activity =
  | { readonly type: 'idle' }
  | { readonly type: 'rebuild'; readonly member: number; readonly doneBytes: number; readonly totalBytes: number }
  | { readonly type: 'scrub'; readonly mode: ScrubMode; readonly doneBytes: number; readonly totalBytes: number; readonly mismatches: number };

export interface ScrubSummary {
  readonly mode: ScrubMode;
  readonly finishedWallMs: number;
  readonly checkedBytes: number;
  /** md's mismatch_cnt, in chunks: copies or parity that disagreed with the data. */
  readonly mismatches: number;
  readonly repaired: number;
  /** Chunks that could not be produced from any copy. */
  readonly lost: number;
}

export interface Superblock {
  /** 16 hex digits, random at creation. */
  readonly arrayId: string;
  readonly level: RaidLevel;
  readonly memberCount: number;
  /** The slot this member occupies. */
  readonly memberIndex: number;
  readonly chunkBytes: number;
  readonly generation: number;
  readonly updateCount: number;
  /** True when the volume was closed cleanly (no journal to replay). */
  readonly clean: boolean;
  /**
   * Who has the volume open (set at open, cleared at a clean close): the caller's description,
   * such as "pid@host", so tools can refuse to touch a volume a running server holds.
   */
  readonly owner: string;
  readonly createdWallMs: number;
  readonly updatedWallMs: number;
  readonly slots: readonly SlotRecord[];
  readonly activity: Activity;
  readonly lastScrub: ScrubSummary | null;
}

function writeCounters(w: ByteWriter, c: MemberCounters): void {
  w.u53(c.readErrors).u53(c.writeErrors).u53(c.checksumErrors).u53(c.repairedChunks);
}

function readCounters(r: ByteReader): MemberCounters {
  return { readErrors: r.u53(), writeErrors: r.u53(), checksumErrors: r.u53(), repairedChunks: r.u53() };
}

function scrubModeCode(m: ScrubMode): number {
  return m === 'check' ? 0 : 1;
}

function scrubModeOf(code: number): ScrubMode {
  if (code === 0) return 'check';
  if (code === 1) return 'repair';
  throw new DecodeError(`unknown scrub mode ${code}`);
}

export function encodeSuperblock(sb: Superblock): Uint8Array {
  const w = new ByteWriter(512);
  w.raw(MAGIC).u32(FORMAT_VERSION);
  w.u64(BigInt('0x' + sb.arrayId));
  w.u8(sb.level).u8(sb.memberCount).u8(sb.memberIndex).u32(sb.chunkBytes);
  w.u53(sb.generation).u53(sb.updateCount).bool(sb.clean).string(sb.owner.slice(0, REASON_BYTES_MAX / 4)).u53(sb.createdWallMs).u53(sb.updatedWallMs);
  for (const s of sb.slots) {
    w.u8(SLOT_STATES.indexOf(s.state));
    w.string(s.reason.slice(0, REASON_BYTES_MAX / 4));
    writeCounters(w, s.counters);
  }
  const a = sb.activity;
  switch (a.type) {
    case 'idle':
      w.u8(0);
      break;
    case 'rebuild':
      w.u8(1).u8(a.member).u53(a.doneBytes).u53(a.totalBytes);
      break;
    case 'scrub':
      w.u8(2).u8(scrubModeCode(a.mode)).u53(a.doneBytes).u53(a.totalBytes).u53(a.mismatches);
      break;
    default:
      assertNever(a, 'activity');
  }
  const ls = sb.lastScrub;
  w.bool(ls !== null);
  if (ls !== null) w.u8(scrubModeCode(ls.mode)).u53(ls.finishedWallMs).u53(ls.checkedBytes).u53(ls.mismatches).u53(ls.repaired).u53(ls.lost);
  const body = w.finish();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32c(body), true);
  return out;
}

/** Decodes a superblock; a typed `corrupt` error for anything that is not one. */
export function decodeSuperblock(bytes: Uint8Array, where: string): Superblock {
  try {
    if (bytes.length < MAGIC.length + 8 || bytes.length > RAID_SUPERBLOCK_BYTES_MAX) {
      throw new DecodeError(`superblock of ${bytes.length} bytes`);
    }
    const body = bytes.subarray(0, bytes.length - 4);
    const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bytes.length - 4, true);
    if (crc32c(body) !== stored) throw new DecodeError('checksum mismatch');
    const r = new ByteReader(body);
    const magic = r.raw(MAGIC.length, 'magic');
    if (!magic.every((b, i) => b === MAGIC[i])) throw new DecodeError('bad magic');
    const version = r.u32('version');
    if (version !== FORMAT_VERSION) throw new DecodeError(`unsupported format version ${version}`);
    const arrayId = r.u64('array id').toString(16).padStart(16, '0');
    const level = r.u8('level');
    const memberCount = r.u8('member count');
    const memberIndex = r.u8('member index');
    const chunkBytes = r.u32('chunk bytes');
    if (level !== 1 && level !== 5) throw new DecodeError(`level ${level}`);
    try {
      validateLayout({ level, memberCount, chunkBytes });
    } catch (e) {
      throw new DecodeError((e as Error).message);
    }
    if (memberIndex >= memberCount) throw new DecodeError(`member index ${memberIndex} of ${memberCount}`);
    const generation = r.u53('generation');
    const updateCount = r.u53('update count');
    const clean = r.bool('clean');
    const owner = r.string(REASON_BYTES_MAX, 'owner');
    const createdWallMs = r.u53('created');
    const updatedWallMs = r.u53('updated');
    const slots: SlotRecord[] = [];
    for (let i = 0; i < memberCount; i++) {
      const code = r.u8('slot state');
      const state = SLOT_STATES[code];
      if (state === undefined) throw new DecodeError(`slot state ${code}`);
      slots.push({ state, reason: r.string(REASON_BYTES_MAX, 'reason'), counters: readCounters(r) });
    }
    let activity: Activity;
    const at = r.u8('activity');
    if (at === 0) activity = { type: 'idle' };
    else if (at === 1) activity = { type: 'rebuild', member: r.u8(), doneBytes: r.u53(), totalBytes: r.u53() };
    else if (at === 2) activity = { type: 'scrub', mode: scrubModeOf(r.u8()), doneBytes: r.u53(), totalBytes: r.u53(), mismatches: r.u53() };
    else throw new DecodeError(`activity ${at}`);
    let lastScrub: ScrubSummary | null = null;
    if (r.bool('last scrub')) {
      lastScrub = { mode: scrubModeOf(r.u8()), finishedWallMs: r.u53(), checkedBytes: r.u53(), mismatches: r.u53(), repaired: r.u53(), lost: r.u53() };
    }
    r.done('superblock');
    return {
      arrayId, level, memberCount, memberIndex, chunkBytes, generation, updateCount, clean, owner,
      createdWallMs, updatedWallMs, slots, activity, lastScrub,
    };
  } catch (e) {
    if (e instanceof DecodeError) throw new RaidError('corrupt', `${where}: bad superblock: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Orders superblocks by recency: generation first, then update count. */
export function newerThan(a: Superblock, b: Superblock): boolean {
  return a.generation !== b.generation ? a.generation > b.generation : a.updateCount > b.updateCount;
}
