import { CtlError, Exit } from './ctl-flags.js';
import { printAlarm } from './ctl-print.js';
import { ctlCommand } from './ctl-run.js';

export const alarmCommand = ctlCommand({
  name: 'alarm',
  summary: 'alarm list | disarm (etcdctl alarm)',
  usage: `bulwark alarm <subcommand>

  alarm list      the active alarms (NOSPACE, CORRUPT)
  alarm disarm    disarm every alarm`,
  flags: {},
  async run(ctx) {
    const client = ctx.client();
    switch (ctx.args[0]) {
      case 'list':
        ctx.write(printAlarm(await client.alarmList(), ctx.print));
        return 0;
      case 'disarm': {
        const r = await client.alarmDisarm();
        // etcdctl's disarm answers with the alarms it disarmed and no header.
        ctx.write(printAlarm({ header: undefined, alarms: r.alarms }, ctx.print));
        return 0;
      }
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'alarm needs a subcommand: list or disarm' : `unknown alarm subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
