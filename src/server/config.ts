/**
 * `bulwark serve` configuration: etcd's flag names where they exist, a YAML (or JSON) config file
 * with the same keys, and environment variables (BULWARK_NAME or ETCD_NAME for --name, and so on).
 * Precedence: flags over environment over file over defaults. Invalid configuration is refused
 * with a message that says what to fix.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { BulwarkError } from '../core/errors.js';
import {
  ELECTION_TIMEOUT_MS_DEFAULT,
  HEARTBEAT_INTERVAL_MS_DEFAULT,
  MEMBERS_MAX,
  QUOTA_BACKEND_BYTES_DEFAULT,
  QUOTA_BACKEND_BYTES_MAX,
  REQUEST_BYTES_MAX,
  SNAPSHOT_BYTES_DEFAULT,
  SNAPSHOT_BYTES_SETTING_MAX,
  SNAPSHOT_COUNT_DEFAULT,
  TXN_OPS_MAX,
} from '../core/limits.js';

export class ConfigError extends BulwarkError<'config'> {
  constructor(message: string) {
    super('config', message);
    this.name = 'ConfigError';
  }
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface InitialMember {
  readonly name: string;
  readonly peerUrls: readonly string[];
}

export interface ServerConfig {
  readonly name: string;
  /** One directory, or several forming a RAID volume. */
  readonly dataDirs: readonly string[];
  readonly raid: 0 | 1 | 5;
  readonly listenClientUrls: readonly string[];
  readonly advertiseClientUrls: readonly string[];
  readonly listenPeerUrls: readonly string[];
  readonly initialAdvertisePeerUrls: readonly string[];
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterState: 'new' | 'existing';
  readonly initialClusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** Bytes of applied entry data between snapshots; 0 disables the byte trigger. */
  readonly snapshotBytes: number;
  readonly quotaBackendBytes: number;
  readonly maxRequestBytes: number;
  readonly maxTxnOps: number;
  readonly consensus: 'raft' | 'paxos';
  readonly preVote: boolean;
  readonly leaseReads: boolean;
  /**
   * Flexible Paxos quorum sizes, in voters (--paxos-phase1-quorum, --paxos-phase2-quorum); null is
   * the default (a majority, or the smallest size that intersects the other one when it is given).
   * Paxos only; every member must use the same.
   */
  readonly paxosPhase1Quorum: number | null;
  readonly paxosPhase2Quorum: number | null;
  readonly logLevel: LogLevel;
  /** etcd's --auto-compaction-mode and --auto-compaction-retention ('' = off). */
  readonly autoCompactionMode: 'periodic' | 'revision';
  readonly autoCompactionRetention: string;
  /** Test-only: turn on a deliberate bug so the chaos checkers can prove they catch it. */
  readonly unsafePlantedBug: string;
}

type Kind = 'string' | 'int' | 'bool' | 'list';

interface FlagSpec {
  readonly key: keyof RawConfig;
  readonly flag: string;
  readonly kind: Kind;
  readonly help: string;
}

type RawConfig = {
  name: string;
  'data-dir': string;
  raid: string;
  'listen-client-urls': string;
  'advertise-client-urls': string;
  'listen-peer-urls': string;
  'initial-advertise-peer-urls': string;
  'initial-cluster': string;
  'initial-cluster-state': string;
  'initial-cluster-token': string;
  'heartbeat-interval': string;
  'election-timeout': string;
  'snapshot-count': string;
  'snapshot-bytes': string;
  'quota-backend-bytes': string;
  'max-request-bytes': string;
  'max-txn-ops': string;
  consensus: string;
  'pre-vote': string;
  'lease-reads': string;
  'paxos-phase1-quorum': string;
  'paxos-phase2-quorum': string;
  'log-level': string;
  'auto-compaction-mode': string;
  'auto-compaction-retention': string;
  'unsafe-planted-bug': string;
};

