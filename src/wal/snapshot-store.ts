/**
 * Snapshots (checkpoints) on a Disk: the SnapshotStore of the consensus contract.
 *
 * - save: chunks go to `<name>.tmp`, then the trailer, fsync, rename into place, directory fsync.
 *   A crash at any point leaves the old set of snapshots, plus at most a temp file removed on open.
 * - Received snapshots are staged in `recv-<index>-<term>.part` at the offsets the leader sends,
 *   each chunk fsynced before it is acknowledged, then verified (size and CRC-32C read back from
 *   disk) and renamed into place.
 * - On open, every snapshot's trailer is checked and the newest one's data is read and checksummed;
 *   a damaged snapshot goes to `quarantine/` and the next newest is tried.
 *
 * A failed write here is not fatal, unlike in the log: the file being written is never renamed into
 * place, so nothing durable depends on it. The error says the snapshot was not taken.
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import { errorMessage } from '../core/errors.js';
import { SNAPSHOT_BYTES_MAX, SNAPSHOT_READ_BYTES_MAX, WAL_RECOVERY_READ_CHUNK_BYTES } from '../core/limits.js';
import type { SnapshotStore } from '../consensus/storage.js';
import type { SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { dirname, joinPath, type Disk, type FileHandle } from '../env/disk.js';
import { nullLogger, type Logger } from '../env/logger.js';
import { WalError, isWalError } from './errors.js';
import { freeName } from './segment-io.js';
import { concatBytes } from '../core/bytes.js';
import {
  TRAILER_FIXED_BYTES,
  decodeTrailerMeta,
  decodeTrailerTail,
  encodeTrailer,
  parseSnapshotFileName,
  snapshotFileName,
} from './snapshot-format.js';

export interface SnapshotStoreOptions {
  /** Directory on the disk. Default 'snap'. */
  readonly dir?: string;
  readonly logger?: Logger;
}

export interface SnapshotOpenReport {
  /** Snapshot files found. */
  readonly found: number;
  /** Damaged snapshots moved to quarantine, newest first, with why. */
  readonly quarantined: readonly { readonly name: string; readonly index: number; readonly reason: string }[];
  /** Temp and staging files left by a crash and removed. */
  readonly leftoversRemoved: readonly string[];
  /** The newest valid snapshot, or null. */
  readonly newest: SnapshotMeta | null;
  /** The highest index of a quarantined snapshot newer than `newest`, or null. */
  readonly newerCorruptIndex: number | null;
}

interface Stored {
  readonly meta: SnapshotMeta;
  readonly name: string;
}

interface Staging {
  readonly key: string;
  readonly name: string;
  readonly handle: FileHandle;
}

const key = (m: { index: number; term: number }) => `${m.index}-${m.term}`;

export async function openSnapshotStore(disk: Disk, options: SnapshotStoreOptions = {}): Promise<{ store: FileSnapshotStore; report: SnapshotOpenReport }> {
  const dir = options.dir ?? 'snap';
  await disk.mkdir(dir);
  // A new directory's own name is durable only once its parent is fsynced.
  await disk.syncDir(dirname(dir));
  const names = await disk.list(dir);
  const leftoversRemoved: string[] = [];
  for (const n of names) {
    if (n.endsWith('.tmp') || (n.startsWith('recv-') && n.endsWith('.part'))) {
      await disk.unlink(joinPath(dir, n));
      leftoversRemoved.push(n);
    }
  }
  if (leftoversRemoved.length > 0) await disk.syncDir(dir);
  const candidates = names
    .map((name) => ({ name, parsed: parseSnapshotFileName(name) }))
    .filter((c): c is { name: string; parsed: { index: number; term: number } } => c.parsed !== null)
    .sort((a, b) => b.parsed.index - a.parsed.index || b.parsed.term - a.parsed.term);
  const valid: Stored[] = [];
  const quarantined: { name: string; index: number; reason: string }[] = [];
  for (const c of candidates) {
    const path = joinPath(dir, c.name);
    // The newest valid snapshot is the one recovery restores: read all of it now. Older ones are
    // only fallbacks; their trailer is checked now and their data when they are used.
    const checked = await checkSnapshotFile(disk, path, c.parsed, { data: valid.length === 0 });
    if (checked.type === 'valid') valid.push({ meta: checked.meta, name: c.name });
    else quarantined.push({ name: c.name, index: c.parsed.index, reason: checked.reason });
  }
  if (quarantined.length > 0) {
    const qdir = joinPath(dir, 'quarantine');
    await disk.mkdir(qdir);
    await disk.syncDir(dir);
    for (const q of quarantined) await disk.rename(joinPath(dir, q.name), joinPath(qdir, await freeName(disk, qdir, q.name)));
    await disk.syncDir(dir);
    await disk.syncDir(qdir);
  }
  const newest = valid[0]?.meta ?? null;
  const newerCorrupt = quarantined.filter((q) => newest === null || q.index > newest.index).map((q) => q.index);
  const store = new FileSnapshotStore(disk, dir, valid, options.logger ?? nullLogger);
  return {
    store,
    report: {
      found: candidates.length,
      quarantined,
      leftoversRemoved,
      newest,
      newerCorruptIndex: newerCorrupt.length === 0 ? null : Math.max(...newerCorrupt),
    },
  };
}

