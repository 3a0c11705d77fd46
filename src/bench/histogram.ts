/**
 * A log-bucketed latency histogram in the manner of HdrHistogram: values (whole microseconds) below
 * 2^SUB_BITS are counted exactly, larger ones in 2^(SUB_BITS-1) buckets per power of two, so every
 * recorded value is known to within 1/2^(SUB_BITS-1) (0.8 %) and memory is fixed whatever the run
 * length. Histograms of the same shape merge by adding counts, so workers and rounds combine.
 */
import { assert } from '../core/assert.js';
import { HISTOGRAM_SUB_BUCKET_BITS, HISTOGRAM_VALUE_MAX } from '../core/limits.js';

const SUB = 1 << HISTOGRAM_SUB_BUCKET_BITS;
const HALF = SUB >> 1;
const MAX_SHIFT = Math.ceil(Math.log2(HISTOGRAM_VALUE_MAX + 1)) - HISTOGRAM_SUB_BUCKET_BITS + 1;
const BUCKETS = SUB + MAX_SHIFT * HALF;

/** The bucket holding `v` (a whole number in [0, HISTOGRAM_VALUE_MAX]). */
export function bucketOf(v: number): number {
  if (v < SUB) return v;
  const msb = Math.floor(Math.log2(v));
  // Math.log2 can be off by one near powers of two for large values: correct it.
  const m = 2 ** msb > v ? msb - 1 : 2 ** (msb + 1) <= v ? msb + 1 : msb;
  const shift = m - (HISTOGRAM_SUB_BUCKET_BITS - 1);
  const top = Math.floor(v / 2 ** shift); // in [HALF, SUB)
  return SUB + (shift - 1) * HALF + (top - HALF);
}

/** The smallest and largest values that land in bucket `i`. */
export function bucketRange(i: number): { low: number; high: number } {
  if (i < SUB) return { low: i, high: i };
  const shift = Math.floor((i - SUB) / HALF) + 1;
  const top = ((i - SUB) % HALF) + HALF;
  const low = top * 2 ** shift;
  return { low, high: low + 2 ** shift - 1 };
}

export interface HistogramSummary {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private minValue = Infinity;
  private maxValue = 0;
  /** Values above HISTOGRAM_VALUE_MAX, counted in the top bucket. */
  clamped = 0;

  /** Records one value (rounded to a whole number; negative values count as 0). */
  record(value: number): void {
    let v = Math.round(value);
    if (!(v >= 0)) v = 0;
    if (v > HISTOGRAM_VALUE_MAX) {
      v = HISTOGRAM_VALUE_MAX;
      this.clamped++;
    }
    this.counts[bucketOf(v)]! += 1;
    this.total++;
    this.sum += v;
    if (v < this.minValue) this.minValue = v;
    if (v > this.maxValue) this.maxValue = v;
  }

  get count(): number {
    return this.total;
  }

  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.clamped += other.clamped;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /**
   * The value at quantile q in [0, 1]: the highest value of the bucket holding the q-th recorded
   * value (as HdrHistogram reports it), never above the largest value recorded. 0 when empty.
   */
  valueAt(q: number): number {
    assert(q >= 0 && q <= 1, 'quantile in [0, 1]');
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketRange(i).high, this.maxValue);
    }
    return this.maxValue;
  }

  summary(): HistogramSummary {
    return {
      count: this.total,
      min: this.total === 0 ? 0 : this.minValue,
      max: this.maxValue,
      mean: this.total === 0 ? 0 : this.sum / this.total,
      p50: this.valueAt(0.5),
      p90: this.valueAt(0.9),
      p99: this.valueAt(0.99),
      p999: this.valueAt(0.999),
    };
  }

  /** Non-empty buckets as [low value, count] pairs, for JSON output. */
  buckets(): [number, number][] {
    const out: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) out.push([bucketRange(i).low, this.counts[i]!]);
    return out;
  }
}
