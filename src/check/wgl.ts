/**
 * Wing & Gong's linearizability search with Lowe's improvements and memoization, for one partition
 * (one key). Events (calls and returns) sit in a doubly linked list ordered by time. The search
 * walks the list trying to linearize the earliest pending call whose effect is consistent with the
 * model; linearizing an operation lifts its call and return out of the list. Reaching a return
 * whose call is still in the list means that operation could not be placed before it returned:
 * backtrack. Each (set of linearized operations, model state) pair is explored once, as Lowe and
 * Porcupine do; the set is fingerprinted with Zobrist keys, so pushing and popping cost O(1).
 */
import { assert } from '../core/assert.js';
import type { Random } from '../env/random.js';
import { SeededRandom } from '../env/random.js';
import { stepKey, type KeyState } from './kv-model.js';
import type { KvInput, KvOutput } from './history.js';

/** One operation of a partition, with times already normalized (an absent return is +Infinity). */
export interface PartitionOp {
  readonly input: KvInput;
  readonly output: KvOutput | null;
  readonly callTime: number;
  readonly returnTime: number;
}

export type SearchOutcome =
  | { readonly type: 'linearizable'; readonly steps: number }
  /**
   * `stuckAt` is the return time of the furthest response any partial ordering reached but could
   * not explain: every ordering fails there or earlier.
   */
  | { readonly type: 'violation'; readonly steps: number; readonly stuckAt: number }
  | { readonly type: 'budget-exceeded'; readonly steps: number };

export interface SearchOptions {
  /**
   * The key's possible values before the first operation: the search succeeds if any of them
   * works. With several, the search starts from "one of these, not yet known", which the first
   * operation that depends on the value narrows (see stepFromAnyOf).
   */
  readonly initialStates: readonly KeyState[];
  /** Stops the search after this many steps and answers budget-exceeded. */
  readonly stepsMax: number;
}

/** The state "one of the candidate values, not yet observed". */
const ANY_OF: unique symbol = Symbol('any-of');
type SearchState = KeyState | typeof ANY_OF;

/**
 * Steps from an unknown state drawn from `candidates`. An operation that reveals the value (a get,
 * a compare-and-set, a delete's answer) fixes it, if it is a candidate; a put overwrites it. A
 * failed compare-and-set or an unanswered operation that depends on the value leaves it unknown,
 * which over-approximates (more orderings succeed), so a failure from here is a failure from
 * every candidate.
 */
function stepFromAnyOf(candidates: ReadonlySet<KeyState>, input: KvInput, output: KvOutput | null): SearchState | undefined {
  switch (input.type) {
    case 'get':
      if (output === null || output.type !== 'get') return ANY_OF;
      return candidates.has(output.value) ? output.value : undefined;
    case 'put':
      return input.value;
    case 'delete':
      if (output === null || output.type !== 'delete') return null;
      if (output.deleted) return [...candidates].some((c) => c !== null) ? null : undefined;
      return candidates.has(null) ? null : undefined;
    case 'cas':
      if (output === null || output.type !== 'cas') return ANY_OF;
      if (output.ok) return candidates.has(input.expected) ? input.value : undefined;
      return [...candidates].some((c) => c !== input.expected) ? ANY_OF : undefined;
  }
}

const zobristRandom: Random = new SeededRandom(0x5eed);
const zobrist: number[] = [];
function zobristKey(i: number): number {
  while (zobrist.length <= i) zobrist.push(zobristRandom.uint32());
  return zobrist[i]!;
}

export function searchPartition(ops: readonly PartitionOp[], options: SearchOptions): SearchOutcome {
  const candidates = new Set(options.initialStates);
  assert(candidates.size > 0, 'at least one initial state');
  const initial: SearchState = candidates.size === 1 ? [...candidates][0]! : ANY_OF;
  const step = (state: SearchState, op: PartitionOp): SearchState | undefined =>
    state === ANY_OF ? stepFromAnyOf(candidates, op.input, op.output) : stepKey(state, op.input, op.output);
  return searchFrom(ops, initial, step, options.stepsMax);
}

