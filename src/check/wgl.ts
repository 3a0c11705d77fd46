/**
 * Wing & Gong's linearizability search with Lowe's improvements and memoization, for one partition
 * (one key). Events (calls and returns) sit in a doubly linked list ordered by time. The search
 * walks the list trying to linearize the earliest pending call whose effect is consistent with the
 * model; linearizing an operation lifts its call and return out of the list. Reaching a return
 * whose call is still in the list means that operation could not be placed before it returned:
 * backtrack. Each (set of linearized operations, model state) pair is explored once, as Lowe and
 * Porcupine do; the set is a bitset hashed with Zobrist keys so pushing and popping cost O(1).
 */
import { assert } from '../core/assert.js';
import type { Random } from '../env/random.js';
import { SeededRandom } from '../env/random.js';
import type { KvInput, KvOutput } from './history.js';
import { stepKey, type KeyState } from './kv-model.js';

/** One operation of a partition, with times already normalized (an absent return is +Infinity). */
export interface PartitionOp {
  readonly input: KvInput;
  readonly output: KvOutput | null;
  readonly callTime: number;
  readonly returnTime: number;
}

export type SearchOutcome =
  | { readonly type: 'linearizable'; readonly steps: number }
  | { readonly type: 'violation'; readonly steps: number }
  | { readonly type: 'budget-exceeded'; readonly steps: number };

export interface SearchOptions {
  /** The key's possible values before the first operation (the search succeeds if any works). */
  readonly initialStates: readonly KeyState[];
  /** Stops the search after this many steps and answers budget-exceeded. */
  readonly stepsMax: number;
}

const zobristRandom: Random = new SeededRandom(0x5eed);
const zobrist: number[] = [];
function zobristKey(i: number): number {
  while (zobrist.length <= i) zobrist.push(zobristRandom.uint32());
  return zobrist[i]!;
}

export function searchPartition(ops: readonly PartitionOp[], options: SearchOptions): SearchOutcome {
  let steps = 0;
  for (const initial of options.initialStates) {
    const r = searchFrom(ops, initial, options.stepsMax - steps);
    steps += r.steps;
    if (r.type !== 'violation') return { type: r.type, steps };
  }
  return { type: 'violation', steps };
}

function searchFrom(ops: readonly PartitionOp[], initial: KeyState, stepsMax: number): SearchOutcome {
  const n = ops.length;
  if (n === 0) return { type: 'linearizable', steps: 0 };
  // Events 0..2n-1: event 2i is the call of op i, 2i+1 its return. Index 2n is the list head.
  const order: number[] = [];
  for (let i = 0; i < 2 * n; i++) order.push(i);
  const timeOf = (e: number): number => (e % 2 === 0 ? ops[e >> 1]!.callTime : ops[e >> 1]!.returnTime);
  // Calls before returns at equal times: touching operations count as concurrent.
  order.sort((a, b) => timeOf(a) - timeOf(b) || (a % 2) - (b % 2) || a - b);
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

  const words = (n + 31) >>> 5;
  const bits = new Uint32Array(words);
  let hash = 0;
  const cache = new Map<string, Uint32Array[]>();
  const remember = (state: KeyState): boolean => {
    const key = `${hash}|${state === null ? '\u0000' : 's' + state}`;
    const seen = cache.get(key);
    if (seen === undefined) {
      cache.set(key, [bits.slice()]);
      return true;
    }
    for (const s of seen) if (equalBits(s, bits)) return false;
    seen.push(bits.slice());
    return true;
  };

  const stackCall: number[] = [];
  const stackState: KeyState[] = [];
  let state: KeyState = initial;
  let entry = next[head]!;
  let steps = 0;
  while (next[head]! >= 0) {
    if (++steps > stepsMax) return { type: 'budget-exceeded', steps };
    assert(entry >= 0, 'the search ran off the end of the event list');
    if (entry % 2 === 0) {
      const i = entry >> 1;
      const op = ops[i]!;
      const after = stepKey(state, op.input, op.output);
      let advanced = false;
      if (after !== undefined) {
        bits[i >>> 5]! |= 1 << (i & 31);
        hash ^= zobristKey(i);
        if (remember(after)) {
          stackCall.push(entry);
          stackState.push(state);
          state = after;
          lift(entry);
          entry = next[head]!;
          advanced = true;
        } else {
          bits[i >>> 5]! &= ~(1 << (i & 31));
          hash ^= zobristKey(i);
        }
      }
      if (!advanced) entry = next[entry]!;
    } else {
      // A return whose call is still pending: that operation was not placed in time. Backtrack.
      if (stackCall.length === 0) return { type: 'violation', steps };
      const call = stackCall.pop()!;
      state = stackState.pop()!;
      const i = call >> 1;
      bits[i >>> 5]! &= ~(1 << (i & 31));
      hash ^= zobristKey(i);
      unlift(call);
      entry = next[call]!;
    }
  }
  return { type: 'linearizable', steps };
}

function equalBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
