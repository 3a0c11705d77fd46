/**
 * bulwark.v1.Session: opens and closes client sessions for exactly-once writes. Opening is a log
 * entry; its index is the client id, unique and never reused (docs/client.md, src/kv/sessions.ts).
 */
import type { GrpcServer } from '../../api/grpc/index.js';
import { SessionService } from '../../api/proto/generated/bulwark-v1.js';
import { ServerError } from '../errors.js';
import type { ServiceContext } from './context.js';

export function registerSession(server: GrpcServer, ctx: ServiceContext): void {
  server.handle(SessionService.Open, async (_req, call) => {
    ctx.refuseLearner();
    const res = await ctx.member.propose({ type: 'session-open' }, null, ctx.timeoutMs(call));
    const o = res.outcome;
    if (o.type !== 'session-open') throw new ServerError('invalid-argument', `unexpected outcome ${o.type} for a session open`);
    return { header: ctx.header(res.revision), clientId: o.clientId };
  });
  server.handle(SessionService.Close, async (req, call) => {
    ctx.refuseLearner();
    const res = await ctx.member.propose({ type: 'session-close', clientId: req.clientId }, null, ctx.timeoutMs(call));
    if (res.outcome.type === 'error') throw new ServerError('invalid-argument', res.outcome.detail);
    return { header: ctx.header(res.revision) };
  });
}
