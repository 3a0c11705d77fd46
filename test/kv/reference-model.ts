/**
 * A naive reference implementation of the state machine's semantics, for model-based tests: the
 * whole history is a flat array scanned on every read, compaction only moves a number, nothing is
 * indexed or shared. It shares only the stateless request checks (validateOp, itself unit-tested)
 * and the latin1 byte/string helpers with the real store.
 */
import { leaseId, type LeaseId, type NodeId } from '../../src/core/ids.js';
import type { Compare, Op, PutOp, RangeOp, RequestOp, SessionTag, TxnOp } from '../../src/kv/command.js';
import { bytesFromLatin1, latin1FromBytes } from '../../src/kv/latin1.js';
import type { KeyValue, Outcome, ResponseOp } from '../../src/kv/results.js';
import { opCostBytes, validateOp } from '../../src/kv/validate.js';

export interface MRec {
  readonly key: string;
  readonly main: number;
  readonly sub: number;
  readonly create: number;
  readonly version: number;
  readonly lease: bigint;
  readonly value: string;
}

export interface ModelOptions {
  readonly leaseTtlMinSec: number;
  readonly sessionsMax: number;
  readonly idleEntriesMax: number;
  readonly responsesMax: number;
}

class Fail extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

export class Model {
  revision = 1;
  compactRev = 0;
  readonly history: MRec[] = [];
  readonly leases = new Map<bigint, { ttl: number; remaining: number }>();
  readonly alarms = new Set<string>();
  /** clientId -> session; array order is least recently used first. */
  sessions: { id: number; lastUsed: number; lowest: number; responses: Map<number, { outcome: Outcome; revision: number }> }[] = [];
  private pending: MRec[] | null = null;

  constructor(readonly o: ModelOptions) {}

  // -------------------------------------------------------------------------------------------
  // State.

  /** The newest record of each key at `rev` (including tombstones), considering the open write. */
  private latest(rev: number): Map<string, MRec> {
    const m = new Map<string, MRec>();
    const all = this.pending === null ? this.history : [...this.history, ...this.pending];
    for (const r of all) {
      if (r.main > rev) continue;
      const cur = m.get(r.key);
      if (cur === undefined || cur.main < r.main || (cur.main === r.main && cur.sub < r.sub)) m.set(r.key, r);
    }
    return m;
  }

