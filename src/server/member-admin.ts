/**
 * Membership changes and leadership transfers, run on the leader (a follower forwards them over
 * the peer transport): add a member (as a voter or a learner), remove one, promote a learner once
 * it has caught up, move leadership.
 */
import { assertNever } from '../core/assert.js';
import { isNodeId, nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import { LEARNER_PROMOTE_LAG_ENTRIES_MAX, LEARNERS_MAX } from '../core/limits.js';
import type { Clock } from '../env/clock.js';
import { encodeMemberContext, type MemberInfo } from '../kv/members.js';
import { checkUrl, ConfigError } from './config.js';
import { ServerError } from './errors.js';
import type { Member } from './member.js';
import { memberIdFor } from './member-id.js';
import { PEER_METHOD, decodeJson, encodeJson, onLeader } from './peer-rpcs.js';

export type AdminRequest =
  | { readonly op: 'add'; readonly peerUrls: readonly string[]; readonly isLearner: boolean }
  | { readonly op: 'remove'; readonly id: NodeId }
  | { readonly op: 'promote'; readonly id: NodeId }
  | { readonly op: 'move-leader'; readonly to: NodeId };

export type AdminResult = { readonly member: MemberInfo | null };

export class MemberAdmin {
  constructor(
    private readonly member: Member,
    private readonly o: { readonly token: string; readonly clock: Clock },
  ) {
    member.transport.handle(PEER_METHOD.admin, async (_from, payload) => encodeJson(await this.local(decodeJson<AdminRequest>(payload))));
  }

  /** Runs the request on the leader, wherever this member stands. */
  run(req: AdminRequest, timeoutMs: number): Promise<AdminResult> {
    return onLeader(this.member, { method: PEER_METHOD.admin, payload: encodeJson(req), local: () => this.local(req), decode: decodeJson<AdminResult>, timeoutMs });
  }

  private async local(req: AdminRequest): Promise<AdminResult> {
    if (!this.member.isLeader) throw new ServerError('not-leader');
    switch (req.op) {
      case 'add':
        return { member: await this.add(req.peerUrls, req.isLearner) };
      case 'remove':
        await this.remove(req.id);
        return { member: null };
      case 'promote':
        return { member: await this.promote(req.id) };
      case 'move-leader':
        await this.member.transferLeadership(req.to);
        return { member: null };
      default:
        return assertNever(req);
    }
  }

  private async add(peerUrls: readonly string[], isLearner: boolean): Promise<MemberInfo> {
    if (peerUrls.length === 0) throw new ServerError('invalid-peer-url', 'no peer URLs');
    for (const u of peerUrls) {
      try {
        checkUrl(u, 'peer URL');
      } catch (e) {
        throw new ServerError('invalid-peer-url', e instanceof ConfigError ? e.message : String(e));
      }
    }
    const members = this.member.kv.memberList();
    if (members.some((m) => m.peerUrls.some((u) => peerUrls.includes(u)))) throw new ServerError('peer-url-exists');
    if (isLearner && members.filter((m) => m.isLearner).length >= LEARNERS_MAX) throw new ServerError('too-many-learners');
    const id = memberIdFor(peerUrls, this.o.token, this.o.clock.wallMs());
    if (members.some((m) => m.id === id)) throw new ServerError('member-exists');
    const info: MemberInfo = { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    await this.member.changeMembership({ ops: [{ type: isLearner ? 'add-learner' : 'add-voter', node: id }], context: encodeMemberContext([info]) });
    return info;
  }

  private async remove(id: NodeId): Promise<void> {
    if (this.member.memberInfo(id) === undefined) throw new ServerError('member-not-found');
    await this.member.changeMembership({ ops: [{ type: 'remove', node: id }], context: new Uint8Array(0) });
  }

  private async promote(id: NodeId): Promise<MemberInfo> {
    const info = this.member.memberInfo(id);
    if (info === undefined) throw new ServerError('member-not-found');
    if (!info.isLearner) throw new ServerError('member-not-learner');
    const st = this.member.status();
    const p = st.progress.find((x) => x.node === id);
    // etcd's rule (the learner holds 90% of the leader's log) and ours (at most a bounded lag), and
    // the leader must be hearing from it: a learner that never started is not in sync.
    const inSync = p !== undefined && p.recentActive && p.match >= Math.floor(st.lastIndex * 0.9) && st.lastIndex - p.match <= LEARNER_PROMOTE_LAG_ENTRIES_MAX;
    if (!inSync) throw new ServerError('learner-not-ready');
    const promoted: MemberInfo = { ...info, isLearner: false };
    await this.member.changeMembership({ ops: [{ type: 'add-voter', node: id }], context: encodeMemberContext([promoted]) });
    return promoted;
  }
}

/** A member id from an etcd request (uint64); refuses 0. */
export function memberIdArg(v: bigint): NodeId {
  if (v === 0n) throw new ServerError('member-not-found', 'member id 0');
  const id = nodeIdFromBigInt(v);
  if (!isNodeId(id)) throw new ServerError('member-not-found');
  return id;
}
