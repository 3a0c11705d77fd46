import { Election, Session } from '../client/recipes/index.js';
import { CtlError, Exit } from './ctl-flags.js';
import { printGet } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';
import type { RangeResponse } from '../api/proto/generated/etcdserverpb.js';

export const electCommand = ctlCommand({
  name: 'elect',
  summary: 'campaign in an election, or observe it with --listen (etcdctl elect)',
  usage: `bulwark elect [options] <election-name> [proposal]

With a proposal, campaigns: once elected, prints the leader key and value and leads until
interrupted, then resigns. With --listen, prints the leader at every change.

Options:
  -l, --listen    observe the election instead of campaigning`,
  flags: { listen: { type: 'bool', short: 'l' } },
  async run(ctx) {
    const listen = ctx.flags['listen'] === true;
    if (ctx.args.length !== (listen ? 1 : 2)) {
      if (ctx.args.length === 1 && !listen) throw new CtlError('no proposal argument but -l not set', Exit.badArgs);
      throw new CtlError('elect takes one election name argument and an optional proposal argument', Exit.badArgs);
    }
    const client = ctx.client();
    const session = await Session.create(client);
    const election = new Election(session, ctx.args[0]!);
    try {
      if (listen) {
        try {
          for await (const kv of election.observe({ signal: ctx.interrupted })) {
            const r: RangeResponse = { header: undefined, kvs: [kv], more: false, count: 1 };
            ctx.write(printGet(r, ctx.print));
          }
        } catch (e) {
          if (!ctx.interrupted.aborted) throw e;
        }
        if (!ctx.interrupted.aborted) throw new CtlError('elect: observer lost', Exit.error);
        return 0;
      }
      await election.campaign(ctx.args[1]!, { signal: ctx.interrupted });
      const me = election.leadership;
      if (me !== null) ctx.write(printGet(await client.get(me.key), ctx.print));
      const lost = await Promise.race([
        session.done.then(() => true),
        new Promise<boolean>((resolve) => ctx.interrupted.addEventListener('abort', () => resolve(false))),
      ]);
      if (lost) throw new CtlError('elect: session expired', Exit.error);
      await election.resign();
      return 0;
    } finally {
      await session.close().catch(() => {});
    }
  },
});
