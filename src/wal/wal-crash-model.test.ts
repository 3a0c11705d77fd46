// Model-based crash testing of the write-ahead log over the simulated disk. A seeded run appends
// (Raft- or Paxos-style), sets hard state, syncs without waiting (group commit), compacts, resets
// (also resetWith, crashing while it runs),
// injects one storage fault at a time, and crashes. After every restart the recovered log is
// checked against a naive oracle:
//
//   clean recovery     the log is exactly the oracle after some prefix of the operations that
//                      includes every acknowledged one (nothing acknowledged lost, nothing torn);
//   repairUntil set    the log is the oracle after some earlier prefix, the hard state is the
//                      newest durable one, and repairUntil lies past the log and covers how far the
//                      durable log reached (Protocol-Aware Recovery).
//
// The two planted bugs (acknowledging before fsync, truncating on any checksum failure) must be
// caught within a bounded number of seeds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logIndex, term } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { SeededRandom, type Random } from '../env/random.js';
import { SimDisk } from '../sim/disk.js';
import { isFatalStorageError } from './errors.js';
import { openWal, type Wal, type WalPlantedBug, type WalRecovered } from './wal.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

interface OracleState {
  readonly entries: ReadonlyMap<number, string>;
  readonly lastIndex: number;
  readonly hardState: string | null;
}

interface RunOptions {
  readonly seed: number;
  readonly mode: 'raft' | 'paxos';
  readonly steps: number;
  readonly faults: boolean;
  readonly plantedBug?: WalPlantedBug;
  /** Segments opened with dsync (as a member does): each batch is one durable write; even seeds also preallocate. */
  readonly dsync?: boolean;
}

class Violation extends Error {}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The disk's operations complete only when the run lets them (one at a time, in order), so a crash
 * can land while a write or an fsync is in flight.
 */
class IoQueue {
  private readonly queue: (() => void)[] = [];
  readonly schedule = (fn: () => void): void => {
    this.queue.push(fn);
  };

  /** Completes up to `n` pending operations, letting the code waiting on each run. */
  async advance(n: number): Promise<void> {
    for (let i = 0; i < n && this.queue.length > 0; i++) {
      this.queue.shift()!();
      await tick();
    }
  }

  /** Completes operations until `p` settles. */
  async drive<T>(p: Promise<T>): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    await tick();
    while (!settled) {
      if (this.queue.length === 0) {
        await tick();
        if (this.queue.length === 0 && !settled) throw new Error('deadlock: waiting with no disk operation pending');
        continue;
      }
      await this.advance(1);
    }
    return watched;
  }

  clear(): void {
    this.queue.length = 0;
  }
}
const entryText = (e: Entry) => `${e.term}:${dec.decode(e.data)}`;

