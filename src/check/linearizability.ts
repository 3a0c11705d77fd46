/**
 * Checks a key-value history for linearizability. The history is split per key (P-
 * compositionality, as Porcupine does: linearizability is a local property, so a history is
 * linearizable exactly when each key's sub-history is), each part is searched with WGL (wgl.ts), and
 * for a part that fails the checker looks for the smallest window of operations that cannot be
 * ordered whatever the key held before it, and draws it as a timeline.
 */
import { LINEARIZABILITY_SEARCH_STEPS_MAX, LINEARIZABILITY_WINDOW_TRIES_MAX } from '../core/limits.js';
import { validateHistory, type History, type Operation } from './history.js';
import { writtenValue, type KeyState } from './kv-model.js';
import { renderTimeline } from './timeline.js';
import { searchPartition, type PartitionOp } from './wgl.js';

export type CheckResult =
  | { readonly type: 'ok'; readonly keys: number; readonly operations: number; readonly steps: number }
  | {
      readonly type: 'violation';
      readonly key: string;
      /** The smallest window found: operations that cannot be ordered, sorted by call time. */
      readonly window: readonly Operation[];
      /** The value the key may have held before the window (any of them fails). */
      readonly statesBefore: readonly KeyState[];
      /** A short text timeline of the window, for people. */
      readonly report: string;
      readonly steps: number;
    }
  | { readonly type: 'unknown'; readonly key: string; readonly reason: string; readonly steps: number };

export interface CheckOptions {
  /** Search steps allowed per key before answering 'unknown'. */
  readonly stepsMax?: number;
}

export function checkHistory(history: History, options: CheckOptions = {}): CheckResult {
  validateHistory(history);
  const stepsMax = options.stepsMax ?? LINEARIZABILITY_SEARCH_STEPS_MAX;
  const byKey = partitionByKey(history.operations);
  let steps = 0;
  let count = 0;
  for (const [key, ops] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    count += ops.length;
    const r = searchPartition(ops.map(toPartitionOp), { initialStates: [null], stepsMax });
    steps += r.steps;
    switch (r.type) {
      case 'linearizable':
        continue;
      case 'budget-exceeded':
        return { type: 'unknown', key, reason: `search gave up after ${r.steps} steps`, steps };
      case 'violation':
        return { ...explainViolation(key, ops, stepsMax), steps };
    }
  }
  return { type: 'ok', keys: byKey.size, operations: count, steps };
}

/** Gets without a response observed nothing and changed nothing: they are left out. */
function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.input.type === 'get' && op.output === null) continue;
    let list = byKey.get(op.input.key);
    if (list === undefined) byKey.set(op.input.key, (list = []));
    list.push(op);
  }
  return byKey;
}

function toPartitionOp(op: Operation): PartitionOp {
  return { input: op.input, output: op.output, callTime: op.callTime, returnTime: op.returnTime ?? Infinity };
}

/**
 * Narrows a failing key history to a small witness in two steps. First the shortest failing
 * prefix: cut the history at a return time, keep the operations invoked by then and make those
 * still running indeterminate; failing is monotone in the cut, so a binary search finds the first
 * return that cannot be explained. Then the latest start: a window from time s holds the
 * operations of that prefix not completed before s, starting from any value the key may have held at s
 * (nil or anything written by an operation invoked before s). The first s, scanning back from the
 * failure, at which every such starting value fails gives a window that needs nothing before it.
 */