export interface SnapshotInspection {
  readonly name: string;
  readonly index: number;
  readonly term: number;
  readonly sizeBytes: number | null;
  /** null when the snapshot is valid (trailer and data checksum); otherwise why not. */
  readonly problem: string | null;
}

/** Checks every snapshot in full (trailer and data), writing nothing. For operators. */
export async function inspectSnapshots(disk: Disk, options: { dir?: string } = {}): Promise<SnapshotInspection[]> {
  const dir = options.dir ?? 'snap';
  if ((await disk.stat(dir)) === null) return [];
  const out: SnapshotInspection[] = [];
  for (const name of await disk.list(dir)) {
    const parsed = parseSnapshotFileName(name);
    if (parsed === null) continue;
    const checked = await checkSnapshotFile(disk, joinPath(dir, name), parsed, { data: true });
    out.push({
      name,
      index: parsed.index,
      term: parsed.term,
      sizeBytes: checked.type === 'valid' ? checked.meta.sizeBytes : null,
      problem: checked.type === 'valid' ? null : checked.reason,
    });
  }
  return out.sort((a, b) => b.index - a.index || b.term - a.term);
}

type SnapshotCheck = { readonly type: 'valid'; readonly meta: SnapshotMeta } | { readonly type: 'damaged'; readonly reason: string };

async function checkSnapshotFile(disk: Disk, path: string, named: { index: number; term: number }, check: { data: boolean }): Promise<SnapshotCheck> {
  const damaged = (reason: string): SnapshotCheck => ({ type: 'damaged', reason });
  let meta: SnapshotMeta | null;
  try {
    meta = await readMeta(disk, path);
  } catch (e) {
    return damaged(`unreadable trailer: ${errorMessage(e)}`);
  }
  if (meta === null) return damaged('no valid trailer');
  if (meta.index !== named.index || meta.term !== named.term) return damaged('trailer does not match the file name');
  if (!check.data) return { type: 'valid', meta };
  try {
    const crc = await checksumRange(disk, path, meta.sizeBytes);
    return crc === meta.crc32c ? { type: 'valid', meta } : damaged('data checksum mismatch');
  } catch (e) {
    return damaged(`unreadable data: ${errorMessage(e)}`);
  }
}

/** The meta in a snapshot file's trailer, or null if there is no valid trailer. */
async function readMeta(disk: Disk, path: string): Promise<SnapshotMeta | null> {
  const h = await disk.open(path, 'read');
  try {
    const size = await h.sizeBytes();
    if (size < TRAILER_FIXED_BYTES) return null;
    let tail;
    try {
      tail = decodeTrailerTail(await h.read(size - TRAILER_FIXED_BYTES, TRAILER_FIXED_BYTES));
    } catch {
      return null;
    }
    const metaStart = size - TRAILER_FIXED_BYTES - tail.metaBytes;
    if (metaStart < 0) return null;
    try {
      const meta = decodeTrailerMeta(await h.read(metaStart, tail.metaBytes), tail.metaCrc);
      return meta.sizeBytes === metaStart ? meta : null;
    } catch {
      return null;
    }
  } finally {
    await h.close();
  }
}

