import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../env/random.js';
import { buildPartition, connected } from './partition.js';

const members = ['m1', 'm2', 'm3', 'm4', 'm5'];

test('halves cut every link across, both ways, and none within', () => {
  const p = buildPartition(members, { type: 'halves' }, new SeededRandom(1));
  const [left, right] = p.description.split(' | ').map((s) => s.split(' '));
  assert.equal(left!.length + right!.length, 5);
  for (const a of left!) for (const b of right!) assert.ok(!connected(p.cuts, a, b));
  for (const a of left!) for (const b of left!) if (a !== b) assert.ok(connected(p.cuts, a, b));
  assert.equal(p.cuts.length, 2 * left!.length * right!.length);
  assert.deepEqual([...p.affected], left, 'the minority side is shown as hit');
});

test('a lone member is cut from everyone', () => {
  const p = buildPartition(members, { type: 'lone', member: 'm3' }, new SeededRandom(1));
  for (const m of members) if (m !== 'm3') assert.ok(!connected(p.cuts, 'm3', m));
  assert.ok(connected(p.cuts, 'm1', 'm2'));
});

test('a bridge reaches both sides, which cannot reach each other', () => {
  const p = buildPartition(['m1', 'm2', 'm3'], { type: 'bridge' }, new SeededRandom(3));
  const bridge = p.affected[0]!;
  const others = ['m1', 'm2', 'm3'].filter((m) => m !== bridge);
  assert.ok(connected(p.cuts, bridge, others[0]!) && connected(p.cuts, bridge, others[1]!));
  assert.ok(!connected(p.cuts, others[0]!, others[1]!));
});

test('one-way cuts go in one direction only', () => {
  const p = buildPartition(['m1', 'm2', 'm3'], { type: 'oneway', member: 'm1', inbound: true }, new SeededRandom(1));
  assert.deepEqual(p.cuts.map((c) => `${c.from}>${c.to}`).sort(), ['m2>m1', 'm3>m1']);
  const q = buildPartition(['m1', 'm2', 'm3'], { type: 'oneway', member: 'm1', inbound: false }, new SeededRandom(1));
  assert.deepEqual(q.cuts.map((c) => `${c.from}>${c.to}`).sort(), ['m1>m2', 'm1>m3']);
});
