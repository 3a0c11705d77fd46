/**
 * v3electionpb.Election, as etcd's server-side election: a candidate puts `<name>/<lease hex>`
 * with its value and lease (a new 60 s lease when none is given) and leads once every key under
 * `<name>/` created before its own is gone. The leader is the key created first; `rev` (its create
 * revision) guards Proclaim and Resign so a deposed leader cannot write. Observe streams the
 * leader's value each time it changes, and the next leader when one resigns or expires.
 */
import { GrpcError, Status, type GrpcServer, type ServerCall } from '../../api/grpc/index.js';
import type { ResponseHeaderInit } from '../../api/proto/generated/etcdserverpb.js';
import { ElectionService, type LeaderKey } from '../../api/proto/generated/v3electionpb.js';
import { leaseId } from '../../core/ids.js';
import { compare, deleteRangeOp, prefixEnd, putOp, txnOp } from '../../kv/command.js';
import type { KeyValue } from '../../kv/record.js';
import type { TxnResult } from '../../kv/results.js';
import { watchRequest } from '../../kv/watch-types.js';
import { LocalWatch, asClientError, enqueueHolder, holderKey, ownerQuery, releaseInBackground, sessionLease, waitDeletes, withSlash } from './concurrency.js';
import type { ServiceContext } from './context.js';

const ERR_NOT_LEADER = 'election: not leader';
const ERR_NO_LEADER = 'election: no leader';
const ERR_MISSING_LEADER = '"leader" field must be provided';

function unknown(message: string): GrpcError {
  return new GrpcError(Status.UNKNOWN, message);
}

export function registerElection(server: GrpcServer, ctx: ServiceContext): void {
  /** Puts `value` on the leader key if it is still the one created at `rev`. */
  const proclaim = async (call: ServerCall, leader: LeaderKey, value: Uint8Array): Promise<ResponseHeaderInit> => {
    const t = txnOp([compare(leader.key, 'equal', { type: 'create', revision: leader.rev })], [putOp(leader.key, value, { lease: leaseId(leader.lease) })]);
    const res = await ctx.write(t, call);
    if (!(res.outcome as TxnResult).succeeded) throw unknown(ERR_NOT_LEADER);
    return ctx.header(res.revision);
  };
  const resign = async (call: ServerCall, leader: LeaderKey): Promise<ResponseHeaderInit> => {
    const res = await ctx.write(txnOp([compare(leader.key, 'equal', { type: 'create', revision: leader.rev })], [deleteRangeOp(leader.key)]), call);
    return ctx.header(res.revision);
  };

  server.handle(ElectionService.Campaign, async (req, call) => {
    try {
      const lease = await sessionLease(ctx, call, req.lease);
      const prefix = withSlash(req.name);
      const key = holderKey(prefix, lease);
      const q = await enqueueHolder(ctx, call, { key, value: req.value, lease, prefix });
      const leader: LeaderKey = { name: req.name, key, rev: q.myRevision, lease };
      if (q.existing !== null && !sameBytes(q.existing.value, req.value)) {
        try {
          await proclaim(call, leader, req.value);
        } catch (e) {
          await resign(call, leader).catch(() => undefined);
          throw e;
        }
      }
      try {
        await waitDeletes(ctx, call, prefix, q.myRevision - 1);
      } catch (e) {
        if (call.cancelled) releaseInBackground(ctx, key);
        throw e;
      }
      return { header: q.header, leader };
    } catch (e) {
      throw asClientError(e);
    }
  });

  server.handle(ElectionService.Proclaim, async (req, call) => {
    if (req.leader === undefined) throw unknown(ERR_MISSING_LEADER);
    try {
      return { header: await proclaim(call, req.leader, req.value) };
    } catch (e) {
      throw asClientError(e);
    }
  });

  server.handle(ElectionService.Resign, async (req, call) => {
    if (req.leader === undefined) throw unknown(ERR_MISSING_LEADER);
    try {
      return { header: await resign(call, req.leader) };
    } catch (e) {
      throw asClientError(e);
    }
  });

  server.handle(ElectionService.Leader, async (req, call) => {
    await ctx.read(false, call);
    const r = ctx.member.kv.range(ownerQuery(withSlash(req.name), { last: false }));
    const kv = r.kvs[0];
    if (kv === undefined) throw unknown(ERR_NO_LEADER);
    return { header: ctx.header(), kv };
  });

  server.handle(ElectionService.Observe, async (req, call) => {
    const prefix = withSlash(req.name);
    for (;;) {
      // The current leader, or wait for the first candidate to appear.
      await ctx.read(false, call);
      let kv: KeyValue | undefined = ctx.member.kv.range(ownerQuery(prefix, { last: false })).kvs[0];
      let revision: number = ctx.member.kv.revision;
      if (kv === undefined) {
        const w = new LocalWatch(ctx, watchRequest(prefix, { rangeEnd: prefixEnd(prefix), startRevision: revision }));
        try {
          while (kv === undefined) {
            const put = (await w.next(call.signal)).find((e) => e.type === 'put');
            if (put !== undefined) {
              kv = put.kv;
              revision = put.kv.modRevision;
            }
          }
        } finally {
          w.close();
        }
      }
      await call.write({ header: ctx.header(revision), kv });
      // Follow that leader's key until it is deleted.
      const w = new LocalWatch(ctx, watchRequest(kv.key, { startRevision: revision + 1 }));
      try {
        let deleted = false;
        while (!deleted) {
          const r = await w.nextWithRevision(call.signal);
          for (const e of r.events) {
            if (e.type === 'delete') {
              deleted = true;
              break;
            }
            await call.write({ header: ctx.header(r.revision), kv: e.kv });
          }
        }
      } finally {
        w.close();
      }
    }
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
