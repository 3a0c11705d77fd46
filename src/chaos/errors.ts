/** Operating errors of `bulwark chaos`: bad options, a cluster that will not start, a fault that cannot be injected. */
import { BulwarkError } from '../core/errors.js';

export type ChaosErrorCode = 'invalid-options' | 'unsupported' | 'cluster' | 'netns' | 'nemesis' | 'history';

export class ChaosError extends BulwarkError<ChaosErrorCode> {
  constructor(code: ChaosErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ChaosError';
  }
}
