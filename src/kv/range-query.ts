/**
 * etcd's Range and Compare semantics over the MVCC core, at a revision already checked against
 * the compaction point and the store revision.
 *
 * Range (etcd's applyRange): `count` is every key of the range at the revision, before the limit
 * and the min/max filters; the filters prune; results are sorted when asked (a non-key target
 * with order NONE sorts ascending; KEY ascending is the natural order); `limit` truncates and sets
 * `more`; count_only returns no keys; keys_only drops values. Sorting is stable, so ties keep key
 * order (etcd's sort is unstable there; any order is a valid etcd answer).
 */
import { assertNever } from '../core/assert.js';
import type { Compare, RangeOp, SortTarget } from './command.js';
import { keyRange, type KeyRange } from './key-index.js';
import { latin1FromBytes } from './latin1.js';
import type { Mvcc } from './mvcc.js';
import { toKeyValue, type RevRecord } from './record.js';
import type { RangeResult } from './results.js';

export function rangeOf(key: Uint8Array, rangeEnd: Uint8Array): KeyRange {
  return keyRange(latin1FromBytes(key), latin1FromBytes(rangeEnd));
}

export function rangeQuery(mvcc: Mvcc, op: RangeOp, rev: number): RangeResult {
  const range = rangeOf(op.key, op.rangeEnd);
  const filtered = op.minModRevision !== 0 || op.maxModRevision !== 0 || op.minCreateRevision !== 0 || op.maxCreateRevision !== 0;
  let order = op.sortOrder;
  if (op.sortTarget !== 'key' && order === 'none') order = 'ascend';
  else if (op.sortTarget === 'key' && order === 'ascend') order = 'none';
  const natural = order === 'none' && !filtered;

  let count = 0;
  const recs: RevRecord[] = [];
  // In natural order with a limit only limit+1 records are kept (the extra one says `more`).
  const keep = op.countOnly ? 0 : natural && op.limit > 0 ? op.limit + 1 : Infinity;
  mvcc.scan(range, rev, (r) => {
    count++;
    if (recs.length < keep) recs.push(r);
  });
  if (op.countOnly) return { type: 'range', kvs: [], more: false, count };

  let out = recs;
  if (filtered) {
    out = out.filter(
      (r) =>
        !(op.maxModRevision !== 0 && r.main > op.maxModRevision) &&
        !(op.minModRevision !== 0 && r.main < op.minModRevision) &&
        !(op.maxCreateRevision !== 0 && r.create > op.maxCreateRevision) &&
        !(op.minCreateRevision !== 0 && r.create < op.minCreateRevision),
    );
  }
  if (order !== 'none') {
    const cmp = comparator(op.sortTarget);
    const dir = order === 'ascend' ? 1 : -1;
    // Array.prototype.sort is stable: ties stay in key order.
    out = out.slice().sort((a, b) => dir * cmp(a, b));
  }
  let more = false;
  if (op.limit > 0 && out.length > op.limit) {
    out = out.slice(0, op.limit);
    more = true;
  }
  return { type: 'range', kvs: out.map((r) => toKeyValue(r, op.keysOnly)), more, count };
}

function comparator(t: SortTarget): (a: RevRecord, b: RevRecord) => number {
  const str = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  switch (t) {
    case 'key':
      return (a, b) => str(a.key, b.key);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'create':
      return (a, b) => a.create - b.create;
    case 'mod':
      return (a, b) => a.main - b.main;
    case 'value':
      return (a, b) => str(a.value, b.value);
    default:
      return assertNever(t, 'sort target');
  }
}

/**
 * etcd's applyCompare: the compare must hold for every key of its range at `rev`. When no key
 * exists, a VALUE compare fails and any other compares against a zero KeyValue (version 0,
 * revisions 0, lease 0).
 */
export function evalCompare(mvcc: Mvcc, c: Compare, rev: number): boolean {
  const range = rangeOf(c.key, c.rangeEnd);
  let any = false;
  let ok = true;
  mvcc.scan(range, rev, (r) => {
    any = true;
    if (!compareOne(c, r)) {
      ok = false;
      return false;
    }
    return true;
  });
  if (any) return ok;
  if (c.operand.type === 'value') return false;
  return compareOne(c, null);
}

function compareOne(c: Compare, r: RevRecord | null): boolean {
  const o = c.operand;
  let d: number;
  switch (o.type) {
    case 'version':
      d = Math.sign((r?.version ?? 0) - o.version);
      break;
    case 'create':
      d = Math.sign((r?.create ?? 0) - o.revision);
      break;
    case 'mod':
      d = Math.sign((r?.main ?? 0) - o.revision);
      break;
    case 'value': {
      const v = r?.value ?? '';
      const want = latin1FromBytes(o.value);
      d = v < want ? -1 : v > want ? 1 : 0;
      break;
    }
    case 'lease': {
      const l = r?.lease ?? 0n;
      d = l < o.lease ? -1 : l > o.lease ? 1 : 0;
      break;
    }
    default:
      return assertNever(o, 'compare operand');
  }
  switch (c.result) {
    case 'equal':
      return d === 0;
    case 'not-equal':
      return d !== 0;
    case 'greater':
      return d > 0;
    case 'less':
      return d < 0;
    default:
      return assertNever(c.result, 'compare result');
  }
}
