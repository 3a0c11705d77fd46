/**
 * Reading a stripe from the members: each chunk verified against its stored checksum, and the
 * decision table (stripe-decision.ts) consulted for what to do about chunks that are bad or on
 * members that are out. The same loop serves reads (self-healing) and scrubs (check, repair).
 *
 * The stripe is read as it was last flushed (`entry.sizeBytes`, `entry.crcs`); the volume holds its
 * lock throughout, so nothing changes underneath.
 */
import { assertNever } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import type { Member } from './member.js';
import type { FileEntry } from './namespace.js';
import type { RaidLayout } from './raid-layout.js';
import { parityAgrees, parityOf, reconstructChunk } from './raid5-math.js';
import {
  dataCondition,
  decideRaid1,
  decideRaid5,
  mirrorConditions,
  parityCondition,
  type Agreement,
  type ChunkHealth,
  type Purpose,
} from './stripe-decision.js';

/** One chunk as read from a member: `bytes` is its used length, zero-padded if the file was short. */
export interface ChunkRead {
  readonly health: ChunkHealth;
  readonly bytes: Uint8Array | null;
}

/** What the volume provides: member access with verification, and in-place repair. */
export interface StripeIo {
  readonly layout: RaidLayout;
  member(index: number): Member;
  /** Reads member `m`'s chunk of `stripe` and checks it against its stored checksum. */
  readChunk(m: Member, entry: FileEntry, stripe: number, usedBytes: number): Promise<ChunkRead>;
  /** Rewrites member `m`'s chunk in place with verified bytes; false when the member failed doing it. */
  repairChunk(m: Member, entry: FileEntry, stripe: number, bytes: Uint8Array): Promise<boolean>;
}

export interface StripeReport {
  /** The stripe's logical bytes (data chunks side by side, zero past their used lengths), or null if lost. */
  readonly data: Uint8Array | null;
  /** Chunks that failed their checksum or could not be read, on members in the array. */
  readonly badChunks: number;
  /** Copies or parity that disagreed with the data: md's mismatch_cnt, in chunks. */
  readonly mismatches: number;
  readonly repaired: number;
  /** Whether a missing or bad chunk was rebuilt from redundancy. */
  readonly reconstructed: boolean;
  /**
   * RAID-5 repair found parity that is wrong although it matches its stored checksum; the volume
   * rewrites it through the journal, since the checksum must change with it.
   */
  readonly parityNeedsJournal: boolean;
}

const ABSENT: ChunkRead = { health: 'absent', bytes: null };
const EMPTY: ChunkRead = { health: 'ok', bytes: new Uint8Array(0) };

function isBadRead(h: ChunkHealth): boolean {
  return h === 'corrupt' || h === 'unreadable';
}

export async function readStripe(io: StripeIo, entry: FileEntry, stripe: number, purpose: Purpose): Promise<StripeReport> {
  switch (io.layout.level) {
    case 1:
      return readMirrored(io, entry, stripe, purpose);
    case 5:
      return readParityStripe(io, entry, stripe, purpose);
    default:
      return assertNever(io.layout.level, 'RAID level');
  }
}

