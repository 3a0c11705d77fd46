#!/usr/bin/env node
/**
 * The `bulwark` command: one binary for the server, the local cluster, the client commands and the
 * tools. Each subcommand is a Command in its own file.
 */
import { COMMANDS } from './commands.js';
import { UsageError, type Command } from './command.js';
import { moveLeadingGlobalFlags } from './ctl-run.js';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `bulwark: a fault-tolerant replicated key-value store speaking the etcd v3 API\n\nUsage: bulwark <command> [flags]\n\nCommands:\n${lines.join('\n')}\n\nRun 'bulwark <command> --help' for a command's flags.\n`;
}

/** Finds the longest command name that prefixes the arguments (`endpoint status` before `endpoint`). */
function findCommand(argv: readonly string[]): { command: Command; rest: readonly string[] } | null {
  let best: { command: Command; rest: readonly string[] } | null = null;
  for (const c of COMMANDS) {
    const words = c.name.split(' ');
    if (words.every((w, i) => argv[i] === w) && (best === null || words.length > best.command.name.split(' ').length)) {
      best = { command: c, rest: argv.slice(words.length) };
    }
  }
  return best;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    process.stdout.write(help());
    return 0;
  }
  if (argv[0] === '--version') argv = ['version'];
  // etcdctl accepts global flags before the command: `bulwark --endpoints=X get k`.
  if (argv[0]?.startsWith('-') === true) argv = moveLeadingGlobalFlags(argv);
  const found = findCommand(argv);
  if (found === null) {
    process.stderr.write(`bulwark: unknown command '${argv[0]}'\n\n${help()}`);
    return 2;
  }
  if (found.rest.includes('--help') || found.rest.includes('-h')) {
    process.stdout.write(found.command.usage + '\n');
    return 0;
  }
  try {
    return await found.command.run(found.rest);
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      process.stderr.write(`bulwark ${found.command.name}: ${(e as Error).message}\n\n${found.command.usage}\n`);
      return 2;
    }
    process.stderr.write(`bulwark ${found.command.name}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bulwark: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
