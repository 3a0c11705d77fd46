import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JsonStreamSplitter } from './json-stream-splitter.js';
import { JsonStreamError } from './errors.js';

const enc = new TextEncoder();

test('splits concatenated objects, fed one byte at a time', () => {
  const input = ' {"create_request":{"key":"e30=","x":"}{\\""}}\n{"progress_request":{}}[1,{"a":[2]}]  ';
  const s = new JsonStreamSplitter(1024);
  const out: string[] = [];
  for (const b of enc.encode(input)) out.push(...s.push(Uint8Array.of(b)));
  assert.deepEqual(out, ['{"create_request":{"key":"e30=","x":"}{\\""}}', '{"progress_request":{}}', '[1,{"a":[2]}]']);
  assert.equal(s.atBoundary, true);
});

test('property: any split of a stream of JSON values gives the values back', () => {
  fc.assert(
    fc.property(fc.array(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (values, cuts) => {
      const bytes = enc.encode(values.map((v) => JSON.stringify(v)).join('\n'));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const s = new JsonStreamSplitter(1 << 20);
      const out: string[] = [];
      let prev = 0;
      for (const p of [...points, bytes.length]) {
        out.push(...s.push(bytes.subarray(prev, p)));
        prev = p;
      }
      assert.deepEqual(out.map((t) => JSON.stringify(JSON.parse(t))), values.map((v) => JSON.stringify(v)));
    }),
    { numRuns: 300 },
  );
});

test('garbage and oversized values are errors', () => {
  assert.throws(() => new JsonStreamSplitter(100).push(enc.encode('hello')), JsonStreamError);
  assert.throws(() => new JsonStreamSplitter(10).push(enc.encode('{"aaaaaaaaaaaaaaaaaaaa":1}')), JsonStreamError);
  const s = new JsonStreamSplitter(100);
  s.push(enc.encode('{"a":'));
  assert.equal(s.atBoundary, false);
});
