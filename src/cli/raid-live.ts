/**
 * `bulwark raid` against a running member: its /raid endpoints on the client port
 * (src/server/raid-admin-http.ts). Used with --endpoint, or on its own when the volume's
 * superblocks say a live member on this machine holds it.
 */
import { BulwarkError } from '../core/errors.js';
import { RAID_ADMIN_POLL_INTERVAL_MS, RAID_ADMIN_REQUEST_TIMEOUT_MS } from '../core/limits.js';
import { NodeClock } from '../env/node/clock.js';
import type { RaidJob, RaidLiveStatus } from '../server/raid-monitor.js';
import type { ScrubMode } from '../storage/index.js';
import { activityText, formatBytes, progressReporter, scrubText, table } from './raid-format.js';

/** A live member's answer that is not a success (`status` 0: no answer at all). */
export class RaidLiveError extends BulwarkError<'raid-live'> {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super('raid-live', message);
    this.name = 'RaidLiveError';
  }
}

/** http://host:port from "host:port" or a URL. */
export function endpointUrl(endpoint: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  const u = new URL(withScheme);
  return `${u.protocol}//${u.host}`;
}

async function call<T>(base: string, method: 'GET' | 'POST', op: string, params: Record<string, string> = {}): Promise<T> {
  const url = new URL(`${base}/raid/${op}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(RAID_ADMIN_REQUEST_TIMEOUT_MS) });
  } catch (e) {
    throw new RaidLiveError(`cannot reach ${base}: ${(e as Error).message}`, 0);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new RaidLiveError(`${base} answered ${res.status} with something that is not JSON (is it a Bulwark member?): ${text.slice(0, 200)}`, res.status);
  }
  if (!res.ok) {
    const err = (body as { error?: { message?: string } }).error;
    throw new RaidLiveError(err?.message ?? `${base} answered ${res.status}`, res.status);
  }
  return body as T;
}

export function liveStatus(base: string): Promise<RaidLiveStatus> {
  return call<RaidLiveStatus>(base, 'GET', 'status');
}

export function statusText(st: RaidLiveStatus, base: string): string {
  const health = st.health === 'failed' ? 'FAILED' : st.health;
  const lines: string[] = [];
  lines.push(`Volume ${st.arrayId}: RAID-${st.level}, ${st.memberCount} members, chunk ${formatBytes(st.chunkBytes)}, generation ${st.generation}`);
  lines.push(`State:    ${health}, open in process ${st.pid} (live, ${base})`);
  if (st.failure !== null) lines.push(`Failure:  ${st.failure}`);
  lines.push(`Activity: ${activityText(st.activity)}`);
  lines.push(`Scrub:    ${scrubText(st.lastScrub)}`);
  if (st.job !== null) lines.push(`Job:      ${jobText(st.job)}`);
  lines.push('');
  const rows = [['#', 'DIRECTORY', 'STATE', 'READ-ERR', 'WRITE-ERR', 'CSUM-ERR', 'REPAIRED', 'NOTE']];
  for (const m of st.members) {
    const c = m.counters;
    rows.push([String(m.index), m.name ?? '-', m.state, String(c.readErrors), String(c.writeErrors), String(c.checksumErrors), String(c.repairedChunks), m.reason]);
  }
  lines.push(table(rows));
  const c = st.counters;
  lines.push('', `Volume: ${c.checksumErrors} checksum errors, ${c.repairedChunks} chunks repaired, ${c.reconstructedStripes} stripes reconstructed, ${c.lostStripes} lost`);
  if (st.members.some((m) => m.state === 'failed' || m.state === 'missing')) {
    lines.push('', `Replace a failed member: 'bulwark raid add --endpoint ${base} <new-dir>' (it takes the failed slot and is rebuilt at once).`);
  }
  return lines.join('\n');
}

function jobText(j: RaidJob): string {
  const what = j.type === 'scrub' ? `scrub (${j.mode})` : 'rebuild';
  const when = new Date(j.startedWallMs).toISOString();
  switch (j.state) {
    case 'running':
      return `${what} #${j.id} running since ${when}`;
    case 'done':
      return `${what} #${j.id} finished (started ${when})`;
    case 'failed':
      return `${what} #${j.id} stopped: ${j.error ?? 'unknown error'}`;
  }
}

export interface LiveOptions {
  readonly wait: boolean;
  /** Throttle, bytes per second. */
  readonly rate: number | undefined;
}

function rateParam(o: LiveOptions): Record<string, string> {
  return o.rate === undefined ? {} : { rate: String(o.rate) };
}

export async function liveFail(base: string, member: string): Promise<number> {
  const r = await call<{ member: number; status: RaidLiveStatus }>(base, 'POST', 'fail', { member });
  process.stdout.write(`Member ${r.member} failed; the volume is ${r.status.health}. Replace it: bulwark raid add --endpoint ${base} <new-dir>\n`);
  return 0;
}

