/**
 * `bulwark raid`: create, inspect and repair RAID-1/RAID-5 volumes over directories, as mdadm does
 * for block devices. `status` only reads superblocks, so it is safe while a server runs; the other
 * subcommands open the volume and refuse if a live process holds it (the superblocks name it).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RAID_CHUNK_BYTES_DEFAULT } from '../core/limits.js';
import { errorMessage } from '../core/errors.js';
import type { Disk } from '../env/disk.js';
import { NodeClock } from '../env/node/clock.js';
import { NodeDisk } from '../env/node/disk.js';
import { nodeRandom } from '../env/node/random.js';
import type { Logger, LogFields } from '../env/logger.js';
import {
  assemble,
  createVolume,
  openVolume,
  probeMember,
  type Activity,
  type RaidVolume,
  type Superblock,
} from '../storage/index.js';
import { UsageError, type Command } from './command.js';

const USAGE = `bulwark raid <subcommand> [flags]

RAID-1 (mirror) and RAID-5 (striped parity) volumes over directories; each directory may be its own
disk or mount. A volume is given as its member directories, comma-separated (any order).

  bulwark raid create --level 5 [--chunk 64KiB] [--force] d1 d2 d3
  bulwark raid status d1,d2,d3 [--json]
  bulwark raid fail d1,d2,d3 <member>        take a member out (a directory or a slot number)
  bulwark raid remove d1,d2,d3 <member>      empty the slot of a failed member
  bulwark raid add d1,d2,d3 <new-dir> [--force] [--no-rebuild] [--rate 64MiB]
  bulwark raid rebuild d1,d2,d3 [--rate 64MiB]
  bulwark raid scrub d1,d2,d3 (--check | --repair) [--rate 32MiB]

status only reads the superblocks, so it is safe while 'bulwark serve' runs on the volume. The other
subcommands open the volume themselves and refuse while a live process has it open (--force to
override). A running server does the same work itself: stale members are resynced on start, and its
status and /metrics report the volume's health.

Flags:
  --level <1|5>     RAID level (create)
  --chunk <size>    chunk (stripe unit and checksum block) size, a power of two, 4KiB to 512KiB (create; default 64KiB)
  --rate <size>     throttle for rebuild and scrub, per second (as md's speed_limit_max)
  --check           scrub: count mismatches (md's mismatch_cnt) without changing anything
  --repair          scrub: rewrite what is wrong from redundancy
  --force           create/add over a directory that is not blank; act on a volume a live process holds
  --json            status: print JSON`;

const quietLogger: Logger = {
  debug() {},
  info() {},
  warn(msg: string, fields?: LogFields) {
    process.stderr.write(`warning: ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  },
  error(msg: string, fields?: LogFields) {
    process.stderr.write(`error: ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}\n`);
  },
  child() {
    return quietLogger;
  },
};

/** "64KiB", "64K", "1MiB", "1.5MB", "4096" → bytes. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (m === null) throw new UsageError(`${what}: cannot read '${text}' as a size (e.g. 64KiB, 1MiB)`);
  const unit = m[2]!.toLowerCase();
  const binary = m[3]!.toLowerCase().startsWith('i') || m[3] === '';
  const base = binary ? 1024 : 1000;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(unit);
  const n = Math.round(Number(m[1]) * base ** power);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what}: '${text}' is not a positive size`);
  return n;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

function memberDirs(arg: string | undefined, what: string): string[] {
  if (arg === undefined || arg.trim() === '') throw new UsageError(`${what}: give the member directories, comma-separated`);
  const dirs = arg.split(',').map((d) => d.trim()).filter((d) => d !== '').map((d) => resolve(d));
  if (new Set(dirs).size !== dirs.length) throw new UsageError(`${what}: a directory is listed twice`);
  return dirs;
}

/** The pid in an owner string "pid@host" if that process is alive on this host. */
function liveOwner(owner: string): number | null {
  const m = /^(\d+)@(.+)$/.exec(owner);
  if (m === null || m[2] !== hostname()) return null;
  const pid = Number(m[1]);
  if (pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM' ? pid : null;
  }
}

