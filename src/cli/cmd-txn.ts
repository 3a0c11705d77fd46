import { CtlError, Exit } from './ctl-flags.js';
import { printTxn } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';
import { parseTxnScript } from './ctl-txn-parse.js';

const PROMPTS = ['compares:', 'success requests (get, put, del):', 'failure requests (get, put, del):'];

export const txnCommand = ctlCommand({
  name: 'txn',
  summary: 'apply requests read from stdin as one transaction (etcdctl txn)',
  usage: `bulwark txn [options]  < script

The script: compares, a blank line, requests if they all hold, a blank line, requests otherwise,
a blank line. For example:

  mod("key1") > "0"

  put key1 "overwrote-key1"

  put key1 "created-key1"
  put key2 "some extra key"

Options:
  -i, --interactive    print a prompt before each section`,
  flags: { interactive: { type: 'bool', short: 'i' } },
  async run(ctx) {
    if (ctx.args.length !== 0) throw new CtlError('txn command does not accept argument', Exit.badArgs);
    const { readFileSync } = await import('node:fs');
    let input: string;
    try {
      input = readFileSync(0, 'utf8');
    } catch {
      input = '';
    }
    const script = parseTxnScript(input, (n) => {
      if (ctx.flags['interactive'] === true) ctx.out(`${PROMPTS[n]!}\n`);
    });
    const r = await ctx.client().commitTxn({ compare: script.compares, success: script.success, failure: script.failure });
    ctx.write(printTxn(r, ctx.print));
    return 0;
  },
});
