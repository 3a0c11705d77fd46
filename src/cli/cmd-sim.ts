/**
 * `bulwark sim`: the deterministic simulator. One seed reproduces one run exactly; a sweep runs
 * many seeds with a progress bar and a summary; a failure prints its parameters and the command
 * that reproduces it.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { randomInt } from 'node:crypto';
import { UsageError, type Command } from './command.js';
import { historyToJson } from '../check/history.js';
import { SIM_CLUSTER_SIZE_MAX } from '../core/limits.js';
import { PaxosError, quorumSizes } from '../paxos/index.js';
import { CONSENSUS_KINDS, engineFactory, type ConsensusKind, type PaxosQuorums } from '../sim/engines.js';
import { describeParams, type SimParams } from '../sim/params.js';
import { PROFILES, type Profile } from '../sim/profiles.js';
import { describeViolation, runSimulation, type SimResult } from '../sim/simulation.js';
import { STORAGE_PLANTED_BUGS } from '../sim/wal-storage.js';

const SIM_STORAGE_FLAGS = ['wal', 'memory', 'raid1', 'raid5'] as const;
type SimStorageFlag = (typeof SIM_STORAGE_FLAGS)[number];

const USAGE = `bulwark sim: run the deterministic simulator (virtual time, simulated network and disk, fault injection)

Usage:
  bulwark sim --seed N                 run one seed (reproduces a run exactly)
  bulwark sim --seeds K [--from N]     sweep K seeds (from N, or from a random start) with a summary
  bulwark sim --seed N --check-determinism   run the seed twice and compare trace hashes

Flags:
  --consensus raft|paxos|stand-in  the engine (default raft; stand-in is the simulator's own small Raft)
  --planted-bug NAME               turn on a test-only bug in the engine or the storage (wal-*), to watch the checkers catch it
  --profile NAME                   lean the swarm toward one kind of trouble: ${PROFILES.join(', ')} (default swarm)
  --storage wal|memory|raid1|raid5 members' storage: the write-ahead log over a simulated disk (default), in memory, or the
                                   write-ahead log on a RAID-1/RAID-5 volume over several disks, one of them faulty
                                   (lost and replaced live, rotting, tearing)
  --cluster-size N                 every run's cluster has N members (default: each seed picks 1 to ${SIM_CLUSTER_SIZE_MAX})
  --paxos-phase1-quorum N          Flexible Paxos (paxos only, needs --cluster-size): voters in a phase-1 quorum
  --paxos-phase2-quorum N          ... and in a phase-2 quorum; phase 1 + phase 2 must exceed the cluster size
  --history FILE                   write the client history of a single run as JSON
  --json                           machine-readable output
  --verbose                        print every run of a sweep, not only failures`;

export const simCommand: Command = {
  name: 'sim',
  summary: 'run the deterministic simulator: seeds, sweeps, fault injection and safety checks',
  usage: USAGE,
  async run(args) {
    const { values } = parseArgs({
      args: [...args],
      options: {
        seed: { type: 'string' },
        seeds: { type: 'string' },
        from: { type: 'string' },
        consensus: { type: 'string', default: 'raft' },
        'planted-bug': { type: 'string' },
        profile: { type: 'string', default: 'swarm' },
        storage: { type: 'string' },
        'cluster-size': { type: 'string' },
        'paxos-phase1-quorum': { type: 'string' },
        'paxos-phase2-quorum': { type: 'string' },
        'check-determinism': { type: 'boolean', default: false },
        history: { type: 'string' },
        json: { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    const consensus = values.consensus as ConsensusKind;
    if (!(CONSENSUS_KINDS as readonly string[]).includes(consensus)) throw new UsageError(`--consensus must be one of ${CONSENSUS_KINDS.join(', ')}`);
    let factory;
    try {
      factory = engineFactory(consensus);
    } catch (e) {
      process.stderr.write(`bulwark sim: ${(e as Error).message}\n`);
      return 2;
    }
    const plantedBug = values['planted-bug'] ?? null;
    const bugs = [...factory.plantedBugs, ...STORAGE_PLANTED_BUGS];
    if (plantedBug !== null && !bugs.includes(plantedBug)) {
      throw new UsageError(`--planted-bug must be one of ${bugs.join(', ')} for ${consensus}`);
    }
    if ((values.seed === undefined) === (values.seeds === undefined)) throw new UsageError('give exactly one of --seed N or --seeds K');
    const profile = values.profile as Profile;
    if (!(PROFILES as readonly string[]).includes(profile)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}`);
    const storage = SIM_STORAGE_FLAGS.find((x) => x === values.storage) ?? null;
    if (values.storage !== undefined && storage === null) throw new UsageError(`--storage must be one of ${SIM_STORAGE_FLAGS.join(', ')}`);
    const clusterSize = values['cluster-size'] === undefined ? null : parseSeed(values['cluster-size'], '--cluster-size');
    if (clusterSize !== null && (clusterSize < 1 || clusterSize > SIM_CLUSTER_SIZE_MAX)) throw new UsageError(`--cluster-size must be between 1 and ${SIM_CLUSTER_SIZE_MAX}`);
    const paxosQuorums = flexibleQuorums(values['paxos-phase1-quorum'], values['paxos-phase2-quorum'], consensus, clusterSize);
    const common: Common = { consensus, plantedBug, profile, storage, clusterSize, paxosQuorums };
    if (values.seed !== undefined) {
      const seed = parseSeed(values.seed, '--seed');
      if (values['check-determinism']) return checkDeterminism(seed, common, values.json);
      return single(seed, common, { json: values.json, history: values.history ?? null });
    }
    const count = parseSeed(values.seeds!, '--seeds');
    if (count < 1) throw new UsageError('--seeds must be at least 1');
    const from = values.from !== undefined ? parseSeed(values.from, '--from') : randomInt(1, 2 ** 31);
    return sweep(from, count, common, { json: values.json, verbose: values.verbose });
  },
};

interface Common {
  readonly consensus: ConsensusKind;
  readonly plantedBug: string | null;
  readonly profile: Profile;
  readonly storage: SimStorageFlag | null;
  readonly clusterSize: number | null;
  readonly paxosQuorums: PaxosQuorums | null;
}

/** The Flexible Paxos flags, checked before any run: Paxos only, a fixed cluster size, intersecting quorums. */
function flexibleQuorums(p1: string | undefined, p2: string | undefined, consensus: ConsensusKind, clusterSize: number | null): PaxosQuorums | null {
  if (p1 === undefined && p2 === undefined) return null;
  if (consensus !== 'paxos') throw new UsageError('--paxos-phase1-quorum and --paxos-phase2-quorum need --consensus paxos');
  if (clusterSize === null) throw new UsageError('--paxos-phase1-quorum and --paxos-phase2-quorum need --cluster-size (quorum sizes are counted in voters)');
  const q: PaxosQuorums = { ...(p1 === undefined ? {} : { phase1: parseSeed(p1, '--paxos-phase1-quorum') }), ...(p2 === undefined ? {} : { phase2: parseSeed(p2, '--paxos-phase2-quorum') }) };
  try {
    quorumSizes({ ...(q.phase1 === undefined ? {} : { phase1QuorumSize: q.phase1 }), ...(q.phase2 === undefined ? {} : { phase2QuorumSize: q.phase2 }) }, clusterSize);
  } catch (e) {
    if (e instanceof PaxosError) throw new UsageError(e.message);
    throw e;
  }
  return q;
}

