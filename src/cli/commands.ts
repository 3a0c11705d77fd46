import type { Command } from './command.js';
import { benchCommand } from './cmd-bench.js';
import { chaosCommand } from './cmd-chaos.js';
import { lbCommand } from './cmd-lb.js';
import { serveCommand } from './cmd-serve.js';
import { raidCommand } from './cmd-raid.js';
import { simCommand } from './cmd-sim.js';
import { storageCheckCommand } from './cmd-storage.js';
import { upCommand } from './cmd-up.js';
import { versionCommand } from './cmd-version.js';
import { CLIENT_COMMANDS } from './client-commands.js';

/** Every subcommand, in the order `bulwark help` lists them. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  serveCommand,
  simCommand,
  lbCommand,
  raidCommand,
  storageCheckCommand,
  ...CLIENT_COMMANDS,
  benchCommand,
  chaosCommand,
  versionCommand,
];
