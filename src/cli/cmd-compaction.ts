import { CtlError, Exit } from './ctl-flags.js';
import { ctlCommand, parseIntArg } from './ctl-run.js';

export const compactionCommand = ctlCommand({
  name: 'compaction',
  summary: 'compact the event history up to a revision (etcdctl compaction)',
  usage: `bulwark compaction [options] <revision>

Options:
  --physical    wait until the compaction is physically applied`,
  flags: { physical: { type: 'bool' } },
  async run(ctx) {
    if (ctx.args.length !== 1) throw new CtlError('compaction command needs 1 argument', Exit.badArgs);
    const rev = parseIntArg(ctx.args[0]!);
    if (rev === null) throw new CtlError(`strconv.ParseInt: parsing "${ctx.args[0]!}": invalid syntax`, Exit.error);
    await ctx.client().compact(rev, { physical: ctx.flags['physical'] as boolean });
    ctx.out(`compacted revision ${rev}\n`);
    return 0;
  },
});
