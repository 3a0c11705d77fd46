/**
 * Shared pieces of the recipes: waiting for keys to go away, and telling whether an ambiguous
 * write happened.
 */
import { ClientError, isClientError } from '../errors.js';
import type { BulwarkClient } from '../client.js';
import { toBytes, type Bytes } from '../kv.js';
import type { Session } from './session.js';

/** True when `e` is a failure after which the write may or may not have been applied. */
export function ambiguous(e: unknown): boolean {
  return isClientError(e) && e.mayHaveApplied;
}

/**
 * Resolves once `key` is deleted at a revision after `afterRevision` (the revision at which the
 * caller saw it exist). Rejects if the session is lost first or the signal fires.
 */
export async function waitDelete(client: BulwarkClient, key: Bytes, afterRevision: number, o: { session?: Session; signal?: AbortSignal } = {}): Promise<void> {
  const ac = new AbortController();
  const abort = (): void => ac.abort();
  o.signal?.addEventListener('abort', abort);
  let lost = false;
  void o.session?.done.then(() => {
    lost = true;
    ac.abort();
  });
  const w = client.watch(toBytes(key), { startRevision: afterRevision + 1, signal: ac.signal, noPut: true });
  try {
    for await (const item of w) {
      if (item.type === 'compacted') {
        // The history is gone; look at the key itself.
        const r = await client.get(key, { countOnly: true });
        if (r.count === 0) return;
        continue;
      }
      if (item.type === 'events' && item.events.some((e) => e.type === 1)) return;
    }
  } catch (e) {
    if (!(isClientError(e, 'closed') && ac.signal.aborted)) throw e;
  } finally {
    o.signal?.removeEventListener('abort', abort);
    w.close();
  }
  if (lost) throw new ClientError('lease-lost', 'the session ended while waiting');
  throw new ClientError('cancelled', 'cancelled while waiting');
}

/** How long a recipe keeps asking whether an ambiguous write happened before it gives up. */
const RESOLVE_TIMEOUT_MS = 60_000;

/**
 * Whether `marker` exists, asked until some member answers: after an ambiguous write, this answer
 * decides between "applied" and "not applied", and giving up early would leave the caller unable
 * to tell (a lost queue item, a double increment).
 */
export async function markerExists(client: BulwarkClient, marker: Bytes): Promise<boolean> {
  const r = await client.get(marker, { countOnly: true, timeoutMs: RESOLVE_TIMEOUT_MS });
  return r.count > 0;
}
