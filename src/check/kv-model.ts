/**
 * The sequential specification of one key of the register: what each operation must return given
 * the value before it, and the value after. The checker partitions a history per key (P-
 * compositionality: linearizability is local), so the state is just the key's value or null.
 */
import { assertNever } from '../core/assert.js';
import type { KvInput, KvOutput } from './history.js';

export type KeyState = string | null;

/**
 * Applies `input` with the observed `output` to `state`. Returns the next state, or undefined when
 * the output is impossible from that state. A null output (no response) is always possible: the
 * operation's effect is applied as it would have been.
 */
export function stepKey(state: KeyState, input: KvInput, output: KvOutput | null): KeyState | undefined {
  switch (input.type) {
    case 'get':
      if (output === null) return state;
      return output.type === 'get' && output.value === state ? state : undefined;
    case 'put':
      return output === null || output.type === 'put' ? input.value : undefined;
    case 'delete':
      if (output === null) return null;
      return output.type === 'delete' && output.deleted === (state !== null) ? null : undefined;
    case 'cas': {
      const matches = state === input.expected;
      if (output === null) return matches ? input.value : state;
      if (output.type !== 'cas' || output.ok !== matches) return undefined;
      return matches ? input.value : state;
    }
    default:
      return assertNever(input, 'kv input');
  }
}

/** The value an operation may leave behind (used for the candidate states before a window). */
export function writtenValue(input: KvInput): KeyState | undefined {
  switch (input.type) {
    case 'get':
      return undefined;
    case 'put':
    case 'cas':
      return input.value;
    case 'delete':
      return null;
    default:
      return assertNever(input, 'kv input');
  }
}
