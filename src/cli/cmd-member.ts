import { CtlError, Exit } from './ctl-flags.js';
import { printMemberAdd, printMemberChange, printMemberList } from './ctl-print.js';
import { ctlCommand, type CtlContext } from './ctl-run.js';

function memberArg(ctx: CtlContext): bigint {
  const text = ctx.args[1];
  if (text === undefined) throw new CtlError('member ID is not provided', Exit.badArgs);
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new CtlError(`bad member ID arg (strconv.ParseUint: parsing "${text}": invalid syntax), expecting ID in Hex`, Exit.badArgs);
  return BigInt(`0x${text}`);
}

function peerUrls(ctx: CtlContext): string[] {
  const urls = (ctx.flags['peer-urls'] as string).split(',').filter((u) => u !== '');
  if (urls.length === 0) throw new CtlError('member peer urls not provided', Exit.badArgs);
  return urls;
}

export const memberCommand = ctlCommand({
  name: 'member',
  summary: 'member list | add | remove | update | promote (etcdctl member)',
  usage: `bulwark member <subcommand>

  member list                                   the members
  member add <name> --peer-urls=URLS [--learner] add a member (a learner: non-voting, catching up)
  member remove <memberID>                      remove a member
  member update <memberID> --peer-urls=URLS     change a member's peer URLs
  member promote <memberID>                     make a learner a voting member`,
  flags: { 'peer-urls': { type: 'string' }, learner: { type: 'bool' } },
  async run(ctx) {
    const client = ctx.client();
    switch (ctx.args[0]) {
      case 'list':
        ctx.write(printMemberList(await client.memberList(), ctx.print));
        return 0;
      case 'add': {
        const name = ctx.args[1];
        if (name === undefined) throw new CtlError('member name not provided', Exit.badArgs);
        if (ctx.args.length > 2) throw new CtlError(`too many arguments (${ctx.args.slice(1).join(', ')})`, Exit.badArgs);
        const urls = peerUrls(ctx);
        if (ctx.print.format !== 'simple' && ctx.print.format !== 'json') throw new CtlError(`${ctx.print.format} not supported as output format`, Exit.badFeature);
        ctx.write(printMemberAdd(await client.memberAdd(urls, { learner: ctx.flags['learner'] as boolean }), name, ctx.print));
        return 0;
      }
      case 'remove': {
        const id = memberArg(ctx);
        ctx.write(printMemberChange('removed from', id, await client.memberRemove(id), ctx.print));
        return 0;
      }
      case 'update': {
        const id = memberArg(ctx);
        ctx.write(printMemberChange('updated in', id, await client.memberUpdate(id, peerUrls(ctx)), ctx.print));
        return 0;
      }
      case 'promote': {
        const id = memberArg(ctx);
        ctx.write(printMemberChange('promoted in', id, await client.memberPromote(id), ctx.print));
        return 0;
      }
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'member needs a subcommand: list, add, remove, update or promote' : `unknown member subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
