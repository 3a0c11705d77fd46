/**
 * The lock checker, and the fenced resource the lock protects. A lock held through a lease can be
 * lost without its holder knowing (a pause, a partition, the lease expiring), so mutual exclusion
 * alone cannot be promised by any lock service (Jepsen, etcd 3.4.3). What the store must get
 * right is the fencing token: the lock key's create revision, which the resource compares against
 * the highest it has seen, refusing anything lower. The checks:
 *
 * - lock-duplicate-token: two acquisitions got the same token;
 * - lock-token-order: an acquisition that completed before another was requested has the larger token;
 * - lock-granted-without-key: Lock returned, the lease was alive, and the lock key did not exist
 *   (etcd#11456: a lock granted after its lease had gone);
 * - fencing-violated: the resource accepted a token lower than one it accepted before (a bug of
 *   the resource itself, checked so its log can be trusted).
 *
 * Overlapping holds (two clients believing they hold the lock at once) are counted as a note, with
 * how many stale uses fencing refused: that is why the fence is there.
 */
import { CHAOS_ANOMALIES_PER_TYPE_MAX } from '../core/limits.js';
import type { RecordedOp } from './history.js';
import { AnomalyList, type CheckOutcome } from './workload.js';

export type LockInput =
  | { readonly type: 'acquire'; readonly lock: string }
  | { readonly type: 'use'; readonly lock: string; readonly token: number }
  | { readonly type: 'release'; readonly lock: string; readonly key: string };

export type LockOutput =
  /** token null: the lock key was gone when read right after the grant; leaseAlive tells whether the lease still lived. */
  | { readonly token: number | null; readonly key: string; readonly lease: string; readonly leaseAlive: boolean }
  | { readonly accepted: boolean; readonly highest: number }
  | Record<string, never>;

export interface ResourceAccess {
  readonly lock: string;
  readonly atMs: number;
  readonly client: number;
  readonly token: number;
  readonly accepted: boolean;
}

/** The protected resource: refuses a token lower than the highest it has accepted. */
export class FencedResource {
  private highest = 0;
  readonly log: ResourceAccess[] = [];

  constructor(readonly lock: string) {}

  access(o: { readonly client: number; readonly token: number; readonly atMs: number }): { accepted: boolean; highest: number } {
    const accepted = o.token >= this.highest;
    if (accepted) this.highest = o.token;
    this.log.push({ lock: this.lock, atMs: o.atMs, client: o.client, token: o.token, accepted });
    return { accepted, highest: this.highest };
  }
}

type Acquire = RecordedOp<Extract<LockInput, { type: 'acquire' }>, { token: number | null; key: string; lease: string; leaseAlive: boolean }>;

export function checkLock(ops: readonly RecordedOp[], log: readonly ResourceAccess[]): CheckOutcome {
  const anomalies = new AnomalyList(CHAOS_ANOMALIES_PER_TYPE_MAX);
  const notes: string[] = [];
  const acquires = ops.filter((o): o is Acquire => (o.input as LockInput).type === 'acquire' && o.outcome === 'ok');
  const withToken = acquires.filter((a) => a.output!.token !== null).sort((a, b) => a.output!.token! - b.output!.token!);
  for (let i = 1; i < withToken.length; i++) {
    const a = withToken[i - 1]!;
    const b = withToken[i]!;
    if (a.output!.token === b.output!.token) {
      anomalies.add({ type: 'lock-duplicate-token', key: a.input.lock, message: `acquisitions ${a.id} and ${b.id} both got token ${a.output!.token}`, opIds: [a.id, b.id], detail: null });
    }
  }
  const byReturn = [...withToken].sort((a, b) => a.returnMs - b.returnMs);
  for (const b of withToken) {
    // The highest token among acquisitions completed before b was requested.
    let best: Acquire | null = null;
    for (const a of byReturn) {
      if (a.returnMs >= b.callMs) break;
      if (a !== b && a.input.lock === b.input.lock && (best === null || a.output!.token! > best.output!.token!)) best = a;
    }
    if (best !== null && b.output!.token! <= best.output!.token!) {
      anomalies.add({ type: 'lock-token-order', key: b.input.lock, message: `acquisition ${best.id} (token ${best.output!.token}) completed before ${b.id} was requested, yet ${b.id} got token ${b.output!.token}`, opIds: [best.id, b.id], detail: null });
    }
  }
  let lostBeforeUse = 0;
  for (const a of acquires) {
    if (a.output!.token !== null) continue;
    if (a.output!.leaseAlive) anomalies.add({ type: 'lock-granted-without-key', key: a.input.lock, message: `Lock returned ${a.output!.key} (op ${a.id}) with its lease alive, but the key did not exist`, opIds: [a.id], detail: null });
    else lostBeforeUse++;
  }
  const highest = new Map<string, number>();
  let rejected = 0;
  for (const e of log) {
    if (!e.accepted) {
      rejected++;
      continue;
    }
    const h = highest.get(e.lock) ?? -Infinity;
    if (e.token < h) anomalies.add({ type: 'fencing-violated', key: e.lock, message: `the resource of ${e.lock} accepted token ${e.token} after ${h}`, opIds: [], detail: null });
    highest.set(e.lock, Math.max(h, e.token));
  }
  // Holds: from the grant to the release request (or the last use).
  const holds = acquires.map((a) => {
    const release = ops.find((o) => o.client === a.client && o.callMs > a.returnMs && (o.input as LockInput).type === 'release');
    return { a, from: a.returnMs, to: release?.callMs ?? a.returnMs };
  });
  let overlaps = 0;
  for (let i = 0; i < holds.length; i++) {
    for (let j = i + 1; j < holds.length; j++) {
      const x = holds[i]!;
      const y = holds[j]!;
      if (x.a.input.lock === y.a.input.lock && x.a.client !== y.a.client && x.from < y.to && y.from < x.to) overlaps++;
    }
  }
  if (overlaps > 0) notes.push(`${overlaps} pair(s) of clients believed they held the same lock at once (a lease-based lock cannot prevent it; fencing refused ${rejected} stale use(s))`);
  else if (rejected > 0) notes.push(`fencing refused ${rejected} stale use(s)`);
  if (lostBeforeUse > 0) notes.push(`${lostBeforeUse} lock(s) were lost (lease expired) before first use`);
  // Nothing checked is not the same as nothing wrong.
  const attempts = ops.filter((o) => (o.input as LockInput).type === 'acquire').length;
  const unknown = attempts > 0 && acquires.length === 0 ? [`none of ${attempts} lock attempts succeeded, so nothing was checked`] : [];
  return { anomalies: anomalies.list, notes: [...notes, ...anomalies.notes()], unknown, stats: { acquisitions: acquires.length, uses: log.length, fencedOff: rejected, overlappingHolds: overlaps } };
}
