/** A one-line progress bar on a terminal (redrawn in place), or nothing when output is not a terminal. */
import { assertNever } from '../core/assert.js';
import type { BenchProgress } from './runner.js';
import { formatCount } from './report.js';

const WIDTH_COLUMNS = 30;

export function renderProgress(p: BenchProgress, label: string): string {
  const filled = Math.round(p.fraction * WIDTH_COLUMNS);
  const bar = '#'.repeat(filled) + '.'.repeat(WIDTH_COLUMNS - filled);
  switch (p.phase) {
    case 'preload':
      return `${label} preloading keys [${bar}] ${p.ops}`;
    case 'warmup':
      return `${label} warming up ${(p.elapsedMs / 1000).toFixed(1)} s`;
    case 'measure':
      return `${label} [${bar}] ${(p.fraction * 100).toFixed(0).padStart(3)} %  ${formatCount(p.rate)} ops/s  ${p.ops} ops  ${p.errors} errors`;
    default:
      return assertNever(p.phase, 'progress phase');
  }
}

export class ProgressBar {
  private shown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly enabled: boolean = out.isTTY === true,
  ) {}

  update(line: string): void {
    if (!this.enabled) return;
    this.out.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}
