/**
 * The timeline picture of a run: one self-contained HTML file with an SVG. Members and clients on
 * the vertical axis, time on the horizontal; each operation a bar on its client's row, coloured by
 * outcome (ok green, failed red, in doubt amber), each fault a shaded span on the members it hit
 * and a faint band across the whole picture; operations of an anomaly are outlined and listed.
 * Hovering a bar shows the operation. Pure: text in, text out.
 */
import { CHAOS_TIMELINE_OPS_MAX, CHAOS_TIMELINE_WIDTH_PX_MAX } from '../core/limits.js';
import type { Anomaly, FaultRecord, RecordedOp } from './history.js';

export interface TimelineInput {
  readonly title: string;
  readonly members: readonly string[];
  readonly ops: readonly RecordedOp[];
  readonly faults: readonly FaultRecord[];
  readonly anomalies: readonly Anomaly[];
  readonly durationMs: number;
  /** One line per operation for the hover text. */
  readonly describe: (op: RecordedOp) => string;
}

const COLOR = { ok: '#2f9e44', fail: '#e03131', info: '#f59f00' } as const;
const ROW_PX = 18;
const LABEL_PX = 110;
const FAULT_COLORS = ['#7048e8', '#1971c2', '#c2255c', '#0c8599', '#e8590c', '#5c940d'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderTimelineHtml(t: TimelineInput): string {
  const clients = [...new Set(t.ops.map((o) => o.client))].sort((a, b) => (a < 0 ? 1 : b < 0 ? -1 : a - b));
  const rows = [...t.members.map((m) => `member ${m}`), ...clients.map((c) => (c < 0 ? 'final reads' : `client ${c}`))];
  const rowOf = new Map<string, number>(rows.map((r, i) => [r, i]));
  const end = Math.max(t.durationMs, ...t.ops.map((o) => o.returnMs), ...t.faults.map((f) => f.endMs), 1);
  const width = Math.min(CHAOS_TIMELINE_WIDTH_PX_MAX, Math.max(1200, Math.round((end / 1000) * 40)));
  const x = (ms: number): number => LABEL_PX + (ms / end) * (width - LABEL_PX - 10);
  const top = 30;
  const height = top + rows.length * ROW_PX + 30;
  const marked = new Set(t.anomalies.flatMap((a) => a.opIds));

  // Keep the picture bounded: every operation of an anomaly, then the others evenly thinned.
  let ops = t.ops;
  let thinned = '';
  if (ops.length > CHAOS_TIMELINE_OPS_MAX) {
    const step = Math.ceil(ops.length / CHAOS_TIMELINE_OPS_MAX);
    ops = ops.filter((o, i) => marked.has(o.id) || o.outcome !== 'ok' || i % step === 0);
    thinned = `<p>${t.ops.length} operations; one in ${step} successful operations drawn (all failed, in-doubt and anomalous ones are).</p>`;
  }

  const svg: string[] = [];
  svg.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`);
  // Time axis.
  const tickMs = niceTick(end);
  for (let ms = 0; ms <= end; ms += tickMs) {
    svg.push(`<line x1="${x(ms).toFixed(1)}" y1="${top - 6}" x2="${x(ms).toFixed(1)}" y2="${height - 24}" stroke="#eee"/>`);
    svg.push(`<text x="${x(ms).toFixed(1)}" y="${top - 10}" text-anchor="middle" fill="#666">${(ms / 1000).toFixed(tickMs < 1000 ? 1 : 0)} s</text>`);
  }
  // Fault bands (under the operations).
  t.faults.forEach((f, i) => {
    const color = FAULT_COLORS[i % FAULT_COLORS.length]!;
    const x0 = x(f.startMs);
    const x1 = Math.max(x0 + 2, x(f.endMs < 0 ? end : f.endMs));
    const title = escapeXml(`fault ${f.id}: ${f.kind}: ${f.description} (${(f.startMs / 1000).toFixed(2)}–${(f.endMs / 1000).toFixed(2)} s)${f.error === null ? '' : ` — ${f.error}`}`);
    svg.push(`<rect x="${x0.toFixed(1)}" y="${top}" width="${(x1 - x0).toFixed(1)}" height="${rows.length * ROW_PX}" fill="${color}" opacity="0.07"><title>${title}</title></rect>`);
    for (const m of f.members) {
      const r = rowOf.get(`member ${m}`);
      if (r === undefined) continue;
      svg.push(`<rect x="${x0.toFixed(1)}" y="${top + r * ROW_PX + 2}" width="${(x1 - x0).toFixed(1)}" height="${ROW_PX - 4}" fill="${color}" opacity="0.55"><title>${title}</title></rect>`);
    }
    svg.push(`<text x="${(x0 + 2).toFixed(1)}" y="${height - 10}" fill="${color}">${escapeXml(f.kind)}</text>`);
  });
  // Row labels and separators.
  rows.forEach((r, i) => {
    svg.push(`<text x="4" y="${top + i * ROW_PX + ROW_PX - 5}" fill="#333">${escapeXml(r)}</text>`);
    svg.push(`<line x1="${LABEL_PX}" y1="${top + (i + 1) * ROW_PX}" x2="${width - 10}" y2="${top + (i + 1) * ROW_PX}" stroke="#f3f3f3"/>`);
  });
  // Operations.
  for (const o of ops) {
    const r = rowOf.get(o.client < 0 ? 'final reads' : `client ${o.client}`)!;
    const x0 = x(o.callMs);
    const w = Math.max(1, x(o.returnMs) - x0);
    const stroke = marked.has(o.id) ? ' stroke="#000" stroke-width="2"' : '';
    const title = escapeXml(`op ${o.id} (process ${o.process}, to ${o.member}) ${t.describe(o)} — ${o.outcome}${o.error === null ? '' : `: ${o.error}`} [${(o.callMs / 1000).toFixed(3)}–${(o.returnMs / 1000).toFixed(3)} s]`);
    svg.push(`<rect x="${x0.toFixed(1)}" y="${top + r * ROW_PX + 4}" width="${w.toFixed(1)}" height="${ROW_PX - 8}" fill="${COLOR[o.outcome]}"${stroke}><title>${title}</title></rect>`);
  }
  svg.push('</svg>');

  const anomalies =
    t.anomalies.length === 0
      ? '<p>No anomalies.</p>'
      : `<ol>${t.anomalies.map((a) => `<li><b>${escapeXml(a.type)}</b>: ${escapeXml(a.message)} (operations ${a.opIds.join(', ')})${a.detail === null ? '' : `<pre>${escapeXml(a.detail)}</pre>`}</li>`).join('')}</ol>`;
  const faults = t.faults.map((f) => `<li>${(f.startMs / 1000).toFixed(2)}–${(f.endMs / 1000).toFixed(2)} s: <b>${escapeXml(f.kind)}</b> ${escapeXml(f.description)}${f.error === null ? '' : ` <i>(${escapeXml(f.error)})</i>`}</li>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeXml(t.title)}</title>
<style>body{font-family:sans-serif;margin:16px;color:#222} .scroll{overflow-x:auto;border:1px solid #ddd} pre{font-size:11px;background:#f8f8f8;padding:6px;overflow-x:auto} .k{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px}</style>
</head><body>
<h2>${escapeXml(t.title)}</h2>
<p><span class="k" style="background:${COLOR.ok}"></span>ok <span class="k" style="background:${COLOR.fail}"></span>failed <span class="k" style="background:${COLOR.info}"></span>in doubt (timeout, lost connection) <span class="k" style="border:2px solid #000"></span>part of an anomaly; shaded spans: faults. Hover for details.</p>
${thinned}<div class="scroll">${svg.join('\n')}</div>
<h3>Anomalies</h3>${anomalies}
<h3>Faults</h3><ul>${faults}</ul>
</body></html>
`;
}

function niceTick(endMs: number): number {
  for (const t of [100, 250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 300_000]) if (endMs / t <= 30) return t;
  return 600_000;
}
