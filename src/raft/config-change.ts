/**
 * Membership: the wire form of a ConfigChange (the data of a `config` entry) and the pure function
 * that applies one to a ConfigState (dissertation ch. 4, joint consensus §4.3, as etcd shapes it).
 *
 * - One op without `joint: true`: a simple change; the voter set may change by at most one member.
 * - Several ops, or `joint: true`: enter the joint configuration C_old,new (both voter sets decide).
 *   Without `joint: true` the leader leaves it by itself once it is applied (autoLeave).
 * - No ops: leave the joint configuration (voters being demoted become learners).
 *
 * A config entry carries the change and the configuration it leads to, computed by the leader when
 * it appended the entry (the previous change is applied by then, so every member would compute the
 * same). Applying the entry sets that configuration: a member that joined with a stale or empty
 * initial configuration still ends up with the cluster's. A change that is unsound at apply time
 * is skipped by every member alike rather than crashing anyone.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import type { NodeId } from '../core/ids.js';
import { LEARNERS_MAX, MEMBERS_MAX, RAFT_ENTRY_BYTES_MAX } from '../core/limits.js';
import { assertNever } from '../core/assert.js';
import type { ConfigChange, ConfigChangeOp, ConfigState } from '../consensus/types.js';
import { readConfigState, readNodeId, writeConfigState, writeNodeId } from './codec.js';

const CONFIG_CHANGE_VERSION = 1;
const OP_TYPES: readonly ConfigChangeOp['type'][] = ['add-voter', 'add-learner', 'remove'];

export function encodeConfigChange(c: ConfigChange): Uint8Array {
  const w = new ByteWriter(32 + c.ops.length * 9 + c.context.length);
  w.u8(CONFIG_CHANGE_VERSION).u8(c.joint === undefined ? 0 : c.joint ? 2 : 1).varint(c.ops.length);
  for (const op of c.ops) {
    w.u8(OP_TYPES.indexOf(op.type));
    writeNodeId(w, op.node);
  }
  w.bytes(c.context);
  return w.finish();
}

/** Throws DecodeError on malformed bytes. */
export function decodeConfigChange(bytes: Uint8Array): ConfigChange {
  const r = new ByteReader(bytes);
  const change = readConfigChange(r);
  r.done('config change');
  return change;
}

/** What a `config` log entry holds: the change, and the configuration it leads to. */
export interface ConfigEntry {
  readonly change: ConfigChange;
  readonly config: ConfigState;
}

export function encodeConfigEntry(e: ConfigEntry): Uint8Array {
  const w = new ByteWriter(64 + e.change.ops.length * 9 + e.change.context.length + 8 * MEMBERS_MAX);
  w.raw(encodeConfigChange(e.change));
  writeConfigState(w, e.config);
  return w.finish();
}

/** Decodes the data of a `config` entry (the server reads `change.context` from it); throws DecodeError. */
export function decodeConfigEntry(bytes: Uint8Array): ConfigEntry {
  const r = new ByteReader(bytes);
  const change = readConfigChange(r);
  const config = readConfigState(r);
  r.done('config entry');
  return { change, config };
}

function readConfigChange(r: ByteReader): ConfigChange {
  const version = r.u8('config change version');
  if (version !== CONFIG_CHANGE_VERSION) throw new DecodeError(`config change version ${version} unknown`);
  const jointTag = r.u8('joint');
  if (jointTag > 2) throw new DecodeError(`config change joint flag ${jointTag} invalid`);
  const n = r.varint('op count');
  if (n > MEMBERS_MAX) throw new DecodeError(`config change: ${n} ops exceed ${MEMBERS_MAX}`);
  const ops: ConfigChangeOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.u8('op type');
    const type = OP_TYPES[tag];
    if (type === undefined) throw new DecodeError(`config change op type ${tag} unknown`);
    ops.push({ type, node: readNodeId(r, 'op node') });
  }
  const context = r.bytes(RAFT_ENTRY_BYTES_MAX, 'config change context').slice();
  return jointTag === 0 ? { ops, context } : { ops, joint: jointTag === 2, context };
}

export type ConfigChangeResult =
  | { readonly type: 'ok'; readonly config: ConfigState }
  | { readonly type: 'invalid'; readonly reason: string };

export function isJoint(c: ConfigState): boolean {
  return c.votersOutgoing.length > 0;
}

/** Voter in the incoming or the outgoing set: may vote and campaign. */
export function isVoter(c: ConfigState, id: NodeId): boolean {
  return c.voters.includes(id) || c.votersOutgoing.includes(id);
}

export function isLearner(c: ConfigState, id: NodeId): boolean {
  return c.learners.includes(id);
}

/** Every member that replicates: voters of both sets and learners, sorted, without duplicates. */
export function members(c: ConfigState): NodeId[] {
  return sortedUnique([...c.voters, ...c.votersOutgoing, ...c.learners, ...c.learnersNext]);
}

/** Voters of both sets, sorted, without duplicates. */
export function allVoters(c: ConfigState): NodeId[] {
  return sortedUnique([...c.voters, ...c.votersOutgoing]);
}

