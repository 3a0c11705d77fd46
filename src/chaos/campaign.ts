/**
 * One chaos run ("campaign"): start the target, run the workload's clients while the nemesis
 * injects faults, stop the load, heal everything and bring every member back, do the final reads,
 * check the history, and write history.json, timeline.html and report.txt to the output folder.
 * Bounded in time: the load phase lasts `durationMs`; recovery, final reads and checking each
 * have their own bound (core/limits.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EtcdConnection, errorText } from '../bench/etcd-client.js';
import { assertNever } from '../core/assert.js';
import { CHAOS_CLIENT_BACKOFF_MS, CHAOS_PROGRESS_INTERVAL_MS, CHAOS_RECOVERY_TIMEOUT_MS, CHAOS_SETTLE_MS } from '../core/limits.js';
import { SeededRandom } from '../env/random.js';
import type { ClusterTarget } from './cluster-target.js';
import { ChaosError } from './errors.js';
import type { FaultKind } from './fault-kinds.js';
import { countOutcomes, Recorder, RunClock } from './history.js';
import { Nemesis, recoverCluster } from './nemesis.js';
import { describeOp, formatReport, verdictOf, type RunSummary } from './report.js';
import { renderTimelineHtml } from './timeline-html.js';
import { pause, type ClientContext, type FinalContext, type ReadMode, type Workload, type WorkloadName } from './workload.js';
import { ListAppendWorkload } from './workload-list-append.js';
import { LockWorkload } from './workload-lock.js';
import { RegisterWorkload } from './workload-register.js';
import { SetWorkload } from './workload-set.js';
import { WatchWorkload } from './workload-watch.js';

export interface CampaignOptions {
  /** Constructed, not started: the campaign starts and stops it. */
  readonly target: ClusterTarget;
  /** For the report: proxy, netns or none. */
  readonly network: string;
  readonly workload: WorkloadName;
  readonly clients: number;
  readonly durationMs: number;
  readonly faults: readonly FaultKind[];
  readonly faultIntervalMs: number;
  readonly faultDurationMs: number;
  readonly opTimeoutMs: number;
  /** Operations per second over all clients (each client paces itself to its share). */
  readonly ratePerSecond: number;
  readonly reads: ReadMode;
  readonly seed: number;
  /** Where history.json, timeline.html and report.txt go; null: nowhere. */
  readonly outDir: string | null;
  readonly log: (line: string) => void;
  /** Ends the load phase early (Ctrl-C); the run is still healed and checked. */
  readonly signal?: AbortSignal;
  readonly keyPrefix?: string;
  /** How the nemesis picks the next fault (default random). */
  readonly faultOrder?: 'random' | 'cycle';
}

export type CampaignResult = RunSummary;

export function makeWorkload(name: WorkloadName, clients: number): Workload {
  switch (name) {
    case 'register':
      return new RegisterWorkload();
    case 'list-append':
      return new ListAppendWorkload();
    case 'set':
      return new SetWorkload();
    case 'watch':
      return new WatchWorkload(clients);
    case 'lock':
      return new LockWorkload();
    default:
      return assertNever(name, 'workload');
  }
}

