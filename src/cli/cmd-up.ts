import { existsSync } from 'node:fs';
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
  --consensus <p>      raft or paxos, for a new cluster (default raft)
  --raid <level>       keep each member's data on a RAID volume: 1 or 5
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
        consensus: { type: 'string', default: 'raft' },
        raid: { type: 'string' },
        disks: { type: 'string' },
        'base-port': { type: 'string', default: '2379' },
        verbose: { type: 'boolean', default: false },
      },
      strict: true,
    });
    const n = Number(values.members);
    if (!Number.isInteger(n) || n < 1 || n > 7) throw new UsageError(`--members must be between 1 and 7, got ${values.members}`);
    if (values.consensus !== 'raft' && values.consensus !== 'paxos') throw new UsageError(`--consensus must be raft or paxos, got ${values.consensus}`);
    const basePort = Number(values['base-port']);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 10000 * (n - 1) + 1 > 65535) {
      throw new UsageError(`--base-port ${values['base-port']} leaves no room for ${n} members`);
    }
    let raid: { level: 1 | 5; disks: number } | undefined;
    if (values.raid !== undefined) {
      const level = Number(values.raid);
      if (level !== 1 && level !== 5) throw new UsageError(`--raid must be 1 or 5, got ${values.raid}`);
      const disks = Number(values.disks ?? (level === 5 ? 3 : 2));
      if (!Number.isInteger(disks) || disks < (level === 5 ? 3 : 2) || disks > 16) throw new UsageError(`--disks ${values.disks} is not enough for RAID-${level}`);
      raid = { level, disks };
    } else if (values.disks !== undefined) {
      throw new UsageError('--disks needs --raid');
    }
    const dir = resolve(values['data-dir']);
    const members: LocalMemberSpec[] = Array.from({ length: n }, (_, i) => ({
      name: `m${i + 1}`,
      clientPort: basePort + 10000 * i,
      peerPorts: [basePort + 10000 * i + 1],
    }));
    const resuming = existsSync(resolve(dir, 'm1'));
    let stopping = false;
    const cluster = new LocalCluster({
      dir,
      members,
      token: 'bulwark-up',
      extraArgs: ['--consensus', values.consensus, ...extra],
      output: values.verbose ? 'inherit' : 'files',
      ...(raid === undefined ? {} : { raid }),
      onExit: (name, code, signal) => {
        if (!stopping) process.stderr.write(`member ${name} exited (${signal ?? `code ${code}`}); see ${cluster.logFile(name)}\n`);
      },
    });
    process.stdout.write(`${resuming ? 'Resuming' : 'Starting'} a ${n}-member Bulwark cluster (${values.consensus}) in ${dir}\n`);
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