async function checksumRange(disk: Disk, path: string, sizeBytes: number): Promise<number> {
  const h = await disk.open(path, 'read');
  try {
    return await checksumHandle(h, sizeBytes);
  } finally {
    await h.close();
  }
}

async function checksumHandle(h: FileHandle, sizeBytes: number): Promise<number> {
  let crc = 0;
  for (let off = 0; off < sizeBytes; off += WAL_RECOVERY_READ_CHUNK_BYTES) {
    const len = Math.min(WAL_RECOVERY_READ_CHUNK_BYTES, sizeBytes - off);
    const b = await h.read(off, len);
    if (b.length !== len) throw new Error(`short read at ${off}`);
    crc = crc32c(b, crc);
  }
  return crc;
}

/** Bytes buffered before one write while saving. */
const SAVE_WRITE_BYTES = 1024 * 1024;

export class FileSnapshotStore implements SnapshotStore {
  /** Newest first. */
  private stored: Stored[];
  private staging: Staging | null = null;
  private readonly readHandles = new Map<string, Promise<FileHandle>>();
  /**
   * Running checksums of snapshots being read from start to end (a restore, a transfer): the read
   * that reaches the end fails unless the bytes handed out match the snapshot's CRC, so a bit that
   * flips on the way from the disk never reaches a state machine unnoticed.
   */
  private readonly sequentialReads = new Map<string, { next: number; crc: number }>();
  private chain: Promise<void> = Promise.resolve();
  private readonly logger: Logger;

  /** Use openSnapshotStore. */
  constructor(
    private readonly disk: Disk,
    private readonly dir: string,
    stored: Stored[],
    logger: Logger,
  ) {
    this.stored = stored;
    this.logger = logger.child({ component: 'snapshots' });
  }

  latest(): SnapshotMeta | null {
    return this.stored[0]?.meta ?? null;
  }

  /** Every stored snapshot, newest first. */
  list(): readonly SnapshotMeta[] {
    return this.stored.map((s) => s.meta);
  }

