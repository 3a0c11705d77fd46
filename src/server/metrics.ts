/**
 * Prometheus metrics: counters, gauges and histograms with labels, rendered in the text exposition
 * format (version 0.0.4). Names follow etcd's where one exists, so existing dashboards and alerts
 * work (etcd_server_has_leader, etcd_disk_wal_fsync_duration_seconds, ...).
 */

type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface Metric {
  readonly name: string;
  readonly help: string;
  render(out: string[]): void;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(by = 1, labels: Labels = {}): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k === '' ? '' : `{${k}}`} ${fmt(v)}`);
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>();
  private collector: (() => void) | null = null;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  set(v: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), v);
  }

  /** A function run before each scrape to set the current value(s). */
  collect(fn: () => void): this {
    this.collector = fn;
    return this;
  }

  reset(): void {
    this.values.clear();
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(out: string[]): void {
    this.collector?.();
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [k, v] of this.values) out.push(`${this.name}${k === '' ? '' : `{${k}}`} ${fmt(v)}`);
  }
}

/** etcd's fsync and commit histograms use these buckets (seconds, powers of two from 1 ms). */
export const DISK_BUCKETS_S = [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192];
/** etcd's peer round-trip histogram buckets (seconds, powers of two from 0.1 ms). */
export const RTT_BUCKETS_S = [0.0001, 0.0002, 0.0004, 0.0008, 0.0016, 0.0032, 0.0064, 0.0128, 0.0256, 0.0512, 0.1024, 0.2048, 0.4096, 0.8192];

interface HistogramSeries {
  readonly counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
  ) {}

  observe(v: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (s === undefined) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) s.counts[i]!++;
    s.sum += v;
    s.count++;
  }

  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    const all = this.series.size === 0 ? new Map([['', { counts: this.buckets.map(() => 0), sum: 0, count: 0 }]]) : this.series;
    for (const [k, s] of all) {
      const pre = k === '' ? '' : `${k},`;
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket{${pre}le="${fmt(b)}"} ${s.counts[i]}`));
      out.push(`${this.name}_bucket{${pre}le="+Inf"} ${s.count}`);
      out.push(`${this.name}_sum${k === '' ? '' : `{${k}}`} ${fmt(s.sum)}`);
      out.push(`${this.name}_count${k === '' ? '' : `{${k}}`} ${s.count}`);
    }
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  gauge(name: string, help: string): Gauge {
    return this.add(new Gauge(name, help));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  /** The text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return out.join('\n') + '\n';
  }
}

/** Renders samples computed elsewhere (a RAID volume's) in the exposition format, HELP/TYPE once per name. */
export function renderSamples(samples: readonly { name: string; help: string; type: 'gauge' | 'counter'; labels: Readonly<Record<string, string>>; value: number }[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of samples) {
    if (!seen.has(s.name)) {
      seen.add(s.name);
      out.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
    }
    const k = labelKey(s.labels);
    out.push(`${s.name}${k === '' ? '' : `{${k}}`} ${fmt(s.value)}`);
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}
