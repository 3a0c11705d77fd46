/**
 * Operating errors of the Raft core. The engine itself never throws at run time for bad input (a
 * bad message is counted and dropped); these come from construction: a configuration that cannot
 * work, or durable state that does not make sense.
 */
import { BulwarkError } from '../core/errors.js';

export type RaftErrorCode =
  /** A RaftConfig whose values contradict each other or the bounds in limits.ts. */
  | 'raft-invalid-config'
  /** DurableState that no correct engine could have written (bad hard state, a log with holes). */
  | 'raft-corrupt-state';

export class RaftError extends BulwarkError<RaftErrorCode> {
  constructor(code: RaftErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'RaftError';
  }
}
