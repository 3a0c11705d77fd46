/** Operating errors of the consensus layer (the driver). */
import { BulwarkError } from '../core/errors.js';

export type ConsensusErrorCode = 'stopped' | 'snapshot-restore-failed';

export class ConsensusError extends BulwarkError<ConsensusErrorCode> {
  constructor(code: ConsensusErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ConsensusError';
  }
}
