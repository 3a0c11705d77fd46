/**
 * A running member's RAID volume: watched, reported and operated while the member serves.
 *
 * - Probes the members every RAID_PROBE_INTERVAL_MS, so a disk that vanished is noticed even when
 *   no write comes (writes to already open files keep working on a deleted directory).
 * - Logs every change of health (degraded, clean again, failed), rebuild progress, and the outcome
 *   of every rebuild and scrub. The volume itself logs member failures, repairs and their reasons.
 * - Calls `onFailed` once when the volume fails (too few members left): the member must stop; it
 *   comes back from its peers once the disks are replaced.
 * - Runs the operator's requests (fail, remove, add, rebuild, scrub) as `bulwark raid` would
 *   offline; rebuilds and scrubs run as background jobs whose progress shows in `status()`.
 * - Rebuilds pending members on its own whenever no job runs (as md starts recovery by itself).
 */
import { assert, assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { RAID_PROBE_INTERVAL_MS, RAID_STATUS_REASON_CHARS_MAX } from '../core/limits.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Disk } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import { RaidError, type MemberStatus, type RaidVolume, type RebuildResult, type ScrubMode, type ScrubResult, type VolumeStatus } from '../storage/index.js';

export type RaidJob =
  | { readonly id: number; readonly type: 'rebuild'; readonly state: 'running' | 'done' | 'failed'; readonly startedWallMs: number; readonly finishedWallMs: number | null; readonly result: RebuildResult | null; readonly error: string | null }
  | { readonly id: number; readonly type: 'scrub'; readonly mode: ScrubMode; readonly state: 'running' | 'done' | 'failed'; readonly startedWallMs: number; readonly finishedWallMs: number | null; readonly result: ScrubResult | null; readonly error: string | null };

/** What GET /raid/status answers: the volume's status, members waiting for a rebuild, the last job. */
export interface RaidLiveStatus extends VolumeStatus {
  readonly rebuildPending: readonly number[];
  /** The job running now, or the last one that ran (null before any). */
  readonly job: RaidJob | null;
  /** Process id of the member holding the volume. */
  readonly pid: number;
}

export interface RaidMonitorOptions {
  readonly volume: RaidVolume;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The volume failed: the member cannot go on. Called once. */
  readonly onFailed: (reason: string) => void;
  /** A new member directory for `add`, created if needed (a NodeDisk in the server). */
  readonly openDisk: (dir: string) => Promise<Disk>;
  readonly pid: number;
}

/** Rebuild and scrub throttles, bytes per second; the volume's defaults when absent. */
export interface JobOptions {
  readonly bytesPerSecMax?: number;
}

export class RaidMonitor {
  private readonly volume: RaidVolume;
  private timer: Timer | null = null;
  private lastHealth: VolumeStatus['health'];
  private failedReported = false;
  private job: RaidJob | null = null;
  private nextJobId = 1;
  private stopped = false;
  /** Rebuild progress logged up to this tenth. */
  private loggedTenth = 0;

  constructor(private readonly o: RaidMonitorOptions) {
    this.volume = o.volume;
    this.lastHealth = this.volume.health;
  }

  /** Starts probing, reports the state the volume opened in, and rebuilds pending members. */
  start(): void {
    assert(this.timer === null, 'a monitor starts once');
    const s = this.volume.status();
    if (s.health !== 'clean') this.o.logger.warn('raid: volume degraded', { volume: s.name, problems: describeProblems(s) });
    this.timer = this.o.clock.setInterval(() => void this.probe(), RAID_PROBE_INTERVAL_MS);
    this.maybeRebuild();
  }

  /** Stops probing; a running job ends with an error when the volume closes. */
  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  /** Reads every member's superblock now (as the timer does), then reports what changed. */
  async probe(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.volume.probe();
    } catch {
      // A failed volume throws; check() reports it.
    }
    this.check();
  }

  /** Logs a change of health since the last look, and stops the member when the volume failed. */
  check(): void {
    const s = this.volume.status();
    if (s.health !== this.lastHealth) {
      const prev = this.lastHealth;
      this.lastHealth = s.health;
      switch (s.health) {
        case 'clean':
          this.o.logger.info('raid: volume clean again: every member in sync', { volume: s.name, was: prev, generation: s.generation });
          break;
        case 'degraded':
          this.o.logger.warn('raid: volume degraded', { volume: s.name, was: prev, problems: describeProblems(s), generation: s.generation });
          break;
        case 'failed':
          break;
        default:
          assertNever(s.health);
      }
    }
    if (s.health === 'failed' && !this.failedReported && !this.stopped) {
      this.failedReported = true;
      const reason = s.failure ?? 'too few members';
      this.o.logger.error('raid: volume failed: no redundancy left; the member stops (replace the disks, then restart it: it recovers from its peers)', { volume: s.name, reason });
      this.o.onFailed(reason);
    }
    if (s.health !== 'failed') this.maybeRebuild();
  }

  status(): RaidLiveStatus {
    return { ...this.volume.status(), rebuildPending: this.volume.rebuildPending, job: this.job, pid: this.o.pid };
  }

  /** Lines for etcd's Status `errors` field: empty while the volume is clean and nothing was lost. */
  errors(): string[] {
    return volumeErrors(this.volume.status());
  }

  // -------------------------------------------------------------------------------------------
  // The operator's requests.

  async fail(index: number): Promise<void> {
    await this.volume.failMember(index, 'failed by operator (bulwark raid fail)');
    this.check();
  }

  async remove(index: number): Promise<void> {
    await this.volume.removeMember(index);
    this.check();
  }

  /** Adds a directory as a new member (into an empty or failed slot) and starts rebuilding it. */
  async add(dir: string, o: { readonly force?: boolean } = {}): Promise<number> {
    const disk = await this.o.openDisk(dir);
    const members = this.volume.status().members;
    if (members.some((m) => m.name === disk.name && (m.state === 'active' || m.state === 'rebuilding'))) {
      throw new RaidError('invalid-state', `${disk.name} is already a member of this volume`);
    }
    // A new disk mounted where a failed one was takes that one's slot.
    const same = members.find((m) => m.name === disk.name);
    const slot = await this.volume.addMember(disk, { force: o.force === true, ...(same === undefined ? {} : { index: same.index }) });
    this.o.logger.info('raid: new member added by the operator; rebuilding it', { volume: this.volume.name, slot: slot, disk: disk.name });
    this.check();
    return slot;
  }

  /** Starts a rebuild of the pending members in the background. */
  startRebuild(o: JobOptions = {}): RaidJob {
    if (this.volume.rebuildPending.length === 0) throw new RaidError('invalid-state', 'nothing to rebuild: every member in the array is in sync');
    this.refuseIfBusy();
    return this.runRebuild(o);
  }

  /** Starts a scrub in the background. */
  startScrub(mode: ScrubMode, o: JobOptions = {}): RaidJob {
    this.refuseIfBusy();
    if (this.volume.health === 'failed') throw new RaidError('invalid-state', 'the volume has failed');
    const id = this.nextJobId++;
    this.job = { id, type: 'scrub', mode, state: 'running', startedWallMs: this.wallMs(), finishedWallMs: null, result: null, error: null };
    this.o.logger.info('raid: scrub started', { volume: this.volume.name, mode, job: id });
    this.volume.scrub({ mode, ...throttle(o) }).then(
      (result) => {
        this.job = { id, type: 'scrub', mode, state: 'done', startedWallMs: this.job!.startedWallMs, finishedWallMs: this.wallMs(), result, error: null };
        const fields = { volume: this.volume.name, mode, job: id, checkedBytes: result.checkedBytes, mismatches: result.mismatches, repaired: result.repaired, lost: result.lost, elapsedMs: result.elapsedMs };
        if (result.lost > 0) this.o.logger.error('raid: scrub found data that redundancy could not restore', fields);
        else if (result.mismatches > 0) this.o.logger.warn(mode === 'repair' ? 'raid: scrub repaired mismatches' : 'raid: scrub found mismatches (run a repair scrub)', fields);
        else this.o.logger.info('raid: scrub found no mismatch', fields);
        this.check();
      },
      (e: unknown) => this.jobFailed(id, e),
    );
    return this.job;
  }

  // -------------------------------------------------------------------------------------------

  private refuseIfBusy(): void {
    if (this.job?.state === 'running') throw new RaidError('invalid-state', `a ${this.job.type} is already running (job ${this.job.id})`);
  }

  private maybeRebuild(): void {
    if (this.stopped || this.job?.state === 'running' || this.volume.rebuildPending.length === 0) return;
    this.runRebuild({});
  }

  private runRebuild(o: JobOptions): RaidJob {
    const id = this.nextJobId++;
    const members = this.volume.rebuildPending;
    this.job = { id, type: 'rebuild', state: 'running', startedWallMs: this.wallMs(), finishedWallMs: null, result: null, error: null };
    this.loggedTenth = 0;
    this.o.logger.info('raid: rebuild started in the background', { volume: this.volume.name, slots: members, job: id });
    this.volume
      .rebuild({
        ...throttle(o),
        onProgress: (done, total) => this.rebuildProgress(done, total),
      })
      .then(
        (result) => {
          this.job = { id, type: 'rebuild', state: 'done', startedWallMs: this.job!.startedWallMs, finishedWallMs: this.wallMs(), result, error: null };
          const fields = { volume: this.volume.name, slots: result.members, bytes: result.bytes, elapsedMs: result.elapsedMs, lostStripes: result.lostStripes, job: id };
          if (result.lostStripes > 0) this.o.logger.error('raid: rebuild finished, but some stripes could not be rebuilt (reads of them fail with EIO)', fields);
          else this.o.logger.info('raid: rebuild finished', fields);
          this.check();
        },
        (e: unknown) => this.jobFailed(id, e),
      );
    return this.job;
  }

  private rebuildProgress(done: number, total: number): void {
    const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
    if (tenth <= this.loggedTenth || tenth >= 10) return;
    this.loggedTenth = tenth;
    const a = this.volume.status().activity;
    this.o.logger.info('raid: rebuild progress', { volume: this.volume.name, slot: a.type === 'rebuild' ? a.member : null, percent: tenth * 10, doneBytes: done, totalBytes: total });
  }

  private jobFailed(id: number, e: unknown): void {
    const prev = this.job;
    assert(prev !== null && prev.id === id, 'the job that failed is the current one');
    const error = errorMessage(e);
    this.job = { ...prev, state: 'failed', finishedWallMs: this.wallMs(), error };
    // stop() comes before the volume closes, which ends a running job with an error.
    if (this.stopped) this.o.logger.info(`raid: ${prev.type} stopped: the member is shutting down (it starts over on the next start)`, { volume: this.volume.name, job: id });
    else this.o.logger.error(`raid: ${prev.type} stopped`, { volume: this.volume.name, job: id, error });
    this.check();
  }

  private wallMs(): number {
    return Math.floor(this.o.clock.wallMs());
  }
}

