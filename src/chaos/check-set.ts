/**
 * The set checker. Adds put unique elements into a set (one key per element under the set's
 * prefix, never deleted); reads list the whole set. Then:
 *
 * - lost-add: an acknowledged add is missing from the final read;
 * - stale-read: a read misses an add acknowledged before the read was sent;
 * - element-vanished: a read has an element and a read sent after it returned does not (elements
 *   are never removed, so a store that shows one and then not has gone back in time);
 * - phantom-element: a read shows an element never added, or one whose add certainly failed.
 */
import { CHAOS_ANOMALIES_PER_TYPE_MAX } from '../core/limits.js';
import type { RecordedOp } from './history.js';
import { AnomalyList, type CheckOutcome } from './workload.js';

export type SetInput = { readonly type: 'add'; readonly set: string; readonly element: number } | { readonly type: 'read'; readonly set: string; readonly final: boolean };
export type SetOutput = { readonly elements: readonly number[] } | Record<string, never>;

type Read = RecordedOp<Extract<SetInput, { type: 'read' }>, { readonly elements: readonly number[] }>;
type Add = RecordedOp<Extract<SetInput, { type: 'add' }>, SetOutput>;

export function checkSet(ops: readonly RecordedOp[]): CheckOutcome {
  const bySet = new Map<string, { reads: Read[]; adds: Add[] }>();
  for (const op of ops) {
    const i = op.input as SetInput;
    if (i.type !== 'add' && i.type !== 'read') continue;
    let s = bySet.get(i.set);
    if (s === undefined) bySet.set(i.set, (s = { reads: [], adds: [] }));
    if (i.type === 'read') {
      if (op.outcome === 'ok') s.reads.push(op as Read);
    } else {
      s.adds.push(op as Add);
    }
  }
  const anomalies = new AnomalyList(CHAOS_ANOMALIES_PER_TYPE_MAX);
  const notes: string[] = [];
  let inDoubtApplied = 0;
  let inDoubtNotApplied = 0;
  let acknowledged = 0;
  for (const [set, { reads, adds }] of [...bySet].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const addOf = new Map<number, Add>();
    for (const a of adds) addOf.set(a.input.element, a);
    const sets = new Map<Read, Set<number>>(reads.map((r) => [r, new Set(r.output!.elements)]));
    const finals = reads.filter((r) => r.input.final);
    const final = finals.length > 0 ? finals[finals.length - 1]! : null;
    if (final === null && adds.some((a) => a.outcome === 'ok')) notes.push(`set ${set}: no successful final read, so lost adds could not be checked`);

    for (const r of reads) {
      for (const e of r.output!.elements) {
        const a = addOf.get(e);
        if (a === undefined) anomalies.add({ type: 'phantom-element', key: set, message: `set ${set}: read ${r.id} shows ${e}, which nobody added`, opIds: [r.id], detail: null });
        else if (a.outcome === 'fail') anomalies.add({ type: 'phantom-element', key: set, message: `set ${set}: read ${r.id} shows ${e}, whose add (op ${a.id}) certainly failed`, opIds: [a.id, r.id], detail: null });
      }
    }
    // Reads in call order; for each element, the last read (by return) that had it before a later one missed it.
    const byCall = [...reads].sort((x, y) => x.callMs - y.callMs);
    for (const a of adds) {
      if (a.outcome !== 'ok') continue;
      acknowledged++;
      const e = a.input.element;
      if (final !== null && !sets.get(final)!.has(e)) {
        anomalies.add({ type: 'lost-add', key: set, message: `set ${set}: add of ${e} (op ${a.id}) was acknowledged and the final read ${final.id} does not have it`, opIds: [a.id, final.id], detail: null });
      }
      for (const r of byCall) {
        if (r !== final && r.callMs > a.returnMs && !sets.get(r)!.has(e)) {
          anomalies.add({ type: 'stale-read', key: set, message: `set ${set}: read ${r.id} misses ${e}, whose add (op ${a.id}) was acknowledged before the read was sent`, opIds: [a.id, r.id], detail: null });
          break;
        }
      }
    }
    // element-vanished: per element, the earliest-returning read that has it, then any read sent after that without it.
    const firstSeen = new Map<number, Read>();
    for (const r of [...reads].sort((x, y) => x.returnMs - y.returnMs)) for (const e of r.output!.elements) if (!firstSeen.has(e)) firstSeen.set(e, r);
    for (const [e, r1] of firstSeen) {
      for (const r2 of byCall) {
        if (r2.callMs > r1.returnMs && !sets.get(r2)!.has(e)) {
          anomalies.add({ type: 'element-vanished', key: set, message: `set ${set}: read ${r1.id} shows ${e} and read ${r2.id}, sent after it returned, does not`, opIds: [r1.id, r2.id], detail: null });
          break;
        }
      }
    }
    const finalSet = final === null ? null : sets.get(final)!;
    for (const a of adds) {
      if (a.outcome !== 'info' || finalSet === null) continue;
      if (finalSet.has(a.input.element)) inDoubtApplied++;
      else inDoubtNotApplied++;
    }
  }
  if (inDoubtApplied + inDoubtNotApplied > 0) notes.push(`adds in doubt: ${inDoubtApplied} took effect, ${inDoubtNotApplied} did not`);
  return { anomalies: anomalies.list, notes: [...notes, ...anomalies.notes()], unknown: [], stats: { sets: bySet.size, acknowledgedAdds: acknowledged, addsInDoubtApplied: inDoubtApplied, addsInDoubtNotApplied: inDoubtNotApplied } };
}
