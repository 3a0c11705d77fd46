/**
 * Text reports of benchmark runs: one run's summary, and the side-by-side of a `--compare` run
 * (medians of each figure over the rounds, and the ratio B/A).
 */
import type { HistogramSummary } from './histogram.js';
import type { BenchResult } from './runner.js';

const ms = (us: number): string => (us / 1000).toFixed(us < 10_000 ? 2 : 1);

export function formatCount(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

export function formatResult(r: BenchResult): string {
  const l = r.latencyUs;
  const lines = [
    `workload ${r.workload} against ${r.endpoints.join(',')}`,
    `  concurrency ${r.concurrency} over ${r.connections} connection(s); keys ${r.keyCount} (${r.keyBytes} B, ${r.distribution}); values ${r.valueBytes} B`,
    `  ${r.ops} operations in ${(r.durationMs / 1000).toFixed(2)} s: ${formatCount(r.throughput)} ops/s, ${r.errors} error(s)`,
    `  latency ms${r.workload.startsWith('watch') ? ' (put sent → event received)' : ''}: ${latencyLine(l)}`,
  ];
  if (r.putLatencyUs !== undefined) lines.push(`  put latency ms: ${latencyLine(r.putLatencyUs)}`);
  if (r.watch !== undefined) lines.push(`  watch: ${r.watch.puts} puts, ${r.watch.delivered} events delivered, ${r.watch.missing} missing`);
  lines.push(`  client CPU: ${r.cpu.perOpUs.toFixed(1)} µs per operation, ${(r.cpu.utilization * 100).toFixed(0)} % of one core${r.cpu.utilization > 0.85 ? '  ← the client may be the bottleneck: add --connections or run the tool on another machine' : ''}`);
  for (const k of r.errorKinds.slice(0, 5)) lines.push(`  error ×${k.count}: ${k.message}`);
  return lines.join('\n');
}

function latencyLine(l: HistogramSummary): string {
  return `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}  p99.9 ${ms(l.p999)}  max ${ms(l.max)}  mean ${ms(l.mean)}`;
}

/** The figures a comparison reports, each with whether larger is better. */
export const COMPARED_FIGURES: readonly { readonly name: string; readonly get: (r: BenchResult) => number; readonly higherIsBetter: boolean; readonly format: (v: number) => string }[] = [
  { name: 'throughput ops/s', get: (r) => r.throughput, higherIsBetter: true, format: formatCount },
  { name: 'p50 ms', get: (r) => r.latencyUs.p50, higherIsBetter: false, format: ms },
  { name: 'p90 ms', get: (r) => r.latencyUs.p90, higherIsBetter: false, format: ms },
  { name: 'p99 ms', get: (r) => r.latencyUs.p99, higherIsBetter: false, format: ms },
  { name: 'p99.9 ms', get: (r) => r.latencyUs.p999, higherIsBetter: false, format: ms },
  { name: 'errors', get: (r) => r.errors, higherIsBetter: false, format: (v) => v.toFixed(0) },
  { name: 'client CPU µs/op', get: (r) => r.cpu.perOpUs, higherIsBetter: false, format: (v) => v.toFixed(1) },
];

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ComparisonRow {
  readonly figure: string;
  readonly a: number;
  readonly b: number;
  /** b / a (NaN when a is 0). */
  readonly ratio: number;
  readonly better: 'a' | 'b' | 'same';
}

/** Medians of every figure over the rounds of each side, and their ratio. */
export function compareResults(a: readonly BenchResult[], b: readonly BenchResult[]): ComparisonRow[] {
  return COMPARED_FIGURES.map((f) => {
    const ma = median(a.map(f.get));
    const mb = median(b.map(f.get));
    const ratio = ma === 0 ? (mb === 0 ? 1 : NaN) : mb / ma;
    const better = Math.abs(mb - ma) <= Math.abs(ma) * 0.02 ? 'same' : (mb > ma) === f.higherIsBetter ? 'b' : 'a';
    return { figure: f.name, a: ma, b: mb, ratio, better };
  });
}

export function formatComparison(o: { readonly labelA: string; readonly labelB: string; readonly a: readonly BenchResult[]; readonly b: readonly BenchResult[] }): string {
  const rows = compareResults(o.a, o.b);
  const fmt = new Map(COMPARED_FIGURES.map((f) => [f.name, f.format]));
  const table = [
    ['figure (median of rounds)', `A ${o.labelA}`, `B ${o.labelB}`, 'B/A', 'better'],
    ...rows.map((r) => [r.figure, fmt.get(r.figure)!(r.a), fmt.get(r.figure)!(r.b), Number.isNaN(r.ratio) ? '–' : r.ratio.toFixed(2), r.better === 'same' ? '≈' : r.better.toUpperCase()]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: readonly string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const perRound = o.a.map((ra, i) => `  round ${i + 1}: A ${formatCount(ra.throughput)} ops/s, B ${o.b[i] === undefined ? '–' : formatCount(o.b[i]!.throughput)} ops/s`);
  return [`${o.a[0]?.workload ?? ''}: ${o.a.length} round(s) each, A and B alternating`, ...table.map(line), ...perRound].join('\n');
}
