/** Test helpers for the state machine: feed ops as log entries and unwrap outcomes. */
import assert from 'node:assert/strict';
import { logIndex, nodeIdFromBigInt, term, type NodeId } from '../../src/core/ids.js';
import type { Entry } from '../../src/consensus/types.js';
import { encodeCommand, type Op, type SessionTag } from '../../src/kv/command.js';
import type { KvStore } from '../../src/kv/kv-store.js';
import type { ApplyResult, Outcome } from '../../src/kv/results.js';

export const MEMBER: NodeId = nodeIdFromBigInt(0x8e9e05c52164694dn);

const te = new TextEncoder();
const td = new TextDecoder();
export const b = (s: string): Uint8Array => te.encode(s);
export const s = (u: Uint8Array): string => td.decode(u);

/** Applies ops to a store as consecutive normal entries. */
export class Applier {
  index: number;
  private counter = 0;

  constructor(
    readonly store: KvStore,
    readonly member: NodeId = MEMBER,
  ) {
    this.index = store.appliedIndex;
  }

  entry(op: Op, session: SessionTag | null = null): Entry {
    this.index++;
    const data = encodeCommand({ requestId: { member: this.member, counter: ++this.counter }, session, op });
    return { index: logIndex(this.index), term: term(1), kind: 'normal', data };
  }

  apply(op: Op, session: SessionTag | null = null): ApplyResult {
    return this.store.apply(this.entry(op, session));
  }

  applyEntry(kind: Entry['kind'], data: Uint8Array): ApplyResult {
    this.index++;
    return this.store.apply({ index: logIndex(this.index), term: term(1), kind, data });
  }

  /** Applies and asserts the outcome type. */
  ok<T extends Outcome['type']>(op: Op, type: T, session: SessionTag | null = null): Extract<Outcome, { type: T }> {
    const r = this.apply(op, session);
    if (r.outcome.type !== type) assert.fail(`expected ${type}, got ${JSON.stringify(r.outcome, replacer)}`);
    return r.outcome as Extract<Outcome, { type: T }>;
  }

  /** Applies and returns the error code (fails if the op did not fail). */
  err(op: Op, session: SessionTag | null = null): string {
    const r = this.apply(op, session);
    if (r.outcome.type !== 'error') assert.fail(`expected an error, got ${JSON.stringify(r.outcome, replacer)}`);
    return r.outcome.code;
  }
}

/** JSON.stringify replacer that prints bigints and byte arrays readably. */
export function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return `b'${td.decode(v)}'`;
  return v;
}

export function show(x: unknown): string {
  return JSON.stringify(x, replacer);
}

/** Feeds a whole snapshot of `from` into a new sink of `to`, in chunks cut at `cut` bytes. */
export function copySnapshot(from: KvStore, to: KvStore, cut = 0): void {
  const src = from.snapshot();
  const sink = to.restore(src.index);
  for (const chunk of src.chunks()) {
    if (cut <= 0) sink.write(chunk);
    else for (let i = 0; i < chunk.length; i += cut) sink.write(chunk.subarray(i, i + cut));
  }
  sink.finish();
}
