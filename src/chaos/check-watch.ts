/**
 * The watch checker (etcd's robustness suite calls these guarantees Ordered, Unique and Reliable).
 * Writers put unique values under a prefix; watchers watch the prefix from a start revision and,
 * when their stream breaks or stalls, resume on another member from the revision after the last
 * one they saw. At the end a fresh watch from the start revision gives the reference history.
 *
 * - watch-out-of-order: a watcher sees a revision lower than one it saw before;
 * - watch-duplicate: a watcher sees the same event twice (a resume that replays);
 * - watch-missed-event: an event of the reference, up to where the watcher got, it never saw;
 * - watch-phantom-event / watch-wrong-event: an event not in the reference, or different there;
 * - watch-incomplete: a watcher never caught up with the last write after the faults were healed;
 * - watch-lost-write: an acknowledged put is not in the reference at the revision it was given;
 * - failed-write-visible: the value of a put that certainly failed is in the reference.
 */
import { CHAOS_ANOMALIES_PER_TYPE_MAX } from '../core/limits.js';
import type { RecordedOp } from './history.js';
import { AnomalyList, type CheckOutcome } from './workload.js';

export interface WatchEvent {
  readonly revision: number;
  readonly key: string;
  readonly value: string;
  readonly type: 'put' | 'delete';
  /** The watch session (an operation id) that delivered it; -1 for the reference. */
  readonly session: number;
}

export interface WatchHistory {
  /** Watchers start after this revision. */
  readonly startRevision: number;
  /** The last revision written under the prefix, read after the faults were healed. */
  readonly lastRevision: number;
  readonly watchers: readonly { readonly client: number; readonly events: readonly WatchEvent[] }[];
  /** null when the reference watch could not be made. */
  readonly reference: readonly WatchEvent[] | null;
}

export type WatchInput = { readonly type: 'put'; readonly key: string; readonly value: string } | { readonly type: 'watch'; readonly fromRevision: number };
export type WatchOutput = { readonly revision: number } | { readonly events: number; readonly lastRevision: number };

const id = (e: WatchEvent): string => `${e.revision}/${e.key}`;

export function checkWatch(ops: readonly RecordedOp[], h: WatchHistory): CheckOutcome {
  const anomalies = new AnomalyList(CHAOS_ANOMALIES_PER_TYPE_MAX);
  const notes: string[] = [];
  const unknown: string[] = [];
  const putByValue = new Map<string, RecordedOp>();
  for (const op of ops) {
    const i = op.input as WatchInput;
    if (i.type === 'put') putByValue.set(i.value, op);
  }
  const writer = (e: WatchEvent): number[] => {
    const p = putByValue.get(e.value);
    return p === undefined ? [] : [p.id];
  };

  const ref = h.reference;
  const refById = new Map<string, WatchEvent>();
  if (ref === null) {
    unknown.push('no reference watch: reliability and lost writes were not checked');
  } else {
    for (let i = 0; i < ref.length; i++) {
      const e = ref[i]!;
      if (i > 0 && e.revision < ref[i - 1]!.revision) anomalies.add({ type: 'watch-out-of-order', key: e.key, message: `the reference watch went back from revision ${ref[i - 1]!.revision} to ${e.revision}`, opIds: writer(e), detail: null });
      refById.set(id(e), e);
    }
    const refByValue = new Map(ref.map((e) => [e.value, e]));
    for (const op of ops) {
      const i = op.input as WatchInput;
      if (i.type !== 'put') continue;
      const e = refByValue.get(i.value);
      if (op.outcome === 'ok') {
        const rev = (op.output as { revision: number }).revision;
        if (e === undefined) anomalies.add({ type: 'watch-lost-write', key: i.key, message: `put of ${i.value} to ${i.key} (op ${op.id}) was acknowledged at revision ${rev} and is not in the watch history`, opIds: [op.id], detail: null });
        else if (e.revision !== rev || e.key !== i.key) anomalies.add({ type: 'watch-lost-write', key: i.key, message: `put of ${i.value} (op ${op.id}) was acknowledged at revision ${rev}; the watch history has it at ${e.revision} on ${e.key}`, opIds: [op.id], detail: null });
      } else if (op.outcome === 'fail' && e !== undefined) {
        anomalies.add({ type: 'failed-write-visible', key: i.key, message: `put of ${i.value} (op ${op.id}) certainly failed, yet the watch history has it at revision ${e.revision}`, opIds: [op.id], detail: null });
      }
    }
  }

  for (const w of h.watchers) {
    const seen = new Set<string>();
    let last = 0;
    let reach = h.startRevision;
    for (const e of w.events) {
      if (e.revision < last) anomalies.add({ type: 'watch-out-of-order', key: e.key, message: `watcher ${w.client} saw revision ${e.revision} after ${last}`, opIds: [e.session, ...writer(e)], detail: null });
      if (seen.has(id(e))) anomalies.add({ type: 'watch-duplicate', key: e.key, message: `watcher ${w.client} saw the event of revision ${e.revision} on ${e.key} twice`, opIds: [e.session, ...writer(e)], detail: null });
      seen.add(id(e));
      last = Math.max(last, e.revision);
      reach = Math.max(reach, e.revision);
      if (ref !== null) {
        const r = refById.get(id(e));
        if (r === undefined) anomalies.add({ type: 'watch-phantom-event', key: e.key, message: `watcher ${w.client} saw ${e.type} ${e.key}=${e.value} at revision ${e.revision}, which the reference watch does not have`, opIds: [e.session], detail: null });
        else if (r.value !== e.value || r.type !== e.type) anomalies.add({ type: 'watch-wrong-event', key: e.key, message: `watcher ${w.client} saw ${e.key}=${e.value} at revision ${e.revision}; the reference has ${r.key}=${r.value}`, opIds: [e.session, ...writer(r)], detail: null });
      }
    }
    if (ref !== null) {
      for (const r of ref) {
        if (r.revision > reach) break;
        if (r.revision <= h.startRevision || seen.has(id(r))) continue;
        // The session that was open when it should have arrived: the first one with a later event.
        const after = w.events.find((e) => e.revision > r.revision);
        anomalies.add({ type: 'watch-missed-event', key: r.key, message: `watcher ${w.client} never saw ${r.key}=${r.value} at revision ${r.revision}, though it saw later revisions`, opIds: [...(after === undefined ? [] : [after.session]), ...writer(r)], detail: null });
      }
    }
    if (reach < h.lastRevision) {
      anomalies.add({ type: 'watch-incomplete', key: null, message: `watcher ${w.client} got to revision ${reach} of ${h.lastRevision} and did not catch up after the faults were healed`, opIds: w.events.length === 0 ? [] : [w.events[w.events.length - 1]!.session], detail: null });
    }
  }
  const delivered = h.watchers.reduce((n, w) => n + w.events.length, 0);
  return {
    anomalies: anomalies.list,
    notes: [...notes, ...anomalies.notes()],
    unknown,
    stats: { watchers: h.watchers.length, eventsDelivered: delivered, referenceEvents: ref?.length ?? 0, startRevision: h.startRevision, lastRevision: h.lastRevision },
  };
}
