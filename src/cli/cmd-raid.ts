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
  type RaidVolume,
  type Superblock,
} from '../storage/index.js';
import { liveOwner } from '../server/volume-owner.js';
import { UsageError, type Command } from './command.js';
import { activityText, formatBytes, parseBytes, progressReporter, scrubText, table } from './raid-format.js';
import { RaidLiveError, endpointUrl, liveAdd, liveFail, liveRebuild, liveRemove, liveScrub, liveStatus, statusText } from './raid-live.js';

export { formatBytes, parseBytes } from './raid-format.js';

const USAGE = `bulwark raid <subcommand> [flags]

RAID-1 (mirror) and RAID-5 (striped parity) volumes over directories; each directory may be its own
disk or mount. A volume is given as its member directories, comma-separated (any order), or, while
a member runs on it, as that member's client URL (--endpoint).

  bulwark raid create --level 5 [--chunk 64KiB] [--force] d1 d2 d3
  bulwark raid status (d1,d2,d3 | --endpoint URL) [--json]
  bulwark raid fail (d1,d2,d3 | --endpoint URL) <member>      take a member out (a directory or a slot number)
  bulwark raid remove (d1,d2,d3 | --endpoint URL) <member>    empty the slot of a failed member
  bulwark raid add (d1,d2,d3 | --endpoint URL) <new-dir> [--force] [--no-rebuild] [--rate 64MiB]
  bulwark raid rebuild (d1,d2,d3 | --endpoint URL) [--rate 64MiB]
  bulwark raid scrub (d1,d2,d3 | --endpoint URL) (--check | --repair) [--rate 32MiB]

A running member (bulwark serve --data-dir d1,d2,d3 --raid 5) holds its volume: the subcommands then
act through the member's /raid endpoints on its client port. Give --endpoint, or give the
directories: the superblocks name the process that holds the volume and its URL, and the command
goes there by itself. A stopped member's volume is opened here directly. A live member rebuilds a
new or stale member on its own, at once; its rebuilds and scrubs run in the member, and the command
follows their progress until they end (--no-wait to return at once). Changes are accepted only from
the member's own machine.

Flags:
  --endpoint <url>  a running member's client URL (e.g. http://127.0.0.1:2379)
  --level <1|5>     RAID level (create)
  --chunk <size>    chunk (stripe unit and checksum block) size, a power of two, 4KiB to 512KiB (create; default 64KiB)
  --rate <size>     throttle for rebuild and scrub, per second (as md's speed_limit_max)
  --check           scrub: count mismatches (md's mismatch_cnt) without changing anything
  --repair          scrub: rewrite what is wrong from redundancy
  --force           create/add over a directory that is not blank; open a volume here even though a live process holds it
  --no-rebuild      add, offline: leave the new member pending (a live member rebuilds at once)
  --no-wait         live: start the rebuild or scrub and return
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

function memberDirs(arg: string | undefined, what: string): string[] {
  if (arg === undefined || arg.trim() === '') throw new UsageError(`${what}: give the member directories, comma-separated`);
  const dirs = arg.split(',').map((d) => d.trim()).filter((d) => d !== '').map((d) => resolve(d));
  if (new Set(dirs).size !== dirs.length) throw new UsageError(`${what}: a directory is listed twice`);
  return dirs;
}

async function newestSuperblock(disks: readonly Disk[]): Promise<Superblock | null> {
  const probes = await Promise.all(disks.map(probeMember));
  try {
    return assemble(probes).newest;
  } catch {
    return null;
  }
}

/** Where a subcommand acts: a live member's /raid endpoints, or the directories themselves. */
type Target = { readonly type: 'live'; readonly url: string } | { readonly type: 'offline'; readonly dirs: string[] };

/**
 * --endpoint wins; otherwise a volume a live member holds is reached through that member (its URL
 * is in the superblocks), unless --force; otherwise the directories are opened here.
 */
async function resolveTarget(endpoint: string | undefined, dirsArg: string | undefined, what: string, force: boolean): Promise<Target> {
  if (endpoint !== undefined) return { type: 'live', url: endpointUrl(endpoint) };
  const dirs = memberDirs(dirsArg, what);
  if (force) return { type: 'offline', dirs };
  const sb = await newestSuperblock(dirs.map((d) => new NodeDisk(d)));
  const owner = sb === null || sb.clean ? null : liveOwner(sb.owner);
  if (owner === null) return { type: 'offline', dirs };
  if (owner.url === null) throw new Error(`the volume is open in process ${owner.pid} (${sb!.owner}); stop it first, or use --force`);
  process.stderr.write(`The volume is open in process ${owner.pid}; asking it at ${owner.url}.\n`);
  return { type: 'live', url: owner.url };
}

async function openForAdmin(dirs: readonly string[], resync: boolean): Promise<RaidVolume> {
  const disks = dirs.map((d) => new NodeDisk(d));
  return openVolume({ members: disks, clock: new NodeClock(), logger: quietLogger, resync, owner: `${process.pid}@${hostname()}` });
}

/** Status from the superblocks alone (safe while a member runs, but only as fresh as they are). */
async function offlineStatus(dirs: readonly string[], json: boolean): Promise<number> {
  const disks = dirs.map((d) => new NodeDisk(d));
  const probes = await Promise.all(disks.map(probeMember));
  const asm = assemble(probes);
  const sb = asm.newest;
  const failed = asm.slots.filter((s) => s.state === 'active').length < (sb.level === 5 ? sb.memberCount - 1 : 1);
  const degraded = asm.slots.some((s) => s.state !== 'active');
  const health = failed ? 'FAILED' : degraded ? 'degraded' : 'clean';
  const owner = sb.clean ? null : liveOwner(sb.owner);
  const openState = sb.clean ? 'closed cleanly' : owner !== null ? `open in process ${owner.pid}` : 'not closed cleanly (the journal is replayed on the next open)';
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
  lines.push(`Scrub:    ${scrubText(sb.lastScrub)}`);
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

/** Splits positionals into the volume (directories, absent with --endpoint) and the operation's arguments. */
function split(positionals: readonly string[], endpoint: string | undefined, args: number, what: string): { dirs: string | undefined; rest: string[] } {
  const volumeArgs = endpoint === undefined ? 1 : 0;
  if (positionals.length > volumeArgs + args) throw new UsageError(`${what}: unexpected ${positionals.slice(volumeArgs + args).join(' ')}${endpoint !== undefined ? ' (with --endpoint, give no directories)' : ''}`);
  return { dirs: endpoint === undefined ? positionals[0] : undefined, rest: positionals.slice(volumeArgs) };
}

async function status(target: Target, json: boolean): Promise<number> {
  if (target.type === 'offline') return offlineStatus(target.dirs, json);
  const st = await liveStatus(target.url);
  if (json) {
    const out = { ...st, live: true, members: st.members.map((m) => ({ ...m, directory: m.name })) };
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } else {
    process.stdout.write(statusText(st, target.url) + '\n');
  }
  return st.health === 'failed' ? 2 : 0;
}

/** A member for the live path: a slot number, or a directory made absolute here. */
function memberSpec(spec: string | undefined): string {
  if (spec === undefined) throw new UsageError('name the member: a slot number or its directory');
  return /^\d+$/.test(spec) ? spec : resolve(spec);
}

export const raidCommand: Command = {
  name: 'raid',
  summary: 'create, inspect, fail, replace, rebuild and scrub RAID-1/RAID-5 volumes over directories (or on a running member)',
  usage: USAGE,
  async run(argv) {
    const [sub, ...restArgs] = argv;
    const { values, positionals } = parseArgs({
      args: restArgs,
      options: {
        endpoint: { type: 'string' },
        level: { type: 'string' },
        chunk: { type: 'string' },
        rate: { type: 'string' },
        check: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'no-rebuild': { type: 'boolean', default: false },
        'no-wait': { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const rate = values.rate === undefined ? undefined : parseBytes(values.rate, '--rate');
    const endpoint = values.endpoint;
    const live = { wait: !values['no-wait'], rate };
    switch (sub) {
      case 'create': {
        if (endpoint !== undefined) throw new UsageError('create works on directories; --endpoint does not apply');
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
      case 'status': {
        const { dirs } = split(positionals, endpoint, 0, 'status');
        const target = await resolveTarget(endpoint, dirs, 'status', values.force);
        try {
          return await status(target, values.json);
        } catch (e) {
          // The member named in the superblocks does not answer: show what the superblocks say.
          if (endpoint !== undefined || dirs === undefined || !(e instanceof RaidLiveError)) throw e;
          process.stderr.write(`${e.message}; showing the superblocks instead.\n`);
          return offlineStatus(memberDirs(dirs, 'status'), values.json);
        }
      }
      case 'fail':
      case 'remove': {
        const { dirs, rest } = split(positionals, endpoint, 1, sub);
        const target = await resolveTarget(endpoint, dirs, sub, values.force);
        if (target.type === 'live') return sub === 'fail' ? liveFail(target.url, memberSpec(rest[0])) : liveRemove(target.url, memberSpec(rest[0]));
        return withVolume(await openForAdmin(target.dirs, false), async (v) => {
          const i = memberIndex(v, rest[0]);
          if (sub === 'fail') {
            await v.failMember(i, 'failed by operator (bulwark raid fail)');
            process.stdout.write(`Member ${i} failed; the volume is ${v.health}. Replace it with 'bulwark raid remove' and 'bulwark raid add'.\n`);
          } else {
            await v.removeMember(i);
            process.stdout.write(`Slot ${i} is empty; add a new directory with 'bulwark raid add'.\n`);
          }
          return 0;
        });
      }
      case 'add': {
        const { dirs, rest } = split(positionals, endpoint, 1, 'add');
        if (rest[0] === undefined) throw new UsageError('add: give the new member directory');
        const fresh = resolve(rest[0]);
        const target = await resolveTarget(endpoint, dirs, 'add', values.force);
        if (target.type === 'live') return liveAdd(target.url, fresh, values.force, live);
        return withVolume(await openForAdmin(target.dirs, false), async (v) => {
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
      case 'rebuild': {
        const { dirs } = split(positionals, endpoint, 0, 'rebuild');
        const target = await resolveTarget(endpoint, dirs, 'rebuild', values.force);
        if (target.type === 'live') return liveRebuild(target.url, live);
        return withVolume(await openForAdmin(target.dirs, true), (v) => runRebuild(v, rate));
      }
      case 'scrub': {
        if (values.check === values.repair) throw new UsageError('scrub: give exactly one of --check or --repair');
        const mode = values.check ? 'check' : 'repair';
        const { dirs } = split(positionals, endpoint, 0, 'scrub');
        const target = await resolveTarget(endpoint, dirs, 'scrub', values.force);
        if (target.type === 'live') return liveScrub(target.url, mode, live);
        return withVolume(await openForAdmin(target.dirs, false), async (v) => {
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
