/**
 * The replicated state machine: an MVCC key-value store with etcd v3 semantics, leases, watches,
 * client sessions, alarms and the member table. Every replica applies the same committed entries
 * through `apply`, which is synchronous and deterministic: no clock, no randomness, no I/O; what
 * depends on time (lease expiry, checkpoints) arrives as commands in the log.
 *
 * Reads for serializable and linearizable requests are served by the read methods (`range`,
 * `readTxn`, ...) on the member's local state without going through the log; the server waits for
 * the read index first when the read must be linearizable.
 *
 * Settings that affect results (lease minimum TTL, session and txn limits, the bootstrap members)
 * must be the same on every member, like any cluster-wide setting. The quota is different: it is
 * checked by the member that proposes (`quotaExceeded`), which then proposes a NOSPACE alarm, as
 * etcd does; apply only obeys alarms, which are in the log.
 */
import { assert, assertNever } from '../core/assert.js';
import { BulwarkError, DecodeError } from '../core/errors.js';
import { leaseId as toLeaseId, logIndex, revision as toRevision, type LeaseId, type LogIndex, type NodeId, type Revision } from '../core/ids.js';
import { KV_COMPACTION_STEP_RECORDS_MAX, KV_QUOTA_BYTES_DEFAULT, LEASE_TTL_SEC_MAX, LEASE_TTL_SEC_MIN_DEFAULT, LEASES_MAX, TXN_OPS_MAX } from '../core/limits.js';
import type { SnapshotSink, SnapshotSource, StateMachine } from '../consensus/storage.js';
import type { ConfigChange, Entry } from '../consensus/types.js';
import { AlarmTable, type AlarmMember } from './alarms.js';
import { decodeCommand, type AlarmOp, type Command, type DeleteRangeOp, type LeaseCheckpointOp, type Op, type PutOp, type RangeOp, type RequestOp, type TxnOp } from './command.js';
import { KvError } from './errors.js';
import { bytesFromLatin1, latin1FromBytes } from './latin1.js';
import { Lease, LeaseTable, type LeaseEvent, type LeaseInfo } from './leases.js';
import { MemberTable, type MemberInfo } from './members.js';
import { Mvcc, type KvHash } from './mvcc.js';
import { evalCompare, rangeOf, rangeQuery } from './range-query.js';
import { liveAt, toKeyValue, type KeyValue, type RevRecord } from './record.js';
import type { ApplyResult, DeleteRangeResult, Outcome, PutResult, RangeResult, ResponseOp, TxnResult } from './results.js';
import { DEFAULT_SESSION_LIMITS, SessionTable, type SessionLimits } from './sessions.js';
import { SnapshotReader, snapshotChunks, type StateImage } from './snapshot-format.js';
import { isReadOnlyTxn, opCostBytes, validateOp } from './validate.js';
import { WatchHub } from './watch-hub.js';
import { WatchStream } from './watch-stream.js';
import type { WatchLimits } from './watch-types.js';
import { crc32c } from '../core/crc32c.js';

export interface KvStoreOptions {
  /** Logical bytes before the proposing member raises NOSPACE (etcd's --quota-backend-bytes). */
  readonly quotaBytes?: number;
  /** Shorter TTLs are raised to this (etcd: 1.5 election timeouts, rounded up). Cluster-wide. */
  readonly leaseTtlMinSec?: number;
  /** Cluster-wide. */
  readonly sessionLimits?: Partial<SessionLimits>;
  /** Cluster-wide. */
  readonly txnOpsMax?: number;
  /** Leases alive at once; more grants fail with 'lease-limit'. Cluster-wide. */
  readonly leasesMax?: number;
  readonly watchLimits?: Partial<WatchLimits>;
  /** History records freed per applied entry by the incremental compaction. */
  readonly compactionStepRecords?: number;
  /** Decodes a config entry's data (the consensus package's codec); without it config entries only advance the index. */
  readonly decodeConfigChange?: (data: Uint8Array) => ConfigChange;
  /** Told of lease grants, revocations and checkpoints as they are applied (the leader's Lessor listens). */
  readonly onLeaseEvent?: (e: LeaseEvent) => void;
  /** The member table of a new cluster (bootstrap); later changes come through the log. */
  readonly members?: readonly MemberInfo[];
}

