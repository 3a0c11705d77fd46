/**
 * Request checks that need no state, as etcd's API layer makes them (v3rpc/key.go): empty keys,
 * value/lease given with ignore_value/ignore_lease, too many operations in a transaction, and the
 * rule that a transaction may not write a key twice. The API layer calls `validateOp` before
 * proposing (so a bad request costs no log entry) and apply calls it again, so the answer does not
 * depend on which member proposed the command.
 */
import { assertNever } from '../core/assert.js';
import { KV_RECORD_OVERHEAD_BYTES, TXN_OPS_MAX } from '../core/limits.js';
import type { Op, RequestOp, TxnOp } from './command.js';
import { KvError } from './errors.js';
import { latin1FromBytes } from './latin1.js';

/** Returns the error etcd would answer with, or null. */
export function validateOp(op: Op, txnOpsMax = TXN_OPS_MAX): KvError | null {
  switch (op.type) {
    case 'range':
    case 'put':
    case 'delete-range':
      return checkRequestOp(op, txnOpsMax);
    case 'txn': {
      const e = checkTxn(op, txnOpsMax);
      if (e !== null) return e;
      return checkIntervals(op.success).error ?? checkIntervals(op.failure).error;
    }
    case 'compaction':
    case 'lease-grant':
    case 'lease-revoke':
    case 'lease-checkpoint':
    case 'lease-expire':
    case 'member-update':
    case 'session-open':
    case 'session-close':
    case 'noop':
      return null;
    case 'alarm':
      return op.action === 'activate' && op.member === null ? new KvError('invalid-request', 'alarm activation needs a member') : null;
    default:
      return assertNever(op, 'op');
  }
}

function checkRequestOp(op: RequestOp, txnOpsMax: number): KvError | null {
  switch (op.type) {
    case 'range':
    case 'delete-range':
      return op.key.length === 0 ? new KvError('empty-key') : null;
    case 'put':
      if (op.key.length === 0) return new KvError('empty-key');
      if (op.ignoreValue && op.value.length !== 0) return new KvError('value-provided');
      if (op.ignoreLease && op.lease !== 0n) return new KvError('lease-provided');
      return null;
    case 'txn':
      return checkTxn(op, txnOpsMax);
    default:
      return assertNever(op, 'request op');
  }
}

function checkTxn(t: TxnOp, txnOpsMax: number): KvError | null {
  if (Math.max(t.compare.length, t.success.length, t.failure.length) > txnOpsMax) return new KvError('too-many-ops');
  for (const o of t.success) {
    const e = checkRequestOp(o, txnOpsMax);
    if (e !== null) return e;
  }
  for (const o of t.failure) {
    const e = checkRequestOp(o, txnOpsMax);
    if (e !== null) return e;
  }
  return null;
}

interface Interval {
  readonly start: string;
  /** Exclusive; null for a single key (a point). */
  readonly end: string | null;
}

const intersects = (iv: Interval, key: string): boolean => (iv.end === null ? iv.start === key : iv.start <= key && key < iv.end);

/**
 * etcd's checkIntervals: deletes of a level are collected first; puts of nested transactions may
 * not repeat or fall in a delete of an enclosing level (the two branches of one nested txn may put
 * the same key, since only one runs); puts of the level may not repeat anything. A delete's range
 * end compares as plain bytes, so a "\0" (from-key) delete covers nothing here, as in etcd.
 */
function checkIntervals(reqs: readonly RequestOp[]): { puts: Set<string>; dels: Interval[]; error: KvError | null } {
  const dels: Interval[] = [];
  for (const r of reqs) {
    if (r.type !== 'delete-range') continue;
    dels.push({ start: latin1FromBytes(r.key), end: r.rangeEnd.length !== 0 ? latin1FromBytes(r.rangeEnd) : null });
  }
  const puts = new Set<string>();
  const dup = (): { puts: Set<string>; dels: Interval[]; error: KvError } => ({ puts, dels, error: new KvError('duplicate-key') });
  const deleted = (k: string): boolean => dels.some((d) => intersects(d, k));
  for (const r of reqs) {
    if (r.type !== 'txn') continue;
    const then = checkIntervals(r.success);
    if (then.error !== null) return { puts, dels, error: then.error };
    const els = checkIntervals(r.failure);
    if (els.error !== null) return { puts, dels, error: els.error };
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) return dup();
      puts.add(k);
    }
    for (const k of els.puts) {
      if (puts.has(k) && !then.puts.has(k)) return dup();
      if (deleted(k)) return dup();
      puts.add(k);
    }
    dels.push(...then.dels, ...els.dels);
  }
  for (const r of reqs) {
    if (r.type !== 'put') continue;
    const k = latin1FromBytes(r.key);
    if (puts.has(k) || deleted(k)) return dup();
    puts.add(k);
  }
  return { puts, dels, error: null };
}

/** Whether a transaction only reads (then it can be served locally, without the log). */
export function isReadOnlyTxn(t: TxnOp): boolean {
  const ro = (o: RequestOp): boolean => (o.type === 'range' ? true : o.type === 'txn' ? isReadOnlyTxn(o) : false);
  return t.success.every(ro) && t.failure.every(ro);
}

/** Bytes an op would add to the store (etcd's quota cost): puts of every branch, and leases. */
export function opCostBytes(op: Op): number {
  switch (op.type) {
    case 'put':
      return op.key.length + op.value.length + KV_RECORD_OVERHEAD_BYTES;
    case 'txn': {
      let n = 0;
      for (const o of op.success) n += opCostBytes(o);
      for (const o of op.failure) n += opCostBytes(o);
      return n;
    }
    case 'lease-grant':
      return KV_RECORD_OVERHEAD_BYTES;
    case 'range':
    case 'delete-range':
    case 'compaction':
    case 'lease-revoke':
    case 'lease-checkpoint':
    case 'lease-expire':
    case 'alarm':
    case 'member-update':
    case 'session-open':
    case 'session-close':
    case 'noop':
      return 0;
    default:
      return assertNever(op, 'op');
  }
}
