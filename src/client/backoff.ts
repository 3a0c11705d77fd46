/**
 * Exponential backoff with "equal jitter": the n-th retry waits between half and all of
 * min(max, min * 2^(n-1)). Half of the delay is fixed so a retry never comes back at once; the
 * other half is random so clients that failed together do not retry together.
 */
import { assert } from '../core/assert.js';
import type { Random } from '../env/random.js';

export interface BackoffOptions {
  readonly minMs: number;
  readonly maxMs: number;
}

/** The delay before retry number `retry` (1 for the first retry). */
export function backoffDelayMs(retry: number, o: BackoffOptions, random: Random): number {
  assert(retry >= 1, 'retries count from 1');
  assert(o.minMs > 0 && o.minMs <= o.maxMs, 'backoff bounds');
  const ceiling = Math.min(o.maxMs, o.minMs * 2 ** Math.min(retry - 1, 30));
  return Math.round(ceiling / 2 + random.float() * (ceiling / 2));
}
