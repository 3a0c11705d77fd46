/** Operating errors of the linearizability checker: a history that cannot be read. */
import { BulwarkError } from '../core/errors.js';

export type CheckErrorCode = 'invalid-history';

export class CheckError extends BulwarkError<CheckErrorCode> {
  constructor(code: CheckErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'CheckError';
  }
}
