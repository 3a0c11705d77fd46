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
      /**
       * Earlier operations that show why a value read in the window was no longer possible: its
       * write, and a write that certainly replaced it before the window began.
       */
      readonly evidence: readonly Operation[];
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
        return { ...explainViolation(key, ops, r.stuckAt, stepsMax), steps };
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
 * Narrows a failing key history to a small witness. The search reports the furthest response any
 * ordering reached and could not explain; cut the history there (operations invoked by then;
 * those still running lose their answer, see prefixAt). Then look for the latest start s such that
 * the operations of the cut history still running at s or invoked after it cannot be ordered from
 * any value the key may hold at s (candidateStates). Operations already running at s may have
 * taken effect before s, so inside the window they count as unanswered (effect optional, answer
 * unused). Sound: any ordering of the whole history orders such a window from one of those values
 * (placing an operation that took effect before s nowhere), so a window that cannot be ordered
 * proves the history cannot. If no window fails at that cut, later cuts are tried.
 */
function explainViolation(key: string, ops: readonly Operation[], stuckAt: number, stepsMax: number): Omit<Extract<CheckResult, { type: 'violation' }>, 'steps'> {
  const fails = (subset: readonly Operation[], states: readonly KeyState[]): boolean =>
    searchPartition(subset.map(toPartitionOp), { initialStates: states, stepsMax }).type === 'violation';
  const returns = [...new Set(ops.flatMap((o) => (o.returnTime === null ? [] : [o.returnTime])))].sort((a, b) => a - b);
  let tries = 0;
  for (const cut of returns.filter((r) => r >= stuckAt)) {
    const prefix = prefixAt(ops, cut);
    const starts = [...new Set(prefix.map((o) => o.callTime))].sort((a, b) => b - a);
    for (const s of starts) {
      if (++tries > LINEARIZABILITY_WINDOW_TRIES_MAX) break;
      // Running before s: a write keeps its effect (optional, as if unanswered); an operation whose
      // answer says it changed nothing is dropped, since it changed nothing wherever it fell.
      const inWindow = prefix.filter((o) => (o.returnTime === null || o.returnTime >= s) && !(o.callTime < s && isObserver(o)));
      const w = inWindow.map((o) => (o.callTime < s ? { ...o, returnTime: null, output: null } : o));
      const states = candidateStates(ops, s);
      if (!fails(w, states)) continue;
      const kept = new Set(dropObservers(w, (x) => fails(x, states)).map((o) => o.id));
      // Show the operations as the clients saw them; those running before the window are marked.
      const window = ops.filter((o) => kept.has(o.id)).sort((a, b) => a.callTime - b.callTime || a.id - b.id);
      const early = new Set(window.filter((o) => o.callTime < s).map((o) => o.id));
      const evidence = evidenceFor(ops, window, states, s);
      return { type: 'violation', key, window, evidence, statesBefore: states, report: renderTimeline({ key, window, evidence, statesBefore: states, early }) };
    }
    if (tries > LINEARIZABILITY_WINDOW_TRIES_MAX) break;
  }
  // Not narrowed within the budget: show the operations around the response that could not be explained.
  const around = ops.filter((o) => o.callTime <= stuckAt && (o.returnTime === null || o.returnTime >= stuckAt)).sort((a, b) => a.callTime - b.callTime || a.id - b.id);
  return { type: 'violation', key, window: around, evidence: [], statesBefore: [], report: renderTimeline({ key, window: around, evidence: [], statesBefore: [], early: new Set() }) };
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

/** A put, a successful compare-and-set or a delete that deleted: an operation that set the key. */
function isWrite(o: Operation): boolean {
  const out = o.output;
  if (o.input.type === 'get') return false;
  if (out === null) return true;
  return out.type === 'put' || (out.type === 'cas' && out.ok) || (out.type === 'delete' && out.deleted);
}

/** Finds, among completed writes, one invoked after `afterTime` that returned before `s`. */
function certainOverwrite(ops: readonly Operation[], afterTime: number, s: number): Operation | null {
  let best: Operation | null = null;
  for (const o of ops) {
    if (o.returnTime === null || !isWrite(o) || o.callTime <= afterTime || o.returnTime >= s) continue;
    if (best === null || o.returnTime < best.returnTime!) best = o;
  }
  return best;
}

/**
 * Every value the key may hold just before the window starting at s: the value of a write invoked
 * before s that was not certainly overwritten before s (or nil, the initial value, if no completed
 * write returned before s). A write w is certainly overwritten when another completed write was
 * invoked after w returned and returned before s: in any order, that one comes later.
 */
function candidateStates(ops: readonly Operation[], s: number): KeyState[] {
  // Completed writes by call time, with the earliest return among those invoked at or after each.
  const done = ops.filter((o) => o.returnTime !== null && isWrite(o)).sort((a, b) => a.callTime - b.callTime);
  const minReturnFrom = new Array<number>(done.length + 1).fill(Infinity);
  for (let i = done.length - 1; i >= 0; i--) minReturnFrom[i] = Math.min(minReturnFrom[i + 1]!, done[i]!.returnTime!);
  const overwrittenBefore = (returnTime: number): boolean => {
    let lo = 0;
    let hi = done.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (done[mid]!.callTime > returnTime) hi = mid;
      else lo = mid + 1;
    }
    return minReturnFrom[lo]! < s;
  };
  const states = new Set<KeyState>();
  if (!overwrittenBefore(-Infinity)) states.add(null);
  for (const o of ops) {
    if (o.callTime >= s || !isWrite(o)) continue;
    if (o.returnTime !== null && overwrittenBefore(o.returnTime)) continue;
    const v = writtenValue(o.input);
    if (v !== undefined) states.add(v);
  }
  return [...states];
}

/** For each value read in the window that was no longer possible: its write and what replaced it. */
function evidenceFor(ops: readonly Operation[], window: readonly Operation[], states: readonly KeyState[], s: number): Operation[] {
  const out = new Map<number, Operation>();
  const inWindow = new Set(window.map((o) => o.id));
  for (const r of window) {
    if (r.output?.type !== 'get' || states.includes(r.output.value)) continue;
    const value = r.output.value;
    const writers = ops.filter((o) => !inWindow.has(o.id) && o.callTime < s && isWrite(o) && writtenValue(o.input) === value);
    for (const w of writers.slice(0, 2)) {
      out.set(w.id, w);
      const over = certainOverwrite(ops, w.returnTime ?? Infinity, s);
      if (over !== null) out.set(over.id, over);
    }
    if (value === null && writers.length === 0) {
      const over = certainOverwrite(ops, -Infinity, s);
      if (over !== null) out.set(over.id, over);
    }
  }
  return [...out.values()].sort((a, b) => a.callTime - b.callTime || a.id - b.id);
}
