/**
 * Assertions for programmer errors. An assertion failure means the code is wrong, not the input:
 * the process should crash rather than go on with a broken invariant. Operating errors (bad input,
 * a failed disk, a peer speaking nonsense) are returned as typed errors instead (see errors.ts).
 */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Exhaustiveness check for discriminated unions: every `switch` over a union ends here. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

export function unreachable(message = 'unreachable'): never {
  throw new AssertionError(message);
}

/** Asserts that `value` is a non-negative safe integer (a count, an index, a size). */
export function assertUint(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new AssertionError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}
