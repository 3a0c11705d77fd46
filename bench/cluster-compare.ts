/**
 * Cluster benchmark: a 3-member etcd 3.4 and a 3-member Bulwark on this machine, driven by the same
 * load generator (`bulwark bench`'s runner, on our lean gRPC client), in the shape of issue 5:
 * puts at concurrency 1, 16, 64, 256 (256 B values, fsync on), linearizable and serializable
 * ranges at 1, 64, 256, and the resident memory of each member afterwards.
 *
 * Both clusters run at once and every measurement alternates between them (etcd, Bulwark, etcd,
 * ...), so a machine whose speed drifts slows both alike; medians over --runs. Until `bulwark
 * serve` exists the Bulwark column is empty (etcd alone is measured).
 *
 *   npm run build && node dist/bench/cluster-compare.js [--duration 5s] [--runs 3] [--json]
 *     [--targets etcd,bulwark] [--etcd-bin /usr/bin/etcd] [--warmup 1s]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationMs, type BenchOptions, type BenchWorkload } from '../src/bench/bench-options.js';
import { formatCount, median } from '../src/bench/report.js';
import { runBench, type BenchResult } from '../src/bench/runner.js';
import type { ProcessClusterTarget } from '../src/chaos/cluster-target.js';
import { BulwarkTarget, bulwarkServeAvailable } from '../src/chaos/target-bulwark.js';
import { ETCD_BIN_DEFAULT, EtcdTarget } from '../src/chaos/target-etcd.js';

interface Case {
  readonly label: string;
  readonly workload: BenchWorkload;
  readonly concurrency: number;
}

const CASES: readonly Case[] = [
  ...[1, 16, 64, 256].map((c) => ({ label: `put c=${c}`, workload: { type: 'put' } as const, concurrency: c })),
  ...[1, 64, 256].map((c) => ({ label: `range (linearizable) c=${c}`, workload: { type: 'range', serializable: false } as const, concurrency: c })),
  ...[1, 64, 256].map((c) => ({ label: `range (serializable) c=${c}`, workload: { type: 'range', serializable: true } as const, concurrency: c })),
];

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5s' },
    warmup: { type: 'string', default: '1s' },
    runs: { type: 'string', default: '3' },
    targets: { type: 'string', default: 'etcd,bulwark' },
    'etcd-bin': { type: 'string', default: ETCD_BIN_DEFAULT },
    json: { type: 'boolean', default: false },
  },
});

const durationMs = parseDurationMs(values.duration!) ?? 5000;
const warmupMs = parseDurationMs(values.warmup!) ?? 1000;
const runs = Math.max(1, Number(values.runs));
const wanted = values.targets!.split(',');
const say = (s: string): void => void process.stderr.write(`${s}\n`);

interface Side {
  readonly name: string;
  readonly target: ProcessClusterTarget;
  readonly results: Map<string, BenchResult[]>;
  rssBytes: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'bulwark-cluster-compare-'));
const sides: Side[] = [];
const common = { size: 3, network: 'none' as const, seed: 1, heartbeatMs: 100, electionMs: 1000 };
if (wanted.includes('etcd')) sides.push({ name: 'etcd 3.4', target: new EtcdTarget({ ...common, dir: join(dir, 'etcd') }, values['etcd-bin']), results: new Map(), rssBytes: [] });
if (wanted.includes('bulwark')) {
  if (bulwarkServeAvailable()) sides.push({ name: 'Bulwark', target: new BulwarkTarget({ ...common, dir: join(dir, 'bulwark') }), results: new Map(), rssBytes: [] });
  else say('bulwark serve is not in this build yet: measuring etcd alone');
}

process.on('SIGINT', () => {
  void Promise.all(sides.map((s) => s.target.stop())).finally(() => process.exit(130));
});

try {
  for (const s of sides) {
    say(`starting ${s.name} (3 members) ...`);
    await s.target.start();
  }
  for (let run = 0; run < runs; run++) {
    for (const c of CASES) {
      for (const s of sides) {
        const o: BenchOptions = {
          endpoints: s.target.members.map((m) => s.target.endpoint(m)),
          workload: c.workload,
          concurrency: c.concurrency,
          connections: Math.min(c.concurrency, 4),
          durationMs,
          totalOps: null,
          warmupMs,
          keyBytes: 16,
          valueBytes: 256,
          keyCount: 10_000,
          distribution: { type: 'uniform' },
          requestTimeoutMs: 10_000,
          preload: run === 0 && c.workload.type === 'range',
          keyPrefix: 'bench/',
          seed: run + 1,
        };
        const r = await runBench(o);
        const list = s.results.get(c.label) ?? [];
        list.push(r);
        s.results.set(c.label, list);
        say(`run ${run + 1}/${runs}  ${s.name.padEnd(9)} ${c.label.padEnd(28)} ${formatCount(r.throughput).padStart(7)} ops/s  p50 ${(r.latencyUs.p50 / 1000).toFixed(2)} ms  p99 ${(r.latencyUs.p99 / 1000).toFixed(2)} ms  client ${r.cpu.perOpUs.toFixed(0)} µs/op${r.errors > 0 ? `  ${r.errors} errors` : ''}`);
      }
    }
  }
  for (const s of sides) s.rssBytes = (await Promise.all(s.target.members.map((m) => s.target.rssBytes(m)))).map((b) => b ?? 0);
} finally {
  for (const s of sides) await s.target.stop();
  rmSync(dir, { recursive: true, force: true });
}

const fig = (s: Side, label: string): { tp: number; p50: number; p99: number; cpu: number } | null => {
  const rs = s.results.get(label);
  if (rs === undefined || rs.length === 0) return null;
  return { tp: median(rs.map((r) => r.throughput)), p50: median(rs.map((r) => r.latencyUs.p50)) / 1000, p99: median(rs.map((r) => r.latencyUs.p99)) / 1000, cpu: median(rs.map((r) => r.cpu.perOpUs)) };
};

if (values.json === true) {
  process.stdout.write(
    JSON.stringify(
      {
        durationMs,
        runs,
        sides: sides.map((s) => ({ name: s.name, rssBytes: s.rssBytes, cases: CASES.map((c) => ({ case: c.label, ...fig(s, c.label) })) })),
      },
      null,
      1,
    ) + '\n',
  );
} else {
  const etcd = sides.find((s) => s.name.startsWith('etcd'));
  const bulwark = sides.find((s) => s.name === 'Bulwark');
  const cell = (f: ReturnType<typeof fig>): string => (f === null ? '–' : `${formatCount(f.tp)}/s (p50 ${f.p50.toFixed(2)}, p99 ${f.p99.toFixed(1)} ms)`);
  const lines = ['| case | etcd 3.4 | Bulwark | Bulwark / etcd |', '|---|---:|---:|---:|'];
  for (const c of CASES) {
    const e = etcd === undefined ? null : fig(etcd, c.label);
    const b = bulwark === undefined ? null : fig(bulwark, c.label);
    lines.push(`| ${c.label} | ${cell(e)} | ${cell(b)} | ${e !== null && b !== null ? (b.tp / e.tp).toFixed(2) : '–'} |`);
  }
  const rss = (s: Side | undefined): string => (s === undefined ? '–' : s.rssBytes.map((b) => `${(b / 1024 / 1024).toFixed(0)}`).join(' / ') + ' MiB');
  lines.push(`| RSS per member after the run | ${rss(etcd)} | ${rss(bulwark)} | |`);
  process.stdout.write(`${lines.join('\n')}\n\nmedians of ${runs} run(s) of ${durationMs / 1000} s each (after ${warmupMs / 1000} s warm-up); 256 B values, 16 B keys, 10,000 keys, connections = min(concurrency, 4)\n`);
}