export const FLAGS: readonly FlagSpec[] = [
  { key: 'name', flag: 'name', kind: 'string', help: 'human-readable name of this member (default "default")' },
  { key: 'data-dir', flag: 'data-dir', kind: 'list', help: 'data directory; several, comma-separated, form a RAID volume with --raid (default "<name>.bulwark")' },
  { key: 'raid', flag: 'raid', kind: 'int', help: 'RAID level over several --data-dir directories: 1 (mirror) or 5 (parity) (default 0: one directory)' },
  { key: 'listen-client-urls', flag: 'listen-client-urls', kind: 'list', help: 'URLs to serve clients on: gRPC, the JSON gateway, /metrics, /health (default "http://localhost:2379")' },
  { key: 'advertise-client-urls', flag: 'advertise-client-urls', kind: 'list', help: 'client URLs announced to the cluster (default "http://localhost:2379")' },
  { key: 'listen-peer-urls', flag: 'listen-peer-urls', kind: 'list', help: 'URLs to accept peer traffic on (default "http://localhost:2380")' },
  { key: 'initial-advertise-peer-urls', flag: 'initial-advertise-peer-urls', kind: 'list', help: "this member's peer URLs, announced to the cluster; several give network redundancy (default \"http://localhost:2380\")" },
  { key: 'initial-cluster', flag: 'initial-cluster', kind: 'string', help: 'initial members, name=peerURL,... (repeat a name for several URLs) (default "default=http://localhost:2380")' },
  { key: 'initial-cluster-state', flag: 'initial-cluster-state', kind: 'string', help: '"new" to bootstrap a cluster, "existing" to join one (default "new")' },
  { key: 'initial-cluster-token', flag: 'initial-cluster-token', kind: 'string', help: 'token that makes cluster and member ids unique (default "etcd-cluster")' },
  { key: 'heartbeat-interval', flag: 'heartbeat-interval', kind: 'int', help: `ms between leader heartbeats (default ${HEARTBEAT_INTERVAL_MS_DEFAULT})` },
  { key: 'election-timeout', flag: 'election-timeout', kind: 'int', help: `ms without a leader before an election (default ${ELECTION_TIMEOUT_MS_DEFAULT})` },
  { key: 'snapshot-count', flag: 'snapshot-count', kind: 'int', help: `applied entries between snapshots (default ${SNAPSHOT_COUNT_DEFAULT})` },
  { key: 'snapshot-bytes', flag: 'snapshot-bytes', kind: 'int', help: `bytes of applied entries between snapshots, whichever of this and --snapshot-count comes first; 0 disables (default ${SNAPSHOT_BYTES_DEFAULT})` },
  { key: 'quota-backend-bytes', flag: 'quota-backend-bytes', kind: 'int', help: `size at which the NOSPACE alarm is raised (default ${QUOTA_BACKEND_BYTES_DEFAULT})` },
  { key: 'max-request-bytes', flag: 'max-request-bytes', kind: 'int', help: `largest client request (default ${REQUEST_BYTES_MAX})` },
  { key: 'max-txn-ops', flag: 'max-txn-ops', kind: 'int', help: `most operations in one txn (default ${TXN_OPS_MAX})` },
  { key: 'consensus', flag: 'consensus', kind: 'string', help: 'consensus protocol of a new cluster: raft or paxos (default raft)' },
  { key: 'pre-vote', flag: 'pre-vote', kind: 'bool', help: 'run a pre-vote before campaigning (default true)' },
  { key: 'lease-reads', flag: 'lease-reads', kind: 'bool', help: 'serve linearizable reads from a leader lease, trusting bounded clock drift (default false)' },
  { key: 'paxos-phase1-quorum', flag: 'paxos-phase1-quorum', kind: 'int', help: 'Paxos only (Flexible Paxos): voters in a phase-1 (leader election) quorum; with the phase-2 size it must exceed the voters (default 0: a majority)' },
  { key: 'paxos-phase2-quorum', flag: 'paxos-phase2-quorum', kind: 'int', help: 'Paxos only (Flexible Paxos): voters in a phase-2 (write) quorum; every member must use the same sizes (default 0: a majority)' },
  { key: 'log-level', flag: 'log-level', kind: 'string', help: 'debug, info, warn or error (default info)' },
  { key: 'auto-compaction-mode', flag: 'auto-compaction-mode', kind: 'string', help: 'periodic or revision (default periodic)' },
  { key: 'auto-compaction-retention', flag: 'auto-compaction-retention', kind: 'string', help: 'history to keep: a duration (periodic, e.g. 1h) or a revision count; empty or 0 disables (default 0)' },
  { key: 'unsafe-planted-bug', flag: 'unsafe-planted-bug', kind: 'string', help: 'TESTING ONLY: run with a deliberate bug to prove the chaos checkers catch it' },
];

