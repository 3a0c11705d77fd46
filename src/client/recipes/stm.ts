/**
 * Software transactional memory over Txn (etcd's concurrency STM, serializable snapshot
 * isolation). The function reads and writes through `tx`; reads are taken at one revision (the
 * first read's) and remembered with their mod revision; writes are buffered. Commit is one Txn
 * whose guard checks that nothing read changed (and nothing written changed since the snapshot); on
 * a conflict the function runs again on fresh reads.
 *
 * With a session, the commit also writes a marker key under the session's lease: if the answer to
 * the commit is lost in a failover, the marker says whether it was applied, so the function's
 * effect happens exactly once even against a server without exactly-once sessions (etcd).
 */
import { CLIENT_STM_ATTEMPTS_MAX } from '../../core/limits.js';
import type { CompareInit, RequestOpInit } from '../../api/proto/generated/etcdserverpb.js';
import type { BulwarkClient } from '../client.js';
import { ClientError } from '../errors.js';
import { text, toBytes, type Bytes } from '../kv.js';
import { Compare, Op } from '../txn.js';
import type { Session } from './session.js';
import { ambiguous, markerExists } from './wait.js';

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

export class StmTx {
  /** Revision all reads are taken at (0 until the first read). */
  private revision = 0;
  readonly reads = new Map<string, { key: Uint8Array; value: Uint8Array | undefined; modRevision: number }>();
  readonly writes = new Map<string, { key: Uint8Array; value: Uint8Array | undefined }>();

  constructor(private readonly client: BulwarkClient) {}

  /** The value of `key` as bytes, or undefined. Sees this transaction's own writes. */
  async getBytes(key: Bytes): Promise<Uint8Array | undefined> {
    const k = toBytes(key);
    const id = latin1(k);
    const w = this.writes.get(id);
    if (w !== undefined) return w.value;
    const seen = this.reads.get(id);
    if (seen !== undefined) return seen.value;
    const r = await this.client.get(k, this.revision === 0 ? {} : { revision: this.revision });
    if (this.revision === 0) this.revision = r.header?.revision ?? 0;
    const kv = r.kvs[0];
    this.reads.set(id, { key: k, value: kv?.value, modRevision: kv?.modRevision ?? 0 });
    return kv?.value;
  }

  async get(key: Bytes): Promise<string | undefined> {
    const v = await this.getBytes(key);
    return v === undefined ? undefined : text(v);
  }

  put(key: Bytes, value: Bytes): void {
    const k = toBytes(key);
    this.writes.set(latin1(k), { key: k, value: toBytes(value) });
  }

  delete(key: Bytes): void {
    const k = toBytes(key);
    this.writes.set(latin1(k), { key: k, value: undefined });
  }

  /** @internal The guard: every read unchanged; every written key unchanged since the snapshot. */
  compares(): CompareInit[] {
    const out: CompareInit[] = [];
    for (const r of this.reads.values()) out.push(Compare.modRevision(r.key, '=', r.modRevision));
    for (const [id, w] of this.writes) if (!this.reads.has(id) && this.revision > 0) out.push(Compare.modRevision(w.key, '<', this.revision + 1));
    return out;
  }

  /** @internal */
  ops(): RequestOpInit[] {
    return [...this.writes.values()].map((w) => (w.value === undefined ? Op.delete(w.key) : Op.put(w.key, w.value)));
  }
}

export interface StmOptions {
  /** Writes a commit marker under this session's lease, which resolves lost answers (see above). */
  readonly session?: Session;
  readonly attemptsMax?: number;
  readonly signal?: AbortSignal;
}

/** Runs `fn` as a transaction until it commits without conflict; returns what `fn` returned. */
export async function stm<T>(client: BulwarkClient, fn: (tx: StmTx) => Promise<T> | T, options: StmOptions = {}): Promise<T> {
  const attemptsMax = options.attemptsMax ?? CLIENT_STM_ATTEMPTS_MAX;
  for (let attempt = 1; attempt <= attemptsMax; attempt++) {
    if (options.signal?.aborted === true) throw new ClientError('cancelled', 'transaction cancelled');
    const tx = new StmTx(client);
    const result = await fn(tx);
    if (tx.writes.size === 0) return result;
    const ops = tx.ops();
    const session = options.session;
    const marker = session === undefined ? null : `__stm/${session.leaseId.toString(16)}/${client.newId()}`;
    if (marker !== null) ops.push(Op.put(marker, '', { lease: session!.leaseId }));
    try {
      const t = await client.commitTxn({ compare: tx.compares(), success: ops, failure: [] });
      if (t.succeeded) {
        if (marker !== null) await client.delete(marker, { idempotent: true }).catch(() => {});
        return result;
      }
    } catch (e) {
      if (!ambiguous(e) || marker === null) throw e;
      if (await markerExists(client, marker)) {
        await client.delete(marker, { idempotent: true }).catch(() => {});
        return result;
      }
      // Not applied: run again.
    }
  }
  throw new ClientError('recipe', `transaction did not commit after ${attemptsMax} attempts (too much contention)`);
}
