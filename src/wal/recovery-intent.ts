/**
 * The recovery intent: what a recovery that found damage is about to make durable (the repair
 * point and the newest hard state), written to its own file BEFORE recovery cuts, quarantines or
 * removes anything, and removed once the log's own commit batch carries it.
 *
 * Without it, recovery is not crash-atomic: it truncates the damaged segment and moves the later
 * ones to quarantine, then writes the commit batch with the repair marker; a crash or a failed
 * write (ENOSPC) in between leaves a shorter, clean-looking log with no marker, and the next start
 * recovers "an empty log, no damage" although the member had acknowledged entries (and promised a
 * ballot) that now exist nowhere on its disk. Found by the simulator (paxos, storage-faults, seed 34).
 *
 * The intent exists only while a recovery is unfinished, and nothing newer can be written while it
 * exists (the member is not running yet), so when the next recovery finds it, its values are the
 * newest the log ever had: that recovery takes the higher repair point and the intent's hard state.
 *
 * Format: magic "BWRI", version u8, repairUntil u53, hasHardState u8, [hardState bytes], crc32c u32
 * of everything before it.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { WAL_HARD_STATE_BYTES_MAX } from '../core/limits.js';
import { joinPath, type Disk } from '../env/disk.js';

export const RECOVERY_INTENT_FILE = 'recovery-intent';
const TEMP_SUFFIX = '.tmp';
const MAGIC = 0x42575249; // "BWRI"
const VERSION = 1;

export interface RecoveryIntent {
  /** 0 when the log needs no repair. */
  readonly repairUntil: number;
  readonly hardState: Uint8Array | null;
}

export type ReadIntent = { readonly type: 'none' } | { readonly type: 'intent'; readonly intent: RecoveryIntent } | { readonly type: 'corrupt'; readonly reason: string };

export function encodeRecoveryIntent(intent: RecoveryIntent): Uint8Array {
  const w = new ByteWriter(64 + (intent.hardState?.length ?? 0));
  w.u32(MAGIC).u8(VERSION).u53(intent.repairUntil).bool(intent.hardState !== null);
  if (intent.hardState !== null) w.bytes(intent.hardState);
  const body = w.finish();
  const out = new Uint8Array(body.length + 4);
  out.set(body);
  new DataView(out.buffer).setUint32(body.length, crc32c(body), true);
  return out;
}

export function decodeRecoveryIntent(bytes: Uint8Array): ReadIntent {
  if (bytes.length < 4) return { type: 'corrupt', reason: `${bytes.length} bytes, too short` };
  const bodyEnd = bytes.length - 4;
  const want = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(bodyEnd, true);
  if (crc32c(bytes, 0, 0, bodyEnd) !== want) return { type: 'corrupt', reason: 'checksum mismatch' };
  try {
    const r = new ByteReader(bytes, 0, bodyEnd);
    if (r.u32('magic') !== MAGIC) return { type: 'corrupt', reason: 'bad magic' };
    const version = r.u8('version');
    if (version !== VERSION) return { type: 'corrupt', reason: `unknown version ${version}` };
    const repairUntil = r.u53('repairUntil');
    const hardState = r.bool('hasHardState') ? r.bytes(WAL_HARD_STATE_BYTES_MAX, 'hardState') : null;
    r.done('recovery intent');
    return { type: 'intent', intent: { repairUntil, hardState } };
  } catch (e) {
    return { type: 'corrupt', reason: e instanceof Error ? e.message : String(e) };
  }
}

/** Writes the intent durably (temp file, fsync, rename, directory fsync). */
export async function writeRecoveryIntent(disk: Disk, dir: string, intent: RecoveryIntent): Promise<void> {
  const path = joinPath(dir, RECOVERY_INTENT_FILE);
  const temp = path + TEMP_SUFFIX;
  if ((await disk.stat(temp)) !== null) await disk.unlink(temp);
  const f = await disk.open(temp, 'create-new');
  try {
    await f.write(0, encodeRecoveryIntent(intent));
    await f.sync();
  } finally {
    await f.close();
  }
  await disk.rename(temp, path);
  await disk.syncDir(dir);
}

/** The intent left by an unfinished recovery, if any. A leftover temp file is ignored (its rename never happened). */
export async function readRecoveryIntent(disk: Disk, dir: string): Promise<ReadIntent> {
  const path = joinPath(dir, RECOVERY_INTENT_FILE);
  if ((await disk.stat(path)) === null) return { type: 'none' };
  let bytes: Uint8Array;
  try {
    bytes = await disk.readFile(path);
  } catch (e) {
    return { type: 'corrupt', reason: `unreadable: ${e instanceof Error ? e.message : String(e)}` };
  }
  return decodeRecoveryIntent(bytes);
}

/** Removes the intent (and a leftover temp file) once the log itself carries what it said. */
export async function removeRecoveryIntent(disk: Disk, dir: string): Promise<void> {
  const path = joinPath(dir, RECOVERY_INTENT_FILE);
  let changed = false;
  for (const p of [path, path + TEMP_SUFFIX]) {
    if ((await disk.stat(p)) !== null) {
      await disk.unlink(p);
      changed = true;
    }
  }
  if (changed) await disk.syncDir(dir);
}
