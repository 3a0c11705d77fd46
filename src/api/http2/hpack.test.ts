import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ByteSink } from './byte-sink.js';
import { HpackDecoder } from './hpack-decoder.js';
import { HpackEncoder } from './hpack-encoder.js';
import { HpackError } from './hpack-error.js';
import { HUFFMAN_CODES, huffmanDecode, huffmanEncode, huffmanEncodedLength } from './hpack-huffman.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pairs = (h: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i < h.length; i += 2) out.push([h[i]!, h[i + 1]!]);
  return out;
};
const flat = (p: [string, string][]): string[] => p.flat();

const decoder = (tableBytesMax = 4096): HpackDecoder => new HpackDecoder({ tableBytesMax, headerListBytesMax: 1 << 20 });

const REQ1: [string, string][] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: [string, string][] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: [string, string][] = [[':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value']];
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOC = 'https://www.example.com';
const RES1: [string, string][] = [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', LOC]];
const RES2: [string, string][] = [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', LOC]];
const RES3: [string, string][] = [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', LOC], ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1']];

test('huffman codes match known entries of RFC 7541 Appendix B', () => {
  assert.equal(HUFFMAN_CODES[0], 0x1ff8);
  assert.equal(HUFFMAN_CODES[48], 0x0); // '0'
  assert.equal(HUFFMAN_CODES[97], 0x3); // 'a'
  assert.equal(HUFFMAN_CODES[255], 0x3ffffee);
  assert.equal(HUFFMAN_CODES[256], 0x3fffffff); // EOS
});

test('RFC 7541 C.3: requests without Huffman, one decoder across blocks', () => {
  const d = decoder();
  assert.deepEqual(pairs(d.decode(hex('828684410f7777772e6578616d706c652e636f6d')).headers), REQ1);
  assert.equal(d.dynamicTableBytes, 57);
  assert.deepEqual(pairs(d.decode(hex('828684be58086e6f2d6361636865')).headers), REQ2);
  assert.equal(d.dynamicTableBytes, 110);
  assert.deepEqual(pairs(d.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565')).headers), REQ3);
  assert.equal(d.dynamicTableBytes, 164);
});

const C4 = ['828684418cf1e3c2e5f23a6ba0ab90f4ff', '828684be5886a8eb10649cbf', '828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'];

test('RFC 7541 C.4: requests with Huffman decode, and our encoder produces the same bytes', () => {
  const d = decoder();
  const e = new HpackEncoder();
  const reqs = [REQ1, REQ2, REQ3];
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(pairs(d.decode(hex(C4[i]!)).headers), reqs[i]);
    const sink = new ByteSink(16);
    e.encode(flat(reqs[i]!), sink);
    assert.equal(toHex(sink.take()), C4[i]);
  }
  assert.equal(d.dynamicTableBytes, 164);
});

test('RFC 7541 C.5: responses without Huffman, table of 256 bytes with evictions', () => {
  const d2 = decoder(256);
  assert.deepEqual(
    pairs(d2.decode(hex('4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d')).headers),
    RES1,
  );
  assert.equal(d2.dynamicTableBytes, 222);
  assert.deepEqual(pairs(d2.decode(hex('4803333037c1c0bf')).headers), RES2);
  assert.equal(d2.dynamicTableBytes, 222);
  assert.deepEqual(
    pairs(
      d2.decode(
        hex('88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a6970' + '7738' + Buffer.from(RES3[5]![1], 'latin1').toString('hex')),
      ).headers,
    ),
    RES3,
  );
  assert.equal(d2.dynamicTableBytes, 215);
});

test('RFC 7541 C.6: responses with Huffman, table of 256 bytes', () => {
  const d = decoder(256);
  assert.deepEqual(
    pairs(d.decode(hex('488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3')).headers),
    RES1,
  );
  assert.equal(d.dynamicTableBytes, 222);
  assert.deepEqual(pairs(d.decode(hex('4883640effc1c0bf')).headers), RES2);
  assert.equal(d.dynamicTableBytes, 222);
  assert.deepEqual(
    pairs(d.decode(hex('88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007')).headers),
    RES3,
  );
  assert.equal(d.dynamicTableBytes, 215);
});

test('huffman round-trips any octets and rejects bad padding and EOS', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const s = String.fromCharCode(...bytes);
      const out = new Uint8Array(huffmanEncodedLength(s));
      assert.equal(huffmanEncode(s, out, 0), out.length);
      assert.equal(huffmanDecode(out, 0, out.length), s);
    }),
    { numRuns: 300, verbose: true },
  );
  // 'a' is 00011 (5 bits): padding with zeros is not a prefix of EOS.
  assert.throws(() => huffmanDecode(Uint8Array.of(0b00011000), 0, 1), HpackError);
  // A whole byte of ones after a symbol is padding longer than 7 bits.
  assert.throws(() => huffmanDecode(Uint8Array.of(0b00011111, 0xff), 0, 2), HpackError);
  // EOS itself (30 ones) in the data.
  assert.throws(() => huffmanDecode(Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4), HpackError);
});

