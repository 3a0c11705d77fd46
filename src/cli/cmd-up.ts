import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalCluster, type LocalMemberSpec } from '../server/local-cluster.js';
import { UsageError, type Command } from './command.js';

const USAGE = `bulwark up [flags]

Runs a local cluster of N members (default 3) as child processes on 127.0.0.1 and keeps it running
until Ctrl-C, which stops every member cleanly. Running it again resumes on the existing data.

Member i (1-based) serves clients on port 2379 + 10000*(i-1) (2379, 12379, 22379, ...) and peers on
that port + 1, so etcdctl's default endpoint (127.0.0.1:2379) reaches the first member.

Flags:
  --data-dir <dir>     where the members keep their data (default ./.bulwark)
  --members <n>        number of members, 1 to 7 (default 3)
  --consensus <p>      raft or paxos, for a new cluster (default raft); a resumed cluster keeps its own
  --paxos-phase1-quorum <n>, --paxos-phase2-quorum <n>
                       Flexible Paxos quorum sizes for a new paxos cluster (see bulwark serve; 0 or
                       absent: a majority); a resumed cluster keeps the sizes it was created with
  --raid <level>       keep each member's data on a RAID volume: 1 or 5, for a new cluster; a resumed
                       cluster keeps the storage it was created with (recorded in <data-dir>/up.json)
  --disks <n>          directories per member's RAID volume (default 3 for --raid 5, 2 for --raid 1)
  --base-port <port>   client port of the first member (default 2379)
  --verbose            show the members' logs here instead of in <data-dir>/<name>.log
  -- <flags>           anything after -- goes to every 'bulwark serve'`;

