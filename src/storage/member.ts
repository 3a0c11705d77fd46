/**
 * One member of a volume at run time: its Disk, its state, its error counters, and the handles of
 * its member files (kept open, least recently used closed first).
 */
import { RAID_MEMBER_HANDLES_MAX } from '../core/limits.js';
import type { Disk, FileHandle } from '../env/disk.js';
import type { FileId } from './namespace.js';
import { ZERO_COUNTERS, type MemberCounters, type SlotState } from './superblock.js';

type MutableCounters = { -readonly [K in keyof MemberCounters]: MemberCounters[K] };

export class Member {
  state: SlotState;
  reason = '';
  readonly counters: MutableCounters;
  /** The member's journal, open for appends while the member is written. */
  journal: FileHandle | null = null;
  journalBytes = 0;
  /** Member files written in place since the last checkpoint: fsynced by the next one. */
  readonly unsynced = new Set<FileId>();
  /** Directories whose entries changed since the last checkpoint: fsynced by the next one. */
  readonly dirtyDirs = new Set<string>();
  private readonly handles = new Map<FileId, FileHandle>();

  constructor(
    readonly index: number,
    public disk: Disk | null,
    state: SlotState,
    counters: MemberCounters = ZERO_COUNTERS,
  ) {
    this.state = state;
    this.counters = { ...counters };
  }

  get name(): string {
    return this.disk?.name ?? `(slot ${this.index} empty)`;
  }

  /** Read from: in sync with the volume. */
  get readable(): boolean {
    return this.state === 'active' && this.disk !== null;
  }

  /** Written to: in sync, or being rebuilt (it must not miss writes that land behind the rebuild). */
  get writable(): boolean {
    return (this.state === 'active' || this.state === 'rebuilding') && this.disk !== null;
  }

  /** The open handle of a member file; opened (and with `create`, created) on first use. */
  async handle(fileId: FileId, path: string, create: boolean): Promise<FileHandle> {
    const cached = this.handles.get(fileId);
    if (cached !== undefined) {
      this.handles.delete(fileId);
      this.handles.set(fileId, cached);
      return cached;
    }
    const disk = this.disk;
    if (disk === null) throw new Error(`member ${this.index} has no disk`);
    const h = await disk.open(path, create ? 'create' : 'write');
    this.handles.set(fileId, h);
    await this.evict();
    return h;
  }

  /** The handle if open; for fsync at a checkpoint without reopening a file that was unlinked. */
  openHandle(fileId: FileId): FileHandle | undefined {
    return this.handles.get(fileId);
  }

  private async evict(): Promise<void> {
    if (this.handles.size <= RAID_MEMBER_HANDLES_MAX) return;
    for (const [id, h] of this.handles) {
      if (this.handles.size <= RAID_MEMBER_HANDLES_MAX) break;
      // A handle with in-place writes stays open until the checkpoint fsyncs it.
      if (this.unsynced.has(id)) continue;
      this.handles.delete(id);
      await h.close().catch(() => undefined);
    }
  }

  async closeHandle(fileId: FileId): Promise<void> {
    const h = this.handles.get(fileId);
    if (h === undefined) return;
    this.handles.delete(fileId);
    await h.close().catch(() => undefined);
  }

  /** Closes everything, ignoring errors: used when the member fails or the volume closes. */
  async closeAll(): Promise<void> {
    const hs = [...this.handles.values()];
    this.handles.clear();
    const j = this.journal;
    this.journal = null;
    await Promise.all([...hs, ...(j === null ? [] : [j])].map((h) => h.close().catch(() => undefined)));
  }
}
