/**
 * Operating errors of the state machine. Every error has a stable `code`; ETCD_ERRORS below keeps,
 * next to each code, the gRPC status and the exact message etcd uses for it, so the API layer can
 * map a KvError to what etcd clients expect through this one table. Codes without an etcd
 * counterpart (client sessions, snapshots) carry Bulwark's own message in the same form.
 */
import { BulwarkError } from '../core/errors.js';

/** gRPC status codes by name (the API layer turns the name into the number). */
export type GrpcCode =
  | 'CANCELLED'
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'OUT_OF_RANGE'
  | 'RESOURCE_EXHAUSTED'
  | 'DATA_LOSS';

export const ETCD_ERRORS = {
  'empty-key': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: key is not provided' },
  'key-not-found': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: key not found' },
  'value-provided': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: value is provided' },
  'lease-provided': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: lease is provided' },
  'too-many-ops': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: too many operations in txn request' },
  'duplicate-key': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: duplicate key given in txn request' },
  'request-too-large': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: request is too large' },
  'invalid-sort-option': { grpc: 'INVALID_ARGUMENT', message: 'etcdserver: invalid sort option' },
  compacted: { grpc: 'OUT_OF_RANGE', message: 'etcdserver: mvcc: required revision has been compacted' },
  'future-revision': { grpc: 'OUT_OF_RANGE', message: 'etcdserver: mvcc: required revision is a future revision' },
  'no-space': { grpc: 'RESOURCE_EXHAUSTED', message: 'etcdserver: mvcc: database space exceeded' },
  corrupt: { grpc: 'DATA_LOSS', message: 'etcdserver: corrupt cluster' },
  'lease-not-found': { grpc: 'NOT_FOUND', message: 'etcdserver: requested lease not found' },
  'lease-exists': { grpc: 'FAILED_PRECONDITION', message: 'etcdserver: lease already exists' },
  'lease-ttl-too-large': { grpc: 'OUT_OF_RANGE', message: 'etcdserver: too large lease TTL' },
  'lease-limit': { grpc: 'RESOURCE_EXHAUSTED', message: 'bulwark: too many leases' },
  'member-not-found': { grpc: 'NOT_FOUND', message: 'etcdserver: member not found' },
  'watch-canceled': { grpc: 'CANCELLED', message: 'etcdserver: watch canceled' },
  'session-expired': { grpc: 'FAILED_PRECONDITION', message: 'bulwark: client session expired or unknown' },
  'session-acknowledged': { grpc: 'FAILED_PRECONDITION', message: 'bulwark: request sequence already acknowledged by the client' },
  'session-busy': { grpc: 'RESOURCE_EXHAUSTED', message: 'bulwark: too many unacknowledged requests in client session' },
  'session-response-dropped': { grpc: 'FAILED_PRECONDITION', message: 'bulwark: request was applied; its response was too large to keep' },
  'invalid-request': { grpc: 'INVALID_ARGUMENT', message: 'bulwark: invalid request' },
  'malformed-command': { grpc: 'INVALID_ARGUMENT', message: 'bulwark: malformed replicated command' },
  'snapshot-invalid': { grpc: 'DATA_LOSS', message: 'bulwark: invalid state-machine snapshot' },
} as const satisfies Record<string, { readonly grpc: GrpcCode; readonly message: string }>;

export type KvErrorCode = keyof typeof ETCD_ERRORS;

export function isKvErrorCode(code: string): code is KvErrorCode {
  return Object.prototype.hasOwnProperty.call(ETCD_ERRORS, code);
}

/**
 * An operating error of the store. `message` is etcd's message for the code; `detail`, when
 * present, says more for logs (the API layer sends only the etcd message to clients).
 */
export class KvError extends BulwarkError<KvErrorCode> {
  readonly detail: string;

  constructor(code: KvErrorCode, detail = '', options?: { cause?: unknown }) {
    super(code, ETCD_ERRORS[code].message, options);
    this.name = 'KvError';
    this.detail = detail;
  }

  get grpc(): GrpcCode {
    return ETCD_ERRORS[this.code].grpc;
  }
}

/** Thrown by readers of a malformed snapshot. */
export function snapshotInvalid(detail: string, cause?: unknown): KvError {
  return new KvError('snapshot-invalid', detail, cause === undefined ? undefined : { cause });
}
