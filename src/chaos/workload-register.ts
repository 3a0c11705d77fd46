/**
 * A compare-and-set register per key (Jepsen's etcd "register", checked with Knossos there and
 * with src/check here): clients read, write and compare-and-set small values (0–4, so that
 * compare-and-sets often succeed) on a few keys at a time; each key retires after a bounded number
 * of operations so the linearizability search per key stays small.
 */
import { CHAOS_REGISTER_KEYS_AT_ONCE, CHAOS_REGISTER_OPS_PER_KEY } from '../core/limits.js';
import { checkRegister, type RegisterInput, type RegisterOutput } from './check-register.js';
import type { RecordedOp } from './history.js';
import { endRead, endWrite, KeyRotation, type CheckOutcome, type ClientContext, type Workload } from './workload.js';

const VALUES = ['0', '1', '2', '3', '4'];

export class RegisterWorkload implements Workload {
  readonly name = 'register';
  private readonly keys = new KeyRotation(CHAOS_REGISTER_OPS_PER_KEY, CHAOS_REGISTER_KEYS_AT_ONCE);

  async prepare(): Promise<void> {}

  async client(ctx: ClientContext): Promise<void> {
    const call = { deadlineMs: ctx.opTimeoutMs };
    const encoder = new TextEncoder();
    while (!ctx.signal.aborted) {
      await ctx.throttle();
      const key = `${ctx.keyPrefix}reg/${this.keys.next(ctx.random)}`;
      const roll = ctx.random.int(100);
      if (roll < 50) {
        const h = ctx.recorder.invoke<RegisterInput, RegisterOutput>(ctx.index, ctx.member, { type: 'read', key });
        try {
          const r = await ctx.conn.get(key, { ...call, serializable: ctx.reads === 'serializable' });
          h.ok({ value: r.value });
        } catch (e) {
          endRead(h, e);
        }
      } else if (roll < 75) {
        const value = ctx.random.pick(VALUES);
        const h = ctx.recorder.invoke<RegisterInput, RegisterOutput>(ctx.index, ctx.member, { type: 'write', key, value });
        try {
          await ctx.conn.put(encoder.encode(key), encoder.encode(value), call);
          h.ok({});
        } catch (e) {
          endWrite(h, e);
        }
      } else {
        const expected = ctx.random.pick(VALUES);
        const value = ctx.random.pick(VALUES);
        const h = ctx.recorder.invoke<RegisterInput, RegisterOutput>(ctx.index, ctx.member, { type: 'cas', key, expected, value });
        try {
          const r = await ctx.conn.cas(key, expected, value, call);
          h.ok({ ok: r.ok });
        } catch (e) {
          endWrite(h, e);
        }
      }
    }
  }

  async finish(): Promise<void> {}

  check(ops: readonly RecordedOp[]): CheckOutcome {
    return checkRegister(ops);
  }

  extra(): unknown {
    return null;
  }
}