  /** Live records at `rev`, key order. */
  live(rev: number): MRec[] {
    return [...this.latest(rev).values()].filter((r) => r.version > 0).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  private inRange(key: string, k: Uint8Array, e: Uint8Array): boolean {
    const start = latin1FromBytes(k);
    const end = latin1FromBytes(e);
    if (end.length === 0) return key === start;
    if (end === '\0') return key >= start;
    return key >= start && key < end;
  }

  private readRev(requested: number, current: number): number {
    if (requested <= 0) return current;
    if (requested > current) throw new Fail('future-revision');
    if (requested < this.compactRev) throw new Fail('compacted');
    return requested;
  }

  // -------------------------------------------------------------------------------------------
  // Reads.

  range(op: RangeOp, current = this.revision): Extract<Outcome, { type: 'range' }> {
    if (this.alarms.has('corrupt')) throw new Fail('corrupt');
    const v = validateOp(op);
    if (v !== null) throw new Fail(v.code);
    const rev = this.readRev(op.revision, current);
    return this.rangeAt(op, rev);
  }

  private rangeAt(op: RangeOp, rev: number): Extract<Outcome, { type: 'range' }> {
    let recs = this.live(rev).filter((r) => this.inRange(r.key, op.key, op.rangeEnd));
    const count = recs.length;
    if (op.countOnly) return { type: 'range', kvs: [], more: false, count };
    if (op.maxModRevision !== 0) recs = recs.filter((r) => r.main <= op.maxModRevision);
    if (op.minModRevision !== 0) recs = recs.filter((r) => r.main >= op.minModRevision);
    if (op.maxCreateRevision !== 0) recs = recs.filter((r) => r.create <= op.maxCreateRevision);
    if (op.minCreateRevision !== 0) recs = recs.filter((r) => r.create >= op.minCreateRevision);
    const field = (r: MRec): number | string =>
      op.sortTarget === 'key' ? r.key : op.sortTarget === 'version' ? r.version : op.sortTarget === 'create' ? r.create : op.sortTarget === 'mod' ? r.main : r.value;
    const order = op.sortOrder === 'none' && op.sortTarget !== 'key' ? 'ascend' : op.sortOrder;
    if (order !== 'none') {
      const dir = order === 'ascend' ? 1 : -1;
      // Ties keep key order.
      recs = recs
        .map((r, i) => ({ r, i }))
        .sort((x, y) => {
          const a = field(x.r);
          const b = field(y.r);
          return a < b ? -dir : a > b ? dir : x.i - y.i;
        })
        .map((x) => x.r);
    }
    let more = false;
    if (op.limit > 0 && recs.length > op.limit) {
      recs = recs.slice(0, op.limit);
      more = true;
    }
    return { type: 'range', kvs: recs.map((r) => kv(r, op.keysOnly)), more, count };
  }

  // -------------------------------------------------------------------------------------------
  // Apply.

  apply(op: Op, index: number, session: SessionTag | null): { outcome: Outcome; revision: number; duplicate: boolean } {
    // Idle sessions expire first.
    this.sessions = this.sessions.filter((s) => s.lastUsed + this.o.idleEntriesMax >= index);
    if (session !== null) {
      const s = this.sessions.find((x) => x.id === session.clientId);
      if (s === undefined) return { outcome: err('session-expired'), revision: this.revision, duplicate: false };
      if (session.lowestUnacked > session.seq) return { outcome: err('invalid-request'), revision: this.revision, duplicate: false };
      this.sessions = [...this.sessions.filter((x) => x !== s), s];
      s.lastUsed = index;
      if (session.lowestUnacked > s.lowest) {
        s.lowest = session.lowestUnacked;
        for (const q of [...s.responses.keys()]) if (q < s.lowest) s.responses.delete(q);
      }
      const kept = s.responses.get(session.seq);
      if (kept !== undefined) return { outcome: kept.outcome, revision: kept.revision, duplicate: true };
      if (session.seq < s.lowest) return { outcome: err('session-acknowledged'), revision: this.revision, duplicate: false };
      if (s.responses.size >= this.o.responsesMax) return { outcome: err('session-busy'), revision: this.revision, duplicate: false };
    }
    let outcome: Outcome;
    try {
      outcome = this.run(op, index);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      this.pending = null;
      outcome = err(e.code);
    }
    if (session !== null) {
      const s = this.sessions.find((x) => x.id === session.clientId);
      s?.responses.set(session.seq, { outcome, revision: this.revision });
    }
    return { outcome, revision: this.revision, duplicate: false };
  }

  private run(op: Op, index: number): Outcome {
    const v = validateOp(op);
    if (v !== null) throw new Fail(v.code);
    const corrupt = (): void => {
      if (this.alarms.has('corrupt')) throw new Fail('corrupt');
    };
    const nospace = (): void => {
      if (this.alarms.has('nospace')) throw new Fail('no-space');
    };
    switch (op.type) {
      case 'range':
        return this.range(op);
      case 'put': {
        corrupt();
        nospace();
        this.checkPut(op, this.revision);
        this.pending = [];
        const r = this.doPut(op, this.revision);
        this.commit();
        return r;
      }
      case 'delete-range': {
        corrupt();
        this.pending = [];
        const r = this.doDelete(op.key, op.rangeEnd, op.prevKv);
        this.commit();
        return r;
      }
      case 'txn': {
        corrupt();
        if (opCostBytes(op) > 0) nospace();
        const begin = this.revision;
        const path: boolean[] = [];
        this.path(op, begin, path);
        this.walk(op, path, { i: 0 }, (o) => (o.type === 'put' ? this.checkPut(o, begin) : undefined));
        this.walk(op, path, { i: 0 }, (o) => (o.type === 'range' && o.revision > 0 ? void this.readRev(o.revision, begin) : undefined));
        this.pending = [];
        const r = this.exec(op, path, { i: 0 }, begin);
        this.commit();
        return r;
      }
      case 'compaction':
        corrupt();
        if (op.revision <= this.compactRev) throw new Fail('compacted');
        if (op.revision > this.revision) throw new Fail('future-revision');
        this.compactRev = op.revision;
        return { type: 'compaction' };
      case 'lease-grant': {
        corrupt();
        nospace();
        if (op.ttlSec > 9_000_000_000) throw new Fail('lease-ttl-too-large');
        let id: bigint = op.id;
        if (id === 0n) {
          id = mixIndex(index);
          while (this.leases.has(id)) id = id === (1n << 63n) - 1n ? 1n : id + 1n;
        }
        if (this.leases.has(id)) throw new Fail('lease-exists');
        const ttl = Math.max(op.ttlSec, this.o.leaseTtlMinSec);
        this.leases.set(id, { ttl, remaining: 0 });
        return { type: 'lease-grant', id: leaseId(id), ttlSec: ttl };
      }
      case 'lease-revoke':
        corrupt();
        if (!this.leases.has(op.id)) throw new Fail('lease-not-found');
        this.revoke([op.id]);
        return { type: 'lease-revoke' };
      case 'lease-expire': {
        corrupt();
        return { type: 'lease-expire', revoked: this.revoke(op.ids) };
      }
      case 'lease-checkpoint':
        for (const c of op.checkpoints) {
          const l = this.leases.get(c.id);
          if (l !== undefined) l.remaining = Math.min(Math.max(0, c.remainingTtlSec), l.ttl);
        }
        return { type: 'lease-checkpoint' };
      case 'alarm': {
        const changed: { member: NodeId; alarm: 'nospace' | 'corrupt' }[] = [];
        if (op.action === 'activate') {
          this.alarms.add(op.alarm);
          changed.push({ member: op.member!, alarm: op.alarm });
        } else if (this.alarms.delete(op.alarm)) {
          // The model tracks one member only (the tests raise alarms for one).
          changed.push({ member: this.alarmMember!, alarm: op.alarm });
        }
        if (op.action === 'activate') this.alarmMember = op.member!;
        return { type: 'alarm', alarms: changed };
      }
      case 'session-open':
        while (this.sessions.length >= this.o.sessionsMax) this.sessions.shift();
        this.sessions.push({ id: index, lastUsed: index, lowest: 0, responses: new Map() });
        return { type: 'session-open', clientId: index };
      case 'session-close':
        this.sessions = this.sessions.filter((s) => s.id !== op.clientId);
        return { type: 'session-close' };
      case 'noop':
        return { type: 'noop' };
      case 'member-update':
        throw new Fail('member-not-found');
    }
  }

  private alarmMember: NodeId | null = null;

  private commit(): void {
    const p = this.pending!;
    this.pending = null;
    if (p.length === 0) return;
    this.history.push(...p);
    this.revision++;
  }

  private checkPut(op: PutOp, rev: number): void {
    const key = latin1FromBytes(op.key);
    if ((op.ignoreValue || op.ignoreLease) && !this.live(rev).some((r) => r.key === key)) throw new Fail('key-not-found');
    if (op.lease !== 0n && !this.leases.has(op.lease)) throw new Fail('lease-not-found');
  }

  private cur(key: string, rev: number): MRec | null {
    return this.live(rev).find((r) => r.key === key) ?? null;
  }

  private doPut(op: PutOp, begin: number): ResponseOp {
    const key = latin1FromBytes(op.key);
    const main = this.revision + 1;
    let c = this.cur(key, main);
    const prev = c;
    if (c === null && (op.ignoreValue || op.ignoreLease)) c = this.cur(key, begin);
    const value = op.ignoreValue ? c!.value : latin1FromBytes(op.value);
    const lease = op.ignoreLease ? c!.lease : op.lease;
    this.pending!.push({ key, main, sub: this.pending!.length, create: prev === null ? main : prev.create, version: prev === null ? 1 : prev.version + 1, lease, value });
    return { type: 'put', prevKv: op.prevKv && prev !== null ? kv(prev) : null };
  }

  private doDelete(k: Uint8Array, e: Uint8Array, prevKv: boolean): ResponseOp {
    const main = this.revision + 1;
    const victims = this.live(main).filter((r) => this.inRange(r.key, k, e));
    for (const r of victims) this.pending!.push({ key: r.key, main, sub: this.pending!.length, create: 0, version: 0, lease: 0n, value: '' });
    return { type: 'delete-range', deleted: victims.length, prevKvs: prevKv ? victims.map((r) => kv(r)) : [] };
  }

  private revoke(ids: readonly LeaseId[]): LeaseId[] {
    const out: LeaseId[] = [];
    this.pending = [];
    for (const id of ids) {
      if (!this.leases.has(id) || out.includes(id)) continue;
      const main = this.revision + 1;
      for (const r of this.live(main).filter((x) => x.lease === id)) {
        this.pending.push({ key: r.key, main, sub: this.pending.length, create: 0, version: 0, lease: 0n, value: '' });
      }
      this.leases.delete(id);
      out.push(id);
    }
    this.commit();
    return out;
  }

  private compareHolds(c: Compare, rev: number): boolean {
    const recs = this.live(rev).filter((r) => this.inRange(r.key, c.key, c.rangeEnd));
    const one = (r: MRec | null): boolean => {
      const o = c.operand;
      let a: number | string | bigint;
      let b: number | string | bigint;
      switch (o.type) {
        case 'version':
          [a, b] = [r?.version ?? 0, o.version];
          break;
        case 'create':
          [a, b] = [r?.create ?? 0, o.revision];
          break;
        case 'mod':
          [a, b] = [r?.main ?? 0, o.revision];
          break;
        case 'value':
          [a, b] = [r?.value ?? '', latin1FromBytes(o.value)];
          break;
        case 'lease':
          [a, b] = [r?.lease ?? 0n, o.lease];
          break;
      }
      switch (c.result) {
        case 'equal':
          return a === b;
        case 'not-equal':
          return a !== b;
        case 'greater':
          return a > b;
        case 'less':
          return a < b;
      }
    };
    if (recs.length === 0) return c.operand.type === 'value' ? false : one(null);
    return recs.every(one);
  }

  private path(t: TxnOp, rev: number, out: boolean[]): void {
    const ok = t.compare.every((c) => this.compareHolds(c, rev));
    out.push(ok);
    for (const o of ok ? t.success : t.failure) if (o.type === 'txn') this.path(o, rev, out);
  }

  private walk(t: TxnOp, path: boolean[], cur: { i: number }, fn: (o: RequestOp) => void): void {
    const ok = path[cur.i++]!;
    for (const o of ok ? t.success : t.failure) {
      if (o.type === 'txn') this.walk(o, path, cur, fn);
      else fn(o);
    }
  }

  private exec(t: TxnOp, path: boolean[], cur: { i: number }, begin: number): ResponseOp {
    const ok = path[cur.i++]!;
    const responses: ResponseOp[] = [];
    for (const o of ok ? t.success : t.failure) {
      const readRev = this.pending!.length > 0 ? this.revision + 1 : this.revision;
      if (o.type === 'range') responses.push(this.rangeAt(o, o.revision > 0 ? o.revision : readRev));
      else if (o.type === 'put') responses.push(this.doPut(o, begin));
      else if (o.type === 'delete-range') responses.push(this.doDelete(o.key, o.rangeEnd, o.prevKv));
      else responses.push(this.exec(o, path, cur, begin));
    }
    return { type: 'txn', succeeded: ok, responses };
  }

  /** Every event at revision >= from, in revision order, with its prev_kv: what a watch must deliver. */
  events(from: number): { rec: MRec; prev: MRec | null }[] {
    const out: { rec: MRec; prev: MRec | null }[] = [];
    const sorted = [...this.history].sort((a, b) => a.main - b.main || a.sub - b.sub);
    const last = new Map<string, MRec>();
    for (const r of sorted) {
      const p = last.get(r.key) ?? null;
      if (r.main >= from) out.push({ rec: r, prev: p !== null && p.version > 0 ? p : null });
      last.set(r.key, r);
    }
    return out;
  }
}

export function kv(r: MRec, keysOnly = false): KeyValue {
  return {
    key: bytesFromLatin1(r.key),
    createRevision: r.create,
    modRevision: r.main,
    version: r.version,
    value: keysOnly ? new Uint8Array(0) : bytesFromLatin1(r.value),
    lease: leaseId(r.lease),
  };
}

function err(code: string): Outcome {
  return { type: 'error', code: code as Extract<Outcome, { type: 'error' }>['code'], detail: '' };
}

/** The store's documented choice of lease id for an entry index (splitmix64, 63 bits, non-zero). */
export function mixIndex(index: number): bigint {
  const mask64 = (1n << 64n) - 1n;
  let z = (BigInt(index) + 0x9e3779b97f4a7c15n) & mask64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
  z = (z ^ (z >> 31n)) & ((1n << 63n) - 1n);
  return z === 0n ? 1n : z;
}
