import { isClientError } from '../client/errors.js';
import { CtlError, Exit } from './ctl-flags.js';
import { hex16 } from './ctl-format.js';
import { printGrant, printKeepAlive, printLeases, printRevoke, printTimeToLive } from './ctl-print.js';
import { ctlCommand, DIE_BY_SIGNAL, parseIntArg, type CtlContext } from './ctl-run.js';

function leaseArg(text: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new CtlError(`bad lease ID arg (strconv.ParseInt: parsing "${text}": invalid syntax), expecting ID in Hex`, Exit.badArgs);
  return BigInt.asIntN(64, BigInt(`0x${text}`));
}

async function grant(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('lease grant command needs TTL argument', Exit.badArgs);
  const ttl = parseIntArg(ctx.args[1]!);
  if (ttl === null) throw new CtlError(`bad TTL (strconv.ParseInt: parsing "${ctx.args[1]!}": invalid syntax)`, Exit.badArgs);
  const r = await ctx.client().leaseGrant(ttl);
  ctx.write(printGrant(r, ctx.print));
  return 0;
}

async function revoke(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('lease revoke command needs 1 argument', Exit.badArgs);
  const id = leaseArg(ctx.args[1]!);
  try {
    const r = (await ctx.client().leaseRevoke(id)) as { header: undefined };
    ctx.write(printRevoke(id, r, ctx.print));
  } catch (e) {
    if (isClientError(e, 'server')) throw new CtlError(`failed to revoke lease (${e.message})`, Exit.error);
    throw e;
  }
  return 0;
}

async function timeToLive(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('lease timetolive command needs lease ID as argument', Exit.badArgs);
  const id = leaseArg(ctx.args[1]!);
  const keys = ctx.flags['keys'] as boolean;
  const r = await ctx.client().leaseTimeToLive(id, { keys });
  ctx.write(printTimeToLive(r, keys, ctx.print));
  return 0;
}

async function list(ctx: CtlContext): Promise<number> {
  const r = await ctx.client().leaseList();
  ctx.write(printLeases(r, ctx.print));
  return 0;
}

async function keepAlive(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('lease keep-alive command needs lease ID as argument', Exit.badArgs);
  const id = leaseArg(ctx.args[1]!);
  const client = ctx.client();
  if (ctx.flags['once'] === true) {
    const r = await client.leaseKeepAliveOnce(id).catch((e: unknown) => {
      throw new CtlError(e instanceof Error ? e.message : String(e), Exit.badConnection);
    });
    if (r.TTL <= 0) throw new CtlError('etcdserver: requested lease not found', Exit.badConnection);
    ctx.write(printKeepAlive(r, ctx.print));
    return 0;
  }
  // Renew every third of the TTL until the lease is gone or we are interrupted.
  while (!ctx.interrupted.aborted) {
    const r = await client.leaseKeepAliveOnce(id, { signal: ctx.interrupted }).catch((e: unknown) => {
      if (ctx.interrupted.aborted) return null;
      throw e;
    });
    if (r === null) break;
    if (r.TTL <= 0) {
      if (ctx.print.format === 'simple') ctx.out(`lease ${hex16(id)} expired or revoked.\n`);
      return 0;
    }
    ctx.write(printKeepAlive(r, ctx.print));
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(500, (r.TTL * 1000) / 3));
      ctx.interrupted.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  // Interrupted, as etcdctl's keep-alive: the process ends by the signal.
  return DIE_BY_SIGNAL;
}

export const leaseCommand = ctlCommand({
  name: 'lease',
  summary: 'lease grant | revoke | timetolive | list | keep-alive (etcdctl lease)',
  usage: `bulwark lease <subcommand>

  lease grant <ttl>                   grant a lease of ttl seconds
  lease revoke <leaseID>              revoke a lease (its keys are deleted)
  lease timetolive <leaseID> [--keys] the lease's remaining TTL (and its keys)
  lease list                          every lease
  lease keep-alive [--once] <leaseID> keep a lease alive until Ctrl-C (or renew it once)`,
  flags: { keys: { type: 'bool' }, once: { type: 'bool' } },
  async run(ctx) {
    switch (ctx.args[0]) {
      case 'grant':
        return grant(ctx);
      case 'revoke':
        return revoke(ctx);
      case 'timetolive':
        return timeToLive(ctx);
      case 'list':
        return list(ctx);
      case 'keep-alive':
        return keepAlive(ctx);
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'lease needs a subcommand: grant, revoke, timetolive, list or keep-alive' : `unknown lease subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
