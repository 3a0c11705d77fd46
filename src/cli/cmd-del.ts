import type { DeleteRangeRequestInit } from '../api/proto/generated/etcdserverpb.js';
import type { FlagSpecs, FlagValue } from './ctl-flags.js';
import { rangeArgs } from './cmd-get.js';
import { printDel } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';

export const DEL_FLAGS: FlagSpecs = {
  prefix: { type: 'bool' },
  'prev-kv': { type: 'bool' },
  'from-key': { type: 'bool' },
};

export function delRequest(args: readonly string[], flags: Readonly<Record<string, FlagValue>>): DeleteRangeRequestInit {
  return { ...rangeArgs('del', args, flags), prevKv: flags['prev-kv'] as boolean };
}

export const delCommand = ctlCommand({
  name: 'del',
  summary: 'delete a key or a range of keys (etcdctl del)',
  usage: `bulwark del [options] <key> [range_end]

Options:
  --prefix      delete every key with the given prefix
  --from-key    delete every key greater than or equal to the given key
  --prev-kv     return the deleted key-value pairs`,
  flags: DEL_FLAGS,
  async run(ctx) {
    const req = delRequest(ctx.args, ctx.flags);
    const r = await ctx.client().kvDelete(req);
    ctx.write(printDel(r, ctx.print));
    return 0;
  },
});
