import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../bench/bench-options.js';
import { runCampaign } from '../chaos/campaign.js';
import type { ClusterTarget } from '../chaos/cluster-target.js';
import { FAULT_GROUPS, FAULT_KINDS, parseFaultList } from '../chaos/fault-kinds.js';
import { netnsUnavailable } from '../chaos/netns-fabric.js';
import { formatReport } from '../chaos/report.js';
import { BulwarkTarget, bulwarkServeAvailable } from '../chaos/target-bulwark.js';
import { EndpointsTarget } from '../chaos/target-endpoints.js';
import { ETCD_BIN_DEFAULT, EtcdTarget } from '../chaos/target-etcd.js';
import { WORKLOAD_NAMES, type WorkloadName } from '../chaos/workload.js';
import { UsageError, type Command } from './command.js';

const usage = `bulwark chaos: Jepsen-style verification against real processes

Starts a cluster (or uses given endpoints), runs a workload while a nemesis injects faults,
heals everything, then checks the recorded history. Writes history.json, timeline.html and
report.txt to the output folder. Exit status: 0 no anomaly, 1 anomalies found, 3 undecided.

Usage:
  bulwark chaos [--target bulwark|etcd] [--workload NAME] [--faults LIST] [--duration 60s] [flags]
  bulwark chaos --target endpoints --endpoints HOST:PORT,... [--workload NAME]

Target:
  --target T             bulwark (default; starts \`bulwark serve\` members), etcd (starts
                         etcd members: the reference), endpoints (given; only API faults)
  --members N            cluster size (default 3)
  --consensus P          bulwark: raft (default) or paxos, the members' --consensus
  --endpoints LIST       for --target endpoints
  --network N            proxy (default): a fault-injecting proxy on every peer link;
                         netns: each member in a network namespace, faults by iptables/tc
                         (root, Linux; falls back to proxy with a message); none
  --etcd-bin PATH        (default ${ETCD_BIN_DEFAULT})
  --heartbeat-interval MS --election-timeout MS   members' timing (default 100 / 1000)
  --unsafe-planted-bug NAME   bulwark: start members with a planted bug (e.g. stale-reads)
  --dir DIR              data directories and member logs (default: a temporary directory,
                         removed afterwards unless --keep-data)
  --keep-data

Workload:
  --workload NAME        ${WORKLOAD_NAMES.join(', ')} (default register)
  --clients N            concurrent clients, bound to members round-robin (default 6)
  --rate N               operations per second over all clients (default 200)
  --reads MODE           linearizable (default) or serializable: serializable reads may be
                         stale, so the checkers should catch them under partitions
  --op-timeout D         deadline of one operation; a write past it is "in doubt" (default 1s)

Faults:
  --faults LIST          comma-separated kinds or groups (default all the target supports):
                         ${FAULT_KINDS.join(', ')}
                         groups: ${Object.keys(FAULT_GROUPS).join(', ')}; none
  --fault-interval D     quiet time between faults (default 3s, jittered ±50 %)
  --fault-duration D     how long a fault is held (default 3s, jittered ±50 %)
  --fault-order O        random (default) or cycle (each kind in turn)

Run:
  --duration D           load phase (default 30s); then healing, final reads, checking
  --seed N               every random choice derives from it (default: time)
  --out DIR              (default ./chaos-results/<workload>-<seed>)
  --quiet                no progress lines

Examples:
  bulwark chaos --target etcd --workload register --faults partition,kill --duration 60s
  bulwark chaos --consensus paxos --workload register --faults kill,partition-halves --duration 60s
  bulwark chaos --target etcd --workload set --faults all --network netns
  bulwark chaos --target etcd --workload register --reads serializable --faults partition-lone`;

