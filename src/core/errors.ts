/**
 * The base of every operating error in Bulwark. An error has a stable `code` that callers switch on
 * (and that the API layer maps, through one table, to etcd's gRPC codes and messages) and an
 * optional `cause`. Programmer errors are assertions (assert.ts), not these.
 */
export class BulwarkError<Code extends string = string> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = 'BulwarkError';
  }
}

/** Bytes that do not decode: a truncated frame, a bad tag, an impossible length. */
export class DecodeError extends BulwarkError<'decode'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('decode', message, options);
    this.name = 'DecodeError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
