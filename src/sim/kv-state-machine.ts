/**
 * The simulator's replicated state machine: a key-value register over a handful of keys with get,
 * put, delete and compare-and-set, and a per-client session table so a retried write (same
 * clientId and seq) applies once and answers with the first result (Raft dissertation §6.3).
 * Deterministic and synchronous; snapshots through the StateMachine interface.
 */
import { assert, assertNever } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, type LogIndex } from '../core/ids.js';
import { SIM_KEY_BYTES_MAX, SIM_SNAPSHOT_PIECE_BYTES, SIM_VALUE_BYTES_MAX } from '../core/limits.js';
import type { SnapshotSink, SnapshotSource, StateMachine } from '../consensus/storage.js';
import type { Entry } from '../consensus/types.js';
import type { KvInput, KvOutput } from '../check/history.js';

/** A write as it travels through the log. Reads never enter the log: they use readIndex. */
export interface KvCommand {
  readonly clientId: number;
  readonly seq: number;
  readonly input: Exclude<KvInput, { type: 'get' }>;
}

export type KvApplyResult =
  | { readonly type: 'applied'; readonly clientId: number; readonly seq: number; readonly output: KvOutput }
  /** A retry of the session's latest write: the first answer, unchanged. */
  | { readonly type: 'duplicate'; readonly clientId: number; readonly seq: number; readonly output: KvOutput }
  /** An older write of a session that has moved on: not applied, nobody waits for it. */
  | { readonly type: 'stale'; readonly clientId: number; readonly seq: number }
  /** A leader's no-op or a configuration entry. */
  | { readonly type: 'none' }
  /** Bytes that do not decode as a command: skipped deterministically on every member. */
  | { readonly type: 'invalid'; readonly reason: string };

const TAG_PUT = 1;
const TAG_DELETE = 2;
const TAG_CAS = 3;

export function encodeCommand(c: KvCommand): Uint8Array {
  const w = new ByteWriter(64).varint(c.clientId).varint(c.seq);
  const i = c.input;
  switch (i.type) {
    case 'put':
      w.u8(TAG_PUT).string(i.key).string(i.value);
      break;
    case 'delete':
      w.u8(TAG_DELETE).string(i.key);
      break;
    case 'cas':
      w.u8(TAG_CAS).string(i.key).bool(i.expected !== null).string(i.expected ?? '').string(i.value);
      break;
    default:
      assertNever(i, 'command');
  }
  return w.finish().slice();
}

export function decodeCommand(bytes: Uint8Array): KvCommand {
  const r = new ByteReader(bytes);
  const clientId = r.varint('clientId');
  const seq = r.varint('seq');
  const tag = r.u8('op');
  const key = r.string(SIM_KEY_BYTES_MAX, 'key');
  let input: KvCommand['input'];
  switch (tag) {
    case TAG_PUT:
      input = { type: 'put', key, value: r.string(SIM_VALUE_BYTES_MAX, 'value') };
      break;
    case TAG_DELETE:
      input = { type: 'delete', key };
      break;
    case TAG_CAS: {
      const has = r.bool('has expected');
      const expected = r.string(SIM_VALUE_BYTES_MAX, 'expected');
      input = { type: 'cas', key, expected: has ? expected : null, value: r.string(SIM_VALUE_BYTES_MAX, 'value') };
      break;
    }
    default:
      throw new DecodeError(`unknown command tag ${tag}`);
  }
  r.done('command');
  return { clientId, seq, input };
}

interface Session {
  seq: number;
  output: KvOutput;
}

export class KvStateMachine implements StateMachine<KvApplyResult> {
  private data = new Map<string, string>();
  private sessions = new Map<number, Session>();
  private applied: LogIndex = logIndex(0);

  get appliedIndex(): LogIndex {
    return this.applied;
  }

  /** The local value; linearizable only after a read index is applied. */
  get(key: string): string | null {
    return this.data.get(key) ?? null;
  }

  apply(entry: Entry): KvApplyResult {
    assert(entry.index === this.applied + 1, `apply in order: ${entry.index} after ${this.applied}`);
    this.applied = entry.index;
    if (entry.kind !== 'normal') return { type: 'none' };
    let cmd: KvCommand;
    try {
      cmd = decodeCommand(entry.data);
    } catch (e) {
      return { type: 'invalid', reason: e instanceof Error ? e.message : String(e) };
    }
    const session = this.sessions.get(cmd.clientId);
    if (session !== undefined && cmd.seq <= session.seq) {
      return cmd.seq === session.seq ? { type: 'duplicate', clientId: cmd.clientId, seq: cmd.seq, output: session.output } : { type: 'stale', clientId: cmd.clientId, seq: cmd.seq };
    }
    const output = this.execute(cmd.input);
    this.sessions.set(cmd.clientId, { seq: cmd.seq, output });
    return { type: 'applied', clientId: cmd.clientId, seq: cmd.seq, output };
  }

