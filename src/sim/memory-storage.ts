/**
 * In-memory durable storage with sync semantics, for the simulator: a LogStore and a SnapshotStore
 * over a `MemoryMedium` that outlives crashes. Writes are buffered until a sync completes; a crash
 * keeps exactly what was synced. Completion is deferred through an `IoScheduler` (the simulator
 * schedules it after a virtual disk latency), so the driver really runs asynchronously.
 *
 * The write-ahead log (src/wal) over a simulated Disk replaces this later; the node builds its
 * stores in one place (SimNode.openStorage) so that swap is one line.
 */
import { assert } from '../core/assert.js';
import { crc32c } from '../core/crc32c.js';
import { type LogIndex } from '../core/ids.js';
import type { LogStore, SnapshotStore } from '../consensus/storage.js';
import type { ConfigState, DurableState, Entry, SnapshotChunk, SnapshotMeta } from '../consensus/types.js';
import { SimError } from './errors.js';
import { concatBytes } from '../core/bytes.js';

/** Runs `fn` later (after a simulated disk latency). */
export interface IoScheduler {
  defer(fn: () => void): void;
  /** Whether the sync about to be scheduled fails (a simulated fsync EIO). */
  syncFails?(): boolean;
}

interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly bytes: Uint8Array;
}

/** What survives a crash: exactly what was synced. */
export class MemoryMedium {
  hardState: Uint8Array | null = null;
  readonly entries = new Map<number, Entry>();
  lastIndex = 0;
  snapshots: StoredSnapshot[] = [];
  /**
   * How the engine writes its log, from the contract's `entriesReplaceSuffix`: true for a log that
   * is a sequence (Raft: log matching applies), false for independent slots (Paxos). Null until seen.
   */
  replaceSuffix: boolean | null = null;
  /**
   * The write-ahead log's durable repair mark (DurableState.repairUntil): after storage damage the
   * member neither votes nor campaigns until its log reaches this index again. 0 when whole.
   */
  repairUntil = 0;

  latestSnapshot(): StoredSnapshot | null {
    return this.snapshots[this.snapshots.length - 1] ?? null;
  }

  /** The durable state a restarting member is rebuilt from. */
  recover(initialConfig: ConfigState): DurableState {
    const snap = this.latestSnapshot();
    const after = snap === null ? 0 : snap.meta.index;
    const entries: Entry[] = [];
    for (let i = after + 1; i <= this.lastIndex; i++) {
      const e = this.entries.get(i);
      if (e !== undefined) entries.push(e);
    }
    return { hardState: this.hardState, snapshot: snap?.meta ?? null, entries, initialConfig, repairUntil: null };
  }

  /** The durable entry at `index`, or null (compacted, never written, or truncated). */
  entry(index: number): Entry | null {
    return this.entries.get(index) ?? null;
  }

  appendDurably(entries: readonly Entry[], replaceSuffix: boolean): void {
    if (entries.length === 0) return;
    this.replaceSuffix = replaceSuffix;
    if (replaceSuffix) {
      for (let i = entries[0]!.index; i <= this.lastIndex; i++) this.entries.delete(i);
      this.lastIndex = entries[0]!.index - 1;
    }
    for (const e of entries) {
      this.entries.set(e.index, e);
      this.lastIndex = Math.max(this.lastIndex, e.index);
    }
    if (replaceSuffix) this.lastIndex = entries[entries.length - 1]!.index;
  }
}

type Buffered = { readonly type: 'append'; readonly entries: readonly Entry[]; readonly replaceSuffix: boolean } | { readonly type: 'hard-state'; readonly hardState: Uint8Array };

export class MemoryLogStore implements LogStore {
  private buffer: Buffered[] = [];
  /** Batches handed to a sync that has not completed, oldest first. */
  private inflight: Buffered[][] = [];
  private dead = false;

  constructor(
    private readonly medium: MemoryMedium,
    private readonly io: IoScheduler,
  ) {}

  append(entries: readonly Entry[], replaceSuffix: boolean): void {
    assert(!this.dead, 'append after crash');
    if (entries.length > 0) this.buffer.push({ type: 'append', entries: entries.slice(), replaceSuffix });
  }

  setHardState(hardState: Uint8Array): void {
    assert(!this.dead, 'setHardState after crash');
    this.buffer.push({ type: 'hard-state', hardState: hardState.slice() });
  }

  sync(): Promise<void> {
    const ops = this.buffer;
    this.buffer = [];
    this.inflight.push(ops);
    const fails = this.io.syncFails?.() ?? false;
    return new Promise((resolve, reject) => {
      this.io.defer(() => {
        if (this.dead) return; // a crashed member never hears back
        this.inflight = this.inflight.filter((b) => b !== ops);
        if (fails) {
          // fsyncgate: the buffered writes are gone, whatever a later sync says.
          reject(new SimError('sync-failed', 'simulated fsync failure (EIO)'));
          return;
        }
        for (const op of ops) {
          if (op.type === 'append') this.medium.appendDurably(op.entries, op.replaceSuffix);
          else this.medium.hardState = op.hardState;
        }
        resolve();
      });
    });
  }

  compact(index: LogIndex): Promise<void> {
    return this.later(() => {
      for (const k of this.medium.entries.keys()) if (k <= index) this.medium.entries.delete(k);
    });
  }

