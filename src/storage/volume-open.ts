/**
 * Creating a volume and assembling one from its members' superblocks, with journal replay.
 *
 * Assembly, in order:
 *   1. Read every member's superblock. The newest (generation, then update count) speaks for the
 *      array: its slot table says which members are in sync.
 *   2. Place each disk in its slot by the index in its own superblock (the order given does not
 *      matter). A disk whose own superblock is older and whom the newest one counts out is stale:
 *      it is resynced (rebuilt from the others), never read. A blank disk in an empty slot joins
 *      the same way. A disk of another array is left alone.
 *   3. Enough members in sync, or the volume fails to open (RaidError 'volume-failed').
 *   4. Load the newest valid metadata checkpoint, then the journal records after it (see below
 *      for which records count).
 *   5. Replay (RaidVolume.replay), mark the volume open (generation + 1), checkpoint.
 */
import { errorMessage } from '../core/errors.js';
import { RAID_CHUNK_BYTES_DEFAULT } from '../core/limits.js';
import type { Clock } from '../env/clock.js';
import { isDiskError, writeFileAtomic, type Disk } from '../env/disk.js';
import { nullLogger, type Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import { RaidError, isRaidError } from './errors.js';
import { JOURNAL_PATH, decodeJournal, type JournalRecord, type MemberOp } from './journal-record.js';
import { Member } from './member.js';
import { META_PATH, Namespace, RAID_DIR, ROOT, type NsOp } from './namespace.js';
import { RaidLayout, validateLayout, type RaidLevel } from './raid-layout.js';
import {
  SUPERBLOCK_PATH,
  ZERO_COUNTERS,
  decodeSuperblock,
  encodeSuperblock,
  newerThan,
  type SlotState,
  type Superblock,
} from './superblock.js';
import { RaidVolume, checkAddable, type HealTarget } from './volume.js';

export interface CreateVolumeOptions {
  /** The member directories, in slot order. */
  readonly members: readonly Disk[];
  readonly level: RaidLevel;
  readonly chunkBytes?: number;
  /** Draws the array id. */
  readonly random: Random;
  readonly clock: Clock;
  /** Overwrite members that are not blank (their old volume metadata is discarded). */
  readonly force?: boolean;
}

/** Writes a fresh volume's superblocks, empty metadata and empty journals. Returns the array id. */
export async function createVolume(o: CreateVolumeOptions): Promise<string> {
  const layout = new RaidLayout({ level: o.level, memberCount: o.members.length, chunkBytes: o.chunkBytes ?? RAID_CHUNK_BYTES_DEFAULT });
  if (new Set(o.members.map((d) => d.name)).size !== o.members.length) throw new RaidError('invalid-config', 'a member is listed twice');
  if (!o.force) for (const d of o.members) await checkBlank(d);
  let id = 0n;
  while (id === 0n) id = o.random.uint64();
  const arrayId = id.toString(16).padStart(16, '0');
  const nowMs = Math.floor(o.clock.wallMs());
  const meta = new Namespace(layout).encode(arrayId);
  await Promise.all(
    o.members.map(async (disk, i) => {
      await disk.mkdir(RAID_DIR);
      const j = await disk.open(JOURNAL_PATH, 'create');
      try {
        await j.truncate(0);
        await j.sync();
      } finally {
        await j.close();
      }
      await writeFileAtomic(disk, META_PATH, meta);
      const sb: Superblock = {
        arrayId, level: layout.level, memberCount: layout.memberCount, memberIndex: i, chunkBytes: layout.chunkBytes,
        generation: 1, updateCount: 1, clean: true, owner: '', createdWallMs: nowMs, updatedWallMs: nowMs,
        slots: o.members.map(() => ({ state: 'active' as const, reason: '', counters: ZERO_COUNTERS })),
        activity: { type: 'idle' }, lastScrub: null,
      };
      await writeFileAtomic(disk, SUPERBLOCK_PATH, encodeSuperblock(sb));
      await disk.syncDir(ROOT);
    }),
  );
  return arrayId;
}

async function checkBlank(disk: Disk): Promise<void> {
  const names = (await disk.list(ROOT)).filter((n) => n !== 'lost+found');
  if (names.length === 0) return;
  if (names.includes(RAID_DIR)) throw new RaidError('not-blank', `${disk.name} already holds a RAID member; use --force to overwrite it`);
  throw new RaidError('not-blank', `${disk.name} is not empty (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''}); use --force to use it anyway`);
}

/** What one disk's superblock said, or why it said nothing. */
export type MemberProbe =
  | { readonly type: 'member'; readonly disk: Disk; readonly sb: Superblock }
  | { readonly type: 'blank'; readonly disk: Disk }
  | { readonly type: 'unreadable'; readonly disk: Disk; readonly reason: string };

export async function probeMember(disk: Disk): Promise<MemberProbe> {
  try {
    const bytes = await disk.readFile(SUPERBLOCK_PATH);
    return { type: 'member', disk, sb: decodeSuperblock(bytes, disk.name) };
  } catch (e) {
    if (isDiskError(e, 'ENOENT')) {
      try {
        const names = (await disk.list(ROOT)).filter((n) => n !== 'lost+found');
        if (names.length === 0) return { type: 'blank', disk };
        return { type: 'unreadable', disk, reason: names.includes(RAID_DIR) ? 'superblock missing' : 'not a RAID member (directory not empty)' };
      } catch (e2) {
        return { type: 'unreadable', disk, reason: errorMessage(e2) };
      }
    }
    if (isDiskError(e) || isRaidError(e, 'corrupt')) return { type: 'unreadable', disk, reason: errorMessage(e) };
    throw e;
  }
}

/** Where each disk goes, as decided from the superblocks alone (also what `raid status` shows). */
export interface Assembly {
  readonly newest: Superblock;
  /** Per slot: the disk (or null), and the state it will have. */
  readonly slots: readonly { readonly disk: Disk | null; readonly state: SlotState; readonly reason: string; readonly sb: Superblock | null }[];
  /** Disks that were given but found no place (foreign, or a duplicate of a newer disk). */
  readonly ignored: readonly { readonly disk: Disk; readonly reason: string }[];
}

export interface AssembleOptions {
  /** Resync stale members and take blank disks into empty slots (the default), or leave them out. */
  readonly resync?: boolean;
}

export function assemble(probes: readonly MemberProbe[], o: AssembleOptions = {}): Assembly {
  const resync = o.resync ?? true;
  let newest: Superblock | null = null;
  for (const p of probes) if (p.type === 'member' && (newest === null || newerThan(p.sb, newest))) newest = p.sb;
  if (newest === null) throw new RaidError('foreign-member', `no RAID superblock on ${probes.map((p) => p.disk.name).join(', ')}; create a volume first (bulwark raid create)`);
  const n = newest.memberCount;
  const ignored: { disk: Disk; reason: string }[] = [];
  const placed: ({ disk: Disk; sb: Superblock | null; unreadable: string | null } | null)[] = new Array(n).fill(null);
  for (const p of probes) {
    if (p.type !== 'member') continue;
    if (p.sb.arrayId !== newest.arrayId) {
      ignored.push({ disk: p.disk, reason: `belongs to another volume (${p.sb.arrayId})` });
      continue;
    }
    const i = p.sb.memberIndex;
    const cur = placed[i] ?? null;
    if (cur !== null && cur.sb !== null && !newerThan(p.sb, cur.sb)) {
      ignored.push({ disk: p.disk, reason: `slot ${i} is taken by ${cur.disk.name}, which is newer` });
      continue;
    }
    if (cur !== null) ignored.push({ disk: cur.disk, reason: `slot ${i} is taken by ${p.disk.name}, which is newer` });
    placed[i] = { disk: p.disk, sb: p.sb, unreadable: null };
  }
  // Disks without a usable superblock go to a free slot at their own position, or the first free one.
  probes.forEach((p, pos) => {
    if (p.type === 'member') return;
    const free = placed[pos] === null && pos < n ? pos : placed.findIndex((x) => x === null);
    if (free < 0) {
      ignored.push({ disk: p.disk, reason: p.type === 'blank' ? 'blank, and no slot is free' : p.reason });
      return;
    }
    placed[free] = { disk: p.disk, sb: null, unreadable: p.type === 'unreadable' ? p.reason : null };
  });
  const slots = placed.map((x, i) => {
    const table = newest.slots[i]!;
    if (x === null) {
      if (table.state === 'missing') return { disk: null, state: 'missing' as SlotState, reason: '', sb: null };
      return { disk: null, state: 'failed' as SlotState, reason: table.state === 'active' ? 'disk not present' : table.reason || `was ${table.state}`, sb: null };
    }
    if (x.unreadable !== null) return { disk: x.disk, state: 'failed' as SlotState, reason: `superblock unreadable: ${x.unreadable}`, sb: null };
    if (x.sb === null) {
      // A blank disk: a replacement put in place while the volume was down.
      return resync
        ? { disk: x.disk, state: 'rebuilding' as SlotState, reason: 'new disk', sb: null }
        : { disk: null, state: table.state === 'missing' ? ('missing' as SlotState) : ('failed' as SlotState), reason: table.reason, sb: null };
    }
    if (table.state === 'active') return { disk: x.disk, state: 'active' as SlotState, reason: '', sb: x.sb };
    // Counted out by the newest superblock (failed, removed, or interrupted mid-rebuild): stale.
    const why = `stale: generation ${x.sb.generation}, volume at ${newest.generation} (${table.state}${table.reason ? `: ${table.reason}` : ''})`;
    return resync
      ? { disk: x.disk, state: 'rebuilding' as SlotState, reason: why, sb: x.sb }
      : { disk: x.disk, state: 'failed' as SlotState, reason: why, sb: x.sb };
  });
  return { newest, slots, ignored };
}

export interface OpenVolumeOptions {
  /** The member directories; any order (each superblock names its slot). */
  readonly members: readonly Disk[];
  readonly clock: Clock;
  readonly logger?: Logger;
  /** When every member is blank, create a volume with these settings (first start of a server). */
  readonly create?: { readonly level: RaidLevel; readonly chunkBytes?: number; readonly random: Random };
  /**
   * Resync stale members and take blank disks into empty slots (default true). The volume then
   * reports them rebuilding; call `rebuild()` to copy the data (the server runs it in the background).
   */
  readonly resync?: boolean;
  /** Recorded in the superblocks while the volume is open (e.g. "pid@host"), for tools to check. */
  readonly owner?: string;
}

/** Assembles a volume, replays its journal, and returns it open, as a Disk. */
export async function openVolume(o: OpenVolumeOptions): Promise<RaidVolume> {
  const logger = o.logger ?? nullLogger;
  if (o.create !== undefined) {
    // A first start names directories that may not exist yet; a missing mount stays an error below.
    await Promise.all(o.members.map((d) => d.mkdir(ROOT).catch(() => undefined)));
  }
  let probes = await Promise.all(o.members.map(probeMember));
  if (o.create !== undefined && probes.every((p) => p.type === 'blank')) {
    await createVolume({ members: o.members, level: o.create.level, random: o.create.random, clock: o.clock, ...(o.create.chunkBytes === undefined ? {} : { chunkBytes: o.create.chunkBytes }) });
    probes = await Promise.all(o.members.map(probeMember));
  }
  const asm = assemble(probes, { resync: o.resync ?? true });
  for (const x of asm.ignored) logger.warn('raid: disk left out of the volume', { disk: x.disk.name, reason: x.reason });
  const sb = asm.newest;
  validateLayout(sb);
  const layout = new RaidLayout(sb);
  const members = asm.slots.map((s, i) => {
    const m = new Member(i, s.disk, s.state, sb.slots[i]!.counters);
    m.reason = s.reason;
    return m;
  });
  const failNow = (m: Member, reason: string): void => {
    m.state = 'failed';
    m.reason = reason;
    logger.error('raid: member failed at assembly', { member: m.index, disk: m.name, reason });
  };
  for (const m of members) {
    if (m.state !== 'rebuilding' || m.disk === null) continue;
    try {
      if (asm.slots[m.index]!.sb === null) await checkAddable(m.disk, sb.arrayId);
      await m.disk.mkdir(RAID_DIR);
    } catch (e) {
      if (!isDiskError(e) && !isRaidError(e)) throw e;
      failNow(m, `cannot resync: ${errorMessage(e)}`);
    }
  }
  requireEnough(members, layout, sb);

  // Metadata and journals of the members in sync. Metadata is the same on every member, so one
  // damaged copy costs nothing (the checkpoint after opening rewrites it); a journal that cannot be
  // read at all takes its member out.
  let ns: Namespace | null = null;
  const journals = new Map<number, JournalRecord[]>();
  for (const m of members) {
    if (!m.writable) continue;
    try {
      m.journal = await m.disk!.open(JOURNAL_PATH, 'create');
      if (m.state !== 'active') continue;
      const bytes = await m.journal.read(0, await m.journal.sizeBytes());
      journals.set(m.index, decodeJournal(bytes, { arrayId: sb.arrayId, memberIndex: m.index, checksumsPerStripe: layout.checksumsPerStripe }).records);
    } catch (e) {
      if (!isDiskError(e)) throw e;
      await m.closeAll();
      failNow(m, `cannot read its journal: ${errorMessage(e)}`);
      continue;
    }
    try {
      const meta = Namespace.decode(await m.disk!.readFile(META_PATH), layout, sb.arrayId, m.name);
      if (ns === null || meta.seq > ns.seq) ns = meta;
    } catch (e) {
      if (!isDiskError(e) && !isRaidError(e, 'corrupt')) throw e;
      logger.warn('raid: member metadata unreadable; using another copy', { member: m.index, disk: m.name, reason: errorMessage(e) });
    }
  }
  requireEnough(members, layout, sb);
  if (ns === null) throw new RaidError('corrupt', `no readable metadata on any member of ${sb.arrayId}`);

  // Records after the checkpoint, in sequence, each held by enough members in sync that the parts
  // missing elsewhere can be rebuilt from it (RAID-5: all but one; RAID-1: one). A record short of
  // that was torn by a crash before it was acknowledged (a sync returns only once every member has
  // fsynced its part) and ends the journal. Members missing a replayed record's part (a torn tail
  // on one member, or a damaged journal) are healed from redundancy afterwards.
  const active = members.filter((m) => m.state === 'active');
  const records: (JournalRecord | undefined)[][] = [];
  for (let seq = ns.seq + 1; ; seq++) {
    const parts = active.map((m) => journals.get(m.index)!.find((r) => r.seq === seq));
    if (parts.filter((p) => p !== undefined).length < Math.max(1, layout.membersRequired)) break;
    records.push(parts);
  }
  const heal: HealTarget[] = [];
  for (const parts of records) {
    const common = parts.find((p) => p !== undefined)!;
    try {
      for (const op of common.nsOps) ns.apply(op);
    } catch (e) {
      throw new RaidError('corrupt', `journal record ${common.seq} does not apply to the metadata: ${errorMessage(e)}`, { cause: e });
    }
    for (const u of common.metas) ns.applyMeta(u);
    const missing = active.filter((_, k) => parts[k] === undefined).map((m) => m.index);
    if (missing.length > 0) for (const u of common.metas) heal.push({ fileId: u.fileId, stripes: u.stripes.map((x) => x.stripe), members: missing });
  }
  const lastNsOps: readonly NsOp[] = records.length === 0 ? [] : records[records.length - 1]!.find((p) => p !== undefined)!.nsOps;
  const perMember: MemberOp[][][] = records.map((parts) => {
    const byMember: MemberOp[][] = members.map(() => []);
    active.forEach((m, k) => (byMember[m.index] = [...(parts[k]?.ops ?? [])]));
    return byMember;
  });
  if (records.length > 0) logger.info('raid: replaying journal', { records: records.length, fromSeq: ns.seq + 1, healing: heal.length });

  const volume = new RaidVolume({
    arrayId: sb.arrayId, layout, members, namespace: ns,
    generation: sb.generation, updateCount: sb.updateCount, createdWallMs: sb.createdWallMs,
    journalSeq: ns.seq + records.length, lastScrub: sb.lastScrub, clock: o.clock, logger, owner: o.owner ?? '',
  });
  await volume.replay({ lastNsOps, records: perMember, heal });
  await volume.markOpen();
  const st = volume.status();
  logger.info('raid: volume open', { volume: st.name, health: st.health, generation: st.generation, rebuilding: volume.rebuildPending });
  return volume;
}

function requireEnough(members: readonly Member[], layout: RaidLayout, sb: Superblock): void {
  const usable = members.filter((m) => m.state === 'active' && m.disk !== null).length;
  if (usable >= layout.membersRequired) return;
  const why = members.filter((m) => m.state !== 'active').map((m) => `member ${m.index} (${m.name}): ${m.reason || m.state}`);
  throw new RaidError(
    'volume-failed',
    `cannot assemble volume ${sb.arrayId}: ${usable} of ${layout.memberCount} members in sync, RAID-${layout.level} needs ${layout.membersRequired}; ${why.join('; ')}`,
  );
}