const DEFAULTS: RawConfig = {
  name: 'default',
  'data-dir': '',
  raid: '0',
  'listen-client-urls': 'http://localhost:2379',
  'advertise-client-urls': 'http://localhost:2379',
  'listen-peer-urls': 'http://localhost:2380',
  'initial-advertise-peer-urls': 'http://localhost:2380',
  'initial-cluster': '',
  'initial-cluster-state': 'new',
  'initial-cluster-token': 'etcd-cluster',
  'heartbeat-interval': String(HEARTBEAT_INTERVAL_MS_DEFAULT),
  'election-timeout': String(ELECTION_TIMEOUT_MS_DEFAULT),
  'snapshot-count': String(SNAPSHOT_COUNT_DEFAULT),
  'snapshot-bytes': String(SNAPSHOT_BYTES_DEFAULT),
  'quota-backend-bytes': String(QUOTA_BACKEND_BYTES_DEFAULT),
  'max-request-bytes': String(REQUEST_BYTES_MAX),
  'max-txn-ops': String(TXN_OPS_MAX),
  consensus: 'raft',
  'pre-vote': 'true',
  'lease-reads': 'false',
  'paxos-phase1-quorum': '0',
  'paxos-phase2-quorum': '0',
  'log-level': 'info',
  'auto-compaction-mode': 'periodic',
  'auto-compaction-retention': '0',
  'unsafe-planted-bug': '',
};

/** Usage text for `bulwark serve --help`, generated from the flag table. */
export function serveUsage(): string {
  const lines = FLAGS.map((f) => `  --${f.flag}${f.kind === 'bool' ? '' : ' <value>'}\n      ${f.help}`);
  return [
    'bulwark serve [flags]',
    '',
    'Runs one member of a Bulwark cluster. Flags follow etcd: a command line written for etcd works.',
    'Every flag may also come from the environment (BULWARK_DATA_DIR or ETCD_DATA_DIR for --data-dir)',
    'or from a YAML/JSON file given with --config-file (keys are the flag names). Flags win over the',
    'environment, which wins over the file.',
    '',
    '  --config-file <path>',
    '      YAML or JSON file with any of the settings below',
    ...lines,
  ].join('\n');
}