  reset(snapshotIndex: LogIndex): Promise<void> {
    return this.later(() => {
      this.medium.entries.clear();
      this.medium.lastIndex = snapshotIndex;
    });
  }

  /** One deferred step, like one batch on disk: a crash leaves all of it or none. */
  resetWith(snapshotIndex: LogIndex, entries: readonly Entry[], hardState: Uint8Array | null): Promise<void> {
    assert(!this.dead, 'resetWith after crash');
    // What was buffered before becomes durable first, in order (a deferred commit-only hard state).
    const before = this.buffer;
    this.buffer = [];
    const kept = entries.slice();
    const hs = hardState?.slice() ?? null;
    return this.later(() => {
      for (const op of before) {
        if (op.type === 'append') this.medium.appendDurably(op.entries, op.replaceSuffix);
        else this.medium.hardState = op.hardState;
      }
      this.medium.entries.clear();
      this.medium.lastIndex = snapshotIndex;
      if (kept.length > 0) this.medium.appendDurably(kept, false);
      if (hs !== null) this.medium.hardState = hs;
    });
  }

  close(): Promise<void> {
    this.dead = true;
    return Promise.resolve();
  }

  /** The member crashed: buffered writes vanish and pending completions never fire. */
  crash(): void {
    this.dead = true;
    this.buffer = [];
    this.inflight = [];
  }

  /** Appends handed over but not yet synced, oldest first, for the simulator's checkers. */
  bufferedAppends(): readonly { readonly entries: readonly Entry[]; readonly replaceSuffix: boolean }[] {
    return [...this.inflight.flat(), ...this.buffer].flatMap((b) => (b.type === 'append' ? [b] : []));
  }

  private later(fn: () => void): Promise<void> {
    return new Promise((resolve) => {
      this.io.defer(() => {
        if (this.dead) return;
        fn();
        resolve();
      });
    });
  }
}

export class MemorySnapshotStore implements SnapshotStore {
  private staging: { meta: SnapshotMeta; parts: Uint8Array[]; sizeBytes: number } | null = null;
  private dead = false;

  constructor(
    private readonly medium: MemoryMedium,
    private readonly io: IoScheduler,
  ) {}

  latest(): SnapshotMeta | null {
    return this.medium.latestSnapshot()?.meta ?? null;
  }

  read(meta: SnapshotMeta, offset: number, lengthBytes: number): Promise<Uint8Array> {
    const s = this.medium.snapshots.find((x) => x.meta.index === meta.index && x.meta.term === meta.term && x.meta.crc32c === meta.crc32c);
    if (s === undefined) return Promise.reject(new SimError('snapshot-missing', `no snapshot at index ${meta.index}`));
    const bytes = s.bytes.subarray(offset, offset + lengthBytes);
    return this.later(() => bytes);
  }

  async save(meta: Omit<SnapshotMeta, 'sizeBytes' | 'crc32c'>, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<SnapshotMeta> {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) {
      parts.push(c.slice());
      await this.later(() => undefined); // each chunk is a write
    }
    const bytes = concatBytes(parts);
    const full: SnapshotMeta = { ...meta, sizeBytes: bytes.length, crc32c: crc32c(bytes) };
    return this.later(() => {
      this.store({ meta: full, bytes });
      return full;
    });
  }

  receiveChunk(chunk: SnapshotChunk): Promise<void> {
    const data = chunk.data ?? new Uint8Array(0);
    if (chunk.offset === 0) this.staging = { meta: chunk.meta, parts: [], sizeBytes: 0 };
    const st = this.staging;
    if (st === null || st.meta.index !== chunk.meta.index || st.meta.term !== chunk.meta.term || st.sizeBytes !== chunk.offset) {
      return Promise.reject(new SimError('snapshot-invalid', `snapshot chunk at offset ${chunk.offset} does not continue the staged snapshot`));
    }
    st.parts.push(data.slice());
    st.sizeBytes += data.length;
    return this.later(() => undefined);
  }

  finishReceive(meta: SnapshotMeta): Promise<void> {
    const st = this.staging;
    this.staging = null;
    if (st === null || st.meta.index !== meta.index || st.meta.term !== meta.term) {
      return Promise.reject(new SimError('snapshot-invalid', `no staged snapshot for index ${meta.index}`));
    }
    const bytes = concatBytes(st.parts);
    if (bytes.length !== meta.sizeBytes || crc32c(bytes) !== meta.crc32c) {
      return Promise.reject(new SimError('snapshot-invalid', `received snapshot ${meta.index} fails verification`));
    }
    return this.later(() => this.store({ meta, bytes }));
  }

  prune(keep: number): Promise<void> {
    return this.later(() => {
      if (this.medium.snapshots.length > keep) this.medium.snapshots = this.medium.snapshots.slice(-keep);
    });
  }

  crash(): void {
    this.dead = true;
    this.staging = null;
  }

  private store(s: StoredSnapshot): void {
    const list = this.medium.snapshots.filter((x) => x.meta.index !== s.meta.index);
    list.push(s);
    list.sort((a, b) => a.meta.index - b.meta.index);
    this.medium.snapshots = list;
  }

  private later<T>(fn: () => T): Promise<T> {
    return new Promise((resolve) => {
      this.io.defer(() => {
        if (this.dead) return;
        resolve(fn());
      });
    });
  }
}