/** ", flexible quorums 4+2 of 5" (sizes left out follow the default rule), or nothing. */
function quorumText(c: Common): string {
  const q = c.paxosQuorums;
  if (q === null || c.clusterSize === null) return c.clusterSize === null ? '' : `, ${c.clusterSize} members`;
  const sizes = quorumSizes({ ...(q.phase1 === undefined ? {} : { phase1QuorumSize: q.phase1 }), ...(q.phase2 === undefined ? {} : { phase2QuorumSize: q.phase2 }) }, c.clusterSize);
  return `, flexible quorums phase 1 ${sizes.phase1} + phase 2 ${sizes.phase2} of ${c.clusterSize} members`;
}

/** The options that reproduce a run, as flags. */
function flagsOf(c: Common): string {
  const q = c.paxosQuorums;
  return [
    c.profile !== 'swarm' ? ` --profile ${c.profile}` : '',
    c.storage !== null ? ` --storage ${c.storage}` : '',
    c.clusterSize !== null ? ` --cluster-size ${c.clusterSize}` : '',
    q?.phase1 !== undefined ? ` --paxos-phase1-quorum ${q.phase1}` : '',
    q?.phase2 !== undefined ? ` --paxos-phase2-quorum ${q.phase2}` : '',
    c.plantedBug !== null ? ` --planted-bug ${c.plantedBug}` : '',
  ].join('');
}

