/**
 * Generates realistic linearizable key-value histories, for tests and the checker benchmark:
 * clients run operations back to back, each operation takes effect at a random point inside its
 * interval, and outputs are computed in that order, so the history is linearizable by
 * construction. `perturb` then breaks one read so it is not.
 */
import { assert } from '../core/assert.js';
import type { Random } from '../env/random.js';
import type { History, KvInput, KvOutput, Operation } from './history.js';
import { stepKey, type KeyState } from './kv-model.js';

export interface GenerateOptions {
  readonly random: Random;
  readonly clients: number;
  readonly operations: number;
  readonly keys: readonly string[];
  /** Fraction of operations left without a response; each of those takes effect or not at random. */
  readonly indeterminateRate: number;
  /** Mix of operation kinds; weights need not sum to 1. */
  readonly mix?: { readonly get: number; readonly put: number; readonly delete: number; readonly cas: number };
}

interface Planned {
  op: { id: number; clientId: number; input: KvInput; callTime: number; returnTime: number | null };
  pointTime: number;
  takesEffect: boolean;
}

export function generateHistory(options: GenerateOptions): History {
  const { random, clients, operations, keys } = options;
  assert(clients > 0 && keys.length > 0, 'at least one client and one key');
  const mix = options.mix ?? { get: 0.5, put: 0.25, delete: 0.05, cas: 0.2 };
  const written: string[] = [];
  const clientTime = new Array<number>(clients).fill(0);
  const planned: Planned[] = [];
  let valueSeq = 0;
  for (let id = 0; id < operations; id++) {
    const clientId = random.int(clients);
    const callTime = clientTime[clientId]! + 1 + random.int(5);
    const duration = 1 + random.int(40);
    const key = random.pick(keys);
    const input = pickInput(random, mix, key, written, () => `v${++valueSeq}`);
    if (input.type === 'put' || input.type === 'cas') written.push(input.value);
    const indeterminate = random.chance(options.indeterminateRate);
    const returnTime = indeterminate ? null : callTime + duration;
    // A client with a timed-out operation moves on; the operation may still land later.
    clientTime[clientId] = callTime + duration;
    const pointTime = callTime + random.float() * (indeterminate ? duration * 4 : duration);
    planned.push({ op: { id, clientId, input, callTime, returnTime }, pointTime, takesEffect: !indeterminate || random.chance(0.5) });
  }
  const state = new Map<string, KeyState>();
  const outputs = new Map<number, KvOutput>();
  for (const p of [...planned].sort((a, b) => a.pointTime - b.pointTime)) {
    if (!p.takesEffect) continue;
    const before = state.get(p.op.input.key) ?? null;
    const output = outputFor(p.op.input, before);
    const after = stepKey(before, p.op.input, output);
    assert(after !== undefined, 'the generator computes consistent outputs');
    state.set(p.op.input.key, after);
    outputs.set(p.op.id, output);
  }
  const ops: Operation[] = planned.map((p) => ({ ...p.op, output: p.op.returnTime === null ? null : outputs.get(p.op.id)! }));
  return { operations: ops };
}

function pickInput(random: Random, mix: NonNullable<GenerateOptions['mix']>, key: string, written: readonly string[], fresh: () => string): KvInput {
  let r = random.float() * (mix.get + mix.put + mix.delete + mix.cas);
  if ((r -= mix.get) < 0) return { type: 'get', key };
  if ((r -= mix.put) < 0) return { type: 'put', key, value: fresh() };
  if ((r -= mix.delete) < 0) return { type: 'delete', key };
  const expected = written.length === 0 || random.chance(0.2) ? null : written[written.length - 1 - random.int(Math.min(3, written.length))]!;
  return { type: 'cas', key, expected, value: fresh() };
}

function outputFor(input: KvInput, before: KeyState): KvOutput {
  switch (input.type) {
    case 'get':
      return { type: 'get', value: before };
    case 'put':
      return { type: 'put' };
    case 'delete':
      return { type: 'delete', deleted: before !== null };
    case 'cas':
      return { type: 'cas', ok: before === input.expected };
  }
}

/**
 * Makes a history non-linearizable: a completed get late in the history is made to return a value
 * that was overwritten well before the get was invoked (a stale read). Returns null when the
 * history has no such get.
 */
export function perturbStaleRead(history: History, random: Random): History | null {
  const ops = history.operations;
  const candidates = ops.filter((o) => o.input.type === 'get' && o.output !== null && o.callTime > ops[0]!.callTime + 100);
  for (let tries = 0; tries < 100 && candidates.length > 0; tries++) {
    const get = candidates[random.int(candidates.length)]!;
    // A put on the same key that completed, followed by another completed put, both before the get.
    const puts = ops.filter((o) => o.input.key === get.input.key && o.input.type === 'put' && o.returnTime !== null && o.returnTime < get.callTime);
    if (puts.length < 2) continue;
    const old = puts[0]!;
    if (!puts.some((p) => p.callTime > old.returnTime!)) continue;
    if (old.input.type !== 'put' || (get.output?.type === 'get' && get.output.value === old.input.value)) continue;
    const value = old.input.value;
    return { operations: ops.map((o) => (o.id === get.id ? { ...o, output: { type: 'get', value } } : o)) };
  }
  return null;
}
