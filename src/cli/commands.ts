import type { Command } from './command.js';
import { upCommand } from './cmd-up.js';
import { versionCommand } from './cmd-version.js';
import { simCommand } from './cmd-sim.js';

/** Every subcommand, in the order `bulwark help` lists them. */
export const COMMANDS: readonly Command[] = [upCommand, versionCommand, simCommand];