function explainViolation(key: string, ops: readonly Operation[], stepsMax: number): Omit<Extract<CheckResult, { type: 'violation' }>, 'steps'> {
  const fails = (subset: readonly Operation[], states: readonly KeyState[]): boolean =>
    searchPartition(subset.map(toPartitionOp), { initialStates: states, stepsMax }).type === 'violation';

  const returns = [...new Set(ops.flatMap((o) => (o.returnTime === null ? [] : [o.returnTime])))].sort((a, b) => a - b);
  let lo = 0;
  let hi = returns.length - 1;
  let prefix: Operation[] = [...ops];
  // Invariant: the prefix cut at returns[hi] fails (the whole history fails; its last cut is it).
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const p = prefixAt(ops, returns[mid]!);
    if (fails(p, [null])) hi = mid;
    else lo = mid + 1;
  }
  if (returns.length > 0) prefix = prefixAt(ops, returns[hi]!);
  const cut = returns.length > 0 ? returns[hi]! : Infinity;

  const starts = [...new Set(prefix.flatMap((o) => (o.returnTime !== null && o.returnTime <= cut ? [o.returnTime] : [])))].sort((a, b) => b - a);
  let window = prefix;
  let statesBefore: KeyState[] = [null];
  const tried = new Set<number>();
  for (const s0 of starts.slice(0, LINEARIZABILITY_WINDOW_TRIES_MAX)) {
    const s = closedStart(prefix, s0);
    if (tried.has(s)) continue;
    tried.add(s);
    const w = prefix.filter((o) => o.returnTime === null || o.returnTime >= s);
    const states = candidateStates(ops, s);
    if (fails(w, states)) {
      window = w;
      statesBefore = states;
      break;
    }
  }
  window = dropObservers(window, (w) => fails(w, statesBefore));
  window = [...window].sort((a, b) => a.callTime - b.callTime || a.id - b.id);
  return { type: 'violation', key, window, statesBefore, report: renderTimeline(key, window, statesBefore) };
}

/**
 * Moves a window start back until every completed operation in the window was invoked after it, so
 * that everything completed before the start precedes the whole window in real time and the key's
 * value at the start is a value written before it. Operations without a response do not move it: if
 * one took effect before the window, placing it last in the window has the same (no) consequence.
 */
function closedStart(prefix: readonly Operation[], start: number): number {
  let s = start;
  for (;;) {
    let m = s;
    for (const o of prefix) if (o.returnTime !== null && o.returnTime >= s && o.callTime < m) m = o.callTime;
    if (m === s) return s;
    s = m;
  }
}

/**
 * Removes, one at a time, operations that cannot change the key (answered gets, failed
 * compare-and-sets, deletes of an absent key) while the window still fails. Sound: an ordering of
 * the full window, minus such an operation, orders the rest, so if the rest cannot be ordered
 * neither could the window. Writes stay: without them the others could not be judged.
 */
function dropObservers(window: readonly Operation[], stillFails: (w: readonly Operation[]) => boolean): Operation[] {
  let w = [...window];
  for (const op of window) {
    if (w.length <= 1 || !isObserver(op)) continue;
    const without = w.filter((o) => o !== op);
    if (stillFails(without)) w = without;
  }
  return w;
}

function isObserver(op: Operation): boolean {
  const o = op.output;
  if (o === null) return false;
  switch (o.type) {
    case 'get':
      return true;
    case 'cas':
      return !o.ok;
    case 'delete':
      return !o.deleted;
    case 'put':
      return false;
  }
}

/** The prefix of a key history at a cut time; operations still running at the cut lose their response. */
function prefixAt(ops: readonly Operation[], cut: number): Operation[] {
  const out: Operation[] = [];
  for (const o of ops) {
    if (o.callTime > cut) continue;
    if (o.returnTime !== null && o.returnTime <= cut) out.push(o);
    else if (o.input.type !== 'get') out.push({ ...o, returnTime: null, output: null });
  }
  return out;
}

/** Every value the key may hold at time s: nil, or a value written by an operation invoked before s. */
function candidateStates(ops: readonly Operation[], s: number): KeyState[] {
  const states = new Set<KeyState>([null]);
  for (const o of ops) {
    if (o.callTime >= s) continue;
    const v = writtenValue(o.input);
    if (v !== undefined) states.add(v);
  }
  return [...states];
}
