/**
 * An append-only list per key. Each append is a read-modify-write of the key's one value: read the
 * list and its mod revision, then a transaction "if mod_revision(key) is still r, put list + e",
 * retried with the value the failed transaction returns (as Jepsen's etcd append workload guards
 * its transactions with revision compares).
 *
 * Why one value per key rather than a key per element under a prefix: a key per element is a
 * blind write, and no interleaving of blind writes can lose an element or reorder two, so it would
 * only test durability (the set workload does that). A read-modify-write fails visibly if the
 * store lets two appends both build on the same version (a lost update), serves the read it is
 * built on from a stale member, or applies a transaction whose compare no longer holds.
 */
import { errorText } from '../bench/etcd-client.js';
import { CHAOS_APPEND_TRIES_MAX, CHAOS_LIST_KEYS_AT_ONCE, CHAOS_LIST_OPS_PER_KEY } from '../core/limits.js';
import { checkListAppend, type ListInput, type ListOutput } from './check-list-append.js';
import type { RecordedOp } from './history.js';
import { endRead, endWrite, FINAL_CLIENT, KeyRotation, type CheckOutcome, type ClientContext, type FinalContext, type Workload } from './workload.js';

export function parseList(value: string | null): number[] {
  if (value === null || value === '') return [];
  return value.split(' ').map(Number);
}

export class ListAppendWorkload implements Workload {
  readonly name = 'list-append';
  private readonly keys = new KeyRotation(CHAOS_LIST_OPS_PER_KEY, CHAOS_LIST_KEYS_AT_ONCE);
  private nextElement = 1;
  private readonly touched = new Set<string>();

  async prepare(): Promise<void> {}

  async client(ctx: ClientContext): Promise<void> {
    const call = { deadlineMs: ctx.opTimeoutMs };
    while (!ctx.signal.aborted) {
      await ctx.throttle();
      const key = `${ctx.keyPrefix}list/${this.keys.next(ctx.random)}`;
      this.touched.add(key);
      if (ctx.random.int(2) === 0) {
        const h = ctx.recorder.invoke<ListInput, ListOutput>(ctx.index, ctx.member, { type: 'read', key, final: false });
        try {
          const r = await ctx.conn.get(key, { ...call, serializable: ctx.reads === 'serializable' });
          h.ok({ list: parseList(r.value) });
        } catch (e) {
          endRead(h, e);
        }
        continue;
      }
      const element = this.nextElement++;
      const h = ctx.recorder.invoke<ListInput, ListOutput>(ctx.index, ctx.member, { type: 'append', key, element });
      let current;
      try {
        current = await ctx.conn.get(key, { ...call, serializable: ctx.reads === 'serializable' });
      } catch (e) {
        h.fail(`reading before the append: ${errorText(e)}`); // nothing was written
        continue;
      }
      let done = false;
      for (let attempt = 0; attempt < CHAOS_APPEND_TRIES_MAX && !done; attempt++) {
        const next = [...parseList(current.value), element].join(' ');
        try {
          const r = await ctx.conn.putIfModRevision(key, current.modRevision, next, call);
          if (r.ok) {
            h.ok({});
            done = true;
          } else {
            current = r.current;
          }
        } catch (e) {
          endWrite(h, e);
          done = true;
        }
      }
      // Every attempt's compare failed, so none of them wrote anything.
      if (!done) h.fail(`gave up after ${CHAOS_APPEND_TRIES_MAX} conflicting attempts`);
    }
  }

  async finish(ctx: FinalContext): Promise<void> {
    for (const key of [...this.touched].sort()) {
      if (ctx.signal.aborted) return;
      const { member, conn } = await ctx.healthyConnection();
      const h = ctx.recorder.invoke<ListInput, ListOutput>(FINAL_CLIENT, member, { type: 'read', key, final: true });
      try {
        const r = await conn.get(key, { deadlineMs: ctx.opTimeoutMs });
        h.ok({ list: parseList(r.value) });
      } catch (e) {
        endRead(h, e);
      }
    }
  }

  check(ops: readonly RecordedOp[]): CheckOutcome {
    return checkListAppend(ops);
  }

  extra(): unknown {
    return null;
  }
}