function searchFrom(ops: readonly PartitionOp[], initial: SearchState, step: (s: SearchState, op: PartitionOp) => SearchState | undefined, stepsMax: number): SearchOutcome {
  const n = ops.length;
  if (n === 0) return { type: 'linearizable', steps: 0 };
  // Events 0..2n-1: event 2i is the call of op i, 2i+1 its return. Index 2n is the list head.
  const order: number[] = [];
  for (let i = 0; i < 2 * n; i++) order.push(i);
  const timeOf = (e: number): number => (e % 2 === 0 ? ops[e >> 1]!.callTime : ops[e >> 1]!.returnTime);
  // Calls before returns at equal times: touching operations count as concurrent.
  order.sort((a, b) => timeOf(a) - timeOf(b) || (a % 2) - (b % 2) || a - b);
  preferAnswered(order, ops);
  const head = 2 * n;
  const next = new Int32Array(2 * n + 1).fill(-1);
  const prev = new Int32Array(2 * n + 1).fill(-1);
  let last = head;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }

  const lift = (call: number): void => {
    const ret = call + 1;
    next[prev[call]!] = next[call]!;
    if (next[call]! >= 0) prev[next[call]!] = prev[call]!;
    next[prev[ret]!] = next[ret]!;
    if (next[ret]! >= 0) prev[next[ret]!] = prev[ret]!;
  };
  const unlift = (call: number): void => {
    const ret = call + 1;
    if (next[ret]! >= 0) prev[next[ret]!] = ret;
    next[prev[ret]!] = ret;
    if (next[call]! >= 0) prev[next[call]!] = call;
    next[prev[call]!] = call;
  };

  // The cache holds a 64-bit fingerprint of (linearized set, state): two independent Zobrist
  // hashes of the set, each mixed with the state's number. Storing bitsets instead costs a copy of
  // n bits per configuration, which for 10,000 operations and millions of configurations does not
  // fit in memory. As in TLC's state fingerprints, a collision could prune a path wrongly; with
  // N configurations the chance is about N^2 / 2^65 (below 1e-5 at ten million).
  let h1 = 0;
  let h2 = 0;
  const stateIds = new Map<SearchState, number>();
  const stateId = (st: SearchState): number => {
    let id = stateIds.get(st);
    if (id === undefined) stateIds.set(st, (id = stateIds.size));
    return id;
  };
  const cache = new Map<number, number[]>();
  const remember = (state: SearchState): boolean => {
    const sid = stateId(state) + 1;
    const k1 = (h1 ^ Math.imul(sid, 0x9e3779b1)) >>> 0;
    const k2 = (h2 ^ Math.imul(sid, 0x85ebca6b)) >>> 0;
    const seen = cache.get(k1);
    if (seen === undefined) {
      cache.set(k1, [k2]);
      return true;
    }
    if (seen.includes(k2)) return false;
    seen.push(k2);
    return true;
  };
  const toggle = (i: number): void => {
    h1 ^= zobristKey(2 * i);
    h2 ^= zobristKey(2 * i + 1);
  };

  const stackCall: number[] = [];
  const stackState: SearchState[] = [];
  let state: SearchState = initial;
  let entry = next[head]!;
  let steps = 0;
  let stuckAt = -Infinity;
  while (next[head]! >= 0) {
    if (++steps > stepsMax) return { type: 'budget-exceeded', steps };
    assert(entry >= 0, 'the search ran off the end of the event list');
    if (entry % 2 === 0) {
      const i = entry >> 1;
      const op = ops[i]!;
      const after = step(state, op);
      let advanced = false;
      if (after !== undefined) {
        toggle(i);
        if (remember(after)) {
          stackCall.push(entry);
          stackState.push(state);
          state = after;
          lift(entry);
          entry = next[head]!;
          advanced = true;
        } else {
          toggle(i);
        }
      }
      if (!advanced) entry = next[entry]!;
    } else {
      // A return whose call is still pending: that operation was not placed in time. Backtrack.
      stuckAt = Math.max(stuckAt, ops[entry >> 1]!.returnTime);
      if (stackCall.length === 0) return { type: 'violation', steps, stuckAt };
      const call = stackCall.pop()!;
      state = stackState.pop()!;
      toggle(call >> 1);
      unlift(call);
      entry = next[call]!;
    }
  }
  return { type: 'linearizable', steps };
}


/**
 * Within each run of consecutive calls (no return between them, so any of them may be linearized
 * next), puts operations with a response first. Only the order in which candidates are tried
 * changes, not the answer; but an operation without a response stays a candidate to the end of the
 * history, and trying it first sends the search down long dead ends.
 */
function preferAnswered(order: number[], ops: readonly PartitionOp[]): void {
  let i = 0;
  while (i < order.length) {
    if (order[i]! % 2 === 1) {
      i++;
      continue;
    }
    let j = i;
    while (j < order.length && order[j]! % 2 === 0) j++;
    const run = order.slice(i, j);
    const answered = run.filter((e) => ops[e >> 1]!.returnTime !== Infinity);
    const open = run.filter((e) => ops[e >> 1]!.returnTime === Infinity);
    order.splice(i, run.length, ...answered, ...open);
    i = j;
  }
}
