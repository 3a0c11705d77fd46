import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../core/ids.js';
import { SeededRandom } from '../env/random.js';
import { EventLoop } from './event-loop.js';
import { SimNetwork } from './network.js';
import { SimClock } from './sim-clock.js';

test('events run in (time, sequence) order and every promise continuation finishes before the next event', async () => {
  const loop = new EventLoop();
  const seen: string[] = [];
  loop.schedule(5, 'b', () => seen.push('b@5'));
  loop.schedule(1, 'a', () => {
    seen.push('a@1');
    // An async chain several hops long still completes before the event at time 1 (same instant, later sequence).
    void (async () => {
      await Promise.resolve();
      await Promise.resolve();
      seen.push('a-continuation');
    })();
  });
  loop.schedule(1, 'a2', () => seen.push('a2@1'));
  const why = await loop.run({ untilMs: 100, eventsMax: 100 });
  assert.equal(why, 'idle');
  assert.deepEqual(seen, ['a@1', 'a-continuation', 'a2@1', 'b@5']);
  assert.equal(loop.nowMs, 5);
});

test('a killed clock never fires again; intervals repeat until cancelled', async () => {
  const loop = new EventLoop();
  const clock = new SimClock(loop, 'n');
  let ticks = 0;
  const t = clock.setInterval(() => ticks++, 10);
  await loop.run({ untilMs: 55, eventsMax: 100 });
  assert.equal(ticks, 5);
  t.cancel();
  let late = 0;
  clock.setTimeout(() => late++, 5);
  clock.kill();
  await loop.run({ untilMs: 200, eventsMax: 100 });
  assert.equal(ticks, 5);
  assert.equal(late, 0);
});

test('the network drops across a partition, delivers after healing, and delays a clogged path', async () => {
  const ids = ['0000000000000001', '0000000000000002', '0000000000000003'] as NodeId[];
  const loop = new EventLoop();
  const net = new SimNetwork(loop, new SeededRandom(1), { delayMsMin: 1, delayMsMean: 1, lossRate: 0, duplicateRate: 0, reorderRate: 0 }, ids);
  const got: string[] = [];
  for (const id of ids) net.attach(id, (b) => got.push(`${id.slice(-1)}:${b[0]}@${Math.floor(loop.nowMs)}`));
  net.partition('isolate');
  for (const a of ids) for (const b of ids) if (a !== b) net.send(a, b, new Uint8Array([1]));
  await loop.run({ untilMs: 1000, eventsMax: 1000 });
  assert.equal(got.length, 2, 'only the pair on the majority side talks');
  net.heal();
  const t0 = loop.nowMs;
  net.clog(ids[0]!, ids[1]!, 500);
  net.send(ids[0]!, ids[1]!, new Uint8Array([2]));
  net.send(ids[1]!, ids[0]!, new Uint8Array([3]));
  await loop.run({ untilMs: 3000, eventsMax: 1000 });
  const clogged = got.find((g) => g.startsWith('2:2@'))!;
  const open = got.find((g) => g.startsWith('1:3@'))!;
  assert.ok(Number(clogged.split('@')[1]) >= t0 + 500, `clogged packet arrived at ${clogged}`);
  assert.ok(Number(open.split('@')[1]) < t0 + 100, `open path packet arrived at ${open}`);
  // Asymmetric cuts are one-way.
  net.heal();
  const r = new SeededRandom(7);
  const modes = new Set<string>();
  for (let i = 0; i < 20; i++) {
    net.heal();
    modes.add(net.partition(r.pick(['halves', 'isolate', 'asymmetric'] as const)).split(' ')[0]!);
  }
  assert.ok(modes.size >= 2);
});
