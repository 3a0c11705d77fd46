/** etcdserverpb.KV: Range, Put, DeleteRange, Txn, Compact. */
import type { GrpcServer } from '../../api/grpc/index.js';
import { KVService } from '../../api/proto/generated/etcdserverpb.js';
import type { DeleteRangeResult, PutResult, TxnResult } from '../../kv/results.js';
import { deleteFromPb, deleteToPb, putFromPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnIsReadOnly, txnToPb } from '../etcd-convert.js';
import type { ServiceContext } from './context.js';

export function registerKv(server: GrpcServer, ctx: ServiceContext): void {
  const kv = ctx.member.kv;
  server.handle(KVService.Range, async (req, call) => {
    const op = rangeFromPb(req);
    await ctx.read(op.serializable, call);
    const r = kv.range(op);
    return rangeToPb(ctx.header(), r);
  });
  server.handle(KVService.Put, async (req, call) => {
    const res = await ctx.write(putFromPb(req), call);
    return putToPb(ctx.header(res.revision), res.outcome as PutResult);
  });
  server.handle(KVService.DeleteRange, async (req, call) => {
    const res = await ctx.write(deleteFromPb(req), call);
    return deleteToPb(ctx.header(res.revision), res.outcome as DeleteRangeResult);
  });
  server.handle(KVService.Txn, async (req, call) => {
    const op = txnFromPb(req);
    if (txnIsReadOnly(op)) {
      await ctx.read(false, call);
      const r = kv.readTxn(op);
      return txnToPb(ctx.header(), r);
    }
    const res = await ctx.write(op, call);
    return txnToPb(ctx.header(res.revision), res.outcome as TxnResult);
  });
  server.handle(KVService.Compact, async (req, call) => {
    const res = await ctx.write({ type: 'compaction', revision: req.revision, physical: req.physical }, call);
    return { header: ctx.header(res.revision) };
  });
}