export async function runCampaign(o: CampaignOptions): Promise<CampaignResult> {
  if (o.clients < 1) throw new ChaosError('invalid-options', 'at least one client');
  const t = o.target;
  const random = new SeededRandom(o.seed);
  const workload = makeWorkload(o.workload, o.clients);
  const keyPrefix = o.keyPrefix ?? `chaos/${o.seed}/`;
  const opened: EtcdConnection[] = [];
  const open = (member: string): EtcdConnection => {
    const c = new EtcdConnection(t.endpoint(member), { connectTimeoutMs: Math.min(o.opTimeoutMs, 2000) });
    opened.push(c);
    return c;
  };
  const load = new AbortController();
  const onExternal = (): void => load.abort();
  o.signal?.addEventListener('abort', onExternal, { once: true });

  o.log(t.kind === 'endpoints' ? 'checking the given endpoints ...' : `starting ${t.kind === 'etcd' ? 'an etcd' : 'a Bulwark'} cluster ...`);
  try {
    await t.start();
  } catch (e) {
    o.signal?.removeEventListener('abort', onExternal);
    await t.stop();
    throw e;
  }
  // What the target can do is known once it runs (the network fabric is made by start()).
  const skipped: string[] = [];
  const kinds = o.faults.filter((k) => {
    const why = t.unsupported(k);
    if (why !== null) skipped.push(`${k}: ${why}`);
    return why === null;
  });
  for (const s of skipped) o.log(`skipping fault ${s}`);
  // Time 0 of the history is when the cluster is up.
  const clock = new RunClock();
  const recorder = new Recorder(clock, o.clients);
  let progress: NodeJS.Timeout | undefined;
  try {
    o.log(`members: ${t.members.map((m) => `${m}=${t.endpoint(m)}`).join(' ')}`);
    const finalConns = new Map<string, EtcdConnection>();
    const final = new AbortController();
    const finalCtx: FinalContext = {
      recorder,
      opTimeoutMs: o.opTimeoutMs,
      keyPrefix,
      signal: final.signal,
      healthyConnection: async () => {
        const deadline = Date.now() + CHAOS_RECOVERY_TIMEOUT_MS;
        let last = '';
        while (Date.now() < deadline) {
          for (const m of t.members) {
            let c = finalConns.get(m);
            if (c === undefined) finalConns.set(m, (c = open(m)));
            try {
              await c.get(`${keyPrefix}probe`, { deadlineMs: Math.min(o.opTimeoutMs, 2000) });
              return { member: m, conn: c };
            } catch (e) {
              last = `${m}: ${errorText(e)}`;
            }
          }
          await pause(200);
        }
        throw new ChaosError('cluster', `no member answers a linearizable read (${last})`);
      },
    };
    await workload.prepare(finalCtx);

    const intervalMs = (o.clients * 1000) / Math.max(1, o.ratePerSecond);
    const contexts: ClientContext[] = Array.from({ length: o.clients }, (_, index) => {
      const member = t.members[index % t.members.length]!;
      const conns = new Map<string, EtcdConnection>();
      const connectionTo = (m: string): EtcdConnection => {
        let c = conns.get(m);
        if (c === undefined) conns.set(m, (c = open(m)));
        return c;
      };
      let nextAt = 0;
      return {
        index,
        member,
        conn: connectionTo(member),
        connectionTo,
        members: t.members,
        recorder,
        random: random.fork(),
        signal: load.signal,
        opTimeoutMs: o.opTimeoutMs,
        reads: o.reads,
        keyPrefix,
        throttle: async () => {
          const now = clock.now();
          const last = recorder.lastOutcome(index);
          const backoff = last !== undefined && last !== 'ok' ? CHAOS_CLIENT_BACKOFF_MS : 0;
          nextAt = Math.max(nextAt + intervalMs, now + backoff);
          if (nextAt > now) await pause(nextAt - now, load.signal);
        },
      };
    });

    const nemesis = new Nemesis({ target: t, kinds, intervalMs: o.faultIntervalMs, durationMs: o.faultDurationMs, random: random.fork(), clock, log: o.log, ...(o.faultOrder === undefined ? {} : { order: o.faultOrder }) });
    o.log(`load: ${o.clients} client(s), workload ${o.workload}, ${(o.durationMs / 1000).toFixed(0)} s; faults: ${kinds.length === 0 ? 'none' : kinds.join(', ')}`);
    progress = setInterval(() => {
      const c = countOutcomes(recorder.ops);
      let ok = 0;
      let fail = 0;
      let info = 0;
      for (const v of c.values()) {
        ok += v.ok;
        fail += v.fail;
        info += v.info;
      }
      o.log(`${(clock.now() / 1000).toFixed(0).padStart(4)} s  ops ${recorder.ops.length} (ok ${ok}, failed ${fail}, in doubt ${info})  faults ${nemesis.faults.length}${nemesis.current === null ? '' : `  now: ${nemesis.current}`}`);
    }, CHAOS_PROGRESS_INTERVAL_MS);
    const clients = contexts.map((ctx) => workload.client(ctx));
    const faults = nemesis.run(load.signal);
    await pause(o.durationMs, load.signal);
    load.abort();
    await faults;
    await Promise.all(clients);
    clearInterval(progress);
    progress = undefined;
    const loadEndMs = clock.now();

    o.log('load over; healing and bringing every member back');
    const problems = await recoverCluster(t, o.log);
    for (const p of problems) o.log(`recovery: ${p}`);
    await pause(CHAOS_SETTLE_MS);
    o.log('final reads');
    try {
      await workload.finish(finalCtx);
    } catch (e) {
      problems.push(`final reads: ${errorText(e)}`);
      o.log(`final reads failed: ${errorText(e)}`);
    }
    final.abort();
    o.log('checking');
    const ops = recorder.sorted();
    const check = workload.check(ops);
    const unknown = [...check.unknown, ...problems.map((p) => `recovery: ${p}`)];
    const summary: RunSummary = {
      workload: o.workload,
      target: t.kind,
      members: t.members.length,
      network: t.fabric?.kind ?? o.network,
      durationMs: loadEndMs,
      seed: o.seed,
      reads: o.reads,
      ops,
      faults: nemesis.faults,
      skippedFaults: skipped,
      anomalies: check.anomalies,
      notes: check.notes,
      unknown,
      stats: check.stats,
      verdict: verdictOf(check.anomalies, unknown),
      files: [],
    };
    return o.outDir === null ? summary : writeOutputs(o.outDir, summary, workload.extra(), t.members.map((m) => ({ member: m, log: t.logFile(m) })));
  } finally {
    clearInterval(progress);
    o.signal?.removeEventListener('abort', onExternal);
    for (const c of opened) c.close();
    await t.stop();
  }
}

