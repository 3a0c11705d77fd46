/** A `bulwark` subcommand. Each lives in its own file (cmd-<name>.ts) and is listed in commands.ts. */
export interface Command {
  /** The word after `bulwark` (or words, for `endpoint status`). */
  readonly name: string;
  /** One line for `bulwark help`. */
  readonly summary: string;
  /** Full usage text for `bulwark <name> --help`. */
  readonly usage: string;
  /** Runs the command; resolves to the process exit code. */
  run(args: readonly string[]): Promise<number>;
}

/** A usage error: the message says what to fix; the CLI prints it with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