const headerName = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const headerValue = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, 'x'));

test('encoder and decoder stay in step over many blocks, with table size changes', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }), fc.option(fc.integer({ min: 0, max: 4096 }))), { maxLength: 30 }),
      (blocks) => {
        const e = new HpackEncoder();
        const d = decoder(4096);
        for (const [fields, size] of blocks) {
          if (size !== null) e.setPeerTableSize(size);
          const sink = new ByteSink(8);
          e.encode(flat(fields), sink);
          assert.deepEqual(pairs(d.decode(sink.take()).headers), fields);
        }
      },
    ),
    { numRuns: 200, verbose: true },
  );
});

test('repeated fields shrink to one byte each', () => {
  const e = new HpackEncoder();
  const h = [':method', 'POST', ':path', '/etcdserverpb.KV/Range', 'content-type', 'application/grpc', 'te', 'trailers'];
  const a = new ByteSink();
  e.encode(h, a);
  const b = new ByteSink();
  e.encode(h, b);
  assert.ok(a.lengthBytes > 20);
  assert.equal(b.lengthBytes, 4);
});

test('malformed blocks are HpackErrors, not crashes', () => {
  const bad = ['80', 'ff', 'bf', '41', '4105', '418cf1e3', '3fe21f', '82 20', 'ff ff ff ff ff ff ff'];
  for (const b of bad) assert.throws(() => decoder().decode(hex(b)), HpackError, b);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        decoder().decode(bytes);
      } catch (err) {
        assert.ok(err instanceof HpackError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('an oversized header list is decoded for table state but its headers are dropped', () => {
  const e = new HpackEncoder();
  const d = new HpackDecoder({ tableBytesMax: 4096, headerListBytesMax: 100 });
  const sink = new ByteSink();
  e.encode(['x-big', 'v'.repeat(200), 'x-small', 'y'], sink);
  const r = d.decode(sink.take());
  assert.equal(r.oversized, true);
  assert.equal(r.headers.length, 0);
  const sink2 = new ByteSink();
  e.encode(['x-small', 'y'], sink2);
  assert.deepEqual(d.decode(sink2.take()).headers, ['x-small', 'y']);
});

test('a remembered Huffman encoding is a copy: later blocks written over the same buffer do not change it', () => {
  const e = new HpackEncoder();
  const d = decoder(4096);
  // One scratch sink reset between blocks, as the connection does.
  const sink = new ByteSink(64);
  const block = (h: string[]): string[] => {
    sink.reset();
    e.encode(h, sink);
    return d.decode(sink.buf.subarray(0, sink.pos).slice()).headers;
  };
  const refusal = ['grpc-status', '8', 'grpc-message', 'etcdserver: too many requests'];
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(block(refusal), refusal, `block ${i}`);
    // Other bytes over the same buffer, so a view of an earlier block would now read garbage.
    const other = ['grpc-message', `other message number ${i} with padding`];
    assert.deepEqual(block(other), other);
  }
});
