/** Operating errors of `bulwark bench`: bad options, a target that cannot be reached. */
import { BulwarkError } from '../core/errors.js';

export type BenchErrorCode = 'invalid-options' | 'unreachable' | 'preload-failed' | 'watch-failed';

export class BenchError extends BulwarkError<BenchErrorCode> {
  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'BenchError';
  }
}
