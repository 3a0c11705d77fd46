import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError } from '../core/errors.js';
import {
  decodeMemberListResponse,
  decodeStatusResponse,
  encodeMemberListRequest,
  encodeMemberListResponse,
  encodeRangeRequest,
  encodeStatusResponse,
  isSerializableRange,
  type EtcdMember,
} from './etcd-messages.js';
import { GrpcFrameDecoder, encodeGrpcFrame } from './grpc-frame.js';
import { decodeHealthCheckResponse, encodeHealthCheckResponse } from './grpc-health-messages.js';
import { protoFields } from './protobuf.js';

const u64 = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n });
const member = fc.record({
  id: u64,
  name: fc.string({ maxLength: 20 }),
  peerUrls: fc.array(fc.webUrl(), { maxLength: 3 }),
  clientUrls: fc.array(fc.webUrl(), { maxLength: 3 }),
  isLearner: fc.boolean(),
});
const header = fc.record({ clusterId: u64, memberId: u64, revision: u64, raftTerm: u64 });

test('MemberListResponse round-trips (property)', () => {
  fc.assert(
    fc.property(header, fc.array(member, { maxLength: 5 }), (rawHeader, rawMembers) => {
      // fast-check records have a null prototype; strict deepEqual compares prototypes.
      const h = { ...rawHeader };
      const members: EtcdMember[] = rawMembers.map((m) => ({ ...m }));
      const decoded = decodeMemberListResponse(encodeMemberListResponse({ header: h, members }));
      assert.deepEqual(decoded, { header: h, members });
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('StatusResponse round-trips; the leader field is 4', () => {
  const r = { header: { clusterId: 1n, memberId: 2n, revision: 3n, raftTerm: 4n }, version: '3.4.23', leader: 0x8e9e05c52164694dn, raftTerm: 9n, isLearner: false };
  const bytes = encodeStatusResponse(r);
  assert.deepEqual(decodeStatusResponse(bytes), r);
  assert.ok([...protoFields(bytes)].some((f) => f.field === 4 && f.value === 0x8e9e05c52164694dn));
});

test('RangeRequest.serializable is peeked from field 7', () => {
  assert.equal(isSerializableRange(encodeRangeRequest({ key: new Uint8Array([1]), serializable: true })), true);
  assert.equal(isSerializableRange(encodeRangeRequest({ key: new Uint8Array([1]), serializable: false })), false);
  assert.equal(isSerializableRange(new Uint8Array([0x38])), false, 'truncated: not serializable, no throw');
  assert.deepEqual([...encodeMemberListRequest(true)], [0x08, 0x01]);
});

test('malformed protobuf is a DecodeError, never a crash or a hang', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decodeMemberListResponse(bytes);
        decodeStatusResponse(bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `unexpected ${String(e)}`);
      }
    }),
    { seed: 7, numRuns: 2000 },
  );
  assert.throws(() => decodeStatusResponse(new Uint8Array([0x0a, 0x7f])), DecodeError);
});

test('gRPC frames decode when fed one byte at a time; oversized and compressed frames are refused', () => {
  const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(9)];
  const wire = msgs.flatMap((m) => [...encodeGrpcFrame(m)]);
  const d = new GrpcFrameDecoder(1024);
  const out: Uint8Array[] = [];
  for (const b of wire) out.push(...d.push(new Uint8Array([b])));
  assert.deepEqual(out, msgs);
  assert.equal(d.bufferedBytes, 0);
  assert.throws(() => new GrpcFrameDecoder(10).push(encodeGrpcFrame(new Uint8Array(11))), DecodeError);
  assert.throws(() => new GrpcFrameDecoder(10).push(new Uint8Array([1, 0, 0, 0, 1, 0])), DecodeError);
});

test('grpc.health.v1 status decodes', () => {
  assert.equal(decodeHealthCheckResponse(encodeHealthCheckResponse('SERVING')), 'SERVING');
  assert.equal(decodeHealthCheckResponse(encodeHealthCheckResponse('NOT_SERVING')), 'NOT_SERVING');
  assert.equal(decodeHealthCheckResponse(new Uint8Array(0)), 'UNKNOWN');
});