export async function liveRemove(base: string, member: string): Promise<number> {
  const r = await call<{ member: number; status: RaidLiveStatus }>(base, 'POST', 'remove', { member });
  process.stdout.write(`Slot ${r.member} is empty; add a new directory with 'bulwark raid add --endpoint ${base} <new-dir>'.\n`);
  return 0;
}

export async function liveAdd(base: string, dir: string, force: boolean, o: LiveOptions): Promise<number> {
  const r = await call<{ member: number; status: RaidLiveStatus }>(base, 'POST', 'add', { dir, ...(force ? { force: 'true' } : {}) });
  process.stdout.write(`${dir} is member ${r.member}. The volume is now ${r.status.members.map((m) => m.name ?? '-').join(',')}\n`);
  const job = r.status.job;
  if (job === null || job.type !== 'rebuild' || job.state !== 'running') {
    process.stdout.write(`The member rebuilds it as soon as the running ${job?.type ?? 'job'} ends; follow it with 'bulwark raid status --endpoint ${base}'.\n`);
    return 0;
  }
  if (o.rate !== undefined) process.stderr.write('note: --rate applies to rebuilds started with `raid rebuild`; this one runs at the member\'s default rate\n');
  if (!o.wait) {
    process.stdout.write(`Rebuild running on the member (job ${job.id}); follow it with 'bulwark raid status --endpoint ${base}'.\n`);
    return 0;
  }
  return waitForJob(base, job.id);
}

export async function liveRebuild(base: string, o: LiveOptions): Promise<number> {
  let r: { job: RaidJob };
  try {
    r = await call<{ job: RaidJob }>(base, 'POST', 'rebuild', rateParam(o));
  } catch (e) {
    if (e instanceof RaidLiveError && e.status === 409 && /nothing to rebuild/.test(e.message)) {
      process.stdout.write('Nothing to rebuild: every member is in sync.\n');
      return 0;
    }
    if (e instanceof RaidLiveError && e.status === 409 && /rebuild is already running/.test(e.message)) {
      const st = await liveStatus(base);
      process.stdout.write(`A rebuild is already running on the member (job ${st.job?.id}); following it.\n`);
      return o.wait && st.job !== null ? waitForJob(base, st.job.id) : 0;
    }
    throw e;
  }
  if (!o.wait) {
    process.stdout.write(`Rebuild running on the member (job ${r.job.id}).\n`);
    return 0;
  }
  return waitForJob(base, r.job.id);
}

export async function liveScrub(base: string, mode: ScrubMode, o: LiveOptions): Promise<number> {
  const r = await call<{ job: RaidJob }>(base, 'POST', 'scrub', { mode, ...rateParam(o) });
  if (!o.wait) {
    process.stdout.write(`Scrub (${mode}) running on the member (job ${r.job.id}).\n`);
    return 0;
  }
  return waitForJob(base, r.job.id);
}

/** Polls the member and draws the job's progress until it ends; prints its result. */
async function waitForJob(base: string, id: number): Promise<number> {
  const clock = new NodeClock();
  let bar: ReturnType<typeof progressReporter> | null = null;
  for (;;) {
    const st = await liveStatus(base);
    const job = st.job;
    if (job === null || job.id !== id) throw new RaidLiveError(`job ${id} is gone from ${base} (did the member restart?)`, 0);
    const a = st.activity;
    if (job.state === 'running' && a.type !== 'idle') {
      bar ??= progressReporter(a.type === 'rebuild' ? `rebuild member ${a.member}` : `scrub (${a.mode})`, clock);
      bar.update(a.doneBytes, a.totalBytes);
    }
    if (job.state !== 'running') {
      bar?.finish();
      return jobOutcome(job, st);
    }
    await clock.sleep(RAID_ADMIN_POLL_INTERVAL_MS);
  }
}

function jobOutcome(job: RaidJob, st: RaidLiveStatus): number {
  if (job.state === 'failed') {
    process.stderr.write(`The ${job.type} stopped: ${job.error ?? 'unknown error'}\n`);
    return 1;
  }
  if (job.type === 'rebuild') {
    const r = job.result!;
    const secs = Math.max(0.001, r.elapsedMs / 1000);
    process.stdout.write(`Rebuilt member${r.members.length > 1 ? 's' : ''} ${r.members.join(',')}: ${formatBytes(r.bytes)} in ${secs.toFixed(1)} s (${formatBytes(Math.round(r.bytes / secs))}/s). Volume ${st.health}, generation ${st.generation}.\n`);
    if (r.lostStripes > 0) {
      process.stderr.write(`${r.lostStripes} stripes could not be rebuilt (a second failure in the same stripe); reads of them fail with EIO.\n`);
      return 1;
    }
    return 0;
  }
  const r = job.result!;
  const secs = Math.max(0.001, r.elapsedMs / 1000);
  process.stdout.write(`Scrub (${job.mode}): ${formatBytes(r.checkedBytes)} read in ${secs.toFixed(1)} s (${formatBytes(Math.round(r.checkedBytes / secs))}/s); mismatch_cnt ${r.mismatches}, repaired ${r.repaired}, lost ${r.lost}.\n`);
  return r.lost > 0 ? 1 : 0;
}
