/** Draws a few operations as a text timeline, one line per operation, for a violation report. */
import { describeOperation, type Operation } from './history.js';
import type { KeyState } from './kv-model.js';

const WIDTH_COLUMNS = 48;

export interface TimelineOptions {
  readonly key: string;
  readonly window: readonly Operation[];
  /** Earlier operations shown for context (why a value read in the window was impossible). */
  readonly evidence: readonly Operation[];
  /** Values the key may have held before the window; empty when the window was not narrowed. */
  readonly statesBefore: readonly KeyState[];
  /** Operations already running when the window starts: their answers are not used. */
  readonly early: ReadonlySet<number>;
}

export function renderTimeline({ key, window, evidence, statesBefore, early }: TimelineOptions): string {
  const shown = [...evidence, ...window].sort((a, b) => a.callTime - b.callTime || a.id - b.id);
  const context = new Set(evidence.map((o) => o.id));
  const finite = shown.flatMap((o) => (o.returnTime === null ? [o.callTime] : [o.callTime, o.returnTime]));
  const t0 = Math.min(...finite);
  const t1 = Math.max(...finite);
  const span = Math.max(1, t1 - t0);
  const col = (t: number): number => Math.round(((t - t0) / span) * (WIDTH_COLUMNS - 1));
  const before = statesBefore.map((s) => (s === null ? 'nil' : JSON.stringify(s))).join(', ');
  const lines = [
    statesBefore.length === 0
      ? `key ${JSON.stringify(key)}: no order of the history explains these ${window.length} operations:`
      : `key ${JSON.stringify(key)}: ${window.length === 1 ? 'this operation cannot be explained' : `these ${window.length} operations cannot be ordered`}, whatever the key held when ${window.length === 1 ? 'it' : 'they'} began (${statesBefore.length > 8 ? `one of ${statesBefore.length} values` : before}):`,
  ];
  const label = (o: Operation): string => `client ${o.clientId} op ${o.id}`;
  const labelWidth = Math.max(...shown.map((o) => label(o).length));
  for (const o of shown) {
    const a = col(o.callTime);
    const b = o.returnTime === null ? WIDTH_COLUMNS - 1 : Math.max(a, col(o.returnTime));
    const bar = ' '.repeat(a) + '|' + '-'.repeat(Math.max(0, b - a - 1)) + (o.returnTime === null ? '?' : b > a ? '|' : '');
    const times = `${fmt(o.callTime)}..${o.returnTime === null ? '?' : fmt(o.returnTime)}`;
    const note = context.has(o.id)
      ? '  (earlier, for context)'
      : early.has(o.id)
        ? '  (running before the window: may have taken effect earlier; answer not used)'
        : '';
    lines.push(`  ${label(o).padEnd(labelWidth)}  ${bar.padEnd(WIDTH_COLUMNS)}  ${describeOperation(o)}  [${times}]${note}`);
  }
  return lines.join('\n');
}

function fmt(t: number): string {
  return String(Math.round(t * 1000) / 1000);
}
