/** The text report of a chaos run: what ran, operations by outcome, faults, anomalies, verdict. */
import { countOutcomes, type Anomaly, type FaultRecord, type RecordedOp } from './history.js';

export type Verdict = 'valid' | 'invalid' | 'unknown';

export interface RunSummary {
  readonly workload: string;
  readonly target: string;
  readonly members: number;
  readonly network: string;
  readonly durationMs: number;
  readonly seed: number;
  readonly reads: string;
  readonly ops: readonly RecordedOp[];
  readonly faults: readonly FaultRecord[];
  readonly skippedFaults: readonly string[];
  readonly anomalies: readonly Anomaly[];
  readonly notes: readonly string[];
  readonly unknown: readonly string[];
  readonly stats: Readonly<Record<string, number>>;
  readonly verdict: Verdict;
  readonly files: readonly string[];
}

export function verdictOf(anomalies: readonly Anomaly[], unknown: readonly string[]): Verdict {
  return anomalies.length > 0 ? 'invalid' : unknown.length > 0 ? 'unknown' : 'valid';
}

/** A compact form of an operation's input and output, for people. */
export function describeOp(op: RecordedOp): string {
  const i = { ...(op.input as unknown as Record<string, unknown>) };
  const type = String(i['type']);
  delete i['type'];
  const args = Object.entries(i)
    .map(([k, v]) => `${k}=${short(v)}`)
    .join(' ');
  const out = op.output === null ? '' : ` → ${short(op.output)}`;
  return `${type} ${args}${out}`;
}

function short(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return s === undefined ? 'undefined' : s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function formatReport(s: RunSummary): string {
  const lines: string[] = [];
  lines.push(`bulwark chaos: workload ${s.workload} against ${s.target} (${s.members} members, ${s.network} network), ${(s.durationMs / 1000).toFixed(1)} s, ${s.reads} reads, seed ${s.seed}`);
  const counts = countOutcomes(s.ops);
  const total = s.ops.length;
  lines.push(`operations: ${total}`);
  for (const [f, c] of [...counts].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`  ${f.padEnd(8)} ok ${String(c.ok).padStart(6)}   failed ${String(c.fail).padStart(6)}   in doubt ${String(c.info).padStart(6)}`);
  lines.push(`faults injected: ${s.faults.length}`);
  for (const f of s.faults) lines.push(`  ${(f.startMs / 1000).toFixed(2).padStart(7)}–${(f.endMs / 1000).toFixed(2).padEnd(7)} s  ${f.kind.padEnd(17)} ${f.description}${f.error === null ? '' : `  (${f.error})`}`);
  for (const k of s.skippedFaults) lines.push(`  skipped ${k}`);
  if (Object.keys(s.stats).length > 0) lines.push(`checker: ${Object.entries(s.stats).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push(`anomalies: ${s.anomalies.length}`);
  s.anomalies.forEach((a, i) => {
    lines.push(`  ${i + 1}. ${a.type}: ${a.message}`);
    const window = a.opIds.map((id) => s.ops.find((o) => o.id === id)).filter((o): o is RecordedOp => o !== undefined);
    for (const o of window) lines.push(`       op ${o.id} client ${o.client} → ${o.member}  ${(o.callMs / 1000).toFixed(3)}–${(o.returnMs / 1000).toFixed(3)} s  ${o.outcome}  ${describeOp(o)}${o.error === null ? '' : `  (${o.error})`}`);
    if (a.detail !== null) for (const l of a.detail.split('\n')) lines.push(`       ${l}`);
  });
  for (const n of s.notes) lines.push(`note: ${n}`);
  for (const u of s.unknown) lines.push(`undecided: ${u}`);
  lines.push(`verdict: ${s.verdict === 'valid' ? 'VALID (no anomaly found)' : s.verdict === 'invalid' ? `INVALID (${s.anomalies.length} anomal${s.anomalies.length === 1 ? 'y' : 'ies'})` : 'UNKNOWN (some checks could not decide)'}`);
  if (s.files.length > 0) lines.push(`files: ${s.files.join('  ')}`);
  return lines.join('\n');
}