function parseSeed(text: string, flag: string): number {
  if (!/^\d{1,15}$/.test(text)) throw new UsageError(`${flag} takes a non-negative integer`);
  return Number(text);
}

function reproduce(seed: number, c: Common): string {
  return `bulwark sim --seed ${seed} --consensus ${c.consensus}${flagsOf(c)}`;
}

async function timed(seed: number, c: Common): Promise<{ result: SimResult; wallMs: number }> {
  const t0 = performance.now();
  const storage = c.storage;
  // wal and memory choose the kind of one disk's storage; raid1 and raid5 put the log on a volume.
  const raid = storage === 'raid1' ? 1 : storage === 'raid5' ? 5 : null;
  const kind = storage === 'wal' || storage === 'memory' ? storage : null;
  const size = c.clusterSize;
  const tweak =
    kind === null && size === null
      ? undefined
      : (p: SimParams): SimParams => ({
          ...p,
          ...(kind === null ? {} : { storage: { ...p.storage, kind } }),
          // A fixed size keeps the seed's choice of how many may be down at once (a minority, or all).
          ...(size === null ? {} : { clusterSize: size, faults: { ...p.faults, downMax: p.faults.downMax >= p.clusterSize ? size : Math.min(p.faults.downMax, Math.floor((size - 1) / 2)) } }),
        });
  const result = await runSimulation({
    seed,
    consensus: c.consensus,
    plantedBug: c.plantedBug,
    profile: c.profile,
    ...(tweak === undefined ? {} : { tweak }),
    ...(raid === null ? {} : { raid }),
    ...(c.paxosQuorums === null ? {} : { paxosQuorums: c.paxosQuorums }),
  });
  return { result, wallMs: performance.now() - t0 };
}

function summaryLine(r: SimResult, wallMs: number): string {
  const s = r.stats;
  return `events ${s.events}, simulated ${(s.simulatedMs / 1000).toFixed(2)} s in ${(wallMs / 1000).toFixed(2)} s wall (${(s.simulatedMs / Math.max(1, wallMs)).toFixed(1)}× real time, ${Math.round(s.events / Math.max(0.001, wallMs / 1000))} events/s)`;
}

