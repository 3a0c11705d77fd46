import { performance } from 'node:perf_hooks';
import { errorExit, ctlCommand, type CtlContext } from './ctl-run.js';
import { CtlError, Exit } from './ctl-flags.js';
import { goDuration } from './ctl-format.js';
import { printHashKV, printHealth, printStatus, type EndpointHashKV, type EndpointHealth, type EndpointStatus } from './ctl-print.js';
import { isClientError } from '../client/errors.js';

/** The endpoints a command covers: the given ones, or with --cluster every member's client URLs. */
export async function endpointsOf(ctx: CtlContext): Promise<string[]> {
  if (ctx.flags['cluster'] !== true) return [...ctx.endpoints];
  const r = await ctx.client().memberList();
  return r.members.flatMap((m) => m.clientURLs);
}

async function status(ctx: CtlContext): Promise<number> {
  const list: EndpointStatus[] = [];
  let failed = false;
  const client = ctx.client();
  for (const endpoint of await endpointsOf(ctx)) {
    try {
      list.push({ endpoint, status: await client.status(endpoint, { timeoutMs: ctx.commandTimeoutMs }) });
    } catch (e) {
      failed = true;
      ctx.err(`Failed to get the status of endpoint ${endpoint} (${errorExit(e).message})\n`);
    }
  }
  ctx.write(printStatus(list, ctx.print));
  return failed ? Exit.error : 0;
}

async function health(ctx: CtlContext): Promise<number> {
  const endpoints = await endpointsOf(ctx);
  const results = await Promise.all(
    endpoints.map(async (endpoint): Promise<EndpointHealth> => {
      const c = ctx.clientFor([endpoint]);
      const start = performance.now();
      let error = '';
      try {
        await c.get('health', { timeoutMs: ctx.commandTimeoutMs });
      } catch (e) {
        // Permission denied still went through consensus: the member is healthy.
        if (!(isClientError(e, 'server') && e.kind === 'permission-denied')) error = errorExit(e).message;
      }
      const took = goDuration(performance.now() - start);
      if (error === '') {
        try {
          const alarms = await c.alarmList({ timeoutMs: ctx.commandTimeoutMs });
          if (alarms.alarms.length > 0) error = `Active Alarm(s): ${alarms.alarms.map((a) => (a.alarm === 1 ? 'NOSPACE ' : a.alarm === 2 ? 'CORRUPT ' : 'UNKNOWN ')).join('')}`;
        } catch {
          error = 'Unable to fetch the alarm list';
        }
      }
      return { endpoint, health: error === '', took, error };
    }),
  );
  ctx.write(printHealth(results, ctx.print));
  if (results.some((h) => !h.health)) throw new CtlError('unhealthy cluster', Exit.error);
  return 0;
}

async function hashkv(ctx: CtlContext): Promise<number> {
  const list: EndpointHashKV[] = [];
  let failed = false;
  const client = ctx.client();
  for (const endpoint of await endpointsOf(ctx)) {
    try {
      list.push({ endpoint, hashKV: await client.hashKV(endpoint, ctx.flags['rev'] as number, { timeoutMs: ctx.commandTimeoutMs }) });
    } catch (e) {
      failed = true;
      ctx.err(`Failed to get the hash of endpoint ${endpoint} (${errorExit(e).message})\n`);
    }
  }
  ctx.write(printHashKV(list, ctx.print));
  return failed ? Exit.error : 0;
}

export const endpointCommand = ctlCommand({
  name: 'endpoint',
  summary: 'endpoint status | health | hashkv [--cluster] (etcdctl endpoint)',
  usage: `bulwark endpoint <subcommand> [--cluster]

  endpoint status     each endpoint's member id, version, db size, leadership, raft term and index
  endpoint health     whether each endpoint commits a read through consensus, and how fast
  endpoint hashkv     each endpoint's hash of its key-value history (--rev=N: up to N)

Options:
  --cluster           every member's client URLs (from the member list) instead of --endpoints`,
  flags: { cluster: { type: 'bool' }, rev: { type: 'int' } },
  async run(ctx) {
    switch (ctx.args[0]) {
      case 'status':
        return status(ctx);
      case 'health':
        return health(ctx);
      case 'hashkv':
        return hashkv(ctx);
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'endpoint needs a subcommand: status, health or hashkv' : `unknown endpoint subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
