/** Builds synthetic histories for the checkers' tests. */
import type { Outcome, RecordedOp } from './history.js';

let nextId = 0;

export function op<I extends { readonly type: string }>(o: { client?: number; member?: string; input: I; outcome?: Outcome; output?: unknown; call: number; ret: number; id?: number }): RecordedOp {
  const outcome = o.outcome ?? 'ok';
  return {
    id: o.id ?? nextId++,
    process: o.client ?? 0,
    client: o.client ?? 0,
    member: o.member ?? 'm1',
    input: o.input,
    outcome,
    output: outcome === 'ok' ? (o.output ?? {}) : null,
    error: outcome === 'ok' ? null : 'timeout',
    callMs: o.call,
    returnMs: o.ret,
  };
}
