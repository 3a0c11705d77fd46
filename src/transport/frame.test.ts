import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, encodeFrame } from './frame.js';
import { TransportError } from './errors.js';

const types = Object.values(FrameType);

test('frame layout: length, crc, type, payload', () => {
  const f = encodeFrame(FrameType.message, new Uint8Array([1, 2, 3]));
  assert.equal(f.length, FRAME_HEADER_BYTES + 3);
  assert.deepEqual([...f.subarray(0, 4)], [3, 0, 0, 0]);
  assert.equal(f[8], FrameType.message);
  assert.deepEqual([...f.subarray(9)], [1, 2, 3]);
});

test('decoder yields the same frames fed one byte at a time or in random splits', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ type: fc.constantFrom(...types), payload: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 12 }),
      fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 }),
      (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
        // One byte at a time.
        const d1 = new FrameDecoder();
        const got1 = [];
        for (const b of wire) got1.push(...d1.push(Uint8Array.of(b)));
        // Random split sizes.
        const d2 = new FrameDecoder();
        const got2 = [];
        let at = 0;
        let i = 0;
        while (at < wire.length) {
          const n = cuts[i++ % cuts.length]!;
          got2.push(...d2.push(wire.subarray(at, at + n)));
          at += n;
        }
        for (const got of [got1, got2]) {
          assert.equal(got.length, frames.length);
          got.forEach((g, k) => {
            assert.equal(g.type, frames[k]!.type);
            assert.deepEqual(g.payload, frames[k]!.payload);
          });
        }
        assert.equal(d1.bufferedBytes, 0);
      },
    ),
  );
});

test('a flipped bit anywhere in a frame is an error, never a wrong frame', () => {
  const f = encodeFrame(FrameType.rpcRequest, new Uint8Array(64).map((_, i) => i));
  for (let bit = 0; bit < f.length * 8; bit++) {
    const bad = f.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    const d = new FrameDecoder();
    let frames: unknown[] = [];
    try {
      frames = d.push(bad);
    } catch (e) {
      assert.ok(e instanceof TransportError, `bit ${bit}: ${String(e)}`);
      continue;
    }
    // A corrupted length may make the decoder wait for more bytes; it must not yield a frame.
    assert.equal(frames.length, 0, `bit ${bit} produced a frame`);
  }
});

test('oversized and unknown frames are refused before buffering them', () => {
  const d = new FrameDecoder(1024);
  const hdr = new Uint8Array(9);
  new DataView(hdr.buffer).setUint32(0, 4096, true);
  hdr[8] = FrameType.message;
  assert.throws(() => d.push(hdr), /exceeds/);
  assert.throws(() => d.push(new Uint8Array(1)), /after a framing error/);
  const u = encodeFrame(FrameType.ping, new Uint8Array(0));
  u[8] = 200;
  assert.throws(() => new FrameDecoder().push(u), /unknown peer frame type/);
});
