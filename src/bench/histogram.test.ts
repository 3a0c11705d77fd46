import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HISTOGRAM_VALUE_MAX } from '../core/limits.js';
import { bucketOf, bucketRange, Histogram } from './histogram.js';

test('small values are counted exactly', () => {
  for (let v = 0; v < 256; v++) assert.deepEqual(bucketRange(bucketOf(v)), { low: v, high: v });
});

test('every value lands in a bucket whose range holds it, within 0.8 %', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: HISTOGRAM_VALUE_MAX }), (v) => {
      const r = bucketRange(bucketOf(v));
      assert.ok(r.low <= v && v <= r.high, `${v} in [${r.low}, ${r.high}]`);
      assert.ok(r.high - r.low <= Math.max(0, r.low / 128), `bucket width ${r.high - r.low} at ${r.low}`);
    }),
    { numRuns: 5000 },
  );
});

test('buckets are contiguous and ordered', () => {
  let prevHigh = -1;
  for (let i = 0; i < bucketOf(10_000_000); i++) {
    const r = bucketRange(i);
    assert.equal(r.low, prevHigh + 1, `bucket ${i} starts right after the previous one`);
    prevHigh = r.high;
  }
});

test('percentiles match a sorted array (naive oracle) within the bucket precision', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 2000 }), (values) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0.5, 0.9, 0.99, 0.999, 1]) {
        const exact = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
        const got = h.valueAt(q);
        assert.ok(got >= exact && got <= Math.max(exact, exact * (1 + 1 / 128)), `q${q}: ${got} vs exact ${exact}`);
      }
      assert.equal(h.summary().max, sorted[sorted.length - 1]);
      assert.equal(h.summary().min, sorted[0]);
    }),
    { numRuns: 200 },
  );
});

test('merging two histograms equals recording everything in one', () => {
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let i = 0; i < 1000; i++) {
    const v = (i * 7919) % 100_000;
    (i % 2 === 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  assert.deepEqual(a.summary(), all.summary());
  assert.deepEqual(a.buckets(), all.buckets());
});

test('values beyond the maximum are clamped and counted; negatives count as zero', () => {
  const h = new Histogram();
  h.record(HISTOGRAM_VALUE_MAX * 2);
  h.record(-5);
  assert.equal(h.clamped, 1);
  assert.equal(h.summary().max, HISTOGRAM_VALUE_MAX);
  assert.equal(h.summary().min, 0);
  assert.equal(new Histogram().valueAt(0.5), 0, 'an empty histogram answers 0');
});
