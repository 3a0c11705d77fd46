/**
 * What every gRPC service handler needs: the member, the response header, the client's session
 * tag, and the two request paths — a write through the log and a linearizable read barrier.
 */
import { nodeIdToBigInt } from '../../core/ids.js';
import type { ServerCall } from '../../api/grpc/index.js';
import type { ResponseHeaderInit } from '../../api/proto/generated/etcdserverpb.js';
import type { Op, SessionTag } from '../../kv/command.js';
import { KvError } from '../../kv/errors.js';
import type { ApplyResult, Outcome } from '../../kv/results.js';
import { ServerError } from '../errors.js';
import type { Member } from '../member.js';

/** gRPC metadata a Bulwark client sends with every write: "<client id>/<seq>/<lowest unacknowledged seq>". */
export const SESSION_HEADER = 'bulwark-session';

export class ServiceContext {
  private readonly clusterId: bigint;
  private readonly memberId: bigint;

  constructor(readonly member: Member) {
    this.clusterId = nodeIdToBigInt(member.clusterId);
    this.memberId = nodeIdToBigInt(member.id);
  }

  header(revision: number = this.member.kv.revision): ResponseHeaderInit {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.member.term };
  }

  timeoutMs(call: ServerCall): number {
    return Math.max(1, Math.min(this.member.requestTimeoutMs, call.remainingMs()));
  }

  /** Learners answer only serializable reads and status (etcd's rule). */
  refuseLearner(): void {
    if (this.member.isLearner) throw new ServerError('learner');
  }

  /** A write: admitted (quota, validation), proposed, applied; an error outcome is thrown. */
  async write(op: Op, call: ServerCall): Promise<ApplyResult> {
    this.refuseLearner();
    const m = this.member;
    const admission = m.kv.admit(op, m.id);
    if (admission.type === 'refuse') {
      if (admission.raise !== null) m.propose(admission.raise).catch(() => undefined);
      throw admission.error;
    }
    const res = await m.propose(op, sessionOf(call), this.timeoutMs(call));
    throwIfError(res.outcome);
    return res;
  }

  /** Waits until a local read is linearizable (unless the request asked for a serializable one). */
  async read(serializable: boolean, call: ServerCall): Promise<void> {
    if (serializable) return;
    this.refuseLearner();
    await this.member.readBarrier(this.timeoutMs(call));
  }
}

export function throwIfError(o: Outcome): void {
  if (o.type === 'error') throw new KvError(o.code, o.detail);
}

/** The client session tag of a request, from the bulwark-session header; null without one. */
export function sessionOf(call: ServerCall): SessionTag | null {
  const v = call.metadata.get(SESSION_HEADER);
  if (v === undefined || v === null) return null;
  const m = /^(\d{1,15})\/(\d{1,15})\/(\d{1,15})$/.exec(String(v));
  if (m === null) throw new ServerError('invalid-argument', `malformed ${SESSION_HEADER} header (expected <client id>/<seq>/<lowest unacknowledged seq>)`);
  const tag = { clientId: Number(m[1]), seq: Number(m[2]), lowestUnacked: Number(m[3]) };
  if (tag.lowestUnacked > tag.seq) throw new ServerError('invalid-argument', `${SESSION_HEADER}: lowest unacknowledged seq above seq`);
  return tag;
}
