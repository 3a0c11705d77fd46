/** How `bulwark raid` prints sizes, progress, tables and a volume's activity. */
import type { NodeClock } from '../env/node/clock.js';
import type { Activity, ScrubSummary } from '../storage/index.js';
import { UsageError } from './command.js';

/** "64KiB", "64K", "1MiB", "1.5MB", "4096" → bytes. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(text);
  if (m === null) throw new UsageError(`${what}: cannot read '${text}' as a size (e.g. 64KiB, 1MiB)`);
  const unit = m[2]!.toLowerCase();
  const binary = m[3]!.toLowerCase().startsWith('i') || m[3] === '';
  const base = binary ? 1024 : 1000;
  const power = ['', 'k', 'm', 'g', 't'].indexOf(unit);
  const n = Math.round(Number(m[1]) * base ** power);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${what}: '${text}' is not a positive size`);
  return n;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

/** A progress bar on a terminal; a line per 10% otherwise. */
export function progressReporter(label: string, clock: NodeClock): { update: (done: number, total: number) => void; finish: () => void } {
  const tty = process.stderr.isTTY === true;
  const start = clock.nowMs();
  let lastTenth = -1;
  let lastDrawMs = -Infinity;
  const line = (done: number, total: number): string => {
    const frac = total === 0 ? 1 : Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(frac * width);
    const secs = Math.max(0.001, (clock.nowMs() - start) / 1000);
    const rate = done / secs;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(1).padStart(5)}%  ${formatBytes(done)} of ${formatBytes(total)}  ${formatBytes(Math.round(rate))}/s  ETA ${Math.ceil(eta)}s`;
  };
  return {
    update(done, total) {
      if (tty) {
        if (clock.nowMs() - lastDrawMs < 100 && done < total) return;
        lastDrawMs = clock.nowMs();
        process.stderr.write(`\r${line(done, total)}`);
        return;
      }
      const tenth = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        process.stderr.write(`${line(done, total)}\n`);
      }
    },
    finish() {
      if (tty) process.stderr.write('\n');
    },
  };
}

export function activityText(a: Activity): string {
  switch (a.type) {
    case 'idle':
      return 'idle';
    case 'rebuild':
      return `rebuilding member ${a.member}: ${pct(a.doneBytes, a.totalBytes)} (${formatBytes(a.doneBytes)} of ${formatBytes(a.totalBytes)})`;
    case 'scrub':
      return `scrub (${a.mode}): ${pct(a.doneBytes, a.totalBytes)} (${formatBytes(a.doneBytes)} of ${formatBytes(a.totalBytes)}), ${a.mismatches} mismatches so far`;
  }
}

export function scrubText(ls: ScrubSummary | null): string {
  if (ls === null) return 'never';
  return `${ls.mode} finished ${new Date(ls.finishedWallMs).toISOString()}: ${formatBytes(ls.checkedBytes)} read, ${ls.mismatches} mismatches, ${ls.repaired} repaired, ${ls.lost} lost`;
}

function pct(done: number, total: number): string {
  return `${total === 0 ? 100 : Math.floor((done / total) * 1000) / 10}%`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}
