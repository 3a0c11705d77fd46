import type { RangeRequestInit } from '../api/proto/generated/etcdserverpb.js';
import { RangeRequest_SortOrder, RangeRequest_SortTarget } from '../api/proto/generated/etcdserverpb.js';
import { prefixEnd, toBytes } from '../client/kv.js';
import { CtlError, Exit, type FlagSpecs, type FlagValue } from './ctl-flags.js';
import { printCount, printGet } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';

export const GET_FLAGS: FlagSpecs = {
  consistency: { type: 'string', default: 'l' },
  'from-key': { type: 'bool' },
  'keys-only': { type: 'bool' },
  'count-only': { type: 'bool' },
  limit: { type: 'int' },
  order: { type: 'string' },
  prefix: { type: 'bool' },
  'print-value-only': { type: 'bool' },
  rev: { type: 'int' },
  'sort-by': { type: 'string' },
};

const TARGETS: Record<string, number> = { CREATE: RangeRequest_SortTarget.CREATE, KEY: RangeRequest_SortTarget.KEY, MODIFY: RangeRequest_SortTarget.MOD, VALUE: RangeRequest_SortTarget.VALUE, VERSION: RangeRequest_SortTarget.VERSION };

/** The key and range of get and del: one key, [key, end), a prefix, or every key from key on. */
export function rangeArgs(cmd: string, args: readonly string[], flags: Readonly<Record<string, FlagValue>>): { key: Uint8Array; rangeEnd: Uint8Array | undefined } {
  if (args.length === 0) throw new CtlError(`${cmd} command needs one argument as key and an optional argument as range_end`, Exit.badArgs);
  const prefix = flags['prefix'] === true;
  const fromKey = flags['from-key'] === true;
  if (prefix && fromKey) throw new CtlError('`--prefix` and `--from-key` cannot be set at the same time, choose one', Exit.badArgs);
  if ((prefix || fromKey) && args.length > 1) throw new CtlError('too many arguments, only accept one argument when `--prefix` or `--from-key` is set', Exit.badArgs);
  let key = toBytes(args[0]!);
  let rangeEnd: Uint8Array | undefined = args.length > 1 ? toBytes(args[1]!) : undefined;
  const zero = new Uint8Array([0]);
  if (prefix) {
    if (key.length === 0) {
      key = zero;
      rangeEnd = zero;
    } else rangeEnd = prefixEnd(key);
  }
  if (fromKey) {
    if (key.length === 0) key = zero;
    rangeEnd = zero;
  }
  return { key, rangeEnd };
}

/** The RangeRequest etcdctl's get builds from its arguments and flags. */
export function getRequest(args: readonly string[], flags: Readonly<Record<string, FlagValue>>): RangeRequestInit {
  const { key, rangeEnd } = rangeArgs('get', args, flags);
  const consistency = flags['consistency'] as string;
  if (consistency !== 'l' && consistency !== 's') throw new CtlError(`unknown consistency flag "${consistency}"`, Exit.badFeature);
  const order = (flags['order'] as string).toUpperCase();
  let sortOrder: number = RangeRequest_SortOrder.NONE;
  if (order === 'ASCEND') sortOrder = RangeRequest_SortOrder.ASCEND;
  else if (order === 'DESCEND') sortOrder = RangeRequest_SortOrder.DESCEND;
  else if (order !== '') throw new CtlError(`bad sort order ${flags['order'] as string}`, Exit.badFeature);
  const by = (flags['sort-by'] as string).toUpperCase();
  const sortTarget = by === '' ? RangeRequest_SortTarget.KEY : TARGETS[by];
  if (sortTarget === undefined) throw new CtlError(`bad sort target ${flags['sort-by'] as string}`, Exit.badFeature);
  // clientv3.WithSort: sorting by key in ascending order is the natural order, so none is asked.
  if (sortTarget === RangeRequest_SortTarget.KEY && sortOrder === RangeRequest_SortOrder.ASCEND) sortOrder = RangeRequest_SortOrder.NONE;
  if (flags['keys-only'] === true && flags['count-only'] === true) throw new CtlError('`--keys-only` and `--count-only` cannot be set at the same time, choose one', Exit.badArgs);
  return {
    key,
    rangeEnd,
    limit: flags['limit'] as number,
    revision: flags['rev'] as number,
    serializable: consistency === 's',
    keysOnly: flags['keys-only'] as boolean,
    countOnly: flags['count-only'] as boolean,
    sortOrder,
    sortTarget,
  };
}

export const getCommand = ctlCommand({
  name: 'get',
  summary: 'get a key or a range of keys (etcdctl get)',
  usage: `bulwark get [options] <key> [range_end]

Options:
  --consistency=l        linearizable (l) or serializable (s)
  --from-key             every key greater than or equal to the given key
  --prefix               every key with the given prefix
  --limit=0              maximum number of results
  --rev=0                read at this revision
  --sort-by=""           CREATE, KEY, MODIFY, VALUE or VERSION
  --order=""             ASCEND or DESCEND
  --keys-only            only the keys
  --count-only           only the count (with -w fields)
  --print-value-only     only the values (simple format)`,
  flags: GET_FLAGS,
  async run(ctx) {
    const req = getRequest(ctx.args, ctx.flags);
    if (req.countOnly === true && ctx.print.format !== 'fields') throw new CtlError('--count-only is only for `--write-out=fields`', Exit.badArgs);
    const r = await ctx.client().kvRange(req);
    const o = { ...ctx.print, valueOnly: ctx.flags['print-value-only'] as boolean };
    ctx.write(req.countOnly === true ? printCount(r, o) : printGet(r, o));
    return 0;
  },
});