export const upCommand: Command = {
  name: 'up',
  summary: 'run a local cluster (3 members on 127.0.0.1 by default) until Ctrl-C',
  usage: USAGE,
  async run(argv) {
    const dash = argv.indexOf('--');
    const own = dash < 0 ? argv : argv.slice(0, dash);
    const extra = dash < 0 ? [] : argv.slice(dash + 1);
    const { values } = parseArgs({
      args: [...own],
      options: {
        'data-dir': { type: 'string', default: '.bulwark' },
        members: { type: 'string', default: '3' },
        consensus: { type: 'string' },
        'paxos-phase1-quorum': { type: 'string' },
        'paxos-phase2-quorum': { type: 'string' },
        raid: { type: 'string' },
        disks: { type: 'string' },
        'base-port': { type: 'string', default: '2379' },
        verbose: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const n = Number(values.members);
    if (!Number.isInteger(n) || n < 1 || n > 7) throw new UsageError(`--members must be between 1 and 7, got ${values.members}`);
    const basePort = Number(values['base-port']);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 10000 * (n - 1) + 1 > 65535) {
      throw new UsageError(`--base-port ${values['base-port']} leaves no room for ${n} members`);
    }
    const dir = resolve(values['data-dir']);
    const members: LocalMemberSpec[] = Array.from({ length: n }, (_, i) => ({
      name: `m${i + 1}`,
      clientPort: basePort + 10000 * i,
      peerPorts: [basePort + 10000 * i + 1],
    }));
    const resuming = existsSync(resolve(dir, 'm1'));
    const record = resuming ? readUpRecord(dir) : null;
    const consensus = chooseConsensus(dir, record, values.consensus);
    const quorums = choosePaxosQuorums(dir, record, consensus, n, { phase1: values['paxos-phase1-quorum'], phase2: values['paxos-phase2-quorum'] });
    const raid = chooseRaid(dir, resuming, record, { level: values.raid, disks: values.disks });
    const quorumArgs = [
      ...(quorums.phase1 > 0 ? ['--paxos-phase1-quorum', String(quorums.phase1)] : []),
      ...(quorums.phase2 > 0 ? ['--paxos-phase2-quorum', String(quorums.phase2)] : []),
    ];
    let stopping = false;
    const cluster = new LocalCluster({
      dir,
      members,
      token: 'bulwark-up',
      extraArgs: ['--consensus', consensus, ...quorumArgs, ...extra],
      output: values.verbose ? 'inherit' : 'files',
      ...(raid === undefined ? {} : { raid }),
      onExit: (name, code, signal) => {
        if (!stopping) process.stderr.write(`member ${name} exited (${signal ?? `code ${code}`}); see ${cluster.logFile(name)}\n`);
      },
    });
    const q = quorumArgs.length === 0 ? '' : `, quorums phase 1 ${quorums.phase1 || 'majority'} / phase 2 ${quorums.phase2 || 'majority'}`;
    const on = `${q}${raid === undefined ? '' : `, each member on RAID-${raid.level} over ${raid.disks} disks`}`;
    process.stdout.write(`${resuming ? 'Resuming' : 'Starting'} a ${n}-member Bulwark cluster (${consensus}${on}) in ${dir}\n`);
    if (!resuming || record?.raid === undefined || (consensus === 'paxos' && record?.paxosQuorums === undefined)) {
      // A cluster from an older `bulwark up` gets the full record now, so its next resume is checked.
      mkdirSync(dir, { recursive: true });
      const rec: UpRecord = { consensus, raid: raid ?? null, ...(consensus === 'paxos' ? { paxosQuorums: quorums } : {}) };
      writeFileSync(resolve(dir, UP_FILE), `${JSON.stringify(rec)}\n`);
    }
    await cluster.startAll();
    const stop = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      process.stdout.write('\nStopping the cluster...\n');
      await cluster.stopAll();
      process.stdout.write('Stopped. Run `bulwark up` again to resume on the same data.\n');
    };
    const done = new Promise<void>((resolveDone) => {
      const onSignal = (): void => {
        void stop().then(resolveDone);
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
    try {
      await cluster.waitAllHealthy(60_000);
    } catch (e) {
      if (!stopping) {
        process.stderr.write(`${(e as Error).message}\n`);
        await stop();
        return 1;
      }
    }
    if (!stopping) {
      const eps = cluster.endpoints().join(',');
      const lines = [
        '',
        'The cluster is up:',
        ...members.map((m) => `  ${m.name}  client http://127.0.0.1:${m.clientPort}  peer http://127.0.0.1:${m.peerPorts[0]}  log ${cluster.logFile(m.name)}`),
        '',
        'Talk to it:',
        `  npx bulwark put greeting hello --endpoints=${eps}`,
        `  npx bulwark get greeting --endpoints=${eps}`,
        `  ETCDCTL_API=3 etcdctl --endpoints=${eps} endpoint status -w table`,
        `  dashboard: http://127.0.0.1:${members[0]!.clientPort}/dashboard    metrics: http://127.0.0.1:${members[0]!.clientPort}/metrics`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
    }
    await done;
    return 0;
  },
};

/** What `bulwark up` remembers about the cluster it created in a directory. */
const UP_FILE = 'up.json';

/** RAID settings of a cluster's members, as `bulwark up` records them. */
export interface RaidSettings {
  readonly level: 1 | 5;
  readonly disks: number;
}

/**
 * What up.json holds. `raid` is null for members on plain directories; a field that is missing
 * (undefined) comes from an older `bulwark up` that did not record it.
 */
export interface UpRecord {
  readonly consensus?: 'raft' | 'paxos';
  readonly raid?: RaidSettings | null;
  /** Flexible Paxos sizes a paxos cluster was created with (0: the default rule). */
  readonly paxosQuorums?: PaxosQuorumSettings;
}

export interface PaxosQuorumSettings {
  readonly phase1: number;
  readonly phase2: number;
}

/** The record of a resumed cluster; an unreadable or foreign file reads as an empty record. */
export function readUpRecord(dir: string): UpRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(dir, UP_FILE), 'utf8'));
  } catch {
    return {}; // created by an older `bulwark up`: trust the flags
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const o = raw as { consensus?: unknown; raid?: unknown; paxosQuorums?: unknown };
  const consensus = o.consensus === 'raft' || o.consensus === 'paxos' ? o.consensus : undefined;
  let raid: RaidSettings | null | undefined;
  if (o.raid === null) raid = null;
  else if (typeof o.raid === 'object') {
    const r = o.raid as { level?: unknown; disks?: unknown };
    if ((r.level === 1 || r.level === 5) && typeof r.disks === 'number' && Number.isInteger(r.disks)) raid = { level: r.level, disks: r.disks };
  }
  let paxosQuorums: PaxosQuorumSettings | undefined;
  if (typeof o.paxosQuorums === 'object' && o.paxosQuorums !== null) {
    const q = o.paxosQuorums as { phase1?: unknown; phase2?: unknown };
    const ok = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
    if (ok(q.phase1) && ok(q.phase2)) paxosQuorums = { phase1: q.phase1, phase2: q.phase2 };
  }
  return { ...(consensus === undefined ? {} : { consensus }), ...(raid === undefined ? {} : { raid }), ...(paxosQuorums === undefined ? {} : { paxosQuorums }) };
}

/**
 * Flexible Paxos quorum sizes: a new cluster's come from the flags (checked here against the
 * member count, so a mistake is one message rather than every member exiting); a resumed cluster
 * keeps those it was created with, and a flag that says otherwise is refused with what to do.
 */
export function choosePaxosQuorums(
  dir: string,
  record: UpRecord | null,
  consensus: 'raft' | 'paxos',
  members: number,
  flags: { phase1: string | undefined; phase2: string | undefined },
): PaxosQuorumSettings {
  const parse = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!Number.isInteger(x) || x < 0 || x > members) throw new UsageError(`--${flag} must be between 0 (a majority) and the ${members} members, got ${v}`);
    return x;
  };
  const p1 = parse('paxos-phase1-quorum', flags.phase1);
  const p2 = parse('paxos-phase2-quorum', flags.phase2);
  if (consensus !== 'paxos') {
    if ((p1 ?? 0) > 0 || (p2 ?? 0) > 0) throw new UsageError('--paxos-phase1-quorum and --paxos-phase2-quorum apply to a paxos cluster only (--consensus paxos)');
    return { phase1: 0, phase2: 0 };
  }
  const recorded = record?.paxosQuorums;
  if (recorded !== undefined) {
    if ((p1 !== undefined && p1 !== recorded.phase1) || (p2 !== undefined && p2 !== recorded.phase2)) {
      throw new UsageError(
        `the cluster in ${dir} was created with --paxos-phase1-quorum ${recorded.phase1} --paxos-phase2-quorum ${recorded.phase2} (0: a majority); every member must use the same sizes. Run without the quorum flags to resume it, or choose another --data-dir for a new cluster`,
      );
    }
    return recorded;
  }
  const q = { phase1: p1 ?? 0, phase2: p2 ?? 0 };
  if (q.phase1 > 0 && q.phase2 > 0 && q.phase1 + q.phase2 <= members) {
    throw new UsageError(`--paxos-phase1-quorum ${q.phase1} and --paxos-phase2-quorum ${q.phase2} do not intersect for ${members} members: their sum must exceed ${members}`);
  }
  return q;
}

