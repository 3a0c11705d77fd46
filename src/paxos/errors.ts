/** Operating errors of the Multi-Paxos engine. */
import { BulwarkError } from '../core/errors.js';

export type PaxosErrorCode =
  /** Phase-1 and phase-2 quorum sizes that do not intersect, or do not fit the voters. */
  | 'invalid-quorums'
  /** The engine's configuration is unusable (timeouts, bounds). */
  | 'invalid-config'
  /** The durable hard state is not a Multi-Paxos hard state (another protocol, or corrupt). */
  | 'bad-hard-state';

export class PaxosError extends BulwarkError<PaxosErrorCode> {
  constructor(code: PaxosErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'PaxosError';
  }
}