async function newestSuperblock(disks: readonly Disk[]): Promise<Superblock | null> {
  const probes = await Promise.all(disks.map(probeMember));
  try {
    return assemble(probes).newest;
  } catch {
    return null;
  }
}

async function openForAdmin(dirs: readonly string[], force: boolean, resync: boolean): Promise<RaidVolume> {
  const disks = dirs.map((d) => new NodeDisk(d));
  const sb = await newestSuperblock(disks);
  if (sb !== null && !sb.clean && !force) {
    const pid = liveOwner(sb.owner);
    if (pid !== null) throw new Error(`the volume is open in process ${pid} (${sb.owner}); stop it first, or use --force`);
  }
  return openVolume({ members: disks, clock: new NodeClock(), logger: quietLogger, resync, owner: `${process.pid}@${hostname()}` });
}

/** A progress bar on a terminal; a line per 10% otherwise. */
function progressReporter(label: string, clock: NodeClock): { update: (done: number, total: number) => void; finish: () => void } {
  const tty = process.stderr.isTTY === true;
  const start = clock.nowMs();
  let lastTenth = -1;
  let lastDrawMs = -Infinity;
  const line = (done: number, total: number): string => {
    const frac = total === 0 ? 1 : Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = Math.max(0.001, (clock.nowMs() - start) / 1000);
    const rate = done / secs;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${formatBytes(done)} of ${formatBytes(total)}  ${formatBytes(Math.round(rate))}/s  ETA ${Math.ceil(eta)}s`;
  };
  return {
    update(done, total) {
      if (tty) {
        if (clock.nowMs() - lastDrawMs < 100 && done < total) return;
        lastDrawMs = clock.nowMs();
        process.stderr.write(`\r${line(done, total)}`);
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${line(done, total)}\n`);
      }
    },
    finish() {
      if (tty) process.stderr.write('\n');
    },
  };
}

function activityText(a: Activity): string {
  switch (a.type) {
    case 'idle':
      return 'idle';
    case 'rebuild':
      return `rebuilding member ${a.member}: ${pct(a.doneBytes, a.totalBytes)} (${formatBytes(a.doneBytes)} of ${formatBytes(a.totalBytes)})`;
    case 'scrub':
      return `scrub (${a.mode}): ${pct(a.doneBytes, a.totalBytes)} (${formatBytes(a.doneBytes)} of ${formatBytes(a.totalBytes)}), ${a.mismatches} mismatches so far`;
  }
}

