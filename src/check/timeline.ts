/** Draws a few operations as a text timeline, one line per operation, for a violation report. */
import { describeOperation, type Operation } from './history.js';
import type { KeyState } from './kv-model.js';

const WIDTH_COLUMNS = 48;

export function renderTimeline(key: string, window: readonly Operation[], statesBefore: readonly KeyState[]): string {
  const finite = window.flatMap((o) => (o.returnTime === null ? [o.callTime] : [o.callTime, o.returnTime]));
  const t0 = Math.min(...finite);
  const t1 = Math.max(...finite);
  const span = Math.max(1, t1 - t0);
  const col = (t: number): number => Math.round(((t - t0) / span) * (WIDTH_COLUMNS - 1));
  const before = statesBefore.map((s) => (s === null ? 'nil' : JSON.stringify(s))).join(', ');
  const lines = [
    `key ${JSON.stringify(key)}: these ${window.length} operations cannot be ordered, whatever the key held before them (${before}):`,
  ];
  const label = (o: Operation): string => `client ${o.clientId} op ${o.id}`;
  const labelWidth = Math.max(...window.map((o) => label(o).length));
  for (const o of window) {
    const a = col(o.callTime);
    const b = o.returnTime === null ? WIDTH_COLUMNS - 1 : Math.max(a, col(o.returnTime));
    const bar = ' '.repeat(a) + '|' + '-'.repeat(Math.max(0, b - a - 1)) + (o.returnTime === null ? '?' : b > a ? '|' : '');
    const times = `${fmt(o.callTime)}..${o.returnTime === null ? '?' : fmt(o.returnTime)}`;
    lines.push(`  ${label(o).padEnd(labelWidth)}  ${bar.padEnd(WIDTH_COLUMNS)}  ${describeOperation(o)}  [${times}]`);
  }
  return lines.join('\n');
}

function fmt(t: number): string {
  return String(Math.round(t * 1000) / 1000);
}
