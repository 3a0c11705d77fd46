import type { PutRequestInit } from '../api/proto/generated/etcdserverpb.js';
import { toBytes } from '../client/kv.js';
import { CtlError, Exit, type FlagSpecs, type FlagValue } from './ctl-flags.js';
import { printPut } from './ctl-print.js';
import { ctlCommand, parseHexId } from './ctl-run.js';

export const PUT_FLAGS: FlagSpecs = {
  lease: { type: 'string', default: '0' },
  'prev-kv': { type: 'bool' },
  'ignore-value': { type: 'bool' },
  'ignore-lease': { type: 'bool' },
};

/** The PutRequest etcdctl's put builds; `stdin` gives the value when only the key is an argument. */
export function putRequest(args: readonly string[], flags: Readonly<Record<string, FlagValue>>, stdin: (() => string) | null): PutRequestInit {
  if (args.length === 0) throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments', Exit.badArgs);
  const ignoreValue = flags['ignore-value'] === true;
  if (ignoreValue && args.length > 1) throw new CtlError("put command needs only 1 argument when 'ignore-value' is set", Exit.badArgs);
  let value = '';
  if (!ignoreValue) {
    if (args.length > 1) value = args[1]!;
    else {
      const fromStdin = stdin === null ? '' : stdin();
      if (fromStdin === '') throw new CtlError('put command needs 1 argument and input from stdin or 2 arguments', Exit.badArgs);
      value = fromStdin;
    }
  }
  const leaseText = flags['lease'] as string;
  const lease = leaseText === '0' || leaseText === '' ? 0n : parseHexId(leaseText, 'lease');
  return { key: toBytes(args[0]!), value: toBytes(value), lease, prevKv: flags['prev-kv'] as boolean, ignoreValue, ignoreLease: flags['ignore-lease'] as boolean };
}

export const putCommand = ctlCommand({
  name: 'put',
  summary: 'put a key (etcdctl put)',
  usage: `bulwark put [options] <key> <value>   (or the value from stdin)

Options:
  --lease=0         lease ID (in hexadecimal) to attach to the key
  --prev-kv         return the previous key-value pair
  --ignore-value    keep the current value
  --ignore-lease    keep the current lease`,
  flags: PUT_FLAGS,
  async run(ctx) {
    const { readFileSync } = await import('node:fs');
    const args = [...ctx.args, ...(ctx.rest ?? [])];
    const req = putRequest(args, ctx.flags, () => {
      try {
        return readFileSync(0, 'utf8');
      } catch {
        return '';
      }
    });
    const r = await ctx.client().kvPut(req);
    ctx.write(printPut(r, ctx.print));
    return 0;
  },
});
