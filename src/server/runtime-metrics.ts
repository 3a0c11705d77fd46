/**
 * The Node.js process's own health, under the names prom-client's default metrics use, so the
 * usual Node dashboards read them: event-loop delay, garbage-collection pauses, CPU and memory.
 *
 * Event-loop delay is the signal that matters most for a member: every heartbeat, vote and
 * acknowledgement waits for the loop, so a loop held for longer than the election timeout costs the
 * cluster its leader. The delay percentiles cover the time since the previous scrape (the histogram
 * is reset at each one); the maximum ever seen is kept separately.
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { EVENT_LOOP_DELAY_RESOLUTION_MS } from '../core/limits.js';
import type { Counter, Gauge, Histogram, Registry } from './metrics.js';

/** Buckets for garbage-collection pauses, in seconds. */
export const GC_BUCKETS_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

const GC_KINDS: Readonly<Record<number, string>> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };

export interface RuntimeMetrics {
  /** Stops the sampling (the registry keeps the last values). */
  stop(): void;
}

export function registerRuntimeMetrics(r: Registry): RuntimeMetrics {
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_DELAY_RESOLUTION_MS });
  loop.enable();
  let maxEverS = 0;
  const lag = {
    p50: r.gauge('nodejs_eventloop_lag_p50_seconds', 'The 50th percentile of the recorded event loop delays since the last scrape.'),
    p99: r.gauge('nodejs_eventloop_lag_p99_seconds', 'The 99th percentile of the recorded event loop delays since the last scrape.'),
    max: r.gauge('nodejs_eventloop_lag_max_seconds', 'The maximum recorded event loop delay since the last scrape.'),
    maxEver: r.gauge('bulwark_eventloop_lag_max_ever_seconds', 'The longest event loop delay since the process started.'),
  };
  // The histogram is in nanoseconds and includes the sampling period itself; take it off.
  const seconds = (ns: number): number => Math.max(0, ns / 1e9 - EVENT_LOOP_DELAY_RESOLUTION_MS / 1000);
  lag.p50.collect(() => {
    const count = loop.count;
    const max = count > 0 ? seconds(loop.max) : 0;
    maxEverS = Math.max(maxEverS, max);
    lag.p50.set(count > 0 ? seconds(loop.percentile(50)) : 0);
    lag.p99.set(count > 0 ? seconds(loop.percentile(99)) : 0);
    lag.max.set(max);
    lag.maxEver.set(maxEverS);
    loop.reset();
  });

  const gc: Histogram = r.histogram('nodejs_gc_duration_seconds', 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.', GC_BUCKETS_S);
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } | null }).detail?.kind ?? 0;
      gc.observe(e.duration / 1000, { kind: GC_KINDS[kind] ?? 'other' });
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  // Registered before the CPU counter, whose value their collector brings up to date.
  const rss: Gauge = r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const heap: Gauge = r.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.');
  const cpu: Counter = r.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.');
  let lastCpuUs = 0;
  rss.collect(() => {
    const u = process.cpuUsage();
    const totalUs = u.user + u.system;
    cpu.inc((totalUs - lastCpuUs) / 1e6);
    lastCpuUs = totalUs;
    const m = process.memoryUsage();
    rss.set(m.rss);
    heap.set(m.heapUsed);
  });

  return {
    stop: () => {
      loop.disable();
      observer.disconnect();
    },
  };
}