async function readParityStripe(io: StripeIo, entry: FileEntry, s: number, purpose: Purpose): Promise<StripeReport> {
  const L = io.layout;
  const C = L.chunkBytes;
  const size = entry.sizeBytes;
  const used = Array.from({ length: L.dataChunks }, (_, j) => L.dataUsedBytes(size, s, j));
  const parityUsed = used[0]!;
  const readAt = (memberIndex: number, usedBytes: number): Promise<ChunkRead> => {
    if (usedBytes === 0) return Promise.resolve(EMPTY);
    const m = io.member(memberIndex);
    return m.readable ? io.readChunk(m, entry, s, usedBytes) : Promise.resolve(ABSENT);
  };
  const data: ChunkRead[] = await Promise.all(used.map((u, j) => readAt(L.dataMember(s, j), u)));
  let parity: ChunkRead | null = null;
  let agree: Agreement = 'unchecked';
  let rebuilt: { j: number; bytes: Uint8Array } | null = null;
  let badChunks = data.filter((d) => isBadRead(d.health)).length;
  let mismatches = 0;

  const readParity = async (): Promise<void> => {
    parity = await readAt(L.parityMember(s), parityUsed);
    if (isBadRead(parity.health)) badChunks++;
  };
  const assemble = (): Uint8Array => {
    const out = new Uint8Array(L.stripeDataBytes);
    data.forEach((d, j) => {
      const b = rebuilt?.j === j ? rebuilt.bytes : d.bytes;
      if (b !== null) out.set(b.subarray(0, used[j]!), j * C);
    });
    return out;
  };
  const report = (o: Partial<StripeReport>): StripeReport => ({
    data: null, badChunks, mismatches, repaired: 0, reconstructed: false, parityNeedsJournal: false, ...o,
  });

  if (purpose !== 'read') {
    await readParity();
    const p = parity as ChunkRead | null;
    if (data.every((d) => d.health === 'ok') && p?.health === 'ok') {
      agree = parityAgrees(data.map((d) => d.bytes!), p.bytes!, parityUsed) ? 'agrees' : 'disagrees';
    }
  }

  for (;;) {
    const p = parity as ChunkRead | null;
    const action = decideRaid5({ data: dataCondition(data.map((d) => d.health)), parity: parityCondition(p?.health ?? null), agree, purpose });
    switch (action.type) {
      case 'use':
        return report({ data: assemble() });
      case 'read-parity':
        await readParity();
        continue;
      case 'reconstruct': {
        const j = data.findIndex((d) => d.health !== 'ok');
        const others = data.filter((_, i) => i !== j).map((d) => d.bytes!);
        const bytes = reconstructChunk([...others, p!.bytes!], used[j]!);
        const expected = entry.crcs.get(L.checksumIndex(s, L.dataMember(s, j)));
        agree = crc32c(bytes) === expected ? 'agrees' : 'disagrees';
        rebuilt = { j, bytes };
        continue;
      }
      case 'use-reconstructed': {
        const r = rebuilt!;
        let repaired = 0;
        if (isBadRead(data[r.j]!.health)) mismatches++;
        if (action.repair && (await io.repairChunk(io.member(L.dataMember(s, r.j)), entry, s, r.bytes))) repaired++;
        return report({ data: assemble(), repaired, reconstructed: true });
      }
      case 'rewrite-parity': {
        mismatches++;
        const fresh = parityOf(data.map((d) => d.bytes!), parityUsed);
        const pm = L.parityMember(s);
        if (crc32c(fresh) !== entry.crcs.get(L.checksumIndex(s, pm))) return report({ data: assemble(), parityNeedsJournal: true });
        const ok = await io.repairChunk(io.member(pm), entry, s, fresh);
        return report({ data: assemble(), repaired: ok ? 1 : 0 });
      }
      case 'report':
        mismatches++;
        return report({ data: assemble() });
      case 'lost':
        return report({ data: null });
      case 'impossible':
        throw new Error('unreachable: decideRaid5 asserts');
      default:
        return assertNever(action, 'stripe action');
    }
  }
}

async function readMirrored(io: StripeIo, entry: FileEntry, s: number, purpose: Purpose): Promise<StripeReport> {
  const L = io.layout;
  const used = L.dataUsedBytes(entry.sizeBytes, s, 0);
  const out = new Uint8Array(L.stripeDataBytes);
  const base = { badChunks: 0, mismatches: 0, repaired: 0, reconstructed: false, parityNeedsJournal: false };
  if (used === 0) return { ...base, data: out };
  // Spread reads over the copies, stripe by stripe, as md's RAID-1 read balancing does.
  const order: Member[] = [];
  const absent: ChunkHealth[] = [];
  for (let i = 0; i < L.memberCount; i++) {
    const m = io.member((s + i) % L.memberCount);
    if (m.readable) order.push(m);
    else if (m.state !== 'missing') absent.push('absent');
  }
  const tried: { m: Member; read: ChunkRead }[] = [];
  let next = 0;
  if (purpose !== 'read') {
    const reads = await Promise.all(order.map((m) => io.readChunk(m, entry, s, used)));
    order.forEach((m, i) => tried.push({ m, read: reads[i]! }));
    next = order.length;
  }
  for (;;) {
    const health = [...tried.map((t) => t.read.health), ...absent];
    const action = decideRaid1(mirrorConditions(health, order.length - next, purpose));
    const bad = tried.filter((t) => isBadRead(t.read.health));
    const good = tried.find((t) => t.read.health === 'ok');
    switch (action.type) {
      case 'read-next': {
        const m = order[next++]!;
        tried.push({ m, read: await io.readChunk(m, entry, s, used) });
        continue;
      }
      case 'use':
        out.set(good!.read.bytes!);
        return { ...base, data: out };
      case 'use-and-repair': {
        out.set(good!.read.bytes!);
        let repaired = 0;
        for (const t of bad) if (await io.repairChunk(t.m, entry, s, good!.read.bytes!)) repaired++;
        return { ...base, data: out, badChunks: bad.length, mismatches: bad.length, repaired, reconstructed: true };
      }
      case 'report':
        out.set(good!.read.bytes!);
        return { ...base, data: out, badChunks: bad.length, mismatches: bad.length };
      case 'lost':
        return { ...base, data: null, badChunks: bad.length, mismatches: bad.length };
      case 'impossible':
        throw new Error('unreachable: decideRaid1 asserts');
      default:
        return assertNever(action, 'mirror action');
    }
  }
}