function report(r: SimResult, wallMs: number, c: Common): string {
  const s = r.stats;
  const lines = [
    `seed ${r.seed} (consensus ${r.consensus}, profile ${r.profile}${c.storage !== null ? `, storage ${c.storage}` : ''}${quorumText(c)}${r.plantedBug !== null ? `, planted bug ${r.plantedBug}` : ''}): ${r.violations.length === 0 ? 'ok' : 'FAILED'}`,
    ...describeParams(r.params).split('\n').map((l) => `  ${l}`),
    `  ${summaryLine(r, wallMs)}`,
    `  ops ${s.opsInvoked} invoked, ${s.opsCompleted} completed, ${s.opsIndeterminate} indeterminate; ${s.committedEntries} entries committed`,
    `  faults: ${s.partitions} partitions, ${s.clogs} clogs, ${s.crashes} crashes, ${s.fatalStops} fatal stops, ${s.restarts} restarts, ${s.diskFaults} disk faults; packets ${s.network.sent} sent, ${s.network.lost} lost, ${s.network.duplicated} duplicated, ${s.network.cut} cut`,
    ...(s.raid === null ? [] : [`  raid: ${s.raid.disksLost} disks lost, ${s.raid.disksReplaced} replaced, ${s.raid.rebuilds} members rebuilt, ${s.raid.rotInjected} bit rots injected, ${s.raid.diskFaults} disk faults; ${s.raid.checksumErrors} checksum errors, ${s.raid.repairedChunks} chunks repaired, ${s.raid.reconstructedStripes} stripes reconstructed; ${s.raid.opens} volume opens`]),
    `  liveness: ${s.livenessMs === null ? 'no write committed after healing' : `a write committed ${s.livenessMs} ms after healing`}`,
    ...(s.linearizabilityUnknown !== null ? [`  linearizability: undecided (${s.linearizabilityUnknown})`] : []),
    `  trace hash ${r.traceHash.toString(16).padStart(8, '0')}`,
  ];
  if (r.violations.length > 0) {
    lines.push('', 'violations:');
    for (const v of r.violations) lines.push(indent(describeViolation(v)));
    lines.push('', 'members at the end:', ...r.members.map((m) => `  ${m}`), '', `reproduce: ${reproduce(r.seed, c)}`);
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

function toJson(r: SimResult, wallMs: number): object {
  return { seed: r.seed, consensus: r.consensus, profile: r.profile, plantedBug: r.plantedBug, ok: r.violations.length === 0, params: r.params, stats: r.stats, wallMs: Math.round(wallMs), traceHash: r.traceHash, violations: r.violations, members: r.members };
}

async function single(seed: number, c: Common, o: { json: boolean; history: string | null }): Promise<number> {
  const { result, wallMs } = await timed(seed, c);
  if (o.history !== null) writeFileSync(o.history, historyToJson(result.history));
  process.stdout.write(o.json ? JSON.stringify(toJson(result, wallMs), jsonReplacer, 1) + '\n' : report(result, wallMs, c) + '\n');
  return result.violations.length === 0 ? 0 : 1;
}

async function checkDeterminism(seed: number, c: Common, json: boolean): Promise<number> {
  const a = await timed(seed, c);
  const b = await timed(seed, c);
  const ha = historyToJson(a.result.history);
  const hb = historyToJson(b.result.history);
  const same = a.result.traceHash === b.result.traceHash && ha === hb && a.result.stats.events === b.result.stats.events;
  if (json) process.stdout.write(JSON.stringify({ seed, deterministic: same, traceHashes: [a.result.traceHash, b.result.traceHash], events: [a.result.stats.events, b.result.stats.events] }) + '\n');
  else {
    const hex = (n: number): string => n.toString(16).padStart(8, '0');
    process.stdout.write(`seed ${seed}: run 1 trace ${hex(a.result.traceHash)} (${a.result.stats.events} events), run 2 trace ${hex(b.result.traceHash)} (${b.result.stats.events} events): ${same ? 'deterministic' : 'NOT deterministic'}\n`);
  }
  return same ? 0 : 1;
}

async function sweep(from: number, count: number, c: Common, o: { json: boolean; verbose: boolean }): Promise<number> {
  const t0 = performance.now();
  let events = 0;
  let simulatedMs = 0;
  const failures: SimResult[] = [];
  const results: object[] = [];
  const tty = process.stderr.isTTY === true;
  if (!o.json) process.stdout.write(`sweeping ${count} seeds from ${from} (consensus ${c.consensus}, profile ${c.profile}${c.storage !== null ? `, storage ${c.storage}` : ''}${quorumText(c)}${c.plantedBug !== null ? `, planted bug ${c.plantedBug}` : ''})\n`);
  for (let i = 0; i < count; i++) {
    const seed = from + i;
    const { result, wallMs } = await timed(seed, c);
    events += result.stats.events;
    simulatedMs += result.stats.simulatedMs;
    if (result.violations.length > 0) failures.push(result);
    if (o.json) results.push(toJson(result, wallMs));
    else if (o.verbose || result.violations.length > 0) {
      if (tty) process.stderr.write('\r\x1b[K');
      process.stdout.write(report(result, wallMs, c) + '\n\n');
    }
    if (!o.json) progress(i + 1, count, failures.length, tty);
  }
  const wallS = (performance.now() - t0) / 1000;
  const summary = {
    seeds: count,
    failed: failures.length,
    failedSeeds: failures.map((f) => f.seed),
    seedsPerSecond: count / wallS,
    simulatedSecondsPerWallSecond: simulatedMs / 1000 / wallS,
    eventsPerSecond: events / wallS,
    wallSeconds: wallS,
  };
  if (o.json) process.stdout.write(JSON.stringify({ summary, results }, jsonReplacer, 1) + '\n');
  else {
    if (tty) process.stderr.write('\n');
    process.stdout.write(
      `\n${count} seeds, ${failures.length} failed, in ${wallS.toFixed(1)} s: ${summary.seedsPerSecond.toFixed(2)} seeds/s, ${summary.simulatedSecondsPerWallSecond.toFixed(1)} simulated s per wall s, ${Math.round(summary.eventsPerSecond)} events/s\n`,
    );
    for (const f of failures) process.stdout.write(`  failed: ${reproduce(f.seed, c)}  (${[...new Set(f.violations.map((v) => v.checker))].join(', ')})\n`);
  }
  return failures.length === 0 ? 0 : 1;
}

function progress(done: number, total: number, failed: number, tty: boolean): void {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} seeds, ${failed} failed`;
  if (tty) process.stderr.write(`\r\x1b[K${line}`);
  else if (done === total || done % Math.max(1, Math.floor(total / 10)) === 0) process.stderr.write(line + '\n');
}

function jsonReplacer(_key: string, v: unknown): unknown {
  return v === Infinity ? 'Infinity' : v;
}
