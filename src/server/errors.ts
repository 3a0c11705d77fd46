/**
 * Operating errors of the member runtime, each with etcd's gRPC code and exact message, so clients
 * react to a Bulwark member as they do to etcd (retry on "no leader", give up on "key not found").
 * `toGrpcError` is the one table through which every error reaches a client.
 */
import { BulwarkError, DecodeError } from '../core/errors.js';
import { GrpcError, Status, type StatusCode } from '../api/grpc/index.js';
import { KvError } from '../kv/errors.js';

export const SERVER_ERRORS = {
  'no-leader': { grpc: Status.UNAVAILABLE, message: 'etcdserver: no leader' },
  'not-leader': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: not leader' },
  'leader-changed': { grpc: Status.UNAVAILABLE, message: 'etcdserver: leader changed' },
  timeout: { grpc: Status.UNAVAILABLE, message: 'etcdserver: request timed out' },
  'too-many-requests': { grpc: Status.RESOURCE_EXHAUSTED, message: 'etcdserver: too many requests' },
  stopped: { grpc: Status.UNAVAILABLE, message: 'etcdserver: server stopped' },
  learner: { grpc: Status.UNAVAILABLE, message: 'etcdserver: rpc not supported for learner' },
  'member-not-found': { grpc: Status.NOT_FOUND, message: 'etcdserver: member not found' },
  'member-exists': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: member ID already exist' },
  'peer-url-exists': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: Peer URLs already exists' },
  'member-not-learner': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member' },
  'learner-not-ready': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: can only promote a learner member which is in sync with leader' },
  'too-many-learners': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: too many learner members in cluster' },
  'bad-transferee': { grpc: Status.FAILED_PRECONDITION, message: 'etcdserver: bad leader transferee' },
  'unhealthy-cluster': { grpc: Status.UNAVAILABLE, message: 'etcdserver: unhealthy cluster' },
  'config-change-pending': { grpc: Status.UNAVAILABLE, message: 'etcdserver: re-configuration failed: a membership change is still in progress' },
  'invalid-peer-url': { grpc: Status.INVALID_ARGUMENT, message: 'etcdserver: invalid peer URL' },
  'corrupt': { grpc: Status.DATA_LOSS, message: 'etcdserver: corrupt cluster' },
  'invalid-argument': { grpc: Status.INVALID_ARGUMENT, message: 'etcdserver: invalid argument' },
} as const satisfies Record<string, { readonly grpc: StatusCode; readonly message: string }>;

export type ServerErrorCode = keyof typeof SERVER_ERRORS;

export class ServerError extends BulwarkError<ServerErrorCode> {
  readonly detail: string;

  constructor(code: ServerErrorCode, detail = '') {
    super(code, SERVER_ERRORS[code].message);
    this.name = 'ServerError';
    this.detail = detail;
  }
}

/** The status an error reaches a client with; undefined for an unexpected error (a bug: UNKNOWN). */
export function toGrpcError(e: unknown): GrpcError | undefined {
  if (e instanceof GrpcError) return e;
  if (e instanceof KvError) return new GrpcError(Status[e.grpc], e.message);
  if (e instanceof ServerError) {
    const m = SERVER_ERRORS[e.code];
    return new GrpcError(m.grpc, e.code === 'invalid-argument' && e.detail !== '' ? `etcdserver: ${e.detail}` : m.message);
  }
  if (e instanceof DecodeError) return new GrpcError(Status.INVALID_ARGUMENT, `etcdserver: malformed request: ${e.message}`);
  return undefined;
}
