import { spawn } from 'node:child_process';
import type { WatchResponse } from '../api/proto/generated/etcdserverpb.js';
import { isClientError } from '../client/errors.js';
import { CtlError, Exit } from './ctl-flags.js';
import { printWatch } from './ctl-print.js';
import { ctlCommand, DIE_BY_SIGNAL, parseIntArg } from './ctl-run.js';
import { rangeArgs } from './cmd-get.js';

export const watchCommand = ctlCommand({
  name: 'watch',
  summary: 'watch a key or a range of keys until Ctrl-C (etcdctl watch)',
  usage: `bulwark watch [options] <key> [range_end] [--] [exec-command arg1 arg2 ...]

Streams events until interrupted. It survives member failures: the watch resumes on another
member from the last revision it printed, with no event lost or repeated.

Options:
  --prefix             watch every key with the given prefix
  --rev=0              start at this revision (inclusive)
  --prev-kv            print the previous key-value pair of each event
  --progress-notify    ask for periodic progress notifications
  -- command ...       run a command for each event (ETCD_WATCH_REVISION, ETCD_WATCH_EVENT_TYPE,
                       ETCD_WATCH_KEY, ETCD_WATCH_VALUE in its environment)`,
  flags: {
    interactive: { type: 'bool', short: 'i' },
    prefix: { type: 'bool' },
    rev: { type: 'int' },
    'prev-kv': { type: 'bool' },
    'progress-notify': { type: 'bool' },
  },
  async run(ctx) {
    if (ctx.flags['interactive'] === true) throw new CtlError('interactive watch is not supported; give the key as an argument', Exit.badFeature);
    if (ctx.args.length < 1 || ctx.args.length > 2) throw new CtlError('bad number of arguments', Exit.badArgs);
    const { key, rangeEnd } = rangeArgs('watch', ctx.args, ctx.flags);
    const rev = ctx.flags['rev'] as number;
    if (parseIntArg(String(rev)) === null) throw new CtlError('bad revision', Exit.badArgs);
    const exec = ctx.rest !== null && ctx.rest.length > 0 ? ctx.rest : null;
    const client = ctx.client();
    const w = client.watch(key, {
      ...(rangeEnd === undefined ? {} : { end: rangeEnd }),
      ...(rev > 0 ? { startRevision: rev } : {}),
      prevKv: ctx.flags['prev-kv'] as boolean,
      progressNotify: ctx.flags['progress-notify'] as boolean,
      signal: ctx.interrupted,
    });
    try {
      for await (const item of w) {
        switch (item.type) {
          case 'events': {
            const r: WatchResponse = { header: item.header, watchId: 0n, created: false, canceled: false, compactRevision: 0, cancelReason: '', fragment: false, events: [...item.events] };
            ctx.write(printWatch(r, ctx.print));
            if (exec !== null) for (const e of item.events) await runFor(exec, item.revision, e.type === 1 ? 'DELETE' : 'PUT', e.kv?.key, e.kv?.value);
            break;
          }
          case 'progress':
            ctx.out(`progress notify: ${item.revision}\n`);
            break;
          case 'compacted': {
            ctx.err('watch was canceled (etcdserver: mvcc: required revision has been compacted)\n');
            const r: WatchResponse = { header: item.header, watchId: 0n, created: false, canceled: true, compactRevision: item.compactRevision, cancelReason: '', fragment: false, events: [] };
            ctx.write(printWatch(r, ctx.print));
            throw new CtlError('watch is canceled by the server', Exit.interrupted);
          }
        }
      }
    } catch (e) {
      if (isClientError(e, 'watch-canceled')) {
        ctx.err(`watch was canceled (${e.message})\n`);
        throw new CtlError('watch is canceled by the server', Exit.interrupted);
      }
      throw e;
    }
    // Interrupted, etcdctl's watch dies of the signal; ours too, after closing the client.
    return ctx.interrupted.aborted ? DIE_BY_SIGNAL : Exit.interrupted;
  },
});

function runFor(cmd: readonly string[], revision: number, type: string, key: Uint8Array | undefined, value: Uint8Array | undefined): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(cmd[0]!, cmd.slice(1), {
      stdio: 'inherit',
      env: {
        ...process.env,
        ETCD_WATCH_REVISION: String(revision),
        ETCD_WATCH_EVENT_TYPE: type,
        ETCD_WATCH_KEY: Buffer.from(key ?? []).toString(),
        ETCD_WATCH_VALUE: Buffer.from(value ?? []).toString(),
      },
    });
    p.on('error', (e) => {
      process.stderr.write(`Error: ${e.message}\n`);
      resolve();
    });
    p.on('exit', () => resolve());
  });
}