export interface LeaseTimeToLive {
  readonly id: LeaseId;
  readonly grantedTtlSec: number;
  /** The remaining TTL at the last checkpoint (0: none). The leader's Lessor knows the live value. */
  readonly checkpointedTtlSec: number;
  readonly keys: readonly Uint8Array[];
}

/** What the API layer does with a client's write before proposing it (etcd's quota and checks). */
export type Admission =
  | { readonly type: 'propose' }
  /** Answer `error`; when `raise` is set, also propose it (the quota was just exceeded). */
  | { readonly type: 'refuse'; readonly error: KvError; readonly raise: AlarmOp | null };

export interface StoreStatus {
  readonly appliedIndex: LogIndex;
  readonly revision: Revision;
  readonly compactRevision: Revision;
  readonly keys: number;
  readonly historyRecords: number;
  readonly sizeBytes: number;
  readonly quotaBytes: number;
  readonly leases: number;
  readonly sessions: number;
  readonly watchers: number;
  readonly unsyncedWatchers: number;
  readonly alarms: readonly AlarmMember[];
  readonly compactionPending: boolean;
}

export class KvStore implements StateMachine<ApplyResult> {
  private mvcc = new Mvcc();
  private leases = new LeaseTable();
  private sessions: SessionTable;
  private alarms = new AlarmTable();
  private members = new MemberTable();
  private applied = 0;
  readonly watchHub: WatchHub;
  private readonly quotaBytes: number;
  private readonly leaseTtlMinSec: number;
  private readonly txnOpsMax: number;
  private readonly leasesMax: number;
  private readonly compactionStepRecords: number;
  private readonly sessionLimits: SessionLimits;

  constructor(private readonly options: KvStoreOptions = {}) {
    this.quotaBytes = options.quotaBytes ?? KV_QUOTA_BYTES_DEFAULT;
    this.leaseTtlMinSec = options.leaseTtlMinSec ?? LEASE_TTL_SEC_MIN_DEFAULT;
    this.txnOpsMax = options.txnOpsMax ?? TXN_OPS_MAX;
    this.leasesMax = options.leasesMax ?? LEASES_MAX;
    this.compactionStepRecords = options.compactionStepRecords ?? KV_COMPACTION_STEP_RECORDS_MAX;
    this.sessionLimits = { ...DEFAULT_SESSION_LIMITS, ...options.sessionLimits };
    assert(this.leaseTtlMinSec >= 1 && this.leaseTtlMinSec <= LEASE_TTL_SEC_MAX, 'lease minimum TTL in range');
    assert(this.txnOpsMax >= 1 && this.leasesMax >= 1 && this.compactionStepRecords >= 1 && this.quotaBytes > 0, 'store options are positive');
    this.sessions = new SessionTable(this.sessionLimits);
    this.members.reset(options.members ?? []);
    // The hub reads through to whichever Mvcc is current (a restore replaces it).
    const mvcc = (): Mvcc => this.mvcc;
    this.watchHub = new WatchHub(
      {
        get revision() {
          return mvcc().revision;
        },
        get compactRevision() {
          return mvcc().compactRevision;
        },
        get revlog() {
          return mvcc().revlog;
        },
      },
      options.watchLimits,
    );
  }

  get appliedIndex(): LogIndex {
    return logIndex(this.applied);
  }

  get revision(): Revision {
    return toRevision(this.mvcc.revision);
  }

  get compactRevision(): Revision {
    return toRevision(this.mvcc.compactRevision);
  }

  // -------------------------------------------------------------------------------------------
  // Apply.

  apply(entry: Entry): ApplyResult {
    assert(entry.index > this.applied, `apply of index ${entry.index} after ${this.applied}`);
    this.applied = entry.index;
    this.sessions.expire(entry.index);
    if (this.mvcc.compactionPending) this.mvcc.compactStep(this.compactionStepRecords);
    let result: ApplyResult;
    switch (entry.kind) {
      case 'empty':
        result = this.result(entry.index, null, { type: 'noop' }, false);
        break;
      case 'config':
        result = this.result(entry.index, null, this.applyConfig(entry.data), false);
        break;
      case 'normal':
        result = this.applyNormal(entry);
        break;
      default:
        assertNever(entry.kind, 'entry kind');
    }
    this.watchHub.flush();
    return result;
  }

