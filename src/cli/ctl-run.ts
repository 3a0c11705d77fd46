/**
 * The frame of every etcdctl-like command: etcdctl's global flags (and their ETCDCTL_* environment
 * variables), the failover client they configure, output in the chosen format, and errors printed
 * as etcdctl prints them ("Error: etcdserver: key not found") with its exit codes.
 */
import { errorMessage } from '../core/errors.js';
import { createClient, type BulwarkClient } from '../client/index.js';
import { ClientError } from '../client/errors.js';
import type { Command } from './command.js';
import { CtlError, Exit, parseFlags, type FlagSpecs, type FlagValue } from './ctl-flags.js';
import { OUTPUT_FORMATS, type OutputFormat, type PrintOptions, type Printed } from './ctl-print.js';

export const GLOBAL_FLAGS: FlagSpecs = {
  endpoints: { type: 'strings', default: ['127.0.0.1:2379'] },
  'dial-timeout': { type: 'duration', default: 2000 },
  'command-timeout': { type: 'duration', default: 5000 },
  'write-out': { type: 'string', short: 'w', default: 'simple' },
  hex: { type: 'bool' },
  debug: { type: 'bool' },
  'keepalive-time': { type: 'duration', default: 2000 },
  'keepalive-timeout': { type: 'duration', default: 6000 },
  'insecure-transport': { type: 'bool', default: true },
  'insecure-skip-tls-verify': { type: 'bool' },
  'insecure-discovery': { type: 'bool', default: true },
  cacert: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  'discovery-srv': { type: 'string', short: 'd' },
  'discovery-srv-name': { type: 'string' },
};

export const GLOBAL_USAGE = `Global flags (etcdctl's; also from ETCDCTL_ENDPOINTS, ETCDCTL_DIAL_TIMEOUT, ETCDCTL_COMMAND_TIMEOUT, ETCDCTL_WRITE_OUT, ETCDCTL_HEX):
  --endpoints=[127.0.0.1:2379]   gRPC endpoints (comma-separated)
  --dial-timeout=2s              dial timeout for client connections
  --command-timeout=5s           timeout for short running commands (retries included)
  -w, --write-out=simple         output format: simple, json, fields, table, protobuf
  --hex                          print byte strings as hex encoded strings`;

export interface CtlContext {
  /** Positional arguments. */
  readonly args: readonly string[];
  /** Arguments after `--`, if any. */
  readonly rest: readonly string[] | null;
  readonly flags: Readonly<Record<string, FlagValue>>;
  /** Flags given on the command line. */
  readonly set: ReadonlySet<string>;
  readonly print: PrintOptions;
  readonly endpoints: readonly string[];
  readonly commandTimeoutMs: number;
  readonly dialTimeoutMs: number;
  /** The client, created on first use with the global flags. */
  client(): BulwarkClient;
  /** A client for other endpoints (endpoint status --cluster). */
  clientFor(endpoints: readonly string[]): BulwarkClient;
  write(p: Printed): void;
  out(s: string): void;
  err(s: string): void;
  /** Aborted on SIGINT / SIGTERM (streaming commands stop on it). */
  readonly interrupted: AbortSignal;
}

/**
 * What a streaming command returns when it stopped because of SIGINT/SIGTERM and, like etcdctl's
 * watch, should end as a process killed by that signal (after cleaning up).
 */
export const DIE_BY_SIGNAL = -1;

export interface CtlDefinition {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly flags: FlagSpecs;
  run(ctx: CtlContext): Promise<number>;
}

/** Flags from ETCDCTL_<NAME> environment variables, where the command line does not set them. */
function fromEnv(flags: Record<string, FlagValue>, set: ReadonlySet<string>): void {
  const env = (name: string): string | undefined => process.env[`ETCDCTL_${name.toUpperCase().replace(/-/g, '_')}`];
  const endpoints = env('endpoints');
  if (!set.has('endpoints') && endpoints !== undefined && endpoints !== '') flags['endpoints'] = endpoints.split(',');
  const writeOut = env('write-out');
  if (!set.has('write-out') && writeOut !== undefined && writeOut !== '') flags['write-out'] = writeOut;
  for (const name of ['dial-timeout', 'command-timeout']) {
    const v = env(name);
    if (!set.has(name) && v !== undefined && v !== '') flags[name] = parseFlags([`--${name}=${v}`], { [name]: GLOBAL_FLAGS[name]! }).flags[name]!;
  }
  const h = env('hex');
  if (!set.has('hex') && h !== undefined) flags['hex'] = h === 'true' || h === '1';
}

/** How an error ends the command: etcdctl's message and exit code. */
export function errorExit(e: unknown): { message: string; code: number } {
  if (e instanceof CtlError) return { message: e.message, code: e.exitCode };
  if (e instanceof ClientError) {
    switch (e.code) {
      case 'deadline':
        return { message: 'context deadline exceeded', code: Exit.error };
      case 'cancelled':
        return { message: 'context canceled', code: Exit.error };
      default:
        return { message: e.message, code: Exit.error };
    }
  }
  return { message: errorMessage(e), code: Exit.error };
}