/** Runs one seeded history; throws Violation (with the seed in the message) when a check fails. */
async function run(o: RunOptions): Promise<{ crashes: number; corruptions: number; faults: number }> {
  const rnd: Random = new SeededRandom(o.seed);
  const io = new IoQueue();
  const disk = new SimDisk({ random: rnd.fork(), sectorBytes: rnd.chance(0.5) ? 512 : 4096, schedule: io.schedule });
  const walOptions = { segmentBytes: 16 * 1024, batchRecordsMax: rnd.pick([4, 64, 1024]), dsync: o.dsync ?? false, preallocateBytes: o.dsync === true && o.seed % 2 === 0 ? 4096 : 0, testing: o.plantedBug === undefined ? {} : { plantedBug: o.plantedBug } };
  const fail: (what: string) => never = (what) => {
    throw new Violation(`seed ${o.seed} (${o.mode}${o.faults ? ', faults' : ''}${o.dsync === true ? ', dsync' : ''}${o.plantedBug ? `, planted ${o.plantedBug}` : ''}): ${what}`);
  };

  let opened = await io.drive(openWal(disk.mount(), walOptions));
  let wal: Wal = opened.wal;
  // Oracle: states[k] is the log after the first k operations since the last restart.
  let states: OracleState[] = [{ entries: new Map(), lastIndex: 0, hardState: null }];
  let acked = 0;
  let ctAcked = 0;
  let ctMax = 0;
  let appendCt = 0;
  let currentTerm = 1;
  let counter = 0;
  let crashes = 0;
  let corruptions = 0;
  let faults = 0;
  let faultThisCycle = false;
  let dead = false;
  let crashSoon = false;

  // Every state the log was ever in, across restarts: a repair may cut back into an earlier life.
  const history: OracleState[] = [states[0]!];
  const cur = () => states[states.length - 1]!;
  const push = (s: OracleState) => {
    states.push(s);
    history.push(s);
  };

  const check = (rec: WalRecovered) => {
    const ct = rec.compactedThrough;
    // Entries below completeFromIndex are fragments the log no longer vouches for (a cut lost the
    // newer compaction point); the storage layer only uses the log from a snapshot on.
    const from = Math.max(ct, rec.completeFromIndex - 1);
    const view = (s: OracleState) =>
      [...s.entries.entries()]
        .filter(([i]) => i > from)
        .sort((a, b) => a[0] - b[0])
        .map(([i, v]) => `${i}=${v}`)
        .join(',');
    const got = rec.entries
      .filter((e) => e.index > from)
      .map((e) => `${e.index}=${entryText(e)}`)
      .join(',');
    if (rec.repairUntil === null && rec.completeFromIndex !== ct + 1) fail(`clean recovery with a gap at the head: complete from ${rec.completeFromIndex}, compacted through ${ct}`);
    const hs = rec.hardState === null ? null : dec.decode(rec.hardState);
    const n = states.length - 1;
    const repairUntil = rec.repairUntil;
    if (repairUntil === null) {
      if (ct < ctAcked || ct > ctMax) fail(`compaction point ${ct} outside [${ctAcked}, ${ctMax}]`);
      for (let k = acked; k <= n; k++) if (view(states[k]!) === got && states[k]!.hardState === hs) return;
      fail(`clean recovery lost acknowledged state: got [${got}] hs ${hs}; acked ${acked} of ${n} ops; acked state [${view(states[acked]!)}] hs ${states[acked]!.hardState}`);
    }
    corruptions++;
    let prefixOk = false;
    for (let j = 0; j < history.length && !prefixOk; j++) prefixOk = view(history[j]!) === got;
    if (!prefixOk) fail(`repair recovery returned a log that never existed: [${got}]`);
    let hsOk = false;
    let minLast = Infinity;
    for (let k = acked; k <= n; k++) {
      hsOk ||= states[k]!.hardState === hs;
      minLast = Math.min(minLast, states[k]!.lastIndex);
    }
    if (!hsOk) fail(`repair recovery lost the hard state: got ${hs}`);
    if (repairUntil <= rec.lastIndex) fail(`repairUntil ${repairUntil} not past the log's last index ${rec.lastIndex}`);
    if (repairUntil < minLast) fail(`repairUntil ${repairUntil} below the durable last index ${minLast}`);
  };

  const restart = async () => {
    disk.crash();
    io.clear();
    crashes++;
    opened = await io.drive(openWal(disk.mount(), walOptions));
    wal = opened.wal;
    const rec = opened.recovered;
    if (process.env.WAL_MODEL_DEBUG === String(o.seed)) console.log(JSON.stringify({ decisions: rec.report.decisions, events: rec.report.events, last: rec.lastIndex, ct: rec.compactedThrough }, null, 1), disk.faultRecords().slice(-3));
    check(rec);
    const entries = new Map<number, string>();
    for (const e of rec.entries) entries.set(e.index, entryText(e));
    states = [{ entries, lastIndex: rec.lastIndex, hardState: rec.hardState === null ? null : dec.decode(rec.hardState) }];
    history.push(states[0]!);
    acked = 0;
    ctAcked = ctMax = appendCt = rec.compactedThrough;
    faultThisCycle = false;
    dead = false;
  };

  const appendOps = (entries: Entry[], replaceSuffix: boolean) => {
    const first = entries[0]!.index;
    if (replaceSuffix && first <= cur().lastIndex) {
      const m = new Map([...cur().entries].filter(([i]) => i < first));
      push({ entries: m, lastIndex: Math.max(first - 1, appendCt), hardState: cur().hardState });
    }
    for (const e of entries) {
      const m = new Map(cur().entries);
      m.set(e.index, entryText(e));
      push({ entries: m, lastIndex: Math.max(cur().lastIndex, e.index), hardState: cur().hardState });
    }
    wal.append(entries, replaceSuffix);
  };

  for (let step = 0; step < o.steps; step++) {
    if (dead || crashSoon) {
      crashSoon = false;
      await restart();
      continue;
    }
    const r = rnd.float();
    if (process.env.WAL_MODEL_DEBUG === String(o.seed)) console.log(`step ${step} r=${r.toFixed(3)} ops=${states.length - 1} acked=${acked} last=${cur().lastIndex}`);
    try {
      if (r < 0.4) {
        const last = cur().lastIndex;
        if (rnd.chance(0.1)) currentTerm++;
        const mk = (i: number): Entry => ({ index: logIndex(i), term: term(currentTerm), kind: 'normal', data: enc.encode(`v${++counter}`.padEnd(rnd.int(300), '.')) });
        if (o.mode === 'raft') {
          const from = Math.max(appendCt + 1, last + 1 - rnd.int(4));
          const n = 1 + rnd.int(4);
          appendOps(Array.from({ length: n }, (_, k) => mk(from + k)), true);
        } else {
          appendOps([mk(appendCt + 1 + rnd.int(Math.max(1, last - appendCt + 3)))], false);
        }
      } else if (r < 0.5) {
        const hs = `hs${++counter}`;
        push({ ...cur(), hardState: hs });
        wal.setHardState(enc.encode(hs));
      } else if (r < 0.75) {
        const target = states.length - 1;
        const w = wal;
        void w.sync().then(
          () => {
            if (process.env.WAL_MODEL_DEBUG === String(o.seed)) console.log(`acked ${target} (same wal: ${w === wal})`);
            if (w === wal) acked = Math.max(acked, target);
            // Crashing right after an acknowledgement is where durability bugs show.
            if (w === wal && rnd.chance(0.2)) crashSoon = true;
          },
          () => {
            if (w === wal) dead = true;
          },
        );
        await io.advance(rnd.int(4));
      } else if (r < 0.8) {
        const last = cur().lastIndex;
        if (last > appendCt) {
          const c = appendCt + 1 + rnd.int(last - appendCt);
          appendCt = c;
          ctMax = Math.max(ctMax, c);
          await io.drive(wal.compact(logIndex(c)));
          acked = states.length - 1; // compact syncs everything appended first
          ctAcked = c;
        }
      } else if (r < 0.82 && rnd.chance(0.5)) {
        // resetWith, as a Paxos acceptor installs a snapshot: the reset, the values kept above it
        // and the hard state are one operation of the oracle, so a crash while it runs must leave
        // the log before it or after it, never the empty log between.
        const snap = appendCt + rnd.int(cur().lastIndex - appendCt + 3);
        const kept = Array.from({ length: rnd.int(5) }, (_, k): Entry => ({ index: logIndex(snap + 1 + k + rnd.int(2) * k), term: term(currentTerm), kind: 'normal', data: enc.encode(`k${++counter}`.padEnd(rnd.int(300), '.')) }));
        const hs = `hs${++counter}`;
        push({ entries: new Map(kept.map((e) => [e.index as number, entryText(e)])), lastIndex: Math.max(snap, ...kept.map((e) => e.index)), hardState: hs });
        ctMax = Math.max(ctMax, snap);
        const p = wal.resetWith(logIndex(snap), kept, enc.encode(hs));
        if (rnd.chance(0.3)) {
          p.catch(() => {});
          // Anywhere in its run: the roll, the reset batch, the removal of old segments.
          await io.advance(rnd.int(24));
          await restart();
          continue;
        }
        await io.drive(p);
        acked = states.length - 1;
        appendCt = ctAcked = snap;
      } else if (r < 0.82) {
        const s = cur().lastIndex + rnd.int(5);
        await io.drive(wal.reset(logIndex(s)));
        push({ entries: new Map(), lastIndex: s, hardState: cur().hardState });
        acked = states.length - 1;
        appendCt = ctAcked = ctMax = s;
      } else if (r < 0.9) {
        await restart();
      } else if (o.faults && !faultThisCycle && r < 0.93) {
        faultThisCycle = true;
        faults++;
        const segs = (await io.drive(disk.list('wal'))).filter((n) => n.endsWith('.wal'));
        const path = `wal/${rnd.pick(segs)}`;
        const bytes = disk.durableBytes(path);
        const kind = rnd.pick(['bit-rot', 'latent-sector-error', 'misdirect-next-write', 'fail-next-sync', 'enospc-next-write'] as const);
        if ((kind === 'bit-rot' || kind === 'latent-sector-error') && bytes !== null && bytes.length > 0) {
          const offset = rnd.int(bytes.length);
          disk.inject(kind === 'bit-rot' ? { type: 'bit-rot', path, offset, bit: rnd.int(8) } : { type: 'latent-sector-error', path, offset, lengthBytes: 1 });
          await restart();
        } else if (kind === 'misdirect-next-write') {
          disk.inject({ type: 'misdirect-next-write', path, shiftBytes: (rnd.chance(0.5) ? -1 : 1) * disk.sectorBytes * (1 + rnd.int(4)) });
        } else if (kind === 'fail-next-sync') {
          disk.inject({ type: 'fail-next-sync', path: null });
        } else if (kind === 'enospc-next-write') {
          disk.inject({ type: 'enospc-next-write', path: null });
        }
      } else {
        await io.advance(rnd.int(6));
      }
    } catch (e) {
      if (e instanceof Violation) throw e;
      if (!isFatalStorageError(e)) throw e;
      dead = true; // the member exits on a fatal storage error and restarts
    }
  }
  await restart();
  await io.drive(wal.close());
  return { crashes, corruptions, faults };
}

