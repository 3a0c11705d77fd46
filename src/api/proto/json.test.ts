import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeRangeRequest, decodeTxnRequest, encodeRangeRequest, encodeTxnRequest, decodeRangeResponse, encodeRangeResponse, decodeWatchRequest, encodeWatchRequest } from './generated/etcdserverpb.js';
import { JsonMappingError, ProtoJson, decodeBase64 } from './json.js';

const json = new ProtoJson();
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('output: proto names, int64 as strings, base64 bytes, defaults omitted', () => {
  const res = decodeRangeResponse(
    encodeRangeResponse({
      header: { clusterId: 14443903163313418560n, memberId: 1n, revision: 2, raftTerm: 2 },
      kvs: [{ key: new TextEncoder().encode('foo'), createRevision: 2, modRevision: 2, version: 1, value: new TextEncoder().encode('bar') }],
      count: 1,
    }),
  );
  assert.equal(
    JSON.stringify(json.toJson('etcdserverpb.RangeResponse', res)),
    '{"header":{"cluster_id":"14443903163313418560","member_id":"1","revision":"2","raft_term":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}',
  );
});

test('input: both spellings, numbers or strings for int64, enum names or numbers', () => {
  const a = json.fromJson('etcdserverpb.RangeRequest', { key: b64('a'), range_end: b64('b'), limit: '5', sort_order: 'DESCEND', keysOnly: true });
  const r = decodeRangeRequest(encodeRangeRequest(a));
  assert.equal(r.limit, 5);
  assert.equal(r.sortOrder, 2);
  assert.equal(r.keysOnly, true);
  assert.equal(new TextDecoder().decode(r.rangeEnd), 'b');
  const b = decodeRangeRequest(encodeRangeRequest(json.fromJson('etcdserverpb.RangeRequest', { key: b64('a'), rangeEnd: b64('b'), limit: 5, sortOrder: 2, keys_only: true })));
  assert.deepEqual({ ...b, key: [...b.key], rangeEnd: [...b.rangeEnd] }, { ...r, key: [...r.key], rangeEnd: [...r.rangeEnd] });
});

test('oneofs: nested txn ops and watch request unions', () => {
  const t = decodeTxnRequest(
    encodeTxnRequest(
      json.fromJson('etcdserverpb.TxnRequest', {
        compare: [{ target: 'VALUE', key: b64('k'), value: b64('v') }],
        success: [{ request_put: { key: b64('k'), value: b64('w') } }, { request_txn: { success: [{ request_range: { key: b64('k') } }] } }],
      }),
    ),
  );
  assert.equal(t.compare[0]!.targetUnion?.type, 'value');
  assert.equal(t.success[0]!.request?.type, 'requestPut');
  assert.equal(t.success[1]!.request?.type, 'requestTxn');
  const w = decodeWatchRequest(encodeWatchRequest(json.fromJson('etcdserverpb.WatchRequest', { create_request: { key: b64('k'), start_revision: '3', filters: ['NOPUT'] } })));
  assert.equal(w.requestUnion?.type, 'createRequest');
  assert.deepEqual(w.requestUnion?.type === 'createRequest' ? w.requestUnion.value.filters : null, [0]);
  assert.equal(JSON.stringify(json.toJson('etcdserverpb.WatchRequest', w)), `{"create_request":{"key":"${b64('k')}","start_revision":"3","filters":["NOPUT"]}}`);
});

test('unknown fields are ignored, null means default, an empty body is an empty request', () => {
  assert.deepEqual(json.fromJson('etcdserverpb.RangeRequest', { foo: 1, limit: null }), {});
  assert.deepEqual(json.fromJson('etcdserverpb.RangeRequest', null), {});
});

test('bad input is a JsonMappingError worded like Go', () => {
  const bad: [unknown, RegExp][] = [
    [{ key: 1 }, /cannot unmarshal number into Go value of type \[\]uint8/],
    [{ keys_only: 'true' }, /cannot unmarshal string into Go value of type bool/],
    [{ key: '!!!' }, /illegal base64 data at input byte 0/],
    [{ limit: 1.5 }, /cannot unmarshal number 1.5 into Go value of type int64/],
    [{ limit: '99999999999999999999' }, /cannot unmarshal/],
    [{ sort_order: 'UP' }, /unknown value "UP" for enum etcdserverpb.RangeRequest_SortOrder/],
    [[1], /cannot unmarshal array into Go value/],
    [{ key: [1] }, /cannot unmarshal/],
    [{ limit: '9007199254740993' }, /out of the supported range/],
  ];
  for (const [input, msg] of bad) assert.throws(() => json.fromJson('etcdserverpb.RangeRequest', input), (e: unknown) => e instanceof JsonMappingError && msg.test(e.message), JSON.stringify(input));
});

test('deep nesting is refused, not a stack overflow', () => {
  let t: unknown = {};
  for (let i = 0; i < 200; i++) t = { success: [{ request_txn: t }] };
  assert.throws(() => json.fromJson('etcdserverpb.TxnRequest', t), JsonMappingError);
});

test('base64: standard and URL-safe alphabets, padding required', () => {
  assert.deepEqual([...decodeBase64('_-8=')], [0xff, 0xef]);
  assert.deepEqual([...decodeBase64('/+8=')], [0xff, 0xef]);
  assert.throws(() => decodeBase64('Zm9'), JsonMappingError);
});

test('property: any JSON value is mapped or refused with a JsonMappingError', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom('etcdserverpb.RangeRequest', 'etcdserverpb.TxnRequest', 'etcdserverpb.WatchRequest', 'etcdserverpb.MemberAddRequest', 'v3lockpb.LockRequest'), (v, type) => {
      try {
        json.fromJson(type, v);
      } catch (e) {
        if (!(e instanceof JsonMappingError)) throw e;
      }
    }),
    { numRuns: 500 },
  );
});
