import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from './metrics.js';
import { registerRuntimeMetrics } from './runtime-metrics.js';

function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  assert.ok(line !== undefined, `${name}${labels} in\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('runtime metrics: a held event loop shows in the delay, and the window restarts at each scrape', async () => {
  const r = new Registry();
  const m = registerRuntimeMetrics(r);
  try {
    await new Promise((resolve) => setTimeout(resolve, 30));
    const end = performance.now() + 120;
    while (performance.now() < end) {
      // hold the loop, as a long synchronous task would
    }
    await new Promise((resolve) => setTimeout(resolve, 30));
    const first = r.render();
    const max = sample(first, 'nodejs_eventloop_lag_max_seconds');
    assert.ok(max >= 0.08, `the 120 ms hold shows as a delay of ${max} s`);
    assert.ok(sample(first, 'bulwark_eventloop_lag_max_ever_seconds') >= max);
    assert.ok(sample(first, 'process_cpu_seconds_total') >= 0.1, 'the busy loop counts as CPU time');
    assert.ok(sample(first, 'process_resident_memory_bytes') > 0);
    assert.ok(sample(first, 'nodejs_heap_size_used_bytes') > 0);

    await new Promise((resolve) => setTimeout(resolve, 60));
    const second = r.render();
    assert.ok(sample(second, 'nodejs_eventloop_lag_max_seconds') < 0.08, 'the next window does not repeat the old delay');
    assert.equal(sample(second, 'bulwark_eventloop_lag_max_ever_seconds'), sample(first, 'bulwark_eventloop_lag_max_ever_seconds'));
  } finally {
    m.stop();
  }
});

test('runtime metrics: garbage collections are counted by kind', async () => {
  const r = new Registry();
  const m = registerRuntimeMetrics(r);
  try {
    let keep: unknown[] = [];
    for (let i = 0; i < 200_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 10_000) keep = [];
    }
    // GC entries reach the observer asynchronously.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(sample(r.render(), 'nodejs_gc_duration_seconds_count', '{kind="minor"}') > 0, 'minor collections observed');
  } finally {
    m.stop();
  }
});