const options = {
  target: { type: 'string' },
  members: { type: 'string' },
  consensus: { type: 'string' },
  endpoints: { type: 'string' },
  network: { type: 'string' },
  'etcd-bin': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  'election-timeout': { type: 'string' },
  'unsafe-planted-bug': { type: 'string' },
  dir: { type: 'string' },
  'keep-data': { type: 'boolean' },
  workload: { type: 'string' },
  clients: { type: 'string' },
  rate: { type: 'string' },
  reads: { type: 'string' },
  'op-timeout': { type: 'string' },
  faults: { type: 'string' },
  'fault-interval': { type: 'string' },
  'fault-duration': { type: 'string' },
  'fault-order': { type: 'string' },
  duration: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

function int(flag: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${flag}: expected a whole number of at least ${min}, got "${v}"`);
  return Number(v);
}

function duration(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const d = parseDurationMs(v);
  if (d === null || d <= 0) throw new UsageError(`--${flag}: expected a duration like 30s, 500ms or 2m, got "${v}"`);
  return d;
}

export const chaosCommand: Command = {
  name: 'chaos',
  summary: 'Jepsen-style fault injection against real processes, with history checkers',
  usage,
  async run(args) {
    const { values } = parseArgs({ args: [...args], options, allowPositionals: false, strict: true });
    const targetKind = values.target ?? 'bulwark';
    if (!['bulwark', 'etcd', 'endpoints'].includes(targetKind)) throw new UsageError(`--target: expected bulwark, etcd or endpoints, got "${targetKind}"`);
    const workload = (values.workload ?? 'register') as WorkloadName;
    if (!(WORKLOAD_NAMES as readonly string[]).includes(workload)) throw new UsageError(`--workload: expected one of ${WORKLOAD_NAMES.join(', ')}, got "${workload}"`);
    const reads = values.reads ?? 'linearizable';
    if (reads !== 'linearizable' && reads !== 'serializable') throw new UsageError(`--reads: expected linearizable or serializable, got "${reads}"`);
    const parsed = parseFaultList(values.faults ?? 'all');
    if (parsed.unknown.length > 0) throw new UsageError(`--faults: unknown ${parsed.unknown.join(', ')} (kinds: ${FAULT_KINDS.join(', ')}; groups: ${Object.keys(FAULT_GROUPS).join(', ')})`);
    let network = values.network ?? 'proxy';
    if (!['proxy', 'netns', 'none'].includes(network)) throw new UsageError(`--network: expected proxy, netns or none, got "${network}"`);
    const faultOrder = values['fault-order'] ?? 'random';
    if (faultOrder !== 'random' && faultOrder !== 'cycle') throw new UsageError(`--fault-order: expected random or cycle, got "${faultOrder}"`);
    const members = int('members', values.members, 3);
    const consensus = values.consensus ?? 'raft';
    if (consensus !== 'raft' && consensus !== 'paxos') throw new UsageError(`--consensus: expected raft or paxos, got "${consensus}"`);
    if (values.consensus !== undefined && targetKind !== 'bulwark') throw new UsageError('--consensus is for --target bulwark (etcd runs Raft)');
    const seed = values.seed === undefined ? Date.now() % 1_000_000 : int('seed', values.seed, 0, 0);
    const quiet = values.quiet === true;
    const log = (line: string): void => {
      if (!quiet) process.stderr.write(`[chaos] ${line}\n`);
    };
    if (network === 'netns') {
      const why = await netnsUnavailable();
      if (why !== null) {
        process.stderr.write(`bulwark chaos: network namespaces are not available here (${why}); using the proxy fabric instead\n`);
        network = 'proxy';
      }
    }
    const tempDir = values.dir === undefined;
    const dir = values.dir === undefined ? mkdtempSync(join(tmpdir(), 'bulwark-chaos-')) : resolve(values.dir);
    const common = {
      size: members,
      dir,
      network: network as 'proxy' | 'netns' | 'none',
      seed,
      heartbeatMs: int('heartbeat-interval', values['heartbeat-interval'], 100),
      electionMs: int('election-timeout', values['election-timeout'], 1000),
      onUnexpectedExit: (m: string, code: number | null, signal: string | null) => log(`member ${m} exited on its own (code ${code}, signal ${signal}); see ${join(dir, `${m}.log`)}`),
    };
    let target: ClusterTarget;
    switch (targetKind) {
      case 'endpoints': {
        if (values.endpoints === undefined) throw new UsageError('--target endpoints needs --endpoints HOST:PORT,...');
        target = new EndpointsTarget(values.endpoints.split(',').map((e) => e.trim()).filter((e) => e.length > 0));
        break;
      }
      case 'etcd': {
        const bin = values['etcd-bin'] ?? ETCD_BIN_DEFAULT;
        if (!EtcdTarget.available(bin)) throw new UsageError(`no etcd at ${bin} (apt-get install -y etcd-server, or --etcd-bin PATH)`);
        target = new EtcdTarget(common, bin);
        break;
      }
      default: {
        if (!bulwarkServeAvailable()) throw new UsageError('this build has no `bulwark serve` yet: use --target etcd (or --target endpoints)');
        const bug = values['unsafe-planted-bug'];
        target = new BulwarkTarget({ ...common, consensus, ...(bug === undefined ? {} : { plantedBug: bug }) });
      }
    }
    if (values['unsafe-planted-bug'] !== undefined && targetKind !== 'bulwark') throw new UsageError('--unsafe-planted-bug is for --target bulwark');
    const abort = new AbortController();
    const onSigint = (): void => {
      log('interrupted: ending the load phase, then healing and checking (Ctrl-C again to quit at once)');
      abort.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    try {
      const result = await runCampaign({
        target,
        network,
        workload,
        clients: int('clients', values.clients, 6),
        durationMs: duration('duration', values.duration, 30_000),
        faults: parsed.kinds,
        faultIntervalMs: duration('fault-interval', values['fault-interval'], 3000),
        faultDurationMs: duration('fault-duration', values['fault-duration'], 3000),
        faultOrder,
        opTimeoutMs: duration('op-timeout', values['op-timeout'], 1000),
        ratePerSecond: int('rate', values.rate, 200),
        reads,
        seed,
        outDir: resolve(values.out ?? join('chaos-results', `${workload}-${seed}`)),
        log,
        signal: abort.signal,
      });
      process.stdout.write(formatReport(result) + '\n');
      return result.verdict === 'valid' ? 0 : result.verdict === 'invalid' ? 1 : 3;
    } finally {
      process.off('SIGINT', onSigint);
      if (tempDir && values['keep-data'] !== true) rmSync(dir, { recursive: true, force: true });
      else log(`data and member logs kept in ${dir}`);
    }
  },
};