/** Parses argv, environment and config file into a validated configuration. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  const fromFlags = parseFlags(argv);
  const file = fromFlags.configFile ?? env['BULWARK_CONFIG_FILE'] ?? env['ETCD_CONFIG_FILE'];
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const fromEnv: Partial<RawConfig> = {};
  for (const f of FLAGS) {
    const envName = f.flag.toUpperCase().replace(/-/g, '_');
    const v = env[`BULWARK_${envName}`] ?? env[`ETCD_${envName}`];
    if (v !== undefined) fromEnv[f.key] = v;
  }
  const raw: RawConfig = { ...DEFAULTS, ...fromFile, ...fromEnv, ...fromFlags.values };
  return validate(raw);
}

function parseFlags(argv: readonly string[]): { values: Partial<RawConfig>; configFile?: string } {
  const values: Partial<RawConfig> = {};
  let configFile: string | undefined;
  const byFlag = new Map(FLAGS.map((f) => [f.flag, f]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) throw new ConfigError(`unexpected argument '${arg}' (flags start with --)`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    let value: string | undefined = eq < 0 ? undefined : body.slice(eq + 1);
    if (name === 'config-file') {
      if (value === undefined) value = argv[++i];
      if (value === undefined) throw new ConfigError('--config-file needs a path');
      configFile = value;
      continue;
    }
    const spec = byFlag.get(name);
    if (spec === undefined) throw new ConfigError(`unknown flag --${name} (see 'bulwark serve --help')`);
    if (value === undefined) {
      if (spec.kind === 'bool') {
        const next = argv[i + 1];
        value = next === 'true' || next === 'false' ? (i++, next) : 'true';
      } else {
        value = argv[++i];
        if (value === undefined) throw new ConfigError(`--${name} needs a value`);
      }
    }
    values[spec.key] = value;
  }
  return configFile === undefined ? { values } : { values, configFile };
}

function readConfigFile(path: string): Partial<RawConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must be a mapping of setting names to values`);
  const known = new Map(FLAGS.map((f) => [f.flag, f]));
  const out: Partial<RawConfig> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const spec = known.get(k);
    if (spec === undefined) throw new ConfigError(`config file ${path}: unknown setting '${k}'`);
    out[spec.key] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return out;
}

function int(raw: RawConfig, key: keyof RawConfig, o: { min: number; max: number }): number {
  const s = raw[key].trim();
  if (!/^-?\d+$/.test(s)) throw new ConfigError(`--${key} must be a whole number, got '${raw[key]}'`);
  const n = Number(s);
  if (n < o.min || n > o.max) throw new ConfigError(`--${key} must be between ${o.min} and ${o.max}, got ${n}`);
  return n;
}

function bool(raw: RawConfig, key: keyof RawConfig): boolean {
  const s = raw[key].trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  throw new ConfigError(`--${key} must be true or false, got '${raw[key]}'`);
}

function list(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function urls(raw: RawConfig, key: keyof RawConfig): string[] {
  const out = list(raw[key]);
  if (out.length === 0) throw new ConfigError(`--${key} needs at least one URL`);
  for (const u of out) checkUrl(u, `--${key}`);
  return out;
}

export function checkUrl(u: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw new ConfigError(`${where}: '${u}' is not a URL (expected e.g. http://127.0.0.1:2379)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${where}: '${u}' must use http:// (https is not supported yet)`);
  if (url.protocol === 'https:') throw new ConfigError(`${where}: '${u}': TLS is not supported yet; use http://`);
  if (url.port === '') throw new ConfigError(`${where}: '${u}' needs an explicit port`);
  if (url.pathname !== '/' && url.pathname !== '') throw new ConfigError(`${where}: '${u}' must not have a path`);
  return url;
}

/** Parses etcd's --initial-cluster: "a=http://h:1,b=http://h:2,a=http://h2:1" (a name may repeat). */
export function parseInitialCluster(s: string): InitialMember[] {
  const byName = new Map<string, string[]>();
  for (const part of list(s)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--initial-cluster: '${part}' is not name=URL`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    checkUrl(url, `--initial-cluster member ${name}`);
    const urlsOf = byName.get(name) ?? [];
    if (urlsOf.includes(url)) throw new ConfigError(`--initial-cluster lists ${name}=${url} twice`);
    urlsOf.push(url);
    byName.set(name, urlsOf);
  }
  return [...byName].map(([name, peerUrls]) => ({ name, peerUrls }));
}

/**
 * The Flexible Paxos quorum sizes (0 = not given), checked as far as the configuration allows: Paxos
 * only, within the initial members, and intersecting (phase 1 + phase 2 > voters, Howard, Malkhi
 * and Spiegelman 2016). A member joining an existing cluster does not know the voters yet: the
 * engine checks its sizes against the configuration it learns.
 */
function flexibleQuorums(raw: RawConfig, consensus: 'raft' | 'paxos', voters: number | null): { phase1: number | null; phase2: number | null } {
  const given = (key: 'paxos-phase1-quorum' | 'paxos-phase2-quorum'): number | null => {
    const n = int(raw, key, { min: 0, max: MEMBERS_MAX });
    return n === 0 ? null : n;
  };
  const phase1 = given('paxos-phase1-quorum');
  const phase2 = given('paxos-phase2-quorum');
  if (phase1 === null && phase2 === null) return { phase1, phase2 };
  if (consensus !== 'paxos') throw new ConfigError('--paxos-phase1-quorum and --paxos-phase2-quorum apply to --consensus paxos only');
  if (voters !== null) {
    // The same rule as the engine's (a size left out is the smallest that intersects the other).
    const majority = Math.floor(voters / 2) + 1;
    const p1 = phase1 ?? (phase2 === null ? majority : voters - phase2 + 1);
    const p2 = phase2 ?? (phase1 === null ? majority : voters - phase1 + 1);
    for (const [flag, size] of [['--paxos-phase1-quorum', p1], ['--paxos-phase2-quorum', p2]] as const) {
      if (size < 1 || size > voters) throw new ConfigError(`${flag} ${size} does not fit the ${voters} member(s) of --initial-cluster: it must be between 1 and ${voters}`);
    }
    if (p1 + p2 <= voters) {
      throw new ConfigError(
        `--paxos-phase1-quorum ${p1} and --paxos-phase2-quorum ${p2} do not intersect for ${voters} members: their sum must exceed ${voters}, or two leaders could each decide a different value`,
      );
    }
  }
  return { phase1, phase2 };
}

function validate(raw: RawConfig): ServerConfig {
  const name = raw.name.trim();
  if (name === '' || /[=,\s]/.test(name)) throw new ConfigError(`--name must be non-empty without '=', ',' or spaces, got '${raw.name}'`);
  const raidLevel = int(raw, 'raid', { min: 0, max: 5 });
  if (raidLevel !== 0 && raidLevel !== 1 && raidLevel !== 5) throw new ConfigError(`--raid must be 0, 1 or 5, got ${raidLevel}`);
  const dataDirs = raw['data-dir'].trim() === '' ? [`${name}.bulwark`] : list(raw['data-dir']);
  if (raidLevel === 0 && dataDirs.length > 1) throw new ConfigError(`--data-dir lists ${dataDirs.length} directories: add --raid 1 or --raid 5 to combine them, or give one`);
  if (raidLevel === 1 && dataDirs.length < 2) throw new ConfigError('--raid 1 needs at least two --data-dir directories (comma-separated)');
  if (raidLevel === 5 && dataDirs.length < 3) throw new ConfigError('--raid 5 needs at least three --data-dir directories (comma-separated)');
  if (new Set(dataDirs).size !== dataDirs.length) throw new ConfigError('--data-dir lists a directory twice');

  const initialAdvertisePeerUrls = urls(raw, 'initial-advertise-peer-urls');
  const initialClusterText = raw['initial-cluster'].trim() === '' ? initialAdvertisePeerUrls.map((u) => `${name}=${u}`).join(',') : raw['initial-cluster'];
  const initialCluster = parseInitialCluster(initialClusterText);
  if (initialCluster.length > MEMBERS_MAX) throw new ConfigError(`--initial-cluster has ${initialCluster.length} members; at most ${MEMBERS_MAX}`);
  const self = initialCluster.find((m) => m.name === name);
  if (self === undefined) {
    throw new ConfigError(`--initial-cluster has no member named '${name}' (this member's --name); add ${name}=${initialAdvertisePeerUrls[0]}`);
  }
  const missing = initialAdvertisePeerUrls.filter((u) => !self.peerUrls.includes(u));
  if (missing.length > 0 || self.peerUrls.length !== initialAdvertisePeerUrls.length) {
    throw new ConfigError(
      `--initial-cluster lists ${name} at ${self.peerUrls.join(',')} but --initial-advertise-peer-urls is ${initialAdvertisePeerUrls.join(',')}; they must match`,
    );
  }
  const allPeerUrls = initialCluster.flatMap((m) => m.peerUrls);
  if (new Set(allPeerUrls).size !== allPeerUrls.length) throw new ConfigError('--initial-cluster gives the same peer URL to two members');

  const state = raw['initial-cluster-state'].trim();
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`--initial-cluster-state must be 'new' or 'existing', got '${state}'`);
  const consensus = raw.consensus.trim();
  if (consensus !== 'raft' && consensus !== 'paxos') throw new ConfigError(`--consensus must be 'raft' or 'paxos', got '${consensus}'`);
  const logLevel = raw['log-level'].trim();
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`--log-level must be debug, info, warn or error, got '${logLevel}'`);

  const heartbeatIntervalMs = int(raw, 'heartbeat-interval', { min: 1, max: 60_000 });
  const electionTimeoutMs = int(raw, 'election-timeout', { min: 1, max: 600_000 });
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(
      `--election-timeout (${electionTimeoutMs} ms) must be at least 5 times --heartbeat-interval (${heartbeatIntervalMs} ms); etcd recommends 10 times`,
    );
  }
  const { phase1: paxosPhase1Quorum, phase2: paxosPhase2Quorum } = flexibleQuorums(raw, consensus, state === 'new' ? initialCluster.length : null);
  const mode = raw['auto-compaction-mode'].trim();
  if (mode !== 'periodic' && mode !== 'revision') throw new ConfigError(`--auto-compaction-mode must be periodic or revision, got '${mode}'`);

  return {
    name,
    dataDirs,
    raid: raidLevel,
    listenClientUrls: urls(raw, 'listen-client-urls'),
    advertiseClientUrls: urls(raw, 'advertise-client-urls'),
    listenPeerUrls: urls(raw, 'listen-peer-urls'),
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: raw['initial-cluster-token'].trim() || 'etcd-cluster',
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: int(raw, 'snapshot-count', { min: 1, max: 100_000_000 }),
    snapshotBytes: int(raw, 'snapshot-bytes', { min: 0, max: SNAPSHOT_BYTES_SETTING_MAX }),
    quotaBackendBytes: int(raw, 'quota-backend-bytes', { min: 0, max: QUOTA_BACKEND_BYTES_MAX }),
    maxRequestBytes: int(raw, 'max-request-bytes', { min: 1024, max: 64 * 1024 * 1024 }),
    maxTxnOps: int(raw, 'max-txn-ops', { min: 1, max: 1_000_000 }),
    consensus,
    preVote: bool(raw, 'pre-vote'),
    leaseReads: bool(raw, 'lease-reads'),
    paxosPhase1Quorum,
    paxosPhase2Quorum,
    logLevel: logLevel as LogLevel,
    autoCompactionMode: mode,
    autoCompactionRetention: raw['auto-compaction-retention'].trim(),
    unsafePlantedBug: raw['unsafe-planted-bug'].trim(),
  };
}