function pct(done: number, total: number): string {
  return `${total === 0 ? 100 : Math.floor((done / total) * 1000) / 10}%`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

async function status(dirs: readonly string[], json: boolean): Promise<number> {
  const disks = dirs.map((d) => new NodeDisk(d));
  const probes = await Promise.all(disks.map(probeMember));
  const asm = assemble(probes);
  const sb = asm.newest;
  const failed = asm.slots.filter((s) => s.state === 'active').length < (sb.level === 5 ? sb.memberCount - 1 : 1);
  const degraded = asm.slots.some((s) => s.state !== 'active');
  const health = failed ? 'FAILED' : degraded ? 'degraded' : 'clean';
  const pidOwner = sb.clean ? null : liveOwner(sb.owner);
  const openState = sb.clean ? 'closed cleanly' : pidOwner !== null ? `open in process ${pidOwner}` : 'not closed cleanly (the journal is replayed on the next open)';
  if (json) {
    const out = {
      arrayId: sb.arrayId, level: sb.level, memberCount: sb.memberCount, chunkBytes: sb.chunkBytes, generation: sb.generation,
      health: health.toLowerCase(), degraded, clean: sb.clean, owner: sb.owner, activity: sb.activity, lastScrub: sb.lastScrub,
      members: asm.slots.map((s, i) => ({ index: i, directory: s.disk?.name ?? null, state: s.state, generation: s.sb?.generation ?? null, reason: s.reason, counters: sb.slots[i]!.counters })),
      ignored: asm.ignored.map((x) => ({ directory: x.disk.name, reason: x.reason })),
    };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    return failed ? 2 : 0;
  }
  const lines: string[] = [];
  lines.push(`Volume ${sb.arrayId}: RAID-${sb.level}, ${sb.memberCount} members, chunk ${formatBytes(sb.chunkBytes)}, generation ${sb.generation}`);
  lines.push(`State:    ${health}, ${openState}`);
  lines.push(`Activity: ${activityText(sb.activity)}`);
  const ls = sb.lastScrub;
  lines.push(`Scrub:    ${ls === null ? 'never' : `${ls.mode} finished ${new Date(ls.finishedWallMs).toISOString()}: ${formatBytes(ls.checkedBytes)} read, ${ls.mismatches} mismatches, ${ls.repaired} repaired, ${ls.lost} lost`}`);
  lines.push('');
  const rows = [['#', 'DIRECTORY', 'STATE', 'GEN', 'READ-ERR', 'WRITE-ERR', 'CSUM-ERR', 'REPAIRED', 'NOTE']];
  asm.slots.forEach((s, i) => {
    const c = sb.slots[i]!.counters;
    const shown = s.state === 'rebuilding' && sb.slots[i]!.state !== 'rebuilding' ? 'stale' : s.state;
    rows.push([String(i), s.disk?.name ?? '-', shown, s.sb === null ? '-' : String(s.sb.generation), String(c.readErrors), String(c.writeErrors), String(c.checksumErrors), String(c.repairedChunks), s.reason]);
  });
  lines.push(table(rows));
  for (const x of asm.ignored) lines.push(`ignored: ${x.disk.name}: ${x.reason}`);
  if (asm.slots.some((s) => s.state === 'rebuilding')) lines.push('', `Resync pending: run 'bulwark raid rebuild ${dirs.join(',')}' (a server resyncs on start).`);
  if (asm.slots.some((s) => s.state === 'failed' || s.state === 'missing')) lines.push('', `Replace a failed member: 'bulwark raid remove <dirs> <member>' then 'bulwark raid add <dirs> <new-dir>'.`);
  process.stdout.write(lines.join('\n') + '\n');
  return failed ? 2 : 0;
}

/** A member named by its slot number or its directory. */
function memberIndex(v: RaidVolume, spec: string | undefined): number {
  if (spec === undefined) throw new UsageError('name the member: a slot number or its directory');
  if (/^\d+$/.test(spec)) return Number(spec);
  const want = resolve(spec);
  const i = v.status().members.findIndex((m) => m.name === want);
  if (i < 0) throw new UsageError(`${spec} is not a member of this volume`);
  return i;
}

async function withVolume(v: RaidVolume, fn: (v: RaidVolume) => Promise<number>): Promise<number> {
  try {
    return await fn(v);
  } finally {
    await v.close().catch((e: unknown) => process.stderr.write(`closing the volume: ${errorMessage(e)}\n`));
  }
}

async function runRebuild(v: RaidVolume, rate: number | undefined): Promise<number> {
  const pending = v.rebuildPending;
  if (pending.length === 0) {
    process.stdout.write('Nothing to rebuild: every member is in sync.\n');
    return 0;
  }
  const clock = new NodeClock();
  const bar = progressReporter(`rebuild member${pending.length > 1 ? 's' : ''} ${pending.join(',')}`, clock);
  const r = await v.rebuild({ ...(rate === undefined ? {} : { bytesPerSecMax: rate }), onProgress: bar.update });
  bar.finish();
  const secs = Math.max(0.001, r.elapsedMs / 1000);
  process.stdout.write(`Rebuilt member${r.members.length > 1 ? 's' : ''} ${r.members.join(',')}: ${formatBytes(r.bytes)} in ${secs.toFixed(1)} s (${formatBytes(Math.round(r.bytes / secs))}/s). Volume ${v.health}, generation ${v.status().generation}.\n`);
  if (r.lostStripes > 0) {
    process.stderr.write(`${r.lostStripes} stripes could not be rebuilt (a second failure in the same stripe); reads of them fail with EIO.\n`);
    return 1;
  }
  return 0;
}

export const raidCommand: Command = {
  name: 'raid',
  summary: 'create, inspect, fail, replace, rebuild and scrub RAID-1/RAID-5 volumes over directories',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        level: { type: 'string' },
        chunk: { type: 'string' },
        rate: { type: 'string' },
        check: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'no-rebuild': { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const rate = values.rate === undefined ? undefined : parseBytes(values.rate, '--rate');
    switch (sub) {
      case 'create': {
        const level = Number(values.level);
        if (level !== 1 && level !== 5) throw new UsageError(`--level must be 1 or 5, got ${values.level ?? '(none)'}`);
        const dirs = memberDirs(positionals.join(','), 'create');
        const chunkBytes = values.chunk === undefined ? RAID_CHUNK_BYTES_DEFAULT : parseBytes(values.chunk, '--chunk');
        const disks: Disk[] = [];
        for (const d of dirs) {
          const disk = new NodeDisk(d);
          await disk.mkdir('.');
          disks.push(disk);
        }
        const id = await createVolume({ members: disks, level, chunkBytes, random: nodeRandom(), clock: new NodeClock(), force: values.force });
        process.stdout.write(`Created RAID-${level} volume ${id} over ${dirs.length} members, chunk ${formatBytes(chunkBytes)}:\n${dirs.map((d, i) => `  ${i}  ${d}`).join('\n')}\nUse it: bulwark serve --data-dir ${dirs.join(',')} --raid ${level}\n`);
        return 0;
      }
      case 'status':
        return status(memberDirs(positionals[0], 'status'), values.json);
      case 'fail':
        return withVolume(await openForAdmin(memberDirs(positionals[0], 'fail'), values.force, false), async (v) => {
          const i = memberIndex(v, positionals[1]);
          await v.failMember(i, 'failed by operator (bulwark raid fail)');
          process.stdout.write(`Member ${i} failed; the volume is ${v.health}. Replace it with 'bulwark raid remove' and 'bulwark raid add'.\n`);
          return 0;
        });
      case 'remove':
        return withVolume(await openForAdmin(memberDirs(positionals[0], 'remove'), values.force, false), async (v) => {
          const i = memberIndex(v, positionals[1]);
          await v.removeMember(i);
          process.stdout.write(`Slot ${i} is empty; add a new directory with 'bulwark raid add'.\n`);
          return 0;
        });
      case 'add': {
        const dirs = memberDirs(positionals[0], 'add');
        if (positionals[1] === undefined) throw new UsageError('add: give the new member directory');
        const fresh = resolve(positionals[1]);
        return withVolume(await openForAdmin(dirs, values.force, false), async (v) => {
          const disk = new NodeDisk(fresh);
          await disk.mkdir('.');
          const slot = await v.addMember(disk, { force: values.force });
          const members = v.status().members.map((m) => m.name ?? '-');
          process.stdout.write(`${fresh} is member ${slot}. The volume is now ${members.join(',')}\n`);
          if (values['no-rebuild']) {
            process.stdout.write(`Rebuild pending: bulwark raid rebuild ${members.join(',')}\n`);
            return 0;
          }
          return runRebuild(v, rate);
        });
      }
      case 'rebuild':
        return withVolume(await openForAdmin(memberDirs(positionals[0], 'rebuild'), values.force, true), (v) => runRebuild(v, rate));
      case 'scrub': {
        if (values.check === values.repair) throw new UsageError('scrub: give exactly one of --check or --repair');
        const mode = values.check ? 'check' : 'repair';
        return withVolume(await openForAdmin(memberDirs(positionals[0], 'scrub'), values.force, false), async (v) => {
          const clock = new NodeClock();
          const bar = progressReporter(`scrub (${mode})`, clock);
          const r = await v.scrub({ mode, ...(rate === undefined ? {} : { bytesPerSecMax: rate }), onProgress: bar.update });
          bar.finish();
          const secs = Math.max(0.001, r.elapsedMs / 1000);
          process.stdout.write(`Scrub (${mode}): ${formatBytes(r.checkedBytes)} read in ${secs.toFixed(1)} s (${formatBytes(Math.round(r.checkedBytes / secs))}/s); mismatch_cnt ${r.mismatches}, repaired ${r.repaired}, lost ${r.lost}.\n`);
          return r.lost > 0 ? 1 : 0;
        });
      }
      case undefined:
        throw new UsageError('give a subcommand: create, status, fail, remove, add, rebuild or scrub');
      default:
        throw new UsageError(`unknown subcommand '${sub}'`);
    }
  },
};
