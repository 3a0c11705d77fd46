/**
 * Transactions: compares and operations, and a builder.
 *
 *   await client.txn()
 *     .if(Compare.modRevision('config', '=', rev))
 *     .then(Op.put('config', next))
 *     .else(Op.get('config'))
 *     .commit();
 */
import type { CompareInit, RequestOpInit, TxnRequestInit, TxnResponse } from '../api/proto/generated/etcdserverpb.js';
import { Compare_CompareResult, Compare_CompareTarget } from '../api/proto/generated/etcdserverpb.js';
import type { LeaseId } from '../core/ids.js';
import { deleteRequest, putRequest, rangeOf, rangeRequest, toBytes, type Bytes, type DeleteOptions, type GetOptions, type PutOptions, type RangeSpec } from './kv.js';
import type { CallOptions } from './call-runner.js';

type CommitOptions = CallOptions & { readonly idempotent?: boolean };

export type CompareOp = '=' | '!=' | '>' | '<';

const RESULTS: Record<CompareOp, number> = { '=': Compare_CompareResult.EQUAL, '!=': Compare_CompareResult.NOT_EQUAL, '>': Compare_CompareResult.GREATER, '<': Compare_CompareResult.LESS };

function compare(key: Bytes, target: number, op: CompareOp, union: CompareInit['targetUnion'], range: RangeSpec | undefined): CompareInit {
  const r = rangeOf(toBytes(key), range ?? {});
  return { key: r.key, target, result: RESULTS[op], targetUnion: union, rangeEnd: r.rangeEnd };
}

/** Compares of a transaction's guard. `range` applies the compare to every key of a range (etcd 3.3+). */
export const Compare = {
  value: (key: Bytes, op: CompareOp, value: Bytes, range?: RangeSpec): CompareInit => compare(key, Compare_CompareTarget.VALUE, op, { type: 'value', value: toBytes(value) }, range),
  /** The key's version: 0 when it does not exist. */
  version: (key: Bytes, op: CompareOp, version: number, range?: RangeSpec): CompareInit => compare(key, Compare_CompareTarget.VERSION, op, { type: 'version', value: version }, range),
  /** The revision that created the key: 0 when it does not exist. */
  createRevision: (key: Bytes, op: CompareOp, revision: number, range?: RangeSpec): CompareInit => compare(key, Compare_CompareTarget.CREATE, op, { type: 'createRevision', value: revision }, range),
  /** The revision of the key's last change. */
  modRevision: (key: Bytes, op: CompareOp, revision: number, range?: RangeSpec): CompareInit => compare(key, Compare_CompareTarget.MOD, op, { type: 'modRevision', value: revision }, range),
  lease: (key: Bytes, op: CompareOp, lease: LeaseId | bigint, range?: RangeSpec): CompareInit => compare(key, Compare_CompareTarget.LEASE, op, { type: 'lease', value: lease }, range),
};

/** Operations of a transaction's branches. */
export const Op = {
  get: (key: Bytes, o?: GetOptions): RequestOpInit => ({ request: { type: 'requestRange', value: rangeRequest(key, o) } }),
  put: (key: Bytes, value: Bytes, o?: PutOptions): RequestOpInit => ({ request: { type: 'requestPut', value: putRequest(key, value, o) } }),
  delete: (key: Bytes, o?: DeleteOptions): RequestOpInit => ({ request: { type: 'requestDeleteRange', value: deleteRequest(key, o) } }),
  txn: (compares: readonly CompareInit[], success: readonly RequestOpInit[], failure: readonly RequestOpInit[] = []): RequestOpInit => ({
    request: { type: 'requestTxn', value: { compare: compares, success, failure } },
  }),
};

/** True when the transaction may change state (it has a put or a delete in some branch). */
export function txnWrites(t: TxnRequestInit): boolean {
  const ops = [...(t.success ?? []), ...(t.failure ?? [])];
  return ops.some((o) => {
    const r = o.request;
    if (r === undefined) return false;
    return r.type === 'requestPut' || r.type === 'requestDeleteRange' || (r.type === 'requestTxn' && txnWrites(r.value));
  });
}

export class TxnBuilder {
  private readonly compares: CompareInit[] = [];
  private readonly success: RequestOpInit[] = [];
  private readonly failure: RequestOpInit[] = [];

  constructor(private readonly commitFn: (request: TxnRequestInit, options: CommitOptions | undefined) => Promise<TxnResponse>) {}

  if(...compares: CompareInit[]): this {
    this.compares.push(...compares);
    return this;
  }

  then(...ops: RequestOpInit[]): this {
    this.success.push(...ops);
    return this;
  }

  else(...ops: RequestOpInit[]): this {
    this.failure.push(...ops);
    return this;
  }

  request(): TxnRequestInit {
    return { compare: this.compares, success: this.success, failure: this.failure };
  }

  /** Commits; `idempotent: true` says repeating it is harmless (it may then be retried after an ambiguous failure). */
  commit(options?: CommitOptions): Promise<TxnResponse> {
    return this.commitFn(this.request(), options);
  }
}
