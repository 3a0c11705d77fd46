/**
 * A distributed counter: increments are STM transactions, exactly once even when a commit's
 * answer is lost (with a session, see stm.ts).
 */
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import type { Session } from './session.js';
import { stm } from './stm.js';

export class Counter {
  constructor(
    private readonly client: BulwarkClient,
    private readonly key: string,
    private readonly session?: Session,
  ) {}

  /** Adds `delta`; returns the new value. */
  increment(delta = 1): Promise<number> {
    return stm(
      this.client,
      async (tx) => {
        const next = parse(await tx.get(this.key)) + delta;
        tx.put(this.key, String(next));
        return next;
      },
      this.session === undefined ? {} : { session: this.session },
    );
  }

  async value(): Promise<number> {
    return parse(await this.client.getString(this.key));
  }
}

function parse(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new ClientError('recipe', `counter value "${v}" is not an integer`);
  return n;
}
