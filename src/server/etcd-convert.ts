/**
 * Between etcd's protobuf messages and the store's operations and results. Requests are checked
 * as etcd checks them (unknown sort options, compare targets); bytes are copied out of the request
 * buffer when the store keeps them, so a stored key does not pin a whole socket chunk in memory.
 */
import { leaseId, type LeaseId } from '../core/ids.js';
import type { Compare, CompareOperand, CompareResult, DeleteRangeOp, PutOp, RangeOp, RequestOp, SortOrder, SortTarget, TxnOp } from '../kv/command.js';
import { KvError } from '../kv/errors.js';
import type { DeleteRangeResult, PutResult, RangeResult, ResponseOp, TxnResult } from '../kv/results.js';
import type {
  Compare as PbCompare,
  DeleteRangeRequest,
  DeleteRangeResponseInit,
  PutRequest,
  PutResponseInit,
  RangeRequest,
  RangeResponseInit,
  RequestOp as PbRequestOp,
  ResponseHeaderInit,
  ResponseOpInit,
  TxnRequest,
  TxnResponseInit,
} from '../api/proto/generated/etcdserverpb.js';
import { ServerError } from './errors.js';

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'create', 'mod', 'value'];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'greater', 'less', 'not-equal'];

export function rangeFromPb(r: RangeRequest): RangeOp {
  const sortOrder = SORT_ORDERS[r.sortOrder];
  const sortTarget = SORT_TARGETS[r.sortTarget];
  if (sortOrder === undefined || sortTarget === undefined) throw new KvError('invalid-sort-option');
  return {
    type: 'range',
    key: r.key,
    rangeEnd: r.rangeEnd,
    limit: r.limit,
    revision: r.revision,
    sortOrder,
    sortTarget,
    serializable: r.serializable,
    keysOnly: r.keysOnly,
    countOnly: r.countOnly,
    minModRevision: r.minModRevision,
    maxModRevision: r.maxModRevision,
    minCreateRevision: r.minCreateRevision,
    maxCreateRevision: r.maxCreateRevision,
  };
}

export function putFromPb(r: PutRequest): PutOp {
  return {
    type: 'put',
    key: r.key.slice(),
    value: r.value.slice(),
    lease: leaseId(r.lease) as LeaseId,
    prevKv: r.prevKv,
    ignoreValue: r.ignoreValue,
    ignoreLease: r.ignoreLease,
  };
}

export function deleteFromPb(r: DeleteRangeRequest): DeleteRangeOp {
  return { type: 'delete-range', key: r.key, rangeEnd: r.rangeEnd, prevKv: r.prevKv };
}

export function txnFromPb(r: TxnRequest): TxnOp {
  return { type: 'txn', compare: r.compare.map(compareFromPb), success: r.success.map(requestOpFromPb), failure: r.failure.map(requestOpFromPb) };
}

function compareFromPb(c: PbCompare): Compare {
  const result = COMPARE_RESULTS[c.result];
  if (result === undefined) throw new ServerError('invalid-argument', `unknown compare result ${c.result}`);
  const u = c.targetUnion;
  let operand: CompareOperand;
  switch (c.target) {
    case 0:
      operand = { type: 'version', version: u?.type === 'version' ? u.value : 0 };
      break;
    case 1:
      operand = { type: 'create', revision: u?.type === 'createRevision' ? u.value : 0 };
      break;
    case 2:
      operand = { type: 'mod', revision: u?.type === 'modRevision' ? u.value : 0 };
      break;
    case 3:
      operand = { type: 'value', value: u?.type === 'value' ? u.value.slice() : new Uint8Array(0) };
      break;
    case 4:
      operand = { type: 'lease', lease: leaseId(u?.type === 'lease' ? u.value : 0n) };
      break;
    default:
      throw new ServerError('invalid-argument', `unknown compare target ${c.target}`);
  }
  return { key: c.key.slice(), rangeEnd: c.rangeEnd.slice(), result, operand };
}

function requestOpFromPb(o: PbRequestOp): RequestOp {
  const r = o.request;
  if (r === undefined) throw new ServerError('invalid-argument', 'a txn operation carries no request');
  switch (r.type) {
    case 'requestRange':
      return rangeFromPb(r.value);
    case 'requestPut':
      return putFromPb(r.value);
    case 'requestDeleteRange':
      return deleteFromPb(r.value);
    case 'requestTxn':
      return txnFromPb(r.value);
  }
}

export function rangeToPb(header: ResponseHeaderInit, r: RangeResult): RangeResponseInit {
  return { header, kvs: r.kvs, more: r.more, count: r.count };
}

export function putToPb(header: ResponseHeaderInit, r: PutResult): PutResponseInit {
  return r.prevKv === null ? { header } : { header, prevKv: r.prevKv };
}

export function deleteToPb(header: ResponseHeaderInit, r: DeleteRangeResult): DeleteRangeResponseInit {
  return { header, deleted: r.deleted, prevKvs: r.prevKvs };
}

export function txnToPb(header: ResponseHeaderInit, r: TxnResult): TxnResponseInit {
  return { header, succeeded: r.succeeded, responses: r.responses.map((x) => responseOpToPb(header, x)) };
}

function responseOpToPb(header: ResponseHeaderInit, r: ResponseOp): ResponseOpInit {
  switch (r.type) {
    case 'range':
      return { response: { type: 'responseRange', value: rangeToPb(header, r) } };
    case 'put':
      return { response: { type: 'responsePut', value: putToPb(header, r) } };
    case 'delete-range':
      return { response: { type: 'responseDeleteRange', value: deleteToPb(header, r) } };
    case 'txn':
      return { response: { type: 'responseTxn', value: txnToPb(header, r) } };
  }
}

/** Whether a txn only reads (etcd serves those without a log entry). */
export function txnIsReadOnly(t: TxnOp): boolean {
  const ro = (o: RequestOp): boolean => o.type === 'range' || (o.type === 'txn' && txnIsReadOnly(o));
  return t.success.every(ro) && t.failure.every(ro);
}
