/**
 * The list-append checker. Each key holds a list; appends add unique elements; reads return the
 * whole list. In a linearizable store every read of a key is a prefix of the final list, and:
 *
 * - lost-append: an acknowledged append is missing from the final read;
 * - stale-read: a read misses an append acknowledged before the read was sent;
 * - nonmonotonic-read: a read is shorter than one that completed before it was sent;
 * - reordered-append: an append acknowledged before another was sent comes after it in the list;
 * - incompatible-order: two reads disagree on the order (neither is a prefix of the other);
 * - duplicate-element: an element appears twice in one read;
 * - phantom-element: a read shows an element nobody appended, or one whose append certainly failed.
 *
 * Appends whose outcome is unknown may or may not appear; the checker counts those that did.
 */
import { CHAOS_ANOMALIES_PER_TYPE_MAX } from '../core/limits.js';
import type { RecordedOp } from './history.js';
import { AnomalyList, type CheckOutcome } from './workload.js';

export type ListInput = { readonly type: 'append'; readonly key: string; readonly element: number } | { readonly type: 'read'; readonly key: string; readonly final: boolean };
export type ListOutput = { readonly list: readonly number[] } | Record<string, never>;

type Read = RecordedOp<Extract<ListInput, { type: 'read' }>, { readonly list: readonly number[] }>;
type Append = RecordedOp<Extract<ListInput, { type: 'append' }>, ListOutput>;

const isPrefix = (a: readonly number[], b: readonly number[]): boolean => a.length <= b.length && a.every((x, i) => b[i] === x);

export function checkListAppend(ops: readonly RecordedOp[]): CheckOutcome {
  const byKey = new Map<string, { reads: Read[]; appends: Append[] }>();
  for (const op of ops) {
    const i = op.input as ListInput;
    if (i.type !== 'append' && i.type !== 'read') continue;
    let k = byKey.get(i.key);
    if (k === undefined) byKey.set(i.key, (k = { reads: [], appends: [] }));
    if (i.type === 'read') {
      if (op.outcome === 'ok') k.reads.push(op as Read);
    } else {
      k.appends.push(op as Append);
    }
  }
  const anomalies = new AnomalyList(CHAOS_ANOMALIES_PER_TYPE_MAX);
  const notes: string[] = [];
  let indeterminateSeen = 0;
  let indeterminateMissing = 0;
  let keysWithoutFinal = 0;
  for (const [key, { reads, appends }] of [...byKey].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const appendOf = new Map<number, Append>();
    for (const a of appends) appendOf.set(a.input.element, a);
    // The longest read: every read must be a prefix of it.
    let longest: Read | null = null;
    for (const r of reads) if (longest === null || r.output!.list.length > longest.output!.list.length) longest = r;
    const finals = reads.filter((r) => r.input.final);
    const final = finals.length > 0 ? finals[finals.length - 1]! : null;
    if (final === null && appends.some((a) => a.outcome === 'ok')) keysWithoutFinal++;

    for (const r of reads) {
      const list = r.output!.list;
      const seen = new Set<number>();
      for (const e of list) {
        if (seen.has(e)) anomalies.add({ type: 'duplicate-element', key, message: `key ${key}: read ${r.id} shows element ${e} twice`, opIds: [r.id], detail: null });
        seen.add(e);
        const a = appendOf.get(e);
        if (a === undefined) anomalies.add({ type: 'phantom-element', key, message: `key ${key}: read ${r.id} shows element ${e}, which nobody appended`, opIds: [r.id], detail: null });
        else if (a.outcome === 'fail') anomalies.add({ type: 'phantom-element', key, message: `key ${key}: read ${r.id} shows element ${e}, whose append (${a.id}) certainly failed`, opIds: [a.id, r.id], detail: null });
      }
      if (longest !== null && !isPrefix(list, longest.output!.list)) {
        anomalies.add({ type: 'incompatible-order', key, message: `key ${key}: read ${r.id} [${list.join(' ')}] and read ${longest.id} [${longest.output!.list.join(' ')}] disagree on the order of the list`, opIds: [r.id, longest.id], detail: null });
      }
    }

    const okAppends = appends.filter((a) => a.outcome === 'ok');
    for (const a of okAppends) {
      if (final !== null && !final.output!.list.includes(a.input.element)) {
        anomalies.add({ type: 'lost-append', key, message: `key ${key}: append of ${a.input.element} (op ${a.id}) was acknowledged, and the final read ${final.id} does not have it`, opIds: [a.id, final.id], detail: null });
      }
      for (const r of reads) {
        // The final read missing it is a lost append, reported above.
        if (r !== final && r.callMs > a.returnMs && !r.output!.list.includes(a.input.element)) {
          anomalies.add({ type: 'stale-read', key, message: `key ${key}: read ${r.id} misses ${a.input.element}, whose append (op ${a.id}) was acknowledged before the read was sent`, opIds: [a.id, r.id], detail: null });
        }
      }
    }
    for (const r1 of reads) {
      for (const r2 of reads) {
        if (r1.returnMs < r2.callMs && r2.output!.list.length < r1.output!.list.length) {
          anomalies.add({ type: 'nonmonotonic-read', key, message: `key ${key}: read ${r2.id} (${r2.output!.list.length} elements) was sent after read ${r1.id} (${r1.output!.list.length} elements) returned`, opIds: [r1.id, r2.id], detail: null });
        }
      }
    }
    if (longest !== null) {
      const position = new Map<number, number>();
      longest.output!.list.forEach((e, i) => position.set(e, i));
      for (const a of okAppends) {
        for (const b of okAppends) {
          if (a === b || a.returnMs >= b.callMs) continue;
          const pa = position.get(a.input.element);
          const pb = position.get(b.input.element);
          if (pa !== undefined && pb !== undefined && pb < pa) {
            anomalies.add({ type: 'reordered-append', key, message: `key ${key}: ${a.input.element} (op ${a.id}) was acknowledged before ${b.input.element} (op ${b.id}) was sent, but comes after it`, opIds: [a.id, b.id, longest.id], detail: null });
          }
        }
      }
    }
    const finalList = final?.output!.list ?? longest?.output!.list ?? [];
    for (const a of appends) {
      if (a.outcome !== 'info') continue;
      if (finalList.includes(a.input.element)) indeterminateSeen++;
      else indeterminateMissing++;
    }
  }
  if (keysWithoutFinal > 0) notes.push(`${keysWithoutFinal} key(s) had no successful final read: lost appends could not be checked there`);
  if (indeterminateSeen + indeterminateMissing > 0) notes.push(`appends in doubt: ${indeterminateSeen} took effect, ${indeterminateMissing} did not`);
  return {
    anomalies: anomalies.list,
    notes: [...notes, ...anomalies.notes()],
    unknown: [],
    stats: { keys: byKey.size, appendsInDoubtApplied: indeterminateSeen, appendsInDoubtNotApplied: indeterminateMissing },
  };
}