  async read(meta: SnapshotMeta, offset: number, lengthBytes: number): Promise<Uint8Array> {
    assert(Number.isSafeInteger(offset) && offset >= 0 && lengthBytes >= 0 && lengthBytes <= SNAPSHOT_READ_BYTES_MAX, 'snapshot read within bounds');
    const s = this.find(meta);
    if (offset > s.meta.sizeBytes) throw new WalError('snapshot-not-found', `snapshot ${s.name}: offset ${offset} past its ${s.meta.sizeBytes} bytes`);
    const len = Math.min(lengthBytes, s.meta.sizeBytes - offset);
    try {
      let h = this.readHandles.get(s.name);
      if (h === undefined) {
        h = this.disk.open(joinPath(this.dir, s.name), 'read');
        this.readHandles.set(s.name, h);
        h.catch(() => this.readHandles.delete(s.name));
      }
      const data = await (await h).read(offset, len);
      if (data.length !== len) throw new Error(`short read: ${data.length} of ${len} bytes`);
      this.checkSequential(s, offset, data);
      return data;
    } catch (e) {
      if (isWalError(e)) throw e;
      throw new WalError('snapshot-io', `snapshot ${s.name}: read failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  save(meta: Omit<SnapshotMeta, 'sizeBytes' | 'crc32c'>, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<SnapshotMeta> {
    return this.exclusive(async () => {
      const name = snapshotFileName(meta);
      const tmp = joinPath(this.dir, `${name}.tmp`);
      let h: FileHandle | null = null;
      // Failures before the first fsync leave nothing anyone relies on (ENOSPC on the temp file):
      // the snapshot is not taken. From the fsync on, a failure is fatal (fsyncgate).
      let durableStage = false;
      try {
        h = await this.disk.open(tmp, 'create');
        await h.truncate(0);
        let size = 0;
        let crc = 0;
        let buffered: Uint8Array[] = [];
        let bufferedBytes = 0;
        const flush = async () => {
          if (bufferedBytes === 0) return;
          const joined = concatBytes(buffered);
          await h!.write(size - bufferedBytes, joined);
          buffered = [];
          bufferedBytes = 0;
        };
        for await (const chunk of chunks) {
          if (size + chunk.length > SNAPSHOT_BYTES_MAX) {
            throw new WalError('snapshot-too-large', `snapshot at index ${meta.index} exceeds ${SNAPSHOT_BYTES_MAX} bytes`);
          }
          crc = crc32c(chunk, crc);
          size += chunk.length;
          buffered.push(chunk.slice());
          bufferedBytes += chunk.length;
          if (bufferedBytes >= SAVE_WRITE_BYTES) await flush();
        }
        await flush();
        const full: SnapshotMeta = { ...meta, sizeBytes: size, crc32c: crc };
        await h.write(size, encodeTrailer(full));
        durableStage = true;
        await h.sync();
        await h.close();
        h = null;
        await this.disk.rename(tmp, joinPath(this.dir, name));
        await this.disk.syncDir(this.dir);
        this.insert({ meta: full, name });
        this.logger.info('snapshot saved', { index: full.index, term: full.term, sizeBytes: size });
        return full;
      } catch (e) {
        if (h !== null) await h.close().catch(() => {});
        await this.disk.unlink(tmp).catch(() => {});
        if (isWalError(e)) throw e;
        if (durableStage) throw new WalError('snapshot-fatal', `snapshot at index ${meta.index}: fsync, rename or directory fsync failed: ${errorMessage(e)}`, { cause: e });
        throw new WalError('snapshot-io', `snapshot at index ${meta.index}: save failed, snapshot not taken: ${errorMessage(e)}`, { cause: e });
      }
    });
  }

  receiveChunk(chunk: SnapshotChunk): Promise<void> {
    return this.exclusive(async () => {
      const { meta, data } = chunk;
      if (data === null) throw new WalError('snapshot-chunk-invalid', 'snapshot chunk without data');
      if (crc32c(data) !== chunk.crc32c) throw new WalError('snapshot-chunk-invalid', `snapshot chunk at offset ${chunk.offset}: checksum mismatch`);
      if (meta.sizeBytes > SNAPSHOT_BYTES_MAX) throw new WalError('snapshot-too-large', `incoming snapshot of ${meta.sizeBytes} bytes exceeds ${SNAPSHOT_BYTES_MAX}`);
      if (!Number.isSafeInteger(chunk.offset) || chunk.offset < 0 || chunk.offset + data.length > meta.sizeBytes) {
        throw new WalError('snapshot-chunk-invalid', `snapshot chunk [${chunk.offset}, ${chunk.offset + data.length}) outside the snapshot's ${meta.sizeBytes} bytes`);
      }
      try {
        const k = key(meta);
        if (this.staging === null || this.staging.key !== k) {
          await this.dropStaging();
          const name = `recv-${k}.part`;
          const handle = await this.disk.open(joinPath(this.dir, name), 'create');
          await handle.truncate(0);
          this.staging = { key: k, name, handle };
        } else if (chunk.offset === 0) {
          // The leader started the transfer over.
          await this.staging.handle.truncate(0);
        }
        await this.staging.handle.write(chunk.offset, data);
        // The acknowledgement that follows promises the chunk is durable.
        await this.staging.handle.sync();
      } catch (e) {
        await this.dropStaging().catch(() => {});
        throw new WalError('snapshot-io', `receiving snapshot at index ${meta.index}: ${errorMessage(e)}`, { cause: e });
      }
    });
  }

  finishReceive(meta: SnapshotMeta): Promise<void> {
    return this.exclusive(async () => {
      const staging = this.staging;
      if (staging === null || staging.key !== key(meta)) {
        throw new WalError('snapshot-verify-failed', `no staged snapshot for index ${meta.index} term ${meta.term}`);
      }
      const fail = async (why: string, cause?: unknown): Promise<never> => {
        await this.dropStaging().catch(() => {});
        throw new WalError('snapshot-verify-failed', `received snapshot at index ${meta.index}: ${why}; discarded`, cause === undefined ? undefined : { cause });
      };
      let size: number;
      let crc: number;
      try {
        await staging.handle.sync();
        size = await staging.handle.sizeBytes();
        crc = size === meta.sizeBytes ? await checksumHandle(staging.handle, size) : 0;
      } catch (e) {
        return fail(`could not read it back: ${errorMessage(e)}`, e);
      }
      if (size !== meta.sizeBytes) return fail(`${size} bytes arrived, ${meta.sizeBytes} expected`);
      if (crc !== meta.crc32c) return fail('checksum mismatch');
      const name = snapshotFileName(meta);
      try {
        await staging.handle.write(size, encodeTrailer(meta));
        await staging.handle.sync();
        await staging.handle.close();
        this.staging = null;
        await this.disk.rename(joinPath(this.dir, staging.name), joinPath(this.dir, name));
        await this.disk.syncDir(this.dir);
      } catch (e) {
        return fail(`could not install it: ${errorMessage(e)}`, e);
      }
      this.insert({ meta, name });
      this.logger.info('snapshot received', { index: meta.index, term: meta.term, sizeBytes: meta.sizeBytes });
    });
  }

  prune(keep: number): Promise<void> {
    assert(Number.isSafeInteger(keep) && keep >= 1, 'prune keeps at least one snapshot');
    return this.exclusive(async () => {
      const gone = this.stored.slice(keep);
      if (gone.length === 0) return;
      this.stored = this.stored.slice(0, keep);
      try {
        for (const s of gone) {
          await this.closeReadHandle(s.name);
          await this.disk.unlink(joinPath(this.dir, s.name));
        }
        await this.disk.syncDir(this.dir);
      } catch (e) {
        throw new WalError('snapshot-io', `pruning snapshots: ${errorMessage(e)}`, { cause: e });
      }
    });
  }

  /**
   * Moves a stored snapshot aside (a restore found it malformed). It is no longer latest(); the
   * caller falls back to the next one or to repair from peers.
   */
  quarantine(meta: SnapshotMeta, reason: string): Promise<void> {
    return this.exclusive(async () => {
      const s = this.find(meta);
      this.stored = this.stored.filter((x) => x !== s);
      await this.closeReadHandle(s.name);
      const qdir = joinPath(this.dir, 'quarantine');
      await this.disk.mkdir(qdir);
      await this.disk.syncDir(this.dir);
      await this.disk.rename(joinPath(this.dir, s.name), joinPath(qdir, await freeName(this.disk, qdir, s.name)));
      await this.disk.syncDir(this.dir);
      this.logger.error('CORRUPT: snapshot quarantined', { index: meta.index, reason });
    });
  }

  async close(): Promise<void> {
    await this.chain;
    await this.dropStaging().catch(() => {});
    for (const name of [...this.readHandles.keys()]) await this.closeReadHandle(name);
  }

  private checkSequential(s: Stored, offset: number, data: Uint8Array): void {
    const prev = this.sequentialReads.get(s.name);
    if (offset === 0) this.sequentialReads.set(s.name, { next: data.length, crc: crc32c(data) });
    else if (prev !== undefined && prev.next === offset) this.sequentialReads.set(s.name, { next: offset + data.length, crc: crc32c(data, prev.crc) });
    else return;
    const now = this.sequentialReads.get(s.name)!;
    if (now.next < s.meta.sizeBytes) return;
    this.sequentialReads.delete(s.name);
    if (now.crc !== s.meta.crc32c) {
      throw new WalError('snapshot-corrupt-read', `snapshot ${s.name}: the bytes read do not match its checksum (a read fault, or damage since it was opened)`);
    }
  }

  private find(meta: SnapshotMeta): Stored {
    const s = this.stored.find((x) => x.meta.index === meta.index && x.meta.term === meta.term);
    if (s === undefined) throw new WalError('snapshot-not-found', `no stored snapshot at index ${meta.index} term ${meta.term}`);
    return s;
  }

  private insert(s: Stored): void {
    this.stored = [s, ...this.stored.filter((x) => key(x.meta) !== key(s.meta))].sort((a, b) => b.meta.index - a.meta.index || b.meta.term - a.meta.term);
  }

  private async dropStaging(): Promise<void> {
    const s = this.staging;
    if (s === null) return;
    this.staging = null;
    await s.handle.close().catch(() => {});
    await this.disk.unlink(joinPath(this.dir, s.name)).catch(() => {});
  }

  private async closeReadHandle(name: string): Promise<void> {
    const h = this.readHandles.get(name);
    if (h === undefined) return;
    this.readHandles.delete(name);
    await h.then((x) => x.close()).catch(() => {});
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }
}

