import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GrpcError } from '../api/grpc/errors.js';
import { Status, type StatusCode } from '../api/grpc/status.js';
import { classifyFailure } from './failure.js';

const server = (status: StatusCode, message: string): GrpcError => new GrpcError(status, message, ['grpc-status', String(status)]);

test('the retry table', () => {
  const rows: [unknown, boolean, string][] = [
    [new GrpcError(Status.UNAVAILABLE, 'connect failed'), true, 'transport never-sent'],
    [new GrpcError(Status.UNAVAILABLE, 'connection closed'), false, 'transport maybe-sent'],
    [new GrpcError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), false, 'deadline'],
    [new GrpcError(Status.CANCELLED, 'cancelled by the client'), false, 'cancelled'],
    [server(Status.UNAVAILABLE, 'etcdserver: no leader'), false, 'retryable no leader pause'],
    [server(Status.FAILED_PRECONDITION, 'etcdserver: not leader'), false, 'retryable no leader now'],
    [server(Status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'), false, 'retryable no same pause'],
    [server(Status.UNAVAILABLE, 'etcdserver: request timed out'), false, 'retryable maybe leader pause'],
    [server(Status.UNAVAILABLE, 'etcdserver: leader changed'), false, 'retryable maybe leader pause'],
    [server(Status.UNAVAILABLE, 'something else'), false, 'retryable maybe same pause'],
    [server(Status.FAILED_PRECONDITION, 'bulwark: client session expired or unknown'), false, 'session-expired'],
    [server(Status.INVALID_ARGUMENT, 'etcdserver: key not found'), false, 'final key-not-found'],
    [server(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'), false, 'final compacted'],
    [new Error('decode'), false, 'broken'],
  ];
  for (const [error, neverSent, want] of rows) {
    const f = classifyFailure(error, neverSent);
    let got: string = f.type;
    if (f.type === 'transport') got += f.neverSent ? ' never-sent' : ' maybe-sent';
    if (f.type === 'retryable') got += ` ${f.applied} ${f.leader ? 'leader' : 'same'} ${f.pause ? 'pause' : 'now'}`;
    if (f.type === 'final') got += ` ${f.server.kind}`;
    assert.equal(got, want, String(error));
  }
});