/**
 * More seeds for a long local run: WAL_MODEL_SEEDS=1000 node scripts/run-tests.mjs wal-crash-model.
 * One seed, with a trace: WAL_MODEL_ONLY=<seed> WAL_MODEL_DEBUG=<seed> (faults on for seeds > 100000;
 * WAL_MODEL_DSYNC=1 for the dsync configuration).
 */
const SEEDS = Number(process.env.WAL_MODEL_SEEDS ?? 30);
const PLANTED_SEEDS_MAX = Number(process.env.WAL_PLANTED_SEEDS ?? 20);
const DSYNC_SEEDS = Math.max(1, Math.ceil(SEEDS / 2));

const ONLY = process.env.WAL_MODEL_ONLY === undefined ? null : Number(process.env.WAL_MODEL_ONLY);
if (ONLY !== null) {
  for (const mode of ['raft', 'paxos'] as const) {
    test(`${mode}: seed ${ONLY}`, async () => {
      await run({ seed: ONLY, mode, steps: 250, faults: ONLY > 100_000, dsync: process.env.WAL_MODEL_DSYNC === '1' });
    });
  }
}

for (const mode of ONLY === null ? (['raft', 'paxos'] as const) : []) {
  test(`${mode}: crashes never lose an acknowledged write or return a torn one (${SEEDS} seeds)`, async () => {
    let crashes = 0;
    for (let seed = 1; seed <= SEEDS; seed++) crashes += (await run({ seed, mode, steps: 250, faults: false })).crashes;
    assert.ok(crashes > 300, `${crashes} crashes exercised`);
  });

  test(`${mode}: one storage fault at a time is survived or repaired, never silently lost (${SEEDS + 10} seeds)`, async () => {
    let faults = 0;
    let corruptions = 0;
    for (let seed = 100_001; seed <= 100_000 + SEEDS + 10; seed++) {
      const r = await run({ seed, mode, steps: 250, faults: true });
      faults += r.faults;
      corruptions += r.corruptions;
    }
    assert.ok(faults > 100, `${faults} faults injected`);
    assert.ok(corruptions > 10, `${corruptions} recoveries found corruption and asked for repair`);
  });
}