function sortedUnique(ids: readonly NodeId[]): NodeId[] {
  return [...new Set(ids)].sort();
}

function hasDuplicates(ids: readonly NodeId[]): boolean {
  return new Set(ids).size !== ids.length;
}

/** Why a ConfigState cannot be (a peer's snapshot, a decoded entry), or null when it is sound. */
export function configProblem(c: ConfigState): string | null {
  const lists = [c.voters, c.learners, c.votersOutgoing, c.learnersNext];
  if (lists.some(hasDuplicates)) return 'a member is listed twice';
  if (c.voters.some((id) => c.learners.includes(id) || c.learnersNext.includes(id))) return 'a voter is also a learner';
  if (c.learners.some((id) => c.learnersNext.includes(id))) return 'a learner is also a next learner';
  if (c.learnersNext.some((id) => !c.votersOutgoing.includes(id))) return 'a next learner is not an outgoing voter';
  if (c.learners.some((id) => c.votersOutgoing.includes(id))) return 'an outgoing voter is also a learner';
  if (c.votersOutgoing.length === 0 && (c.learnersNext.length > 0 || c.autoLeave)) return 'joint fields set outside a joint configuration';
  if (members(c).length > MEMBERS_MAX) return `more than ${MEMBERS_MAX} members`;
  if (c.learners.length + c.learnersNext.length > LEARNERS_MAX) return `more than ${LEARNERS_MAX} learners`;
  return null;
}

/** Applies `change` to `config`: the configuration it leads to, or why it cannot be applied. */
export function applyConfigChange(config: ConfigState, change: ConfigChange): ConfigChangeResult {
  const invalid = (reason: string): ConfigChangeResult => ({ type: 'invalid', reason });
  if (change.ops.length === 0) {
    if (!isJoint(config)) return invalid('nothing to leave: not in a joint configuration');
    return checked(afterLeave(config));
  }
  if (isJoint(config)) return invalid('a joint configuration must be left before the next change');
  const joint = change.joint === true || change.ops.length > 1;
  const voters = new Set(config.voters);
  const learners = new Set(config.learners);
  const learnersNext = new Set<NodeId>();
  for (const op of change.ops) applyOp(op, { voters, learners, learnersNext, outgoing: joint ? config.voters : [] });
  const next: ConfigState = {
    voters: [...voters].sort(),
    learners: [...learners].sort(),
    votersOutgoing: joint ? [...config.voters] : [],
    learnersNext: [...learnersNext].sort(),
    autoLeave: joint && change.joint !== true,
  };
  if (next.voters.length === 0) return invalid('a change may not remove every voter');
  if (!joint && symmetricDifference(config.voters, next.voters) > 1) {
    return invalid('a simple change may add or remove one voter at most; use a joint change');
  }
  if (sameMembers(config, afterLeave(next))) return invalid('the change changes nothing');
  return checked(next);
}

interface Sets {
  readonly voters: Set<NodeId>;
  readonly learners: Set<NodeId>;
  readonly learnersNext: Set<NodeId>;
  /** The outgoing voters of a joint change; a voter demoted to learner waits there until the leave. */
  readonly outgoing: readonly NodeId[];
}

function applyOp(op: ConfigChangeOp, s: Sets): void {
  switch (op.type) {
    case 'add-voter':
      s.learners.delete(op.node);
      s.learnersNext.delete(op.node);
      s.voters.add(op.node);
      return;
    case 'add-learner':
      s.voters.delete(op.node);
      if (s.outgoing.includes(op.node)) s.learnersNext.add(op.node);
      else s.learners.add(op.node);
      return;
    case 'remove':
      s.voters.delete(op.node);
      s.learners.delete(op.node);
      s.learnersNext.delete(op.node);
      return;
    default:
      assertNever(op, 'config change op');
  }
}

function checked(next: ConfigState): ConfigChangeResult {
  const problem = configProblem(next);
  if (problem !== null) return { type: 'invalid', reason: problem };
  return { type: 'ok', config: next };
}

/** The configuration once a joint one is left: the incoming voters, demoted voters as learners. */
function afterLeave(c: ConfigState): ConfigState {
  return { voters: c.voters, learners: [...c.learners, ...c.learnersNext].sort(), votersOutgoing: [], learnersNext: [], autoLeave: false };
}

function symmetricDifference(a: readonly NodeId[], b: readonly NodeId[]): number {
  let n = 0;
  for (const x of a) if (!b.includes(x)) n++;
  for (const x of b) if (!a.includes(x)) n++;
  return n;
}

function sameSet(x: readonly NodeId[], y: readonly NodeId[]): boolean {
  return x.length === y.length && x.every((v) => y.includes(v));
}

function sameMembers(a: ConfigState, b: ConfigState): boolean {
  const eq = sameSet;
  return eq(a.voters, b.voters) && eq(a.learners, b.learners) && eq(a.votersOutgoing, b.votersOutgoing) && eq(a.learnersNext, b.learnersNext);
}

export function configEquals(a: ConfigState, b: ConfigState): boolean {
  return sameMembers(a, b) && a.autoLeave === b.autoLeave;
}
