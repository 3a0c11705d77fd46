/**
 * The wire form of a ConfigChange, shared by both engines: Raft writes it at the front of a
 * `config` entry (followed by the configuration it leads to), Multi-Paxos as the whole entry. One
 * format means the server reads member contexts the same way whichever protocol runs.
 *
 *   change = u8 version, u8 joint (0 absent, 1 false, 2 true), varint op count,
 *            op count × (u8 op type, u64 member id), bytes context
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import type { NodeId } from '../core/ids.js';
import { MEMBERS_MAX, REQUEST_BYTES_MAX } from '../core/limits.js';
import type { ConfigChange, ConfigChangeOp } from './types.js';

const CONFIG_CHANGE_VERSION = 1;
const OP_TYPES: readonly ConfigChangeOp['type'][] = ['add-voter', 'add-learner', 'remove'];

/** A u64 member id as two little-endian u32 halves straight from its 16 hex digits (ByteWriter.u64's bytes). */
export function writeMemberId(w: ByteWriter, id: NodeId): void {
  w.u32(Number.parseInt(id.slice(8), 16)).u32(Number.parseInt(id.slice(0, 8), 16));
}

/** Throws DecodeError on id 0, which names no member. */
export function readMemberId(r: ByteReader, what: string): NodeId {
  const lo = r.u32(what);
  const hi = r.u32(what);
  if (lo === 0 && hi === 0) throw new DecodeError(`${what}: member id 0 is not a member`);
  return (hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0')) as NodeId;
}

export function writeConfigChange(w: ByteWriter, c: ConfigChange): void {
  w.u8(CONFIG_CHANGE_VERSION).u8(c.joint === undefined ? 0 : c.joint ? 2 : 1).varint(c.ops.length);
  for (const op of c.ops) {
    w.u8(OP_TYPES.indexOf(op.type));
    writeMemberId(w, op.node);
  }
  w.bytes(c.context);
}

/** Reads a change and leaves the reader after it; throws DecodeError on malformed bytes. */
export function readConfigChange(r: ByteReader): ConfigChange {
  const version = r.u8('config change version');
  if (version !== CONFIG_CHANGE_VERSION) throw new DecodeError(`config change version ${version} unknown (expected ${CONFIG_CHANGE_VERSION})`);
  const jointTag = r.u8('config change joint flag');
  if (jointTag > 2) throw new DecodeError(`config change joint flag ${jointTag} invalid`);
  const n = r.varint('config change op count');
  if (n > MEMBERS_MAX) throw new DecodeError(`config change: ${n} ops exceed ${MEMBERS_MAX}`);
  const ops: ConfigChangeOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.u8('config change op type');
    const type = OP_TYPES[tag];
    if (type === undefined) throw new DecodeError(`config change op type ${tag} unknown`);
    ops.push({ type, node: readMemberId(r, 'config change op member') });
  }
  // The context (member name and URLs) arrived in a client request: bounded by the request size.
  const context = r.bytes(REQUEST_BYTES_MAX, 'config change context').slice();
  return jointTag === 0 ? { ops, context } : { ops, joint: jointTag === 2, context };
}

export function encodeConfigChange(c: ConfigChange): Uint8Array {
  const w = new ByteWriter(32 + c.ops.length * 9 + c.context.length);
  writeConfigChange(w, c);
  return w.finish().slice();
}

/** Decodes a change that is the whole of `bytes`; throws DecodeError on malformed bytes. */
export function decodeConfigChange(bytes: Uint8Array): ConfigChange {
  const r = new ByteReader(bytes);
  const change = readConfigChange(r);
  r.done('config change');
  return change;
}
