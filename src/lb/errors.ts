/**
 * Operating errors of the load balancer. Each has a stable `code`; the proxies turn them into the
 * answer the client sees (503, a closed connection, or a gRPC status).
 */
import { BulwarkError } from '../core/errors.js';

export type LbErrorCode =
  /** The configuration (file or flags) is invalid; the message says what to fix. */
  | 'lb-config'
  /** No backend can take the request (all draining, or none configured). */
  | 'lb-no-backend'
  /** A circuit breaker is open: too many connections, pending or in-flight requests. */
  | 'lb-overloaded'
  /** A backend did not answer in time, refused, or reset the connection. */
  | 'lb-upstream'
  /** Cluster-aware mode could not find the leader. */
  | 'lb-no-leader'
  /** A backend's gRPC/protobuf answer did not decode. */
  | 'lb-protocol';

export class LbError extends BulwarkError<LbErrorCode> {
  constructor(code: LbErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'LbError';
  }
}

/** A configuration problem: `path` names the setting ("backends[2].address", "--policy"). */
export class LbConfigError extends LbError {
  constructor(
    readonly path: string,
    problem: string,
  ) {
    super('lb-config', `${path}: ${problem}`);
    this.name = 'LbConfigError';
  }
}

export function isLbError(e: unknown, code?: LbErrorCode): e is LbError {
  return e instanceof LbError && (code === undefined || e.code === code);
}
