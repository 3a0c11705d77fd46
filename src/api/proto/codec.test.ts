import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { DecodeError } from '../../core/errors.js';
import * as pb from './generated/etcdserverpb.js';
import * as mvcc from './generated/mvccpb.js';

const root = resolve(new URL('../../../..', import.meta.url).pathname);
const protoRoot = new protobuf.Root();
protoRoot.resolvePath = (_origin, target) => join(root, 'proto', target);
protoRoot.loadSync(['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], { keepCase: true });
const PbRange = protoRoot.lookupType('etcdserverpb.RangeResponse');
const PbTxn = protoRoot.lookupType('etcdserverpb.TxnRequest');
const PbWatch = protoRoot.lookupType('etcdserverpb.WatchRequest');
const PbKv = protoRoot.lookupType('mvccpb.KeyValue');

const b = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s));
/** Decoded bytes are views (Buffers when the input is one); compare contents as plain Uint8Arrays. */
const norm = (v: unknown): unknown => {
  if (v instanceof Uint8Array) return Uint8Array.from(v);
  if (Array.isArray(v)) return v.map(norm);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
};

test('regenerating the codecs gives the committed files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-gen-'));
  try {
    execFileSync(process.execPath, [join(root, 'scripts/gen-proto.mjs'), '--out', dir]);
    const committed = join(root, 'src/api/proto/generated');
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, readdirSync(committed).filter((n) => n.endsWith('.ts')).sort());
    for (const n of names) assert.equal(readFileSync(join(dir, n), 'utf8'), readFileSync(join(committed, n), 'utf8'), `${n} is stale: run node scripts/gen-proto.mjs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('RangeResponse: ours decodes protobufjs and protobufjs decodes ours', () => {
  const kv = { key: b('k'), createRevision: 5, modRevision: 9, version: 3, value: new Uint8Array(256).fill(7), lease: 0x7fffffff12345678n };
  const ours = pb.encodeRangeResponse({ header: { clusterId: 0xfedcba9876543210n, memberId: 1n, revision: 42, raftTerm: 7 }, kvs: [kv, { key: b('x') }], more: true, count: 2 });
  const theirs = PbRange.toObject(PbRange.decode(ours), { longs: String, bytes: Array });
  assert.equal(theirs.header.cluster_id, '18364758544493064720');
  assert.equal(theirs.header.revision, '42');
  assert.equal(theirs.kvs.length, 2);
  assert.equal(theirs.kvs[0].lease, String(0x7fffffff12345678n));
  assert.equal(theirs.count, '2');
  const back = pb.decodeRangeResponse(PbRange.encode(PbRange.fromObject(theirs)).finish());
  assert.equal(back.header?.clusterId, 0xfedcba9876543210n);
  assert.equal(back.header?.raftTerm, 7);
  assert.deepEqual(norm(back.kvs[0]), kv);
  assert.deepEqual(norm(back.kvs[1]), { key: b('x'), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n });
  assert.equal(back.more, true);
  // Canonical: protobufjs re-encodes to the same bytes (fields in order, defaults omitted).
  assert.deepEqual(Buffer.from(PbRange.encode(PbRange.fromObject(theirs)).finish()), Buffer.from(ours));
});

test('TxnRequest with oneofs, nested txns and negative int64 round-trips through protobufjs', () => {
  const req: pb.TxnRequestInit = {
    compare: [
      { result: pb.Compare_CompareResult.GREATER, target: pb.Compare_CompareTarget.MOD, key: b('a'), targetUnion: { type: 'modRevision', value: 0 }, rangeEnd: b('b') },
      { target: pb.Compare_CompareTarget.LEASE, key: b('c'), targetUnion: { type: 'lease', value: -5n } },
    ],
    success: [{ request: { type: 'requestPut', value: { key: b('k'), value: b('v'), lease: -1n } } }, { request: { type: 'requestTxn', value: { success: [{ request: { type: 'requestRange', value: { key: b('k'), revision: -3 } } }] } } }],
    failure: [{ request: { type: 'requestDeleteRange', value: { key: b('k'), prevKv: true } } }],
  };
  const bytes = pb.encodeTxnRequest(req);
  const theirs = PbTxn.toObject(PbTxn.decode(bytes), { longs: String, oneofs: true });
  assert.equal(theirs.compare[0].target_union, 'mod_revision'); // a oneof member is present even at its default value
  assert.equal(theirs.compare[1].lease, '-5');
  assert.equal(theirs.success[0].request_put.lease, '-1');
  assert.equal(theirs.success[1].request_txn.success[0].request_range.revision, '-3');
  const back = pb.decodeTxnRequest(PbTxn.encode(PbTxn.fromObject(theirs)).finish());
  assert.deepEqual(back.compare[0]!.targetUnion, { type: 'modRevision', value: 0 });
  assert.deepEqual(back.compare[1]!.targetUnion, { type: 'lease', value: -5n });
  const inner = back.success[1]!.request;
  assert.equal(inner?.type, 'requestTxn');
  const range = inner?.type === 'requestTxn' ? inner.value.success[0]!.request : undefined;
  assert.equal(range?.type === 'requestRange' ? range.value.revision : 0, -3);
  assert.equal(back.failure[0]!.request?.type, 'requestDeleteRange');
});

test('packed and unpacked repeated enums both decode; we encode packed', () => {
  const ours = pb.encodeWatchRequest({ requestUnion: { type: 'createRequest', value: { key: b('k'), filters: [0, 1], watchId: 7n } } });
  const theirs = PbWatch.decode(ours).toJSON();
  assert.deepEqual(theirs.create_request.filters, ['NOPUT', 'NODELETE']);
  // Unpacked form: field 5 as two separate varints inside WatchCreateRequest.
  const unpacked = Uint8Array.of(0x0a, 0x07, 0x0a, 0x01, 0x6b, 0x28, 0x00, 0x28, 0x01);
  const d = pb.decodeWatchRequest(unpacked);
  assert.deepEqual(d.requestUnion?.type === 'createRequest' ? d.requestUnion.value.filters : [], [0, 1]);
});

test('unknown fields are skipped; wrong wire types, bad lengths, invalid UTF-8 and unsafe numbers are DecodeErrors', () => {
  const kv = mvcc.encodeKeyValue({ key: b('k'), version: 1 });
  // Unknown fields 15 (varint), 16 (len), 17 (fixed32), 18 (fixed64) are skipped.
  const extra = Uint8Array.from([...kv, 0x78, 0x05, 0x82, 0x01, 0x02, 0x61, 0x62, 0x8d, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(norm(mvcc.decodeKeyValue(extra).key), b('k'));
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x08, 0x01)), DecodeError); // key with varint wire type
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x0a, 0x05, 0x61)), DecodeError); // length beyond input
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), DecodeError); // varint > 10 bytes
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)), DecodeError); // 2^56: not a safe number
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x00, 0x01)), DecodeError); // field 0
  assert.throws(() => mvcc.decodeKeyValue(Uint8Array.of(0x0b)), DecodeError); // group wire type
  assert.throws(() => pb.decodeMember(Uint8Array.of(0x12, 0x02, 0xc3, 0x28)), DecodeError);
  assert.equal(pb.decodeMember(Uint8Array.of(0x12, 0x02, 0xc3, 0xa9)).name, 'é');
  // A protobufjs-encoded KeyValue with a large but safe revision.
  const big = PbKv.encode(PbKv.fromObject({ mod_revision: String(2 ** 53 - 1) })).finish();
  assert.equal(mvcc.decodeKeyValue(big).modRevision, 2 ** 53 - 1);
});

test('deeply nested txns are refused, not a stack overflow', () => {
  let m: pb.TxnRequestInit = {};
  for (let i = 0; i < 200; i++) m = { success: [{ request: { type: 'requestTxn', value: m } }] };
  const bytes = pb.encodeTxnRequest(m);
  assert.throws(() => pb.decodeTxnRequest(bytes), DecodeError);
});

test('random bytes never crash a decoder: a message or a DecodeError', () => {
  const decoders = [pb.decodeTxnRequest, pb.decodeRangeResponse, pb.decodeWatchRequest, pb.decodeStatusResponse, pb.decodeMemberListResponse];
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(decoders.length - 1), (bytes, k) => {
      try {
        decoders[k]!(bytes);
      } catch (e) {
        assert.ok(e instanceof DecodeError, String(e));
      }
    }),
    { numRuns: 3000 },
  );
});

test('int64 numbers and bigints round-trip over their whole range', () => {
  fc.assert(
    fc.property(fc.maxSafeInteger(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (rev, lease, id) => {
      const kv = mvcc.decodeKeyValue(mvcc.encodeKeyValue({ modRevision: rev, lease }));
      assert.equal(kv.modRevision, rev);
      assert.equal(kv.lease, lease);
      const h = pb.decodeResponseHeader(pb.encodeResponseHeader({ clusterId: id, revision: rev }));
      assert.equal(h.clusterId, id);
      assert.equal(h.revision, rev);
      const theirs = PbKv.toObject(PbKv.decode(mvcc.encodeKeyValue({ modRevision: rev, lease })), { longs: String });
      assert.equal(theirs.mod_revision ?? '0', String(rev));
      assert.equal(theirs.lease ?? '0', String(lease));
    }),
    { numRuns: 500, verbose: true },
  );
});

test('large messages nest with multi-byte lengths', () => {
  const kvs = Array.from({ length: 50 }, (_, i) => ({ key: b(`key-${i}`), value: new Uint8Array(40_000).fill(i) }));
  const bytes = pb.encodeRangeResponse({ kvs, count: 50 });
  const back = pb.decodeRangeResponse(bytes);
  assert.equal(back.kvs.length, 50);
  assert.deepEqual(norm(back.kvs[49]!.value), kvs[49]!.value);
  assert.equal(PbRange.decode(bytes).toJSON().kvs.length, 50);
});