/**
 * The protocol to run: a new cluster's is the flag's (raft by default); a resumed cluster keeps
 * the one it was created with, and a flag that says otherwise is refused here, with what to do,
 * rather than by every member.
 */
function chooseConsensus(dir: string, record: UpRecord | null, flag: string | undefined): 'raft' | 'paxos' {
  if (flag !== undefined && flag !== 'raft' && flag !== 'paxos') throw new UsageError(`--consensus must be raft or paxos, got ${flag}`);
  const recorded = record?.consensus;
  if (recorded === undefined) return flag ?? 'raft';
  if (flag !== undefined && flag !== recorded) {
    throw new UsageError(`the cluster in ${dir} runs ${recorded}; a cluster keeps the protocol it was created with. Run without --consensus (or with --consensus ${recorded}) to resume it, or choose another --data-dir for a new ${flag} cluster`);
  }
  return recorded;
}

/** The fewest and most directories a member's volume may have, by level. */
const RAID_DISKS_MIN = { 1: 2, 5: 3 } as const;
const RAID_DISKS_MAX = 16;

function parseRaidFlags(flags: { level: string | undefined; disks: string | undefined }): { level?: 1 | 5; disks?: number } {
  let level: 1 | 5 | undefined;
  if (flags.level !== undefined) {
    const l = Number(flags.level);
    if (l !== 1 && l !== 5) throw new UsageError(`--raid must be 1 or 5, got ${flags.level}`);
    level = l;
  }
  let disks: number | undefined;
  if (flags.disks !== undefined) {
    disks = Number(flags.disks);
    if (!Number.isInteger(disks) || disks < 2 || disks > RAID_DISKS_MAX) throw new UsageError(`--disks must be between 2 and ${RAID_DISKS_MAX}, got ${flags.disks}`);
  }
  return { ...(level === undefined ? {} : { level }), ...(disks === undefined ? {} : { disks }) };
}

/**
 * The RAID settings to run with. A new cluster takes the flags; a resumed cluster keeps what it
 * was created with — without --raid it resumes on its volumes, not on plain directories beside
 * them — and a flag that contradicts the record is refused with what to do.
 */
export function chooseRaid(
  dir: string,
  resuming: boolean,
  record: UpRecord | null,
  flags: { level: string | undefined; disks: string | undefined },
): RaidSettings | undefined {
  const f = parseRaidFlags(flags);
  const recorded = record?.raid;
  if (!resuming || recorded === undefined) {
    if (resuming && f.level === undefined && existsSync(resolve(dir, 'm1', 'disk1'))) {
      throw new UsageError(`the members in ${dir} keep their data on RAID volumes (${resolve(dir, 'm1')}/disk1, ...) but ${UP_FILE} does not say which; run again with the --raid and --disks it was created with`);
    }
    if (f.level === undefined) {
      if (f.disks !== undefined) throw new UsageError('--disks needs --raid');
      return undefined;
    }
    const disks = f.disks ?? RAID_DISKS_MIN[f.level];
    if (disks < RAID_DISKS_MIN[f.level]) throw new UsageError(`--disks ${disks} is not enough for RAID-${f.level} (at least ${RAID_DISKS_MIN[f.level]})`);
    return { level: f.level, disks };
  }
  if (recorded === null) {
    if (f.level !== undefined || f.disks !== undefined) {
      throw new UsageError(`the members of the cluster in ${dir} keep their data in plain directories; a cluster keeps the storage it was created with. Run without --raid and --disks to resume it, or choose another --data-dir for a new cluster on RAID`);
    }
    return undefined;
  }
  if ((f.level !== undefined && f.level !== recorded.level) || (f.disks !== undefined && f.disks !== recorded.disks)) {
    const asked = [f.level === undefined ? null : `--raid ${f.level}`, f.disks === undefined ? null : `--disks ${f.disks}`].filter((x) => x !== null).join(' ');
    throw new UsageError(`the members of the cluster in ${dir} keep their data on RAID-${recorded.level} over ${recorded.disks} disks, not ${asked}; a cluster keeps the storage it was created with. Run without --raid and --disks (or with --raid ${recorded.level} --disks ${recorded.disks}) to resume it, or choose another --data-dir for a new cluster`);
  }
  return recorded;
}