function writeOutputs(dir: string, s: RunSummary, extra: unknown, logs: readonly { member: string; log: string | null }[]): RunSummary {
  mkdirSync(dir, { recursive: true });
  const history = join(dir, 'history.json');
  const timeline = join(dir, 'timeline.html');
  const report = join(dir, 'report.txt');
  const withFiles: RunSummary = { ...s, files: [history, timeline, report] };
  // One operation, fault or anomaly per line: readable with grep, and compact (set reads hold long arrays).
  const line = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  const list = (items: readonly unknown[]): string => (items.length === 0 ? '[]' : `[\n${items.map(line).join(',\n')}\n]`);
  const head = { format: 'bulwark-chaos-history/1', workload: s.workload, target: s.target, network: s.network, seed: s.seed, reads: s.reads, verdict: s.verdict, memberLogs: logs, notes: s.notes, unknown: s.unknown, stats: s.stats };
  const json = `${line(head).slice(0, -1)},\n"faults": ${list(s.faults)},\n"anomalies": ${list(s.anomalies)},\n"operations": ${list(s.ops)},\n"workloadData": ${line(extra ?? null)}\n}\n`;
  writeFileSync(history, json);
  writeFileSync(
    timeline,
    renderTimelineHtml({
      title: `bulwark chaos: ${s.workload} on ${s.target} (${s.members} members, ${s.network}), seed ${s.seed} — ${s.verdict.toUpperCase()}`,
      members: logs.map((l) => l.member),
      ops: s.ops,
      faults: s.faults,
      anomalies: s.anomalies,
      durationMs: s.durationMs,
      describe: describeOp,
    }),
  );
  writeFileSync(report, formatReport(withFiles) + '\n');
  return withFiles;
}
