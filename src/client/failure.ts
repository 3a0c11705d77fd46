/**
 * What a failed attempt means for the call: retry elsewhere, retry after a pause, reopen the
 * session, or give up. Pure, so the retry policy is one table that tests can read.
 */
import { GrpcError } from '../api/grpc/errors.js';
import { Status } from '../api/grpc/status.js';
import { serverStatus, type ServerStatus } from './errors.js';

export type Failure =
  /** The connection failed. `neverSent`: the request provably did not reach the server. */
  | { readonly type: 'transport'; readonly neverSent: boolean; readonly message: string }
  /**
   * The server answered "not now". `applied`: whether the request may have taken effect;
   * `leader`: the answer suggests leadership moved (rediscover it); `pause`: retry after a backoff
   * rather than at once on another member.
   */
  | { readonly type: 'retryable'; readonly applied: 'no' | 'maybe'; readonly leader: boolean; readonly pause: boolean; readonly server: ServerStatus }
  /** A Bulwark server no longer knows the client session. */
  | { readonly type: 'session-expired'; readonly server: ServerStatus }
  /** The server's answer is final (a key not found, a compacted revision, a bad argument). */
  | { readonly type: 'final'; readonly server: ServerStatus }
  /** Our deadline (or the server's copy of it) passed. */
  | { readonly type: 'deadline' }
  /** The call was cancelled by the caller (or the client closed). */
  | { readonly type: 'cancelled' }
  /** Anything else: a response that does not decode, a protocol error. Not retried. */
  | { readonly type: 'broken'; readonly message: string };

/** A status that came from the server carries its trailers; a transport failure has none. */
function fromServer(e: GrpcError): boolean {
  return e.metadata.length > 0;
}

export function classifyFailure(error: unknown, neverSent: boolean): Failure {
  if (!(error instanceof GrpcError)) return { type: 'broken', message: error instanceof Error ? error.message : String(error) };
  if (!fromServer(error)) {
    switch (error.status) {
      case Status.UNAVAILABLE:
        return { type: 'transport', neverSent, message: error.details };
      case Status.DEADLINE_EXCEEDED:
        return { type: 'deadline' };
      case Status.CANCELLED:
        return { type: 'cancelled' };
      default:
        return { type: 'broken', message: error.message };
    }
  }
  const s = serverStatus(error.status, error.details);
  switch (s.kind) {
    // Refused before anything was proposed: safe to retry any request.
    case 'no-leader':
    case 'proposal-dropped':
      return { type: 'retryable', applied: 'no', leader: true, pause: true, server: s };
    case 'not-leader':
      return { type: 'retryable', applied: 'no', leader: true, pause: false, server: s };
    case 'too-many-requests':
    case 'session-busy':
      return { type: 'retryable', applied: 'no', leader: false, pause: true, server: s };
    // Proposed, outcome unknown: a read retries; a write retries only under a session.
    case 'leader-changed':
    case 'timeout':
    case 'stopped':
      return { type: 'retryable', applied: 'maybe', leader: true, pause: true, server: s };
    case 'session-expired':
      return { type: 'session-expired', server: s };
    default:
      break;
  }
  if (error.status === Status.UNAVAILABLE) return { type: 'retryable', applied: 'maybe', leader: false, pause: true, server: s };
  if (error.status === Status.DEADLINE_EXCEEDED) return { type: 'deadline' };
  return { type: 'final', server: s };
}
