import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from '../core/crc32c.js';
import { logIndex, term, type LogIndex, type NodeId } from '../core/ids.js';
import type { Clock, Timer } from '../env/clock.js';
import { nullLogger } from '../env/logger.js';
import type { Transport } from '../env/transport.js';
import { KvStateMachine, encodeCommand, type KvApplyResult } from '../sim/kv-state-machine.js';
import { MemoryLogStore, MemoryMedium, MemorySnapshotStore, type IoScheduler } from '../sim/memory-storage.js';
import { Driver } from './driver.js';
import type { ConfigState, ConsensusEngine, EngineMessage, EngineStatus, Entry, ProposeResult, Ready, SnapshotMeta } from './types.js';

const A = '000000000000000a' as NodeId;
const B = '000000000000000b' as NodeId;
const CONFIG: ConfigState = { voters: [A], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

interface Msg extends EngineMessage {
  readonly type: 'm';
  readonly label: string;
}

function emptyReady(): Ready<Msg> {
  return { soft: null, sendBeforePersist: [], snapshotChunk: null, snapshotInstall: null, entries: [], entriesReplaceSuffix: true, hardState: null, messages: [], committed: [], readStates: [], readsDropped: [] };
}

/**
 * A one-member engine: proposals become entries of the next Ready, and entries made durable by an
 * advanced Ready are committed in the one after. Extra Readies can be queued by a test.
 */
class FakeEngine implements ConsensusEngine<Msg> {
  readonly id = A;
  readonly protocol = 'raft' as const;
  readonly scripted: Ready<Msg>[] = [];
  readonly compacted: SnapshotMeta[] = [];
  private unstable: Entry[] = [];
  private durableUnapplied: Entry[] = [];
  private last = 0;
  private outstanding: Ready<Msg> | null = null;
  readonly log: string[];
  ticks = 0;
  constructor(log: string[]) {
    this.log = log;
  }
  tick(): void {
    this.ticks++;
  }
  step(): { type: 'ok' } {
    return { type: 'ok' };
  }
  propose(data: Uint8Array): ProposeResult {
    this.unstable.push({ index: logIndex(++this.last), term: term(1), kind: 'normal', data });
    return { type: 'accepted', index: logIndex(this.last), term: term(1) };
  }
  proposeConfigChange(): ProposeResult {
    return { type: 'rejected', reason: 'invalid-config-change', leader: null };
  }
  readIndex(): { type: 'pending' } {
    return { type: 'pending' };
  }
  transferLeadership(): { type: 'rejected'; reason: 'not-leader' } {
    return { type: 'rejected', reason: 'not-leader' };
  }
  compact(meta: SnapshotMeta): void {
    this.compacted.push(meta);
  }
  reportUnreachable(): void {}
  hasReady(): boolean {
    return this.outstanding === null && (this.scripted.length > 0 || this.unstable.length > 0 || this.durableUnapplied.length > 0);
  }
  ready(): Ready<Msg> {
    assert.equal(this.outstanding, null, 'no second Ready before advance');
    const scripted = this.scripted.shift();
    const rd = scripted ?? { ...emptyReady(), entries: this.unstable, committed: this.durableUnapplied };
    if (scripted === undefined) {
      this.unstable = [];
      this.durableUnapplied = [];
    }
    this.outstanding = rd;
    return rd;
  }
  advance(rd: Ready<Msg>): void {
    assert.equal(rd, this.outstanding);
    this.outstanding = null;
    this.log.push('advance');
    this.durableUnapplied.push(...rd.entries);
  }
  status(): EngineStatus {
    return { id: A, role: 'leader', term: term(1), leader: A, commitIndex: logIndex(0), appliedIndex: logIndex(0), lastIndex: logIndex(this.last), firstIndex: logIndex(1), config: CONFIG, progress: [] };
  }
  encodeMessage(): Uint8Array {
    return new Uint8Array(0);
  }
  decodeMessage(): Msg {
    throw new Error('unused');
  }
}

/** Disk completions wait until the test releases them. */
class ManualIo implements IoScheduler {
  readonly queue: (() => void)[] = [];
  failNextSync = false;
  constructor(private readonly log: string[]) {}
  defer(fn: () => void): void {
    this.queue.push(fn);
  }
  syncFails(): boolean {
    this.log.push('sync-start');
    const f = this.failNextSync;
    this.failNextSync = false;
    return f;
  }
  /** Completes every pending operation, including those the completions start. */
  async drain(): Promise<void> {
    for (let rounds = 0; rounds < 1000; rounds++) {
      await settle();
      const fn = this.queue.shift();
      if (fn === undefined) return;
      fn();
    }
    throw new Error('io never settled');
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

const noTimers: Clock = {
  nowMs: () => 0,
  wallMs: () => 0,
  setTimeout: (): Timer => ({ cancel() {} }),
  setInterval: (): Timer => ({ cancel() {} }),
  sleep: () => new Promise(() => {}),
};

/** Fails the saves it is told to, by attempt number. */
class FailingSnapshotStore extends MemorySnapshotStore {
  private saves = 0;
  constructor(
    medium: MemoryMedium,
    io: IoScheduler,
    private readonly failing: { attempts: readonly number[]; error: unknown },
  ) {
    super(medium, io);
  }
  override save(...args: Parameters<MemorySnapshotStore['save']>): Promise<SnapshotMeta> {
    return this.failing.attempts.includes(++this.saves) ? Promise.reject(this.failing.error) : super.save(...args);
  }
}

interface HarnessOptions {
  snapshotEveryEntries?: number;
  snapshotEveryBytes?: number;
  clock?: Clock;
  tickCatchUpMax?: number;
  /** The automatic snapshot saves that fail, by attempt number (1 is the first). */
  failSaves?: { attempts: readonly number[]; error: unknown; fatal: boolean };
}

function harness(options: HarnessOptions = {}) {
  const log: string[] = [];
  const io = new ManualIo(log);
  const medium = new MemoryMedium();
  const logStore = new MemoryLogStore(medium, io);
  const snapshotStore = options.failSaves === undefined ? new MemorySnapshotStore(medium, io) : new FailingSnapshotStore(medium, io, options.failSaves);
  const sm = new KvStateMachine();
  const engine = new FakeEngine(log);
  const sent: Msg[] = [];
  const transport: Transport<Msg> = {
    send: (m) => {
      sent.push(m);
      log.push(`send:${m.label}`);
    },
    onMessage: () => {},
  };
  const fatal: unknown[] = [];
  const applied: KvApplyResult[] = [];
  const reads: number[] = [];
  const driver = new Driver<Msg, KvApplyResult>({
    engine,
    logStore,
    snapshotStore,
    stateMachine: sm,
    transport,
    clock: options.clock ?? noTimers,
    logger: nullLogger,
    tickMs: 10,
    ...(options.tickCatchUpMax === undefined ? {} : { tickCatchUpMax: options.tickCatchUpMax }),
    snapshotEveryEntries: options.snapshotEveryEntries ?? 0,
    ...(options.snapshotEveryBytes === undefined ? {} : { snapshotEveryBytes: options.snapshotEveryBytes }),
    ...(options.failSaves === undefined ? {} : { isFatalSnapshotError: () => options.failSaves!.fatal }),
    snapshotsKeep: 2,
    onFatal: (e) => fatal.push(e),
    hooks: {
      onApply: (e, r) => {
        log.push(`apply:${e.index}`);
        applied.push(r);
      },
      onReadState: (rs) => reads.push(rs.requestId),
    },
  });
  return { log, io, medium, logStore, snapshotStore, sm, engine, sent, fatal, applied, reads, driver };
}

const msg = (label: string): Msg => ({ type: 'm', from: A, to: B, label });
const put = (seq: number): Uint8Array => encodeCommand({ clientId: 1, seq, input: { type: 'put', key: 'k', value: `v${seq}` } });
const entry = (index: number): Entry => ({ index: logIndex(index), term: term(1), kind: 'normal', data: put(index) });

test('a Ready is carried out in order: early sends, persist, sends, apply, advance', async () => {
  const h = harness();
  await h.driver.start();
  h.engine.scripted.push({ ...emptyReady(), sendBeforePersist: [msg('append')], entries: [entry(1)], hardState: new Uint8Array([1]), messages: [msg('ack')] });
  h.engine.scripted.push({ ...emptyReady(), committed: [entry(1)], messages: [msg('after')] });
  h.driver.propose(new Uint8Array(0)); // kicks the loop; the fake queues it behind the scripted Readies
  await settle();
  // The early send went out while the sync is still pending; the ack waits.
  assert.deepEqual(h.log, ['send:append', 'sync-start']);
  await h.io.drain();
  const i = (s: string): number => h.log.indexOf(s);
  assert.ok(i('send:ack') > i('sync-start') && i('send:ack') < i('advance'));
  assert.ok(i('apply:1') > i('send:after'), 'apply comes after the messages of the same Ready');
  assert.equal(h.medium.entry(1)?.index, 1, 'the entry is durable');
  assert.deepEqual(h.medium.hardState, new Uint8Array([1]));
  await h.driver.stop();
});

test('a commit-only hard state (hardStateMustSync false) is not waited for; the next sync makes it durable', async () => {
  const h = harness();
  await h.driver.start();
  h.engine.scripted.push({ ...emptyReady(), entries: [entry(1)], hardState: new Uint8Array([1]), messages: [msg('ack1')] });
  h.engine.scripted.push({ ...emptyReady(), hardState: new Uint8Array([2]), hardStateMustSync: false, committed: [entry(1)], messages: [msg('ack2')] });
  h.engine.scripted.push({ ...emptyReady(), entries: [entry(2)], messages: [msg('ack3')] });
  h.driver.propose(new Uint8Array(0));
  await settle();
  await h.io.drain();
  const syncs = h.log.filter((s) => s === 'sync-start').length;
  const i = (s: string): number => h.log.indexOf(s);
  assert.ok(i('send:ack2') > i('send:ack1') && i('apply:1') > i('send:ack1'));
  assert.equal(h.log.slice(i('send:ack1'), i('send:ack2')).filter((s) => s === 'sync-start').length, 0, `no sync for the commit-only hard state: ${h.log.join(' ')}`);
  assert.ok(syncs >= 2, 'entries still get their sync');
  assert.equal(h.driver.counters.hardStatesDeferred, 1);
  assert.deepEqual(h.medium.hardState, new Uint8Array([2]), 'the next sync carried the deferred hard state');
  await h.driver.stop();
});

test('group commit: proposals made during a sync share the next one', async () => {
  const h = harness();
  await h.driver.start();
  h.driver.propose(put(1));
  await settle();
  for (let s = 2; s <= 9; s++) h.driver.propose(put(s));
  await h.io.drain();
  assert.equal(h.driver.counters.fsyncs, 2);
  assert.equal(h.driver.counters.entriesPerSyncMax, 8);
  assert.equal(h.sm.appliedIndex, 9);
  assert.equal(h.sm.get('k'), 'v9');
  await h.driver.stop();
});

test('a failed sync is fatal: nothing promised is sent, the Ready is not advanced', async () => {
  const h = harness();
  await h.driver.start();
  h.io.failNextSync = true;
  h.engine.scripted.push({ ...emptyReady(), entries: [entry(1)], messages: [msg('vote')] });
  h.driver.propose(new Uint8Array(0));
  await h.io.drain();
  assert.equal(h.fatal.length, 1);
  assert.ok(h.driver.failed);
  assert.ok(!h.log.includes('send:vote'));
  assert.ok(!h.log.includes('advance'));
  assert.throws(() => h.driver.propose(put(1)), /driver is failed/);
});

test('snapshots are taken every N applied entries, then the engine and the log are compacted', async () => {
  const h = harness({ snapshotEveryEntries: 4 });
  await h.driver.start();
  for (let s = 1; s <= 10; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  assert.ok(h.driver.counters.snapshotsTaken >= 2);
  const latest = h.snapshotStore.latest();
  assert.ok(latest !== null && latest.index >= 8);
  assert.deepEqual(h.engine.compacted.map((m) => m.index), h.engine.compacted.map((m) => m.index).sort((a, b) => a - b));
  assert.equal(h.medium.entry(1), null, 'compacted entries are gone from the log');
  assert.ok(h.medium.snapshots.length <= 2, 'old snapshots are pruned');
  // The snapshot restores to the same state.
  const copy = new KvStateMachine();
  const sink = copy.restore(latest.index);
  sink.write(h.medium.latestSnapshot()!.bytes);
  sink.finish();
  assert.equal(copy.get('k'), `v${latest.index}`);
  await h.driver.stop();
});

test('snapshots are also taken every N bytes of applied entry data, whatever the entry count', async () => {
  const h = harness({ snapshotEveryBytes: 3 * put(1).length });
  await h.driver.start();
  for (let s = 1; s <= 2; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  assert.equal(h.driver.counters.snapshotsTaken, 0, 'two entries are under the byte bound');
  for (let s = 3; s <= 7; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  assert.equal(h.driver.counters.snapshotsTaken, 2, 'one snapshot per three entries of data');
  assert.equal(h.snapshotStore.latest()?.index, 6);
  await h.driver.stop();
});

test('a snapshot save the store calls non-fatal (ENOSPC on the temp file) is skipped; the next interval tries again', async () => {
  const enospc = new Error('ENOSPC: no space left on device');
  const h = harness({ snapshotEveryEntries: 2, failSaves: { attempts: [1], error: enospc, fatal: false } });
  await h.driver.start();
  for (let s = 1; s <= 4; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  assert.deepEqual(h.fatal, []);
  assert.ok(!h.driver.failed);
  assert.equal(h.driver.counters.snapshotsFailed, 1);
  assert.equal(h.driver.counters.snapshotsTaken, 1, 'the second interval saved one');
  assert.equal(h.snapshotStore.latest()?.index, 4);
  await h.driver.stop();
});

test('a snapshot save failure the store calls fatal (a failed fsync) stops the driver', async () => {
  const eio = new Error('EIO: fsync failed');
  const h = harness({ snapshotEveryEntries: 2, failSaves: { attempts: [1], error: eio, fatal: true } });
  await h.driver.start();
  for (let s = 1; s <= 2; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  assert.deepEqual(h.fatal, [eio]);
  assert.ok(h.driver.failed);
  assert.equal(h.driver.counters.snapshotsFailed, 0);
});

test('outgoing snapshot chunks get their bytes and CRC from the snapshot store', async () => {
  const h = harness({ snapshotEveryEntries: 2 });
  await h.driver.start();
  for (let s = 1; s <= 2; s++) {
    h.driver.propose(put(s));
    await h.io.drain();
  }
  const meta = h.snapshotStore.latest()!;
  h.engine.scripted.push({ ...emptyReady(), messages: [{ ...msg('snap'), snapshotChunk: { meta, offset: 0, data: null, crc32c: 0, last: true } }] });
  h.driver.propose(new Uint8Array(0));
  await h.io.drain();
  const c = h.sent.find((m) => m.label === 'snap')!.snapshotChunk!;
  assert.equal(c.data!.length, meta.sizeBytes);
  assert.equal(c.crc32c, crc32c(c.data!));
  assert.equal(c.crc32c, meta.crc32c);
  await h.driver.stop();
});

test('a received snapshot is written, verified, installed, and the log reset', async () => {
  const source = new KvStateMachine();
  for (let i = 1; i <= 5; i++) source.apply(entry(i));
  const bytes = new Uint8Array([...source.snapshot().chunks()].flatMap((c) => [...c]));
  const meta: SnapshotMeta = { index: logIndex(5) as LogIndex, term: term(1), config: CONFIG, sizeBytes: bytes.length, crc32c: crc32c(bytes) };
  const h = harness();
  await h.driver.start();
  const half = Math.floor(bytes.length / 2);
  h.engine.scripted.push({ ...emptyReady(), snapshotChunk: { meta, offset: 0, data: bytes.subarray(0, half), crc32c: crc32c(bytes.subarray(0, half)), last: false }, messages: [msg('ack1')] });
  h.engine.scripted.push({ ...emptyReady(), snapshotChunk: { meta, offset: half, data: bytes.subarray(half), crc32c: crc32c(bytes.subarray(half)), last: true }, snapshotInstall: meta, messages: [msg('ack2')] });
  h.engine.scripted.push({ ...emptyReady(), readStates: [{ requestId: 7, index: logIndex(5) }] });
  h.driver.readIndex(0); // kicks the loop without proposing
  await h.io.drain();
  assert.equal(h.sm.appliedIndex, 5);
  assert.equal(h.sm.get('k'), 'v5');
  assert.equal(h.snapshotStore.latest()?.index, 5);
  assert.equal(h.driver.counters.snapshotsInstalled, 1);
  assert.deepEqual(h.reads, [7]);
  assert.equal(h.fatal.length, 0);
  await h.driver.stop();
});

test('a read state waits until its index is applied', async () => {
  const h = harness();
  await h.driver.start();
  h.engine.scripted.push({ ...emptyReady(), readStates: [{ requestId: 1, index: logIndex(2) }] });
  h.driver.propose(new Uint8Array(0));
  await h.io.drain();
  assert.deepEqual(h.reads, [], 'index 2 is not applied yet');
  h.driver.propose(put(1));
  h.driver.propose(put(2));
  await h.io.drain();
  assert.equal(h.sm.appliedIndex, 3); // the empty proposal, then two puts
  assert.deepEqual(h.reads, [1]);
  await h.driver.stop();
});

/** A clock the test moves by hand; the driver's tick timer fires only when the test says. */
function manualClock(): { clock: Clock; nowMs: number; fire(): void } {
  let interval: (() => void) | null = null;
  const m: { clock: Clock; nowMs: number; fire(): void } = {
    nowMs: 0,
    clock: {
      nowMs: () => m.nowMs,
      wallMs: () => m.nowMs,
      setTimeout: (): Timer => ({ cancel() {} }),
      setInterval: (fn: () => void): Timer => {
        interval = fn;
        return { cancel: () => (interval = null) };
      },
      sleep: () => new Promise<void>(() => {}),
    },
    fire: () => interval?.(),
  };
  return m;
}

test('after a pause the engine is given the ticks it missed, bounded, before the next input', async () => {
  const c = manualClock();
  const h = harness({ clock: c.clock, tickCatchUpMax: 20 });
  await h.driver.start();
  c.nowMs = 10;
  c.fire();
  assert.equal(h.engine.ticks, 1, 'on time: one tick per timer firing');
  c.nowMs = 15;
  h.driver.readIndex(1);
  assert.equal(h.engine.ticks, 1, 'less than a tick late: nothing extra');
  c.nowMs = 100; // the process was paused: 9 ticks missed
  h.driver.readIndex(2);
  assert.equal(h.engine.ticks, 10, 'the missed ticks come before the read reaches the engine');
  c.nowMs = 1000; // a long pause: at most tickCatchUpMax, the rest forgiven
  h.driver.propose(put(1));
  assert.equal(h.engine.ticks, 30);
  assert.equal(h.driver.counters.ticksCaughtUp, 29);
  c.nowMs = 1010;
  c.fire();
  assert.equal(h.engine.ticks, 31, 'back to one tick per firing');
  await h.io.drain();
  await h.driver.stop();
});

test('without tickCatchUpMax the engine ticks once per timer firing, whatever the clock says', async () => {
  const c = manualClock();
  const h = harness({ clock: c.clock });
  await h.driver.start();
  c.nowMs = 1000;
  h.driver.readIndex(1);
  c.fire();
  assert.equal(h.engine.ticks, 1);
  await h.driver.stop();
});
