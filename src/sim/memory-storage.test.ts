import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, term, type NodeId } from '../core/ids.js';
import type { ConfigState, Entry } from '../consensus/types.js';
import { MemoryLogStore, MemoryMedium, MemorySnapshotStore, type IoScheduler } from './memory-storage.js';

const config: ConfigState = { voters: ['0000000000000001' as NodeId], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
const e = (i: number, t = 1): Entry => ({ index: logIndex(i), term: term(t), kind: 'normal', data: new Uint8Array([i]) });

class Io implements IoScheduler {
  queue: (() => void)[] = [];
  defer(fn: () => void): void {
    this.queue.push(fn);
  }
  runAll(): void {
    while (this.queue.length > 0) this.queue.shift()!();
  }
}

test('a crash keeps exactly what was synced', async () => {
  const medium = new MemoryMedium();
  const io = new Io();
  const log = new MemoryLogStore(medium, io);
  log.append([e(1), e(2)], true);
  log.setHardState(new Uint8Array([7]));
  const synced = log.sync();
  io.runAll();
  await synced;
  log.append([e(3)], true);
  log.setHardState(new Uint8Array([8]));
  void log.sync(); // in flight when the crash comes
  log.crash();
  io.runAll();
  const d = medium.recover(config);
  assert.deepEqual(d.entries.map((x) => x.index), [1, 2]);
  assert.deepEqual(d.hardState, new Uint8Array([7]));
});

test('resetWith is one step: a crash before it completes keeps the old log, after it the new one', async () => {
  const medium = new MemoryMedium();
  const io = new Io();
  const log = new MemoryLogStore(medium, io);
  log.append([e(1), e(2), e(5)], false);
  let p = log.sync();
  io.runAll();
  await p;
  log.setHardState(new Uint8Array([1])); // a deferred hard state, buffered: it goes first
  p = log.resetWith(logIndex(4), [e(5, 2), e(6, 2)], new Uint8Array([2]));
  assert.deepEqual(medium.recover(config).entries.map((x) => x.index), [1, 2, 5]);
  io.runAll();
  await p;
  assert.deepEqual(medium.recover(config).entries.map((x) => `${x.index}@${x.term}`), ['5@2', '6@2']);
  assert.deepEqual(medium.hardState, new Uint8Array([2]));
  const crashed = new MemoryLogStore(medium, io);
  void crashed.resetWith(logIndex(6), [], new Uint8Array([3]));
  crashed.crash();
  io.runAll();
  assert.deepEqual(medium.recover(config).entries.map((x) => `${x.index}@${x.term}`), ['5@2', '6@2']);
  assert.deepEqual(medium.hardState, new Uint8Array([2]));
});

test('replacing a suffix truncates the durable log; Paxos-style slots replace one index', async () => {
  const medium = new MemoryMedium();
  const io = new Io();
  const log = new MemoryLogStore(medium, io);
  log.append([e(1), e(2), e(3), e(4)], true);
  let p = log.sync();
  io.runAll();
  await p;
  log.append([e(2, 2)], true);
  p = log.sync();
  io.runAll();
  await p;
  assert.deepEqual(medium.recover(config).entries.map((x) => `${x.index}@${x.term}`), ['1@1', '2@2']);
  log.append([e(5, 3)], false);
  p = log.sync();
  io.runAll();
  await p;
  assert.deepEqual(medium.recover(config).entries.map((x) => `${x.index}@${x.term}`), ['1@1', '2@2', '5@3']);
});

test('a received snapshot that fails verification is rejected and not stored', async () => {
  const medium = new MemoryMedium();
  const io = new Io();
  const snaps = new MemorySnapshotStore(medium, io);
  const meta = { index: logIndex(5), term: term(1), config, sizeBytes: 3, crc32c: 12345 };
  const w = snaps.receiveChunk({ meta, offset: 0, data: new Uint8Array([1, 2, 3]), crc32c: 0, last: true });
  io.runAll();
  await w;
  await assert.rejects(snaps.finishReceive(meta), /fails verification/);
  assert.equal(snaps.latest(), null);
  // A chunk that does not continue the staged one is refused.
  await assert.rejects(snaps.receiveChunk({ meta, offset: 9, data: new Uint8Array([1]), crc32c: 0, last: false }), /does not continue/);
});
