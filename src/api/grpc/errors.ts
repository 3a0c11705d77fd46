/**
 * The error of a gRPC call: a status code, a message, and trailing metadata. A handler throws one
 * to choose the status its caller sees; the client rejects with one when a call does not end OK.
 */
import { BulwarkError } from '../../core/errors.js';
import { statusName, type StatusCode } from './status.js';

export class GrpcError extends BulwarkError<'grpc'> {
  constructor(
    readonly status: StatusCode,
    readonly details: string,
    readonly metadata: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super('grpc', `${statusName(status)}: ${details}`, options);
    this.name = 'GrpcError';
  }
}
