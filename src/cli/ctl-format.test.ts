import assert from 'node:assert/strict';
import { test } from 'node:test';
import { goDuration, goFixed, goQuote, humanizeBytes, jBytes, jObj, jStr, jU64, renderTable } from './ctl-format.js';

test('tables are drawn as etcdctl draws them (captured from etcdctl 3.4)', () => {
  const want = `+------------------+---------+------+------------------------+------------------------+------------+
|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |
+------------------+---------+------+------------------------+------------------------+------------+
| 26cd31346f96ec8f | started |   e2 | http://127.0.0.1:21391 | http://127.0.0.1:21390 |      false |
+------------------+---------+------+------------------------+------------------------+------------+
`;
  assert.equal(renderTable(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], [['26cd31346f96ec8f', 'started', 'e2', 'http://127.0.0.1:21391', 'http://127.0.0.1:21390', 'false']]), want);
});

test('byte sizes, durations and fixed decimals as Go formats them', () => {
  assert.equal(humanizeBytes(20480), '20 kB', '20.5 rounds to even');
  assert.equal(humanizeBytes(24576), '25 kB');
  assert.equal(humanizeBytes(5), '5 B');
  assert.equal(humanizeBytes(1_500_000), '1.5 MB');
  assert.equal(goFixed(2.5, 0), '2');
  assert.equal(goFixed(3.5, 0), '4');
  assert.equal(goDuration(3.103849), '3.103849ms');
  assert.equal(goDuration(0.85), '850µs');
  assert.equal(goDuration(1500), '1.5s');
  assert.equal(goDuration(123_456), '2m3.456s');
});

test('Go %q quoting', () => {
  assert.equal(goQuote('foo'), '"foo"');
  assert.equal(goQuote('a "b"\n\t\\'), '"a \\"b\\"\\n\\t\\\\"');
  assert.equal(goQuote('é'), '"é"');
  assert.equal(goQuote(new Uint8Array([0xff, 0x01])), '"\\xff\\x01"');
});

test('encoding/json pieces: HTML-safe strings, exact uint64, base64, omitempty', () => {
  assert.equal(jStr('<a&b>'), '"\\u003ca\\u0026b\\u003e"');
  assert.equal(jU64(-1n), '18446744073709551615');
  assert.equal(jBytes(new TextEncoder().encode('foo')), '"Zm9v"');
  assert.equal(jObj([['a', undefined], ['b', '1']]), '{"b":1}');
});
