/**
 * A grow-only set: an add puts one key per element under the set's prefix (a blind write, so
 * every acknowledged add must survive whatever the faults), a read lists the prefix. Sets are
 * rotated after a bounded number of elements so reads stay small on long runs.
 */
import { bytes } from '../bench/etcd-client.js';
import { CHAOS_SET_ELEMENTS_PER_SET } from '../core/limits.js';
import { checkSet, type SetInput, type SetOutput } from './check-set.js';
import type { RecordedOp } from './history.js';
import { endRead, endWrite, FINAL_CLIENT, type CheckOutcome, type ClientContext, type FinalContext, type Workload } from './workload.js';

export class SetWorkload implements Workload {
  readonly name = 'set';
  private nextElement = 0;
  private readonly sets = new Set<string>();

  async prepare(): Promise<void> {}

  private setOf(prefix: string, element: number): string {
    return `${prefix}set/${Math.floor(element / CHAOS_SET_ELEMENTS_PER_SET)}/`;
  }

  async client(ctx: ClientContext): Promise<void> {
    const call = { deadlineMs: ctx.opTimeoutMs };
    const one = bytes('1');
    while (!ctx.signal.aborted) {
      await ctx.throttle();
      if (ctx.random.int(100) < 20) {
        const set = this.setOf(ctx.keyPrefix, Math.max(0, this.nextElement - 1));
        const h = ctx.recorder.invoke<SetInput, SetOutput>(ctx.index, ctx.member, { type: 'read', set, final: false });
        try {
          const r = await ctx.conn.getPrefix(set, { ...call, keysOnly: true, serializable: ctx.reads === 'serializable' });
          h.ok({ elements: elementsOf(set, r.kvs.map((kv) => kv.key)) });
        } catch (e) {
          endRead(h, e);
        }
        continue;
      }
      const element = this.nextElement++;
      const set = this.setOf(ctx.keyPrefix, element);
      this.sets.add(set);
      const h = ctx.recorder.invoke<SetInput, SetOutput>(ctx.index, ctx.member, { type: 'add', set, element });
      try {
        await ctx.conn.put(bytes(`${set}${element}`), one, call);
        h.ok({});
      } catch (e) {
        endWrite(h, e);
      }
    }
  }

  async finish(ctx: FinalContext): Promise<void> {
    for (const set of [...this.sets].sort()) {
      if (ctx.signal.aborted) return;
      const { member, conn } = await ctx.healthyConnection();
      const h = ctx.recorder.invoke<SetInput, SetOutput>(FINAL_CLIENT, member, { type: 'read', set, final: true });
      try {
        const r = await conn.getPrefix(set, { deadlineMs: ctx.opTimeoutMs, keysOnly: true });
        h.ok({ elements: elementsOf(set, r.kvs.map((kv) => kv.key)) });
      } catch (e) {
        endRead(h, e);
      }
    }
  }

  check(ops: readonly RecordedOp[]): CheckOutcome {
    return checkSet(ops);
  }

  extra(): unknown {
    return null;
  }
}

function elementsOf(set: string, keys: readonly Uint8Array[]): number[] {
  const decoder = new TextDecoder();
  return keys.map((k) => Number(decoder.decode(k).slice(set.length))).sort((a, b) => a - b);
}
