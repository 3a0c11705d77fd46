/**
 * Operating errors of the client. Every failure a caller sees is a ClientError with a stable
 * `code`, and, where it matters, whether the operation may have been applied anyway: a write that
 * timed out after it reached a server may have been committed, and the caller must know that to
 * decide between retrying, reading back, or giving up.
 */
import { BulwarkError } from '../core/errors.js';
import { statusName, type StatusCode } from '../api/grpc/status.js';

export type ClientErrorCode =
  /** The call's deadline passed before it succeeded. */
  | 'deadline'
  /** Every attempt failed (no endpoint reachable, retry budget spent, or a write that cannot be retried safely). */
  | 'unavailable'
  /** The server answered with an error that retrying will not change (see `server`). */
  | 'server'
  /** The caller's AbortSignal fired. */
  | 'cancelled'
  /** The client was closed. */
  | 'closed'
  /** A write was applied but the server did not keep its response (too large), so it cannot be returned. */
  | 'response-lost'
  /** The server does not support exactly-once sessions and the client was told to require them. */
  | 'unsupported'
  /** A lease the operation depends on expired or was revoked. */
  | 'lease-lost'
  /** A recipe's precondition does not hold (a lock not held, a leadership lost, an empty queue). */
  | 'recipe'
  /** A watch was cancelled by the server for a reason other than compaction. */
  | 'watch-canceled'
  /** A caller gave an argument the client refuses before sending anything. */
  | 'invalid-argument';

/** What the server said, when the failure is a server status. */
export interface ServerStatus {
  readonly status: StatusCode;
  /** The server's message, as etcd words it ("etcdserver: key not found"). */
  readonly message: string;
  readonly kind: EtcdErrorKind;
}

export class ClientError extends BulwarkError<ClientErrorCode> {
  /** True when the operation (a write) may have taken effect despite the error. */
  readonly mayHaveApplied: boolean;
  readonly server: ServerStatus | undefined;
  /** The endpoint of the last attempt, when there was one. */
  readonly endpoint: string | undefined;

  constructor(code: ClientErrorCode, message: string, options: { mayHaveApplied?: boolean; server?: ServerStatus; endpoint?: string; cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ClientError';
    this.mayHaveApplied = options.mayHaveApplied ?? false;
    this.server = options.server;
    this.endpoint = options.endpoint;
  }

  /** The etcd error kind of a server error, or undefined. */
  get kind(): EtcdErrorKind | undefined {
    return this.server?.kind;
  }
}

export function isClientError(e: unknown, code?: ClientErrorCode): e is ClientError {
  return e instanceof ClientError && (code === undefined || e.code === code);
}

/** True when `e` is a server error of the given etcd kind (`isEtcdError(e, 'key-not-found')`). */
export function isEtcdError(e: unknown, kind: EtcdErrorKind): boolean {
  return e instanceof ClientError && e.server?.kind === kind;
}

/**
 * The errors etcd (and Bulwark, which uses the same words) returns, recognized by their message
 * (api/v3rpc/rpctypes/error.go), so callers and the retry policy can switch on them.
 */
const ETCD_MESSAGES = {
  'etcdserver: key not found': 'key-not-found',
  'etcdserver: key is not provided': 'empty-key',
  'etcdserver: value is provided': 'value-provided',
  'etcdserver: lease is provided': 'lease-provided',
  'etcdserver: too many operations in txn request': 'too-many-ops',
  'etcdserver: duplicate key given in txn request': 'duplicate-key',
  'etcdserver: request is too large': 'request-too-large',
  'etcdserver: invalid sort option': 'invalid-sort-option',
  'etcdserver: mvcc: required revision has been compacted': 'compacted',
  'etcdserver: mvcc: required revision is a future revision': 'future-revision',
  'etcdserver: mvcc: database space exceeded': 'no-space',
  'etcdserver: too many requests': 'too-many-requests',
  'etcdserver: requested lease not found': 'lease-not-found',
  'etcdserver: lease already exists': 'lease-exists',
  'etcdserver: too large lease TTL': 'lease-ttl-too-large',
  'etcdserver: member ID already exist': 'member-exists',
  'etcdserver: Peer URLs already exists': 'peer-url-exists',
  'etcdserver: member not found': 'member-not-found',
  'etcdserver: member not a learner member': 'not-learner',
  'etcdserver: can only promote a learner member': 'not-learner',
  'etcdserver: can only promote a learner member which is in sync with leader': 'learner-not-ready',
  'etcdserver: too many learner members in cluster': 'too-many-learners',
  'etcdserver: re-configuration failed due to not enough started members': 'not-enough-started',
  'etcdserver: unhealthy cluster': 'unhealthy-cluster',
  'etcdserver: not leader': 'not-leader',
  'etcdserver: no leader': 'no-leader',
  'etcdserver: leader changed': 'leader-changed',
  'etcdserver: not capable': 'not-capable',
  'etcdserver: server stopped': 'stopped',
  'etcdserver: request timed out': 'timeout',
  'etcdserver: request timed out, possibly due to previous leader failure': 'timeout',
  'etcdserver: request timed out, possibly due to connection lost': 'timeout',
  'etcdserver: request timed out, waiting for the applied index took too long': 'timeout',
  'etcdserver: timeout waiting for read index response': 'timeout',
  'etcdserver: rpc not supported for learner': 'learner-unsupported',
  'etcdserver: bad leader transferee': 'bad-leader-transferee',
  'etcdserver: corrupt cluster': 'corrupt',
  'etcdserver: permission denied': 'permission-denied',
  'etcdserver: invalid auth token': 'invalid-auth-token',
  'etcdserver: authentication failed, invalid user ID or password': 'auth-failed',
  'etcdserver: watch canceled': 'watch-canceled',
  'raft proposal dropped': 'proposal-dropped',
  'bulwark: client session expired or unknown': 'session-expired',
  'bulwark: request sequence already acknowledged by the client': 'session-acknowledged',
  'bulwark: too many unacknowledged requests in client session': 'session-busy',
  'bulwark: request was applied; its response was too large to keep': 'session-response-dropped',
} as const;

export type EtcdErrorKind = (typeof ETCD_MESSAGES)[keyof typeof ETCD_MESSAGES] | 'other';

const KINDS = new Map<string, EtcdErrorKind>(Object.entries(ETCD_MESSAGES));

export function etcdErrorKind(message: string): EtcdErrorKind {
  return KINDS.get(message) ?? 'other';
}

export function serverStatus(status: StatusCode, message: string): ServerStatus {
  return { status, message, kind: etcdErrorKind(message) };
}

/** A server error as a ClientError: the message is the server's own, so tools can print it as etcdctl does. */
export function serverError(s: ServerStatus, endpoint: string | undefined): ClientError {
  const message = s.message === '' ? `server error ${statusName(s.status)}` : s.message;
  return new ClientError('server', message, { server: s, ...(endpoint === undefined ? {} : { endpoint }) });
}