function throttle(o: JobOptions): { bytesPerSecMax?: number } {
  return o.bytesPerSecMax === undefined ? {} : { bytesPerSecMax: o.bytesPerSecMax };
}

function shorten(s: string): string {
  return s.length <= RAID_STATUS_REASON_CHARS_MAX ? s : `${s.slice(0, RAID_STATUS_REASON_CHARS_MAX - 1)}…`;
}

function memberProblem(m: MemberStatus, s: VolumeStatus): string | null {
  switch (m.state) {
    case 'active':
      return null;
    case 'failed':
      return `member ${m.index} failed${m.reason === '' ? '' : `: ${shorten(m.reason)}`}`;
    case 'missing':
      return `member ${m.index} missing`;
    case 'rebuilding': {
      const a = s.activity;
      const pct = a.type === 'rebuild' && a.member === m.index && a.totalBytes > 0 ? ` ${Math.floor((a.doneBytes / a.totalBytes) * 100)}%` : ' (pending)';
      return `member ${m.index} rebuilding${pct}`;
    }
    default:
      return assertNever(m.state);
  }
}

/** "member 2 failed: ...; member 0 rebuilding 40%". */
export function describeProblems(s: VolumeStatus): string {
  return s.members.map((m) => memberProblem(m, s)).filter((x): x is string => x !== null).join('; ');
}

/**
 * What a member reports in etcd's Status `errors`: the volume's health when it is not clean,
 * stripes lost, and a check scrub's mismatches. Empty when all is well.
 */
export function volumeErrors(s: VolumeStatus): string[] {
  const out: string[] = [];
  if (s.health === 'failed') out.push(`raid: failed (${shorten(s.failure ?? 'too few members')})`);
  else if (s.health === 'degraded') out.push(`raid: degraded (${describeProblems(s)})`);
  if (s.counters.lostStripes > 0) out.push(`raid: ${s.counters.lostStripes} stripes lost (reads of them fail with EIO)`);
  const ls = s.lastScrub;
  if (ls !== null && ls.mode === 'check' && ls.mismatches > 0) out.push(`raid: the last scrub found ${ls.mismatches} mismatches (run a repair scrub)`);
  return out;
}