export function ctlCommand(def: CtlDefinition): Command {
  return {
    name: def.name,
    summary: def.summary,
    usage: `${def.usage}\n\n${GLOBAL_USAGE}`,
    async run(argv) {
      const clients: BulwarkClient[] = [];
      const interrupt = new AbortController();
      let signal: NodeJS.Signals = 'SIGINT';
      const onSignal = (s: NodeJS.Signals): void => {
        signal = s;
        interrupt.abort();
      };
      let dieBySignal = false;
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const parsed = parseFlags(argv, { ...GLOBAL_FLAGS, ...def.flags });
        const flags = { ...parsed.flags };
        fromEnv(flags, parsed.set);
        const format = flags['write-out'] as string;
        if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) throw new CtlError('unsupported output format', Exit.badFeature);
        for (const tls of ['cacert', 'cert', 'key']) if (flags[tls] !== '') throw new CtlError(`--${tls}: TLS is not supported by the bulwark client commands yet`, Exit.badFeature);
        if (flags['user'] !== '') throw new CtlError('--user: authentication is not supported by the bulwark client commands yet', Exit.badFeature);
        const endpoints = (flags['endpoints'] as string[]).filter((e) => e !== '');
        if (endpoints.length === 0) throw new CtlError('no endpoints given', Exit.badArgs);
        const commandTimeoutMs = flags['command-timeout'] as number;
        const dialTimeoutMs = flags['dial-timeout'] as number;
        const make = (eps: readonly string[]): BulwarkClient => {
          const c = createClient({ endpoints: [...eps], dialTimeoutMs: dialTimeoutMs > 0 ? dialTimeoutMs : 2000, callTimeoutMs: commandTimeoutMs > 0 ? commandTimeoutMs : 5000 });
          clients.push(c);
          return c;
        };
        let main: BulwarkClient | null = null;
        const ctx: CtlContext = {
          args: parsed.args,
          rest: parsed.rest,
          flags,
          set: parsed.set,
          print: { format: format as OutputFormat, hex: flags['hex'] as boolean },
          endpoints,
          commandTimeoutMs,
          dialTimeoutMs,
          client: () => (main ??= make(endpoints)),
          clientFor: (eps) => make(eps),
          write: (p) => {
            if (p.bytes !== undefined) process.stdout.write(p.bytes);
            if (p.out !== '') process.stdout.write(p.out);
            if (p.err !== undefined && p.err !== '') process.stderr.write(p.err);
          },
          out: (s) => void process.stdout.write(s),
          err: (s) => void process.stderr.write(s),
          interrupted: interrupt.signal,
        };
        const code = await def.run(ctx);
        if (code === DIE_BY_SIGNAL) {
          dieBySignal = true;
          return 0;
        }
        return code;
      } catch (e) {
        const { message, code } = errorExit(e);
        process.stderr.write(`Error: ${message}\n`);
        return code;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await Promise.all(clients.map((c) => c.close()));
        if (dieBySignal) process.kill(process.pid, signal);
      }
    },
  };
}

/** Parses a hex id (lease, member) as etcdctl does, or throws its error. */
export function parseHexId(text: string, what: string): bigint {
  if (!/^[0-9a-fA-F]{1,16}$/.test(text)) throw new CtlError(`bad ${what} ID (strconv.ParseInt: parsing "${text}": invalid syntax), expecting ID in Hex`, Exit.badArgs);
  return BigInt.asIntN(64, BigInt(`0x${text}`));
}

/** Parses a decimal integer argument (revision, TTL) as Go's strconv.ParseInt would. */
export function parseIntArg(text: string): number | null {
  return /^[+-]?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}

/**
 * etcdctl takes its global flags before the command (`etcdctl --endpoints=X get foo`); the
 * `bulwark` dispatcher looks for the command word first. This moves leading global flags (with
 * their values) after the command's first word, so both orders work. main.ts may call it on argv.
 */
export function moveLeadingGlobalFlags(argv: readonly string[]): string[] {
  const lead: string[] = [];
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--' && argv[i] !== '--help' && argv[i] !== '-h' && argv[i] !== '--version') {
    const a = argv[i]!;
    const name = a.startsWith('--') ? a.slice(2).split('=')[0]! : Object.entries(GLOBAL_FLAGS).find(([, s]) => s.short === a.slice(1, 2))?.[0];
    const spec = name === undefined ? undefined : GLOBAL_FLAGS[name];
    if (spec === undefined) break;
    lead.push(a);
    i++;
    const inline = a.includes('=') || (!a.startsWith('--') && a.length > 2);
    if (spec.type !== 'bool' && !inline && i < argv.length) lead.push(argv[i++]!);
  }
  if (lead.length === 0 || i >= argv.length) return [...argv];
  return [argv[i]!, ...lead, ...argv.slice(i + 1)];
}