  private result(index: number, requestId: Command['requestId'] | null, outcome: Outcome, duplicate: boolean, rev = this.mvcc.revision): ApplyResult {
    return { index: logIndex(index), requestId, revision: toRevision(rev), outcome, duplicate };
  }

  private applyConfig(data: Uint8Array): Outcome {
    const decode = this.options.decodeConfigChange;
    if (decode === undefined) return { type: 'noop' };
    let change: ConfigChange;
    try {
      change = decode(data);
      this.members.applyConfigChange(change);
    } catch (e) {
      // Bad bytes are a typed error, the same on every replica; anything else is a bug and crashes.
      if (e instanceof BulwarkError) return { type: 'error', code: 'malformed-command', detail: `config change: ${e.message}` };
      throw e;
    }
    return { type: 'members', members: this.members.list() };
  }

  private applyNormal(entry: Entry): ApplyResult {
    if (entry.data.length === 0) return this.result(entry.index, null, { type: 'noop' }, false);
    let cmd: Command;
    try {
      cmd = decodeCommand(entry.data);
    } catch (e) {
      if (e instanceof DecodeError) return this.result(entry.index, null, { type: 'error', code: 'malformed-command', detail: e.message }, false);
      throw e;
    }
    const tag = cmd.session;
    if (tag !== null) {
      const check = this.sessions.check(tag, entry.index);
      switch (check.type) {
        case 'refused':
          return this.result(entry.index, cmd.requestId, { type: 'error', code: check.code, detail: check.detail }, false);
        case 'duplicate': {
          const r = check.response;
          const outcome: Outcome = r.type === 'kept' ? r.outcome : { type: 'error', code: 'session-response-dropped', detail: `seq ${tag.seq}` };
          return this.result(entry.index, cmd.requestId, outcome, true, r.revision);
        }
        case 'new':
          break;
        default:
          assertNever(check, 'session check');
      }
    }
    const outcome = this.execute(cmd.op, entry.index);
    if (tag !== null) this.sessions.record(tag, outcome, this.mvcc.revision);
    return this.result(entry.index, cmd.requestId, outcome, false);
  }

  /** Runs one operation; a KvError becomes an error outcome (every check runs before any change). */
  private execute(op: Op, index: number): Outcome {
    try {
      return this.run(op, index);
    } catch (e) {
      if (e instanceof KvError) return { type: 'error', code: e.code, detail: e.detail };
      throw e;
    }
  }

  private run(op: Op, index: number): Outcome {
    const invalid = validateOp(op, this.txnOpsMax);
    if (invalid !== null) throw invalid;
    switch (op.type) {
      case 'range':
        return this.range(op);
      case 'put':
        this.guardCorrupt();
        this.guardNoSpace();
        return this.writeOne((rev) => this.checkPut(op, rev), () => this.doPut(op));
      case 'delete-range':
        this.guardCorrupt();
        return this.writeOne(() => undefined, () => this.doDeleteRange(op));
      case 'txn':
        this.guardCorrupt();
        if (opCostBytes(op) > 0) this.guardNoSpace();
        return this.txn(op);
      case 'compaction':
        this.guardCorrupt();
        this.compact(op.revision, op.physical);
        return { type: 'compaction' };
      case 'lease-grant':
        this.guardCorrupt();
        this.guardNoSpace();
        return this.grant(op.id, op.ttlSec, index);
      case 'lease-revoke':
        this.guardCorrupt();
        if (this.leases.get(op.id) === undefined) throw new KvError('lease-not-found', `lease ${op.id}`);
        this.revoke([op.id]);
        return { type: 'lease-revoke' };
      case 'lease-expire': {
        this.guardCorrupt();
        const revoked = this.revoke(op.ids);
        return { type: 'lease-expire', revoked };
      }
      case 'lease-checkpoint':
        this.checkpoint(op);
        return { type: 'lease-checkpoint' };
      case 'alarm':
        return { type: 'alarm', alarms: this.alarms.apply(op) };
      case 'member-update':
        this.members.applyUpdate(op);
        return { type: 'members', members: this.members.list() };
      case 'session-open':
        return { type: 'session-open', clientId: this.sessions.open(index) };
      case 'session-close':
        this.sessions.close(op.clientId);
        return { type: 'session-close' };
      case 'noop':
        return { type: 'noop' };
      default:
        return assertNever(op, 'op');
    }
  }

