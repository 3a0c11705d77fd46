// The scanner's verdicts under every kind of byte damage: a torn last batch is 'torn' (never
// 'corrupt', never losing an earlier batch), and damage to anything committed is either survived
// (a commit copy) or reported 'corrupt' — never mistaken for a torn tail (Protocol-Aware Recovery).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { logIndex, term } from '../core/ids.js';
import { BatchBuilder } from './batch.js';
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader } from './segment-header.js';
import { scanSegment, type SegmentScan } from './segment-scan.js';

const enc = new TextEncoder();

/** A segment with `sizes.length` batches; batch b holds sizes[b] entries. Returns bytes and batch ends. */
function buildSegment(sizes: readonly number[], dataBytes = 40): { bytes: Uint8Array; batchEnds: number[]; batchStarts: number[] } {
  const parts: Uint8Array[] = [encodeSegmentHeader({ segmentId: 1, firstIndex: 1 })];
  let at = SEGMENT_HEADER_BYTES;
  let index = 0;
  const batchEnds: number[] = [];
  const batchStarts: number[] = [];
  sizes.forEach((n, b) => {
    const builder = new BatchBuilder();
    for (let k = 0; k < n; k++) {
      index++;
      builder.entry({ index: logIndex(index), term: term(1), kind: 'normal', data: enc.encode(`${index}`.padEnd(dataBytes, '.')) });
    }
    const bytes = builder.finish(at, { seq: b + 1, segmentId: 1, lastIndex: index, compactedThrough: 0, repairUntil: 0, hardState: enc.encode(`hs${b}`) });
    parts.push(bytes);
    batchStarts.push(at);
    at += bytes.length;
    batchEnds.push(at);
  });
  const out = new Uint8Array(at);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return { bytes: out, batchEnds, batchStarts };
}

const scan = (bytes: Uint8Array): SegmentScan => scanSegment(bytes, { segmentId: 1, expectedSeq: 1 });

test('a clean segment scans into its batches', () => {
  const { bytes } = buildSegment([3, 1, 5]);
  const s = scan(bytes);
  assert.equal(s.header.type, 'valid');
  assert.equal(s.body.type, 'clean');
  assert.deepEqual(s.batches.map((b) => b.records.length), [3, 1, 5]);
  assert.deepEqual(s.batches.map((b) => b.commit.lastIndex), [3, 4, 9]);
  assert.equal(s.endOffset, bytes.length);
  assert.ok(s.batches.every((b) => b.damagedCommitCopy === 'none'));
  // Commit A ends on a 4 KiB boundary, so commit B sits in another sector.
  for (const b of s.batches) assert.equal((b.commitOffset + b.commitFrameBytes) % 4096, 0);
});

test('a crash cut anywhere in the last batch is a torn tail that keeps every earlier batch', () => {
  const { bytes, batchEnds } = buildSegment([2, 3, 4]);
  const lastStart = batchEnds[1]!;
  for (let cut = lastStart; cut < bytes.length; cut++) {
    const s = scan(bytes.slice(0, cut));
    const kept = s.batches.length;
    // Cutting inside commit B still leaves commit A: the batch was completely written.
    assert.ok(kept === 2 || (kept === 3 && cut > s.batches[2]!.commitOffset + s.batches[2]!.commitFrameBytes - 8), `cut at ${cut}: kept ${kept}`);
    assert.notEqual(s.body.type, 'corrupt', `cut at ${cut}`);
    if (kept === 2) assert.equal(s.endOffset, lastStart);
  }
});

test('a torn last batch with garbage in its torn sector is torn, not corrupt', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10_000 }), fc.uint8Array({ minLength: 1, maxLength: 512 }), (cutSeed, garbage) => {
      const { bytes, batchEnds } = buildSegment([2, 3, 4]);
      const lastStart = batchEnds[1]!;
      const cut = lastStart + (cutSeed % (bytes.length - lastStart));
      const torn = bytes.slice(0, Math.min(bytes.length, cut + garbage.length));
      torn.set(garbage.subarray(0, torn.length - cut), cut);
      const s = scan(torn);
      assert.notEqual(s.body.type, 'corrupt');
      assert.ok(s.batches.length >= 2);
    }),
    { numRuns: 300 },
  );
});

test('a bit flipped anywhere in committed data is survived or reported corrupt, never truncated silently', () => {
  const { bytes, batchEnds } = buildSegment([2, 1, 3]);
  for (let at = 0; at < bytes.length; at++) {
    const damaged = bytes.slice();
    damaged[at]! ^= 1 << at % 8;
    const s = scan(damaged);
    if (at < SEGMENT_HEADER_BYTES) {
      assert.equal(s.header.type, 'invalid', `flip at ${at}`);
      continue;
    }
    const survived = s.batches.length === 3 && s.body.type === 'clean';
    const reported = s.body.type === 'corrupt';
    assert.ok(survived || reported, `flip at ${at} (batch ends ${batchEnds}): ${s.batches.length} batches, body ${JSON.stringify(s.body)}`);
    if (reported) assert.ok(s.summariesBeyond.length > 0 || s.batches.length < 3);
  }
});

test('an unreadable sector anywhere in committed data is survived or reported corrupt', () => {
  for (const sector of [512, 4096]) {
    const { bytes } = buildSegment([2, 1, 3, 1], 300);
    for (let at = SEGMENT_HEADER_BYTES; at < bytes.length; at += sector) {
      const from = Math.floor(at / sector) * sector;
      const damaged = bytes.slice();
      damaged.fill(0xff, Math.max(from, SEGMENT_HEADER_BYTES), Math.min(bytes.length, from + sector));
      const s = scan(damaged);
      const survived = s.batches.length === 4 && s.body.type === 'clean';
      assert.ok(survived || s.body.type === 'corrupt', `sector ${sector} at ${from}: ${s.batches.length} batches, ${JSON.stringify(s.body)}`);
    }
  }
});

test('a batch moved to another offset (misdirected write) is reported corrupt', () => {
  const { bytes, batchStarts, batchEnds } = buildSegment([2, 2, 2]);
  // Batch 2 lands over batch 1's place; batch 2's own place keeps batch 2 (stale copy would be zeros here).
  const b2 = bytes.slice(batchStarts[2]!, batchEnds[2]!);
  const damaged = bytes.slice();
  damaged.set(b2.subarray(0, Math.min(b2.length, batchEnds[1]! - batchStarts[1]!)), batchStarts[1]!);
  assert.equal(scan(damaged).body.type, 'corrupt');
  // The last batch lands one sector later, leaving zeros where it belonged.
  const shifted = new Uint8Array(bytes.length + 4096);
  shifted.set(bytes.subarray(0, batchStarts[2]!));
  shifted.set(b2, batchStarts[2]! + 4096);
  const s = scan(shifted);
  assert.equal(s.body.type, 'corrupt');
  assert.equal(s.batches.length, 2);
  assert.ok(s.summariesBeyond.some((c) => c.lastIndex === 6), 'the displaced commit still says how far the log reached');
});

test('a batch with the wrong sequence number is corrupt (stale or replayed data)', () => {
  const { bytes } = buildSegment([1, 1]);
  assert.equal(scanSegment(bytes, { segmentId: 1, expectedSeq: 5 }).body.type, 'corrupt');
  assert.equal(scanSegment(bytes, { segmentId: 2, expectedSeq: 1 }).body.type, 'corrupt');
  assert.equal(scanSegment(bytes, { segmentId: 1, expectedSeq: null }).body.type, 'clean');
});
