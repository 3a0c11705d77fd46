/**
 * Flag parsing for the etcdctl-like client commands, with etcdctl's (pflag's) rules: flags may
 * appear anywhere among the arguments, `--name=value` or `--name value`, booleans as `--name` or
 * `--name=true|false`, one-letter shorthands (`-w json`), and `--` ends the flags.
 */

export type FlagType = 'string' | 'bool' | 'int' | 'duration' | 'strings';

export interface FlagSpec {
  readonly type: FlagType;
  readonly short?: string;
  readonly default?: string | boolean | number | readonly string[];
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export type FlagValue = string | boolean | number | string[];

/** An error in the command line: etcdctl exits with its bad-arguments code. */
export class CtlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CtlError';
  }
}

/** etcdctl's exit codes (pkg/cobrautl). */
export const Exit = {
  success: 0,
  error: 1,
  badConnection: 2,
  invalidInput: 3,
  badFeature: 4,
  interrupted: 5,
  io: 6,
  badArgs: 128,
} as const;

/** Parses a Go duration ("5s", "500ms", "1m30s", "2h"); returns milliseconds. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) throw new CtlError(`invalid duration "${text}"`, Exit.badArgs);
    total += Number(m[1]) * units[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0) throw new CtlError(`invalid duration "${text}"`, Exit.badArgs);
  return total;
}

export interface Parsed {
  readonly flags: Record<string, FlagValue>;
  /** Flags the user set explicitly. */
  readonly set: ReadonlySet<string>;
  readonly args: string[];
  /** Arguments after `--`, when there was one. */
  readonly rest: string[] | null;
}

function convert(name: string, spec: FlagSpec, raw: string): FlagValue {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'strings':
      return raw === '' ? [] : raw.split(',');
    case 'bool':
      if (raw === 'true' || raw === '1' || raw === 't' || raw === 'TRUE' || raw === 'True') return true;
      if (raw === 'false' || raw === '0' || raw === 'f' || raw === 'FALSE' || raw === 'False') return false;
      throw new CtlError(`invalid argument "${raw}" for "--${name}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`, Exit.error);
    case 'int':
      if (!/^-?\d+$/.test(raw)) throw new CtlError(`invalid argument "${raw}" for "--${name}" flag: strconv.ParseInt: parsing "${raw}": invalid syntax`, Exit.error);
      return Number(raw);
    case 'duration':
      try {
        return parseDuration(raw);
      } catch {
        throw new CtlError(`invalid argument "${raw}" for "--${name}" flag: time: invalid duration "${raw}"`, Exit.error);
      }
  }
}

function defaultOf(spec: FlagSpec): FlagValue {
  if (spec.default !== undefined) return Array.isArray(spec.default) ? [...(spec.default as readonly string[])] : (spec.default as FlagValue);
  switch (spec.type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'duration':
      return 0;
    case 'strings':
      return [];
  }
}

export function parseFlags(argv: readonly string[], specs: FlagSpecs): Parsed {
  const flags: Record<string, FlagValue> = {};
  const set = new Set<string>();
  for (const [name, spec] of Object.entries(specs)) flags[name] = defaultOf(spec);
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short !== undefined) byShort.set(spec.short, name);
  const args: string[] = [];
  let rest: string[] | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
      if (specs[name] === undefined) throw new CtlError(`unknown flag: --${name}`, Exit.error);
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const s = a[1]!;
      name = byShort.get(s);
      if (name === undefined) throw new CtlError(`unknown shorthand flag: '${s}' in ${a}`, Exit.error);
      if (a.length > 2) inline = a[2] === '=' ? a.slice(3) : a.slice(2);
    } else {
      args.push(a);
      continue;
    }
    const spec = specs[name]!;
    let raw: string;
    if (inline !== undefined) raw = inline;
    else if (spec.type === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new CtlError(`flag needs an argument: --${name}`, Exit.error);
      raw = argv[++i]!;
    }
    const v = convert(name, spec, raw);
    flags[name] = spec.type === 'strings' && set.has(name) ? [...(flags[name] as string[]), ...(v as string[])] : v;
    set.add(name);
  }
  return { flags, set, args, rest };
}
