/**
 * The member table kept in the replicated state, so members survive in snapshots: id, name, peer
 * and client URLs, learner flag. It changes only through the log: config-change entries (whose
 * opaque `context` carries the MemberInfo of members being added, encoded here) and MemberUpdate
 * commands (a member publishing its name and client URLs, or new peer URLs).
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { assertNever } from '../core/assert.js';
import { nodeIdToBigInt, type NodeId } from '../core/ids.js';
import { MEMBER_NAME_BYTES_MAX, MEMBERS_MAX } from '../core/limits.js';
import type { ConfigChange } from '../consensus/types.js';
import { readCount, readNodeId, readStrings, writeStrings, type MemberUpdateOp } from './command.js';
import { KvError } from './errors.js';

export interface MemberInfo {
  readonly id: NodeId;
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
  readonly isLearner: boolean;
}

export function writeMemberInfo(w: ByteWriter, m: MemberInfo): void {
  w.u64(nodeIdToBigInt(m.id)).string(m.name);
  writeStrings(w, m.peerUrls);
  writeStrings(w, m.clientUrls);
  w.bool(m.isLearner);
}

export function readMemberInfo(r: ByteReader): MemberInfo {
  const id = readNodeId(r, 'member id');
  const name = r.string(MEMBER_NAME_BYTES_MAX, 'member name');
  const peerUrls = readStrings(r, 'peer urls');
  const clientUrls = readStrings(r, 'client urls');
  return { id, name, peerUrls, clientUrls, isLearner: r.bool('member is learner') };
}

const CONTEXT_VERSION = 1;

/** The `context` of a config change: the members it adds (or promotes), with their attributes. */
export function encodeMemberContext(members: readonly MemberInfo[]): Uint8Array {
  const w = new ByteWriter(128).u8(CONTEXT_VERSION).varint(members.length);
  for (const m of members) writeMemberInfo(w, m);
  return w.finish().slice();
}

export function decodeMemberContext(data: Uint8Array): MemberInfo[] {
  if (data.length === 0) return [];
  const r = new ByteReader(data);
  const v = r.u8('member context version');
  if (v !== CONTEXT_VERSION) throw new DecodeError(`unknown member context version ${v}`);
  const n = readCount(r, 'member context');
  if (n > MEMBERS_MAX) throw new DecodeError(`member context: ${n} members, at most ${MEMBERS_MAX}`);
  const out: MemberInfo[] = [];
  for (let i = 0; i < n; i++) out.push(readMemberInfo(r));
  r.done('member context');
  return out;
}

export class MemberTable {
  private readonly byId = new Map<NodeId, MemberInfo>();

  get size(): number {
    return this.byId.size;
  }

  get(id: NodeId): MemberInfo | undefined {
    return this.byId.get(id);
  }

  /** Members sorted by id (a stable order for answers, hashes and snapshots). */
  list(): MemberInfo[] {
    return [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Applies a committed membership change; members being added take their attributes from the context. */
  applyConfigChange(change: ConfigChange): void {
    const given = new Map(decodeMemberContext(change.context).map((m) => [m.id, m]));
    for (const op of change.ops) {
      switch (op.type) {
        case 'add-voter':
        case 'add-learner': {
          const base = given.get(op.node) ?? this.byId.get(op.node) ?? { id: op.node, name: '', peerUrls: [], clientUrls: [], isLearner: false };
          this.byId.set(op.node, { ...base, id: op.node, isLearner: op.type === 'add-learner' });
          break;
        }
        case 'remove':
          this.byId.delete(op.node);
          break;
        default:
          assertNever(op, 'config change op');
      }
    }
  }

  applyUpdate(op: MemberUpdateOp): void {
    const m = this.byId.get(op.id);
    if (m === undefined) throw new KvError('member-not-found', `member ${op.id}`);
    this.byId.set(op.id, {
      ...m,
      name: op.name ?? m.name,
      peerUrls: op.peerUrls ?? m.peerUrls,
      clientUrls: op.clientUrls ?? m.clientUrls,
    });
  }

  /** Replaces the whole table (bootstrap, snapshot restore). */
  reset(members: readonly MemberInfo[]): void {
    this.byId.clear();
    for (const m of members) this.byId.set(m.id, m);
  }
}
