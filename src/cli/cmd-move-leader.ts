import { CtlError, Exit } from './ctl-flags.js';
import { printMoveLeader } from './ctl-print.js';
import { ctlCommand, errorExit } from './ctl-run.js';

export const moveLeaderCommand = ctlCommand({
  name: 'move-leader',
  summary: 'transfer leadership to another member (etcdctl move-leader)',
  usage: `bulwark move-leader <transferee-member-id>

The leader must be one of --endpoints: the request goes to it.`,
  flags: {},
  async run(ctx) {
    if (ctx.args.length !== 1) throw new CtlError('move-leader command needs 1 argument', Exit.badArgs);
    const text = ctx.args[0]!;
    if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new CtlError(`strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`, Exit.badArgs);
    const target = BigInt(`0x${text}`);
    const client = ctx.client();
    let leaderEndpoint: string | null = null;
    let leaderId = 0n;
    for (const endpoint of ctx.endpoints) {
      try {
        const s = await client.status(endpoint, { timeoutMs: ctx.commandTimeoutMs });
        if (s.header !== undefined && s.leader === s.header.memberId) {
          leaderEndpoint = endpoint;
          leaderId = s.leader;
          break;
        }
      } catch (e) {
        throw new CtlError(errorExit(e).message, Exit.error);
      }
    }
    if (leaderEndpoint === null) throw new CtlError(`no leader endpoint given at [${ctx.endpoints.join(' ')}]`, Exit.badArgs);
    const { response } = await client.moveLeader(target, { endpoint: leaderEndpoint });
    ctx.write(printMoveLeader(leaderId, target, response, ctx.print));
    return 0;
  },
});
