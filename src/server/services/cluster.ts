/** etcdserverpb.Cluster: member list, add (voter or learner), remove, update, promote. */
import type { GrpcServer } from '../../api/grpc/index.js';
import { ClusterService, type MemberInit } from '../../api/proto/generated/etcdserverpb.js';
import { nodeIdToBigInt } from '../../core/ids.js';
import type { MemberInfo } from '../../kv/members.js';
import { ServerError } from '../errors.js';
import { memberIdArg, type MemberAdmin } from '../member-admin.js';
import type { ServiceContext } from './context.js';

export function memberToPb(m: MemberInfo): MemberInit {
  return { ID: nodeIdToBigInt(m.id), name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

export function registerCluster(server: GrpcServer, ctx: ServiceContext, admin: MemberAdmin): void {
  const m = ctx.member;
  const members = (): MemberInit[] => m.kv.memberList().map(memberToPb);
  server.handle(ClusterService.MemberList, async (req, call) => {
    if (req.linearizable) await ctx.read(false, call);
    return { header: ctx.header(), members: members() };
  });
  server.handle(ClusterService.MemberAdd, async (req, call) => {
    ctx.refuseLearner();
    const r = await admin.run({ op: 'add', peerUrls: req.peerURLs, isLearner: req.isLearner }, ctx.timeoutMs(call));
    if (r.member === null) throw new ServerError('unhealthy-cluster', 'member add returned no member');
    await ctx.read(false, call);
    return { header: ctx.header(), member: memberToPb(r.member), members: members() };
  });
  server.handle(ClusterService.MemberRemove, async (req, call) => {
    ctx.refuseLearner();
    await admin.run({ op: 'remove', id: memberIdArg(req.ID) }, ctx.timeoutMs(call));
    await ctx.read(false, call).catch(() => undefined); // the removed member may have been the leader
    return { header: ctx.header(), members: members() };
  });
  server.handle(ClusterService.MemberPromote, async (req, call) => {
    ctx.refuseLearner();
    await admin.run({ op: 'promote', id: memberIdArg(req.ID) }, ctx.timeoutMs(call));
    await ctx.read(false, call);
    return { header: ctx.header(), members: members() };
  });
  server.handle(ClusterService.MemberUpdate, async (req, call) => {
    const id = memberIdArg(req.ID);
    if (m.memberInfo(id) === undefined) throw new ServerError('member-not-found');
    await ctx.write({ type: 'member-update', id, name: null, peerUrls: req.peerURLs, clientUrls: null }, call);
    return { header: ctx.header(), members: members() };
  });
}