  private guardCorrupt(): void {
    if (this.alarms.has('corrupt')) throw new KvError('corrupt');
  }

  private guardNoSpace(): void {
    if (this.alarms.has('nospace')) throw new KvError('no-space');
  }

  /** Checks (against the state before the write), then one write with its watch notification. */
  private writeOne<R extends Outcome>(check: (rev: number) => void, write: () => R): R {
    check(this.mvcc.revision);
    this.mvcc.beginWrite();
    const out = write();
    this.endWrite();
    return out;
  }

  private endWrite(): void {
    const changes = this.mvcc.endWrite();
    if (changes.length > 0) this.watchHub.notify(this.mvcc.revision, changes);
  }

  // -------------------------------------------------------------------------------------------
  // Keys.

  /** etcd's put checks, in etcd's order for a transaction: the key for ignore_*, then the lease. */
  private checkPut(op: PutOp, rev: number): void {
    if ((op.ignoreValue || op.ignoreLease) && this.mvcc.get(latin1FromBytes(op.key), rev) === null) throw new KvError('key-not-found');
    if (op.lease !== 0n && this.leases.get(op.lease) === undefined) throw new KvError('lease-not-found', `lease ${op.lease}`);
  }

  /** A put inside the open write. `beginRev` is the revision before the write (for ignore_* fallbacks). */
  private doPut(op: PutOp, beginRev = this.mvcc.revision): PutResult {
    const key = latin1FromBytes(op.key);
    let cur = this.mvcc.get(key, this.mvcc.readRevision);
    // Only reachable when the same transaction deleted the key first (etcd's "\0" quirk, where
    // etcd itself panics): fall back to the value the checks saw.
    if (cur === null && (op.ignoreValue || op.ignoreLease)) cur = this.mvcc.get(key, beginRev);
    const value = op.ignoreValue ? cur!.value : latin1FromBytes(op.value);
    const lease = op.ignoreLease ? cur!.lease : op.lease === 0n ? op.lease : this.leases.get(op.lease)!.id;
    const { prev } = this.mvcc.put(key, value, lease);
    if (prev !== null && prev.lease !== 0n) this.leases.detach(prev.lease, key);
    if (lease !== 0n) this.leases.attach(lease, key);
    return { type: 'put', prevKv: op.prevKv && prev !== null ? toKeyValue(prev) : null };
  }

  private doDeleteRange(op: DeleteRangeOp): DeleteRangeResult {
    const live: RevRecord[] = [];
    this.mvcc.scan(rangeOf(op.key, op.rangeEnd), this.mvcc.readRevision, (r) => {
      live.push(r);
    });
    const prevKvs: KeyValue[] = [];
    for (const r of live) {
      this.deleteKey(r.key);
      if (op.prevKv) prevKvs.push(toKeyValue(r));
    }
    return { type: 'delete-range', deleted: live.length, prevKvs };
  }

  private deleteKey(key: string): void {
    const prev = this.mvcc.delete(key);
    if (prev !== null && prev.lease !== 0n) this.leases.detach(prev.lease, key);
  }

  /** Resolves a read revision: 0 or less is the current one; compacted and future ones are errors. */
  private readRevisionFor(requested: number, current: number): number {
    if (requested <= 0) return current;
    if (requested > current) throw new KvError('future-revision', `revision ${requested} > ${current}`);
    if (requested < this.mvcc.compactRevision) throw new KvError('compacted', `revision ${requested} < ${this.mvcc.compactRevision}`);
    return requested;
  }

  // -------------------------------------------------------------------------------------------
  // Transactions.

  /**
   * etcd's Txn: the compares of the whole request (nested ones too) are evaluated first, against
   * the state before the transaction, giving a path; the puts on that path are checked, then the
   * ranges; then the ops run in order inside one write, so the whole transaction is one revision.
   */
  private txn(op: TxnOp): TxnResult {
    const beginRev = this.mvcc.revision;
    const path: boolean[] = [];
    this.computePath(op, beginRev, path);
    this.walkPath(op, path, (o) => (o.type === 'put' ? this.checkPut(o, beginRev) : undefined));
    this.walkPath(op, path, (o) => (o.type === 'range' && o.revision > 0 ? void this.readRevisionFor(o.revision, beginRev) : undefined));
    this.mvcc.beginWrite();
    const result = this.execTxn(op, path, { i: 0 }, beginRev, true);
    this.endWrite();
    return result;
  }