for (const mode of ONLY === null ? (['raft', 'paxos'] as const) : []) {
  // The member's configuration: dsync segments, no fdatasync after each batch.
  test(`${mode}, dsync segments: crashes and single faults never lose an acknowledged write (${DSYNC_SEEDS} + ${DSYNC_SEEDS} seeds)`, async () => {
    let crashes = 0;
    let faults = 0;
    for (let seed = 1; seed <= DSYNC_SEEDS; seed++) crashes += (await run({ seed, mode, steps: 250, faults: false, dsync: true })).crashes;
    for (let seed = 100_001; seed <= 100_000 + DSYNC_SEEDS; seed++) faults += (await run({ seed, mode, steps: 250, faults: true, dsync: true })).faults;
    assert.ok(crashes > 100, `${crashes} crashes exercised`);
    assert.ok(faults > 30, `${faults} faults injected`);
  });
}

for (const plantedBug of ONLY === null ? (['ack-before-fsync', 'truncate-on-checksum-failure'] as const) : []) {
  test(`the planted bug '${plantedBug}' is caught within ${PLANTED_SEEDS_MAX} seeds`, async () => {
    for (let seed = 1; seed <= PLANTED_SEEDS_MAX; seed++) {
      try {
        await run({ seed, mode: 'raft', steps: 250, faults: plantedBug === 'truncate-on-checksum-failure', plantedBug });
      } catch (e) {
        if (!(e instanceof Violation)) throw e;
        if (process.env.WAL_MODEL_DEBUG !== undefined) console.log(`caught at seed ${seed}: ${e.message.slice(0, 200)}`);
        return;
      }
    }
    assert.fail(`planted bug ${plantedBug} survived ${PLANTED_SEEDS_MAX} seeds`);
  });
}
