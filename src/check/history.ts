/**
 * A client history of a key-value register: invocations and completions of get, put, delete and
 * compare-and-set, as clients saw them. An operation without a response (it timed out) is
 * indeterminate: it may have taken effect at any point after its invocation, or never.
 *
 * Times are numbers from one monotonic source. Two events at the same time are treated as
 * concurrent (a call at time t overlaps a return at time t), which can hide a violation but never
 * invents one; recorders should use strictly increasing timestamps.
 */
import { CheckError } from './errors.js';

export type KvInput =
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'put'; readonly key: string; readonly value: string }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

export type KvOutput =
  | { readonly type: 'get'; readonly value: string | null }
  | { readonly type: 'put' }
  | { readonly type: 'delete'; readonly deleted: boolean }
  | { readonly type: 'cas'; readonly ok: boolean };

export interface Operation {
  /** Unique within a history. */
  readonly id: number;
  readonly clientId: number;
  readonly input: KvInput;
  readonly callTime: number;
  /** null: no response (timed out). */
  readonly returnTime: number | null;
  /** null exactly when returnTime is null. */
  readonly output: KvOutput | null;
}

export interface History {
  readonly operations: readonly Operation[];
}

const FORMAT = 'bulwark-history/1';

/** JSON text of a history (indeterminate operations have `returnTime: null`). */
export function historyToJson(history: History): string {
  return JSON.stringify({ format: FORMAT, operations: history.operations }, null, 1);
}

/** Reads a history written by historyToJson, validating every field. */
export function historyFromJson(text: string): History {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CheckError('invalid-history', `history is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isObject(doc) || doc['format'] !== FORMAT || !Array.isArray(doc['operations'])) {
    throw new CheckError('invalid-history', `not a ${FORMAT} document`);
  }
  const ops = (doc['operations'] as unknown[]).map((o, i) => parseOperation(o, i));
  validateHistory({ operations: ops });
  return { operations: ops };
}

/** Checks the shape every algorithm relies on: unique ids, call before return, matching output kinds. */
export function validateHistory(history: History): void {
  const ids = new Set<number>();
  for (const op of history.operations) {
    const where = `operation ${op.id}`;
    if (ids.has(op.id)) throw new CheckError('invalid-history', `${where}: duplicate id`);
    ids.add(op.id);
    if (!Number.isFinite(op.callTime)) throw new CheckError('invalid-history', `${where}: callTime must be finite`);
    if ((op.returnTime === null) !== (op.output === null)) {
      throw new CheckError('invalid-history', `${where}: returnTime and output must both be null or both be set`);
    }
    if (op.returnTime !== null && !(Number.isFinite(op.returnTime) && op.returnTime >= op.callTime)) {
      throw new CheckError('invalid-history', `${where}: returnTime must be finite and not before callTime`);
    }
    if (op.output !== null && op.output.type !== op.input.type) {
      throw new CheckError('invalid-history', `${where}: a ${op.input.type} cannot answer ${op.output.type}`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field<T>(o: Record<string, unknown>, name: string, check: (v: unknown) => v is T, where: string): T {
  const v = o[name];
  if (!check(v)) throw new CheckError('invalid-history', `${where}: bad or missing field '${name}'`);
  return v;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isNumOrNull = (v: unknown): v is number | null => v === null || isNum(v);

function parseOperation(o: unknown, i: number): Operation {
  const where = `operations[${i}]`;
  if (!isObject(o)) throw new CheckError('invalid-history', `${where}: not an object`);
  const input = parseInput(o['input'], where);
  const outRaw = o['output'];
  const output = outRaw === null ? null : parseOutput(outRaw, where);
  return {
    id: field(o, 'id', isNum, where),
    clientId: field(o, 'clientId', isNum, where),
    input,
    callTime: field(o, 'callTime', isNum, where),
    returnTime: field(o, 'returnTime', isNumOrNull, where),
    output,
  };
}

function parseInput(v: unknown, where: string): KvInput {
  if (!isObject(v)) throw new CheckError('invalid-history', `${where}: missing input`);
  const key = field(v, 'key', isStr, `${where}.input`);
  switch (v['type']) {
    case 'get':
      return { type: 'get', key };
    case 'put':
      return { type: 'put', key, value: field(v, 'value', isStr, `${where}.input`) };
    case 'delete':
      return { type: 'delete', key };
    case 'cas':
      return { type: 'cas', key, expected: field(v, 'expected', isStrOrNull, `${where}.input`), value: field(v, 'value', isStr, `${where}.input`) };
    default:
      throw new CheckError('invalid-history', `${where}: unknown input type ${JSON.stringify(v['type'])}`);
  }
}

function parseOutput(v: unknown, where: string): KvOutput {
  if (!isObject(v)) throw new CheckError('invalid-history', `${where}: output must be an object or null`);
  switch (v['type']) {
    case 'get':
      return { type: 'get', value: field(v, 'value', isStrOrNull, `${where}.output`) };
    case 'put':
      return { type: 'put' };
    case 'delete':
      return { type: 'delete', deleted: field(v, 'deleted', isBool, `${where}.output`) };
    case 'cas':
      return { type: 'cas', ok: field(v, 'ok', isBool, `${where}.output`) };
    default:
      throw new CheckError('invalid-history', `${where}: unknown output type ${JSON.stringify(v['type'])}`);
  }
}

/** A short human-readable form: `put "a"`, `get → "b"`, `cas "a"→"c" → ok`. */
export function describeOperation(op: Operation): string {
  const q = (s: string | null): string => (s === null ? 'nil' : JSON.stringify(s));
  const i = op.input;
  let call: string;
  switch (i.type) {
    case 'get':
      call = 'get';
      break;
    case 'put':
      call = `put ${q(i.value)}`;
      break;
    case 'delete':
      call = 'delete';
      break;
    case 'cas':
      call = `cas ${q(i.expected)}→${q(i.value)}`;
      break;
  }
  const o = op.output;
  if (o === null) return `${call} → (no response)`;
  switch (o.type) {
    case 'get':
      return `${call} → ${q(o.value)}`;
    case 'put':
      return `${call} → ok`;
    case 'delete':
      return `${call} → ${o.deleted ? 'deleted' : 'absent'}`;
    case 'cas':
      return `${call} → ${o.ok ? 'ok' : 'failed'}`;
  }
}
