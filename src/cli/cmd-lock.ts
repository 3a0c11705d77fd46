import { spawn } from 'node:child_process';
import { Mutex, Session } from '../client/recipes/index.js';
import { CtlError, Exit } from './ctl-flags.js';
import { printGet } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';

export const lockCommand = ctlCommand({
  name: 'lock',
  summary: 'acquire a named lock and hold it until Ctrl-C, or while a command runs (etcdctl lock)',
  usage: `bulwark lock [options] <lockname> [command arg1 arg2 ...]

Without a command, prints the lock's key once acquired and holds the lock until interrupted. With
one, runs it while holding the lock (ETCD_LOCK_KEY and ETCD_LOCK_REV in its environment; the
revision is the lock's fencing token) and releases the lock when it exits.

Options:
  --ttl=10    the lock's session TTL in seconds`,
  flags: { ttl: { type: 'int', default: 10 } },
  async run(ctx) {
    const cmd = [...ctx.args.slice(1), ...(ctx.rest ?? [])];
    if (ctx.args.length === 0) throw new CtlError('lock takes a lock name argument and an optional command to execute', Exit.badArgs);
    const client = ctx.client();
    const session = await Session.create(client, { ttlSeconds: ctx.flags['ttl'] as number });
    const mutex = new Mutex(session, ctx.args[0]!);
    try {
      const token = await mutex.lock({ signal: ctx.interrupted });
      if (cmd.length > 0) {
        const code = await new Promise<number>((resolve) => {
          const p = spawn(cmd[0]!, cmd.slice(1), { stdio: 'inherit', env: { ETCD_LOCK_KEY: mutex.key, ETCD_LOCK_REV: String(token), ...process.env } });
          p.on('error', (e) => {
            ctx.err(`Error: ${e.message}\n`);
            resolve(Exit.error);
          });
          p.on('exit', (c) => resolve(c ?? Exit.error));
        });
        await mutex.unlock();
        if (code !== 0) throw new CtlError(`exit status ${code}`, Exit.error);
        return 0;
      }
      const k = await client.get(mutex.key);
      if (k.kvs.length === 0) throw new CtlError('lock lost on init', Exit.error);
      ctx.write(printGet(k, ctx.print));
      const lost = await Promise.race([
        session.done.then(() => true),
        new Promise<boolean>((resolve) => ctx.interrupted.addEventListener('abort', () => resolve(false))),
      ]);
      if (lost) throw new CtlError('session expired', Exit.error);
      await mutex.unlock();
      return 0;
    } finally {
      await session.close().catch(() => {});
    }
  },
});
