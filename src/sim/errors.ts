/** Operating errors of the simulator's own components. */
import { BulwarkError } from '../core/errors.js';

export type SimErrorCode = 'snapshot-missing' | 'snapshot-invalid' | 'sync-failed' | 'engine-unavailable' | 'bad-command';

export class SimError extends BulwarkError<SimErrorCode> {
  constructor(code: SimErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'SimError';
  }
}
