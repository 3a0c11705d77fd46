/**
 * etcdserverpb.Lease. Grants and revocations go through the log; keep-alives and remaining TTLs
 * are the leader's (its lessor keeps lease deadlines), so a follower forwards them to the leader.
 */
import { leaseId } from '../../core/ids.js';
import type { GrpcServer } from '../../api/grpc/index.js';
import { LeaseService } from '../../api/proto/generated/etcdserverpb.js';
import { KvError } from '../../kv/errors.js';
import { ServerError } from '../errors.js';
import { PEER_METHOD, decodeTtl, encodeLeaseId, onLeader } from '../peer-rpcs.js';
import type { ServiceContext } from './context.js';

export function registerLease(server: GrpcServer, ctx: ServiceContext): void {
  const m = ctx.member;
  const renew = (id: bigint, timeoutMs: number): Promise<number> =>
    onLeader(m, {
      method: PEER_METHOD.leaseRenew,
      payload: encodeLeaseId(id),
      local: async () => (await m.renewLease(id)).ttlSec,
      decode: decodeTtl,
      timeoutMs,
    });

  server.handle(LeaseService.LeaseGrant, async (req, call) => {
    const res = await ctx.write({ type: 'lease-grant', id: leaseId(req.ID), ttlSec: req.TTL }, call);
    const o = res.outcome;
    if (o.type !== 'lease-grant') throw new ServerError('invalid-argument', 'unexpected lease grant outcome');
    return { header: ctx.header(res.revision), ID: o.id, TTL: o.ttlSec };
  });
  server.handle(LeaseService.LeaseRevoke, async (req, call) => {
    const res = await ctx.write({ type: 'lease-revoke', id: leaseId(req.ID) }, call);
    return { header: ctx.header(res.revision) };
  });
  server.handle(LeaseService.LeaseKeepAlive, async (requests, call) => {
    ctx.refuseLearner();
    for await (const req of requests) {
      const ttl = await renew(req.ID, ctx.timeoutMs(call));
      await call.write({ header: ctx.header(), ID: req.ID, TTL: ttl });
    }
  });
  server.handle(LeaseService.LeaseTimeToLive, async (req, call) => {
    await ctx.read(false, call);
    let info;
    try {
      info = m.kv.leaseTimeToLive(leaseId(req.ID), req.keys);
    } catch (e) {
      if (e instanceof KvError && e.code === 'lease-not-found') return { header: ctx.header(), ID: req.ID, TTL: -1 };
      throw e;
    }
    const ttl = await onLeader(m, {
      method: PEER_METHOD.leaseTtl,
      payload: encodeLeaseId(req.ID),
      local: async () => {
        const t = m.leaseTtlSec(leaseId(req.ID));
        if (t === null) throw new ServerError('leader-changed');
        return t;
      },
      decode: decodeTtl,
      timeoutMs: ctx.timeoutMs(call),
    });
    return { header: ctx.header(), ID: req.ID, TTL: ttl, grantedTTL: info.grantedTtlSec, keys: info.keys };
  });
  server.handle(LeaseService.LeaseLeases, async (_req, call) => {
    await ctx.read(false, call);
    return { header: ctx.header(), leases: m.kv.leaseList().map((l) => ({ ID: l.id })) };
  });
}