  private computePath(t: TxnOp, rev: number, path: boolean[]): void {
    const ok = t.compare.every((c) => evalCompare(this.mvcc, c, rev));
    path.push(ok);
    for (const o of ok ? t.success : t.failure) if (o.type === 'txn') this.computePath(o, rev, path);
  }

  private walkPath(t: TxnOp, path: readonly boolean[], fn: (o: Exclude<RequestOp, TxnOp>) => void, cursor = { i: 0 }): void {
    const ok = path[cursor.i++]!;
    for (const o of ok ? t.success : t.failure) {
      if (o.type === 'txn') this.walkPath(o, path, fn, cursor);
      else fn(o);
    }
  }

  private execTxn(t: TxnOp, path: readonly boolean[], cursor: { i: number }, beginRev: number, writing: boolean): TxnResult {
    const succeeded = path[cursor.i++]!;
    const responses: ResponseOp[] = [];
    for (const o of succeeded ? t.success : t.failure) {
      switch (o.type) {
        case 'range': {
          const current = writing ? this.mvcc.readRevision : this.mvcc.revision;
          responses.push(rangeQuery(this.mvcc, o, o.revision > 0 ? o.revision : current));
          break;
        }
        case 'put':
          assert(writing, 'put in a read-only transaction');
          responses.push(this.doPut(o, beginRev));
          break;
        case 'delete-range':
          assert(writing, 'delete in a read-only transaction');
          responses.push(this.doDeleteRange(o));
          break;
        case 'txn':
          responses.push(this.execTxn(o, path, cursor, beginRev, writing));
          break;
        default:
          assertNever(o, 'request op');
      }
    }
    return { type: 'txn', succeeded, responses };
  }

  // -------------------------------------------------------------------------------------------
  // Compaction.

  private compact(rev: number, physical: boolean): void {
    if (rev <= this.mvcc.compactRevision) throw new KvError('compacted', `revision ${rev} <= ${this.mvcc.compactRevision}`);
    if (rev > this.mvcc.revision) throw new KvError('future-revision', `revision ${rev} > ${this.mvcc.revision}`);
    this.mvcc.compact(rev);
    this.watchHub.compacted();
    if (physical) this.mvcc.compactStep(Number.MAX_SAFE_INTEGER);
  }

  // -------------------------------------------------------------------------------------------
  // Leases.

  private grant(requested: LeaseId, ttlSec: number, index: number): Outcome {
    if (ttlSec > LEASE_TTL_SEC_MAX) throw new KvError('lease-ttl-too-large', `ttl ${ttlSec}`);
    const id = requested === 0n ? this.chooseLeaseId(index) : requested;
    if (this.leases.get(id) !== undefined) throw new KvError('lease-exists', `lease ${id}`);
    if (this.leases.size >= this.leasesMax) throw new KvError('lease-limit', `${this.leases.size} leases`);
    const ttl = Math.max(ttlSec, this.leaseTtlMinSec);
    this.leases.add(new Lease(id, ttl));
    this.options.onLeaseEvent?.({ type: 'granted', id, ttlSec: ttl });
    return { type: 'lease-grant', id, ttlSec: ttl };
  }

  /** A server-chosen lease id: a mix of the entry index (apply is deterministic), positive, unused. */
  private chooseLeaseId(index: number): LeaseId {
    const mask64 = (1n << 64n) - 1n;
    let z = (BigInt(index) + 0x9e3779b97f4a7c15n) & mask64;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
    z = (z ^ (z >> 31n)) & ((1n << 63n) - 1n);
    if (z === 0n) z = 1n;
    while (this.leases.get(z) !== undefined) z = z === (1n << 63n) - 1n ? 1n : z + 1n;
    return toLeaseId(z);
  }

