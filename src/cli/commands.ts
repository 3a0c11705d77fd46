import type { Command } from './command.js';
import { benchCommand } from './cmd-bench.js';
import { chaosCommand } from './cmd-chaos.js';
import { lbCommand } from './cmd-lb.js';
import { raidCommand } from './cmd-raid.js';
import { simCommand } from './cmd-sim.js';
import { upCommand } from './cmd-up.js';
import { versionCommand } from './cmd-version.js';

/** Every subcommand, in the order `bulwark help` lists them. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  simCommand,
  lbCommand,
  raidCommand,
  benchCommand,
  chaosCommand,
  versionCommand,
];