  private execute(i: KvCommand['input']): KvOutput {
    switch (i.type) {
      case 'put':
        this.data.set(i.key, i.value);
        return { type: 'put' };
      case 'delete':
        return { type: 'delete', deleted: this.data.delete(i.key) };
      case 'cas': {
        const ok = (this.data.get(i.key) ?? null) === i.expected;
        if (ok) this.data.set(i.key, i.value);
        return { type: 'cas', ok };
      }
      default:
        return assertNever(i, 'command');
    }
  }

  /** Encodes the state now; later applies do not change what the source yields. */
  snapshot(): SnapshotSource {
    const bytes = encodeState(this.applied, this.data, this.sessions);
    return {
      index: this.applied,
      *chunks() {
        for (let at = 0; at < bytes.length; at += SIM_SNAPSHOT_PIECE_BYTES) yield bytes.subarray(at, at + SIM_SNAPSHOT_PIECE_BYTES);
      },
    };
  }

  restore(index: LogIndex): SnapshotSink {
    const parts: Uint8Array[] = [];
    return {
      write: (chunk) => {
        parts.push(chunk.slice());
      },
      finish: () => {
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) {
          all.set(p, at);
          at += p.length;
        }
        const s = decodeState(all);
        if (s.applied !== index) throw new DecodeError(`snapshot holds index ${s.applied}, expected ${index}`);
        this.data = s.data;
        this.sessions = s.sessions;
        this.applied = index;
      },
    };
  }

  /** A digest of the whole state, for comparing members. */
  fingerprint(): string {
    return [...this.data].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',');
  }
}

const STATE_MAGIC = 0x4b565331; // "KVS1"

function encodeState(applied: number, data: Map<string, string>, sessions: Map<number, Session>): Uint8Array {
  const w = new ByteWriter(256).u32(STATE_MAGIC).u53(applied).varint(data.size);
  for (const [k, v] of [...data].sort(([a], [b]) => (a < b ? -1 : 1))) w.string(k).string(v);
  w.varint(sessions.size);
  for (const [id, s] of [...sessions].sort(([a], [b]) => a - b)) {
    w.varint(id).varint(s.seq);
    encodeOutput(w, s.output);
  }
  return w.finish().slice();
}

function decodeState(bytes: Uint8Array): { applied: number; data: Map<string, string>; sessions: Map<number, Session> } {
  const r = new ByteReader(bytes);
  if (r.u32('magic') !== STATE_MAGIC) throw new DecodeError('not a KV snapshot');
  const applied = r.u53('applied index');
  const data = new Map<string, string>();
  for (let n = r.varint('keys'); n > 0; n--) data.set(r.string(SIM_KEY_BYTES_MAX, 'key'), r.string(SIM_VALUE_BYTES_MAX, 'value'));
  const sessions = new Map<number, Session>();
  for (let n = r.varint('sessions'); n > 0; n--) {
    const id = r.varint('clientId');
    const seq = r.varint('seq');
    sessions.set(id, { seq, output: decodeOutput(r) });
  }
  r.done('KV snapshot');
  return { applied, data, sessions };
}

function encodeOutput(w: ByteWriter, o: KvOutput): void {
  switch (o.type) {
    case 'get':
      w.u8(0).bool(o.value !== null).string(o.value ?? '');
      break;
    case 'put':
      w.u8(1);
      break;
    case 'delete':
      w.u8(2).bool(o.deleted);
      break;
    case 'cas':
      w.u8(3).bool(o.ok);
      break;
    default:
      assertNever(o, 'output');
  }
}

function decodeOutput(r: ByteReader): KvOutput {
  const tag = r.u8('output');
  switch (tag) {
    case 0: {
      const has = r.bool();
      const v = r.string(SIM_VALUE_BYTES_MAX);
      return { type: 'get', value: has ? v : null };
    }
    case 1:
      return { type: 'put' };
    case 2:
      return { type: 'delete', deleted: r.bool() };
    case 3:
      return { type: 'cas', ok: r.bool() };
    default:
      throw new DecodeError(`unknown output tag ${tag}`);
  }
}