  /** Revokes leases (those that exist), deleting their keys in one revision. Returns the ids revoked. */
  private revoke(ids: readonly LeaseId[]): LeaseId[] {
    const revoked: LeaseId[] = [];
    const seen = new Set<bigint>();
    this.mvcc.beginWrite();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const lease = this.leases.get(id);
      if (lease === undefined) continue;
      // Sorted: the Set's order differs between replicas that restored from a snapshot and those that did not.
      for (const key of [...lease.keys].sort()) this.deleteKey(key);
      this.leases.remove(id);
      revoked.push(lease.id);
      this.options.onLeaseEvent?.({ type: 'revoked', id: lease.id });
    }
    this.endWrite();
    return revoked;
  }

  private checkpoint(op: LeaseCheckpointOp): void {
    for (const c of op.checkpoints) {
      const lease = this.leases.get(c.id);
      if (lease === undefined) continue;
      lease.remainingTtlSec = Math.min(Math.max(0, c.remainingTtlSec), lease.ttlSec);
      this.options.onLeaseEvent?.({ type: 'checkpointed', id: lease.id, remainingTtlSec: lease.remainingTtlSec });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Local reads (serializable; linearizable once the read index is applied).

  /** etcd's Range at the current state. Throws KvError. */
  range(op: RangeOp): RangeResult {
    this.guardCorrupt();
    const invalid = validateOp(op, this.txnOpsMax);
    if (invalid !== null) throw invalid;
    return rangeQuery(this.mvcc, op, this.readRevisionFor(op.revision, this.mvcc.revision));
  }

  /** A transaction with no writes in either branch, served locally. Throws KvError. */
  readTxn(op: TxnOp): TxnResult {
    this.guardCorrupt();
    const invalid = validateOp(op, this.txnOpsMax);
    if (invalid !== null) throw invalid;
    if (!isReadOnlyTxn(op)) throw new KvError('invalid-request', 'the transaction writes: it must go through the log');
    const rev = this.mvcc.revision;
    const path: boolean[] = [];
    this.computePath(op, rev, path);
    this.walkPath(op, path, (o) => (o.type === 'range' && o.revision > 0 ? void this.readRevisionFor(o.revision, rev) : undefined));
    return this.execTxn(op, path, { i: 0 }, rev, false);
  }

  /** etcd's HashKV at a revision (0: the current one). Throws KvError for compacted or future revisions. */
  hashKv(rev = 0): KvHash {
    const r = rev <= 0 ? this.mvcc.revision : rev;
    if (r > this.mvcc.revision) throw new KvError('future-revision', `revision ${r} > ${this.mvcc.revision}`);
    if (r < this.mvcc.compactRevision) throw new KvError('compacted', `revision ${r} < ${this.mvcc.compactRevision}`);
    return this.mvcc.hashKv(r);
  }

  /** CRC-32C of the whole replicated state (the snapshot bytes): equal on replicas at the same applied index. */
  stateHash(): number {
    let crc = 0;
    for (const chunk of this.snapshot().chunks()) crc = crc32c(chunk, crc);
    return crc;
  }

  leaseTimeToLive(id: LeaseId, withKeys: boolean): LeaseTimeToLive {
    const l = this.leases.get(id);
    if (l === undefined) throw new KvError('lease-not-found', `lease ${id}`);
    return {
      id: l.id,
      grantedTtlSec: l.ttlSec,
      checkpointedTtlSec: l.remainingTtlSec,
      keys: withKeys ? [...l.keys].sort().map(bytesFromLatin1) : [],
    };
  }

  /** Every lease, ids ascending (LeaseLeases, and what a new leader's Lessor starts from). */
  leaseList(): LeaseInfo[] {
    return this.leases.list().map((l) => l.info());
  }

  alarmList(): AlarmMember[] {
    return this.alarms.list();
  }

  memberList(): MemberInfo[] {
    return this.members.list();
  }

  /**
   * etcd's API-layer admission of a request on the member `self`: the stateless checks, then, for
   * an op that adds data, NOSPACE if the alarm is active, or if the op would take the store past
   * its quota — then the member should also propose the returned NOSPACE alarm, as etcd does.
   */
  admit(op: Op, self: NodeId): Admission {
    const invalid = validateOp(op, this.txnOpsMax);
    if (invalid !== null) return { type: 'refuse', error: invalid, raise: null };
    if (opCostBytes(op) === 0) return { type: 'propose' };
    if (this.alarms.has('nospace')) return { type: 'refuse', error: new KvError('no-space'), raise: null };
    if (this.quotaExceeded(op)) {
      return { type: 'refuse', error: new KvError('no-space', `quota of ${this.quotaBytes} bytes`), raise: { type: 'alarm', action: 'activate', member: self, alarm: 'nospace' } };
    }
    return { type: 'propose' };
  }

  /** Whether applying `op` would take the store past its quota (the proposer then raises NOSPACE). */
  quotaExceeded(op: Op): boolean {
    const cost = opCostBytes(op);
    return cost > 0 && this.mvcc.sizeBytes + cost > this.quotaBytes;
  }

  /** The state-independent checks of an op, for the API layer before proposing. */
  validate(op: Op): KvError | null {
    return validateOp(op, this.txnOpsMax);
  }

  /** The live record of a key now, for servers that need a quick look (locks, elections). */
  get(key: Uint8Array): KeyValue | null {
    const r = liveAt(this.mvcc.index.get(latin1FromBytes(key)), this.mvcc.revision);
    return r === null ? null : toKeyValue(r);
  }

  status(): StoreStatus {
    return {
      appliedIndex: this.appliedIndex,
      revision: this.revision,
      compactRevision: this.compactRevision,
      keys: this.mvcc.keyCount,
      historyRecords: this.mvcc.revlog.length,
      sizeBytes: this.mvcc.sizeBytes,
      quotaBytes: this.quotaBytes,
      leases: this.leases.size,
      sessions: this.sessions.size,
      watchers: this.watchHub.watcherCount,
      unsyncedWatchers: this.watchHub.unsyncedCount,
      alarms: this.alarms.list(),
      compactionPending: this.mvcc.compactionPending,
    };
  }

  openWatchStream(): WatchStream {
    return new WatchStream(this.watchHub);
  }

  /** Finishes any pending physical compaction now (idle time, tests, benchmarks). */
  compactFully(): void {
    this.mvcc.compactStep(Number.MAX_SAFE_INTEGER);
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots.

  /**
   * A point-in-time view at appliedIndex. The image holds the heads of every history (immutable
   * records) and copies of the small tables, so entries applied between chunks do not show.
   */
  snapshot(): SnapshotSource {
    const image: StateImage = {
      appliedIndex: this.applied,
      revision: this.mvcc.revision,
      compactRevision: this.mvcc.compactRevision,
      heads: this.mvcc.index.heads(),
      leases: this.leaseList(),
      sessions: this.sessions.list().map((s) => ({
        clientId: s.clientId,
        lastUsedIndex: s.lastUsedIndex,
        lowestUnacked: s.lowestUnacked,
        responses: [...s.responses.entries()],
      })),
      alarms: this.alarms.list(),
      members: this.members.list(),
    };
    return { index: logIndex(this.applied), chunks: () => snapshotChunks(image) };
  }

  restore(index: LogIndex): SnapshotSink {
    const reader = new SnapshotReader(index);
    return {
      write: (chunk) => reader.write(chunk),
      finish: () => {
        const p = reader.finish();
        const leases = new LeaseTable();
        for (const info of p.leases) {
          const l = new Lease(info.id, info.ttlSec);
          l.remainingTtlSec = info.remainingTtlSec;
          for (const k of p.leaseKeys.get(info.id) ?? []) l.keys.add(k);
          leases.add(l);
        }
        const sessions = new SessionTable(this.sessionLimits);
        for (const s of p.sessions) sessions.restore({ clientId: s.clientId, lastUsedIndex: s.lastUsedIndex, lowestUnacked: s.lowestUnacked, responses: new Map(s.responses) });
        const previousRevision = this.mvcc.revision;
        this.mvcc = Mvcc.fromParts({ index: p.index, revlog: p.revlog, revision: p.revision, compactRevision: p.compactRevision, sizeBytes: p.sizeBytes });
        this.leases = leases;
        this.sessions = sessions;
        this.alarms.reset(p.alarms);
        this.members.reset(p.members);
        this.applied = p.appliedIndex;
        this.watchHub.reset(previousRevision);
        this.watchHub.flush();
      },
    };
  }
}
