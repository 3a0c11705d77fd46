/**
 * The balancer's configuration: one JSON document (the `--config` file, or built from flags),
 * validated into a fully resolved LbConfig with every default filled in. Validation collects
 * nothing silently: the first problem is an LbConfigError naming the setting and what to fix.
 */
import {
  LB_BACKENDS_MAX,
  LB_CLUSTER_POLL_INTERVAL_MS_DEFAULT,
  LB_CONNECT_TIMEOUT_MS_DEFAULT,
  LB_DRAIN_TIMEOUT_MS_DEFAULT,
  LB_HEALTH_FALL_DEFAULT,
  LB_HEALTH_INTERVAL_MS_DEFAULT,
  LB_HEALTH_INTERVAL_MS_MIN,
  LB_HEALTH_RISE_DEFAULT,
  LB_HEALTH_THRESHOLD_MAX,
  LB_HEALTH_TIMEOUT_MS_DEFAULT,
  LB_MAX_CONNECTIONS_DEFAULT,
  LB_MAX_PENDING_REQUESTS_DEFAULT,
  LB_MAX_REQUESTS_DEFAULT,
  LB_MAX_RETRIES_DEFAULT,
  LB_OUTLIER_BASE_EJECTION_MS_DEFAULT,
  LB_OUTLIER_CONSECUTIVE_5XX_DEFAULT,
  LB_OUTLIER_CONSECUTIVE_GATEWAY_FAILURE_DEFAULT,
  LB_OUTLIER_INTERVAL_MS_DEFAULT,
  LB_OUTLIER_MAX_EJECTION_MS_DEFAULT,
  LB_OUTLIER_MAX_EJECTION_PERCENT_DEFAULT,
  LB_PANIC_THRESHOLD_PERCENT_DEFAULT,
  LB_RESPONSE_TIMEOUT_MS_DEFAULT,
  LB_RETRIES_PER_REQUEST_DEFAULT,
  LB_RETRIES_PER_REQUEST_MAX,
  LB_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT,
  LB_RETRY_BUDGET_PERCENT_DEFAULT,
  LB_RETRY_BUDGET_WINDOW_MS,
  LB_WEIGHT_MAX,
} from '../core/limits.js';
import { backendId, type BackendSpec } from './backend.js';
import type { CircuitBreakerLimits } from './circuit-breaker.js';
import { LbConfigError } from './errors.js';
import type { OutlierConfig } from './outlier-detector.js';
import { POLICY_NAMES, isPolicyName, type PolicyName } from './policy.js';
import type { RetryBudgetConfig } from './retry-budget.js';

export type LbMode = 'tcp' | 'http' | 'grpc';
export const LB_MODES: readonly LbMode[] = ['tcp', 'http', 'grpc'];

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** What the consistent-hashing policies hash. */
export type HashKeySpec = { readonly type: 'client-address' } | { readonly type: 'header'; readonly name: string } | { readonly type: 'path' };

export type HealthCheckSpec =
  | { readonly type: 'none' }
  | { readonly type: 'tcp' }
  | { readonly type: 'http'; readonly path: string; readonly expectStatus: number }
  | { readonly type: 'grpc'; readonly service: string };

export interface HealthSettings {
  readonly check: HealthCheckSpec;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
}

export interface RetrySettings {
  /** Retries of one request, each on a backend not tried yet. */
  readonly perRequest: number;
  readonly budget: RetryBudgetConfig;
  /** HTTP statuses that make an idempotent request go to another backend. */
  readonly onStatus: readonly number[];
  /** gRPC methods ("/pkg.Service/Method") safe to retry even after they were sent. */
  readonly idempotentGrpcMethods: readonly string[];
}

export interface ClusterSettings {
  /** Seed endpoints; the members are learned from them. */
  readonly endpoints: readonly HostPort[];
  readonly pollIntervalMs: number;
}

export interface LbConfig {
  readonly listen: HostPort;
  readonly mode: LbMode;
  readonly admin: HostPort | null;
  readonly policy: PolicyName;
  readonly hashKey: HashKeySpec;
  readonly backends: readonly BackendSpec[];
  readonly health: HealthSettings;
  readonly outlier: OutlierConfig;
  readonly panicThresholdPercent: number;
  readonly retries: RetrySettings;
  readonly circuitBreakers: CircuitBreakerLimits;
  readonly drainTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly cluster: ClusterSettings | null;
}

/** Parses "host:port", "[v6]:port" or ":port" (all interfaces is refused: say 0.0.0.0 explicitly). */
export function parseHostPort(text: unknown, path: string, options: { allowPortZero: boolean }): HostPort {
  if (typeof text !== 'string') throw new LbConfigError(path, `expected "host:port" as a string, got ${JSON.stringify(text)}`);
  let t = text.trim();
  const scheme = /^(https?|grpc|unix):\/\//.exec(t);
  if (scheme !== null) {
    if (scheme[1] !== 'http' && scheme[1] !== 'grpc') throw new LbConfigError(path, `"${text}": only http:// (cleartext) addresses are supported`);
    t = t.slice(scheme[0].length).replace(/\/+$/, '');
  }
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(t) ?? /^([^:[\]\s]+):(\d+)$/.exec(t);
  if (m === null) throw new LbConfigError(path, `"${text}" is not host:port (for example 127.0.0.1:8080)`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port > 65535 || (port === 0 && !options.allowPortZero)) throw new LbConfigError(path, `port ${m[2]} is out of range (1-65535)`);
  return { host: m[1]!, port };
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new LbConfigError(path, `expected an object, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

function known(o: Record<string, unknown>, path: string, keys: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new LbConfigError(path === '' ? k : `${path}.${k}`, `unknown setting (known: ${keys.join(', ')})`);
  }
}

function int(v: unknown, path: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new LbConfigError(path, `expected an integer, got ${JSON.stringify(v)}`);
  if (v < min || v > max) throw new LbConfigError(path, `${v} is out of range (${min}-${max})`);
  return v;
}

function bool(v: unknown, path: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new LbConfigError(path, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') throw new LbConfigError(path, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

const HOUR_MS = 3_600_000;

/** "127.0.0.1:9001", "127.0.0.1:9001,backup", "127.0.0.1:9001,weight=3" or {address, weight, backup}. */
export function parseBackend(v: unknown, path: string): BackendSpec {
  let address: unknown;
  let weight: unknown;
  let backup: unknown;
  if (typeof v === 'string') {
    const [addr, ...opts] = v.split(',').map((s) => s.trim());
    address = addr;
    for (const o of opts) {
      if (o === 'backup') backup = true;
      else if (/^weight=\d+$/.test(o)) weight = Number(o.slice('weight='.length));
      else throw new LbConfigError(path, `unknown backend option "${o}" (use "backup" or "weight=N")`);
    }
  } else {
    const o = obj(v, path);
    known(o, path, ['address', 'weight', 'backup']);
    address = o['address'];
    weight = o['weight'];
    backup = o['backup'];
  }
  const hp = parseHostPort(address, `${path}.address`, { allowPortZero: false });
  return {
    id: backendId(hp.host, hp.port),
    host: hp.host,
    port: hp.port,
    weight: int(weight, `${path}.weight`, 1, 1, LB_WEIGHT_MAX),
    backup: bool(backup, `${path}.backup`, false),
  };
}

/** "client-address", "path" or "header:NAME". */
export function parseHashKey(v: unknown, path: string): HashKeySpec {
  if (v === undefined || v === 'client-address') return { type: 'client-address' };
  if (v === 'path') return { type: 'path' };
  if (typeof v === 'string' && v.startsWith('header:') && v.length > 'header:'.length) return { type: 'header', name: v.slice('header:'.length).toLowerCase() };
  throw new LbConfigError(path, `${JSON.stringify(v)}: expected "client-address", "path" or "header:NAME"`);
}

/** "none", "tcp", "http", "http:/path", "http:/path:200", "grpc", "grpc:service" — or the object form. */
export function parseHealthCheck(v: unknown, path: string, mode: LbMode): HealthCheckSpec {
  const spec = parseHealthCheckSpec(v, path);
  if (spec.type === 'grpc' && mode !== 'grpc') throw new LbConfigError(path, 'gRPC health checks need mode "grpc"');
  if (spec.type === 'http' && mode === 'grpc') throw new LbConfigError(path, 'in grpc mode backends speak HTTP/2: use a grpc or tcp health check');
  return spec;
}

function parseHealthCheckSpec(v: unknown, path: string): HealthCheckSpec {
  if (v === undefined) return { type: 'tcp' };
  if (typeof v === 'string') {
    if (v === 'none' || v === 'tcp') return { type: v };
    if (v === 'http' || v.startsWith('http:')) {
      const rest = v === 'http' ? '' : v.slice('http:'.length);
      const m = /^(\/[^:\s]*)?(?::(\d{3}))?$/.exec(rest);
      if (m === null) throw new LbConfigError(path, `"${v}": expected http:/PATH or http:/PATH:STATUS`);
      return { type: 'http', path: m[1] ?? '/', expectStatus: m[2] === undefined ? 200 : int(Number(m[2]), path, 200, 100, 599) };
    }
    if (v === 'grpc' || v.startsWith('grpc:')) return { type: 'grpc', service: v === 'grpc' ? '' : v.slice('grpc:'.length) };
    throw new LbConfigError(path, `"${v}": expected none, tcp, http[:/PATH[:STATUS]] or grpc[:SERVICE]`);
  }
  const o = obj(v, path);
  const type = o['type'];
  switch (type) {
    case 'none':
    case 'tcp':
      known(o, path, ['type']);
      return { type };
    case 'http': {
      known(o, path, ['type', 'path', 'expectStatus']);
      const p = o['path'] === undefined ? '/' : str(o['path'], `${path}.path`);
      if (!p.startsWith('/')) throw new LbConfigError(`${path}.path`, `"${p}" must start with /`);
      return { type, path: p, expectStatus: int(o['expectStatus'], `${path}.expectStatus`, 200, 100, 599) };
    }
    case 'grpc':
      known(o, path, ['type', 'service']);
      return { type, service: o['service'] === undefined ? '' : str(o['service'], `${path}.service`) };
    default:
      throw new LbConfigError(`${path}.type`, `${JSON.stringify(type)}: expected none, tcp, http or grpc`);
  }
}

const TOP_KEYS = [
  'listen',
  'mode',
  'admin',
  'policy',
  'hashKey',
  'backends',
  'healthCheck',
  'outlierDetection',
  'panicThresholdPercent',
  'retries',
  'circuitBreakers',
  'drainTimeoutMs',
  'connectTimeoutMs',
  'responseTimeoutMs',
  'cluster',
] as const;

/** Validates a parsed JSON document into a complete LbConfig. */
export function parseLbConfig(raw: unknown): LbConfig {
  const o = obj(raw, '(config)');
  known(o, '', TOP_KEYS);
  const mode = o['mode'] ?? 'http';
  if (typeof mode !== 'string' || !(LB_MODES as readonly string[]).includes(mode)) throw new LbConfigError('mode', `${JSON.stringify(mode)}: expected one of ${LB_MODES.join(', ')}`);
  const lbMode = mode as LbMode;
  if (o['listen'] === undefined) throw new LbConfigError('listen', 'required: the address to accept clients on (for example 127.0.0.1:8080)');
  const listen = parseHostPort(o['listen'], 'listen', { allowPortZero: true });
  const admin = o['admin'] === undefined || o['admin'] === null ? null : parseHostPort(o['admin'], 'admin', { allowPortZero: true });
  const policy = o['policy'] ?? 'round-robin';
  if (typeof policy !== 'string' || !isPolicyName(policy)) throw new LbConfigError('policy', `${JSON.stringify(policy)}: expected one of ${POLICY_NAMES.join(', ')}`);
  const hashKey = parseHashKey(o['hashKey'], 'hashKey');
  if (lbMode === 'tcp' && hashKey.type !== 'client-address') throw new LbConfigError('hashKey', 'in tcp mode only "client-address" can be hashed');

  let cluster: ClusterSettings | null = null;
  if (o['cluster'] !== undefined && o['cluster'] !== null) {
    const c = obj(o['cluster'], 'cluster');
    known(c, 'cluster', ['endpoints', 'pollIntervalMs']);
    if (!Array.isArray(c['endpoints']) || c['endpoints'].length === 0) throw new LbConfigError('cluster.endpoints', 'expected a non-empty list of host:port');
    if (lbMode !== 'grpc') throw new LbConfigError('mode', 'cluster-aware mode proxies gRPC: set mode "grpc"');
    cluster = {
      endpoints: c['endpoints'].map((e, i) => parseHostPort(e, `cluster.endpoints[${i}]`, { allowPortZero: false })),
      pollIntervalMs: int(c['pollIntervalMs'], 'cluster.pollIntervalMs', LB_CLUSTER_POLL_INTERVAL_MS_DEFAULT, 50, HOUR_MS),
    };
  }

  const rawBackends = o['backends'] ?? [];
  if (!Array.isArray(rawBackends)) throw new LbConfigError('backends', 'expected a list of backends');
  if (rawBackends.length === 0 && cluster === null) throw new LbConfigError('backends', 'at least one backend is required (or cluster.endpoints for cluster-aware mode)');
  if (rawBackends.length > LB_BACKENDS_MAX) throw new LbConfigError('backends', `${rawBackends.length} backends; at most ${LB_BACKENDS_MAX}`);
  const backends = rawBackends.map((b, i) => parseBackend(b, `backends[${i}]`));
  const seen = new Set<string>();
  backends.forEach((b, i) => {
    if (seen.has(b.id)) throw new LbConfigError(`backends[${i}]`, `${b.id} is listed twice`);
    seen.add(b.id);
  });

  const hc = o['healthCheck'];
  const hco = typeof hc === 'object' && hc !== null && !Array.isArray(hc) ? (hc as Record<string, unknown>) : null;
  const healthFields = ['intervalMs', 'timeoutMs', 'rise', 'fall'];
  const checkPart = hco === null ? hc : Object.fromEntries(Object.entries(hco).filter(([k]) => !healthFields.includes(k)));
  const check = parseHealthCheck(hco !== null && checkPart !== null && Object.keys(checkPart as object).length === 0 ? undefined : checkPart, 'healthCheck', lbMode);
  const intervalMs = int(hco?.['intervalMs'], 'healthCheck.intervalMs', LB_HEALTH_INTERVAL_MS_DEFAULT, LB_HEALTH_INTERVAL_MS_MIN, HOUR_MS);
  const health: HealthSettings = {
    check,
    intervalMs,
    timeoutMs: int(hco?.['timeoutMs'], 'healthCheck.timeoutMs', Math.min(LB_HEALTH_TIMEOUT_MS_DEFAULT, intervalMs), 1, HOUR_MS),
    rise: int(hco?.['rise'], 'healthCheck.rise', LB_HEALTH_RISE_DEFAULT, 1, LB_HEALTH_THRESHOLD_MAX),
    fall: int(hco?.['fall'], 'healthCheck.fall', LB_HEALTH_FALL_DEFAULT, 1, LB_HEALTH_THRESHOLD_MAX),
  };

  const od = o['outlierDetection'] === undefined ? {} : obj(o['outlierDetection'], 'outlierDetection');
  known(od, 'outlierDetection', ['enabled', 'consecutive5xx', 'consecutiveGatewayFailure', 'intervalMs', 'baseEjectionMs', 'maxEjectionMs', 'maxEjectionPercent']);
  const outlier: OutlierConfig = {
    enabled: bool(od['enabled'], 'outlierDetection.enabled', true),
    consecutive5xx: int(od['consecutive5xx'], 'outlierDetection.consecutive5xx', LB_OUTLIER_CONSECUTIVE_5XX_DEFAULT, 1, 1_000_000),
    consecutiveGatewayFailure: int(od['consecutiveGatewayFailure'], 'outlierDetection.consecutiveGatewayFailure', LB_OUTLIER_CONSECUTIVE_GATEWAY_FAILURE_DEFAULT, 1, 1_000_000),
    intervalMs: int(od['intervalMs'], 'outlierDetection.intervalMs', LB_OUTLIER_INTERVAL_MS_DEFAULT, 10, HOUR_MS),
    baseEjectionMs: int(od['baseEjectionMs'], 'outlierDetection.baseEjectionMs', LB_OUTLIER_BASE_EJECTION_MS_DEFAULT, 1, HOUR_MS),
    maxEjectionMs: int(od['maxEjectionMs'], 'outlierDetection.maxEjectionMs', LB_OUTLIER_MAX_EJECTION_MS_DEFAULT, 1, 24 * HOUR_MS),
    maxEjectionPercent: int(od['maxEjectionPercent'], 'outlierDetection.maxEjectionPercent', LB_OUTLIER_MAX_EJECTION_PERCENT_DEFAULT, 0, 100),
  };
  if (outlier.maxEjectionMs < outlier.baseEjectionMs) throw new LbConfigError('outlierDetection.maxEjectionMs', `must be at least baseEjectionMs (${outlier.baseEjectionMs})`);

  const r = o['retries'] === undefined ? {} : obj(o['retries'], 'retries');
  known(r, 'retries', ['perRequest', 'budgetPercent', 'minPerSecond', 'onStatus', 'idempotentGrpcMethods']);
  const onStatus = r['onStatus'] ?? [502, 503, 504];
  if (!Array.isArray(onStatus)) throw new LbConfigError('retries.onStatus', 'expected a list of HTTP statuses');
  const methods = r['idempotentGrpcMethods'] ?? [];
  if (!Array.isArray(methods)) throw new LbConfigError('retries.idempotentGrpcMethods', 'expected a list of "/package.Service/Method"');
  const retries: RetrySettings = {
    perRequest: int(r['perRequest'], 'retries.perRequest', LB_RETRIES_PER_REQUEST_DEFAULT, 0, LB_RETRIES_PER_REQUEST_MAX),
    budget: {
      percent: int(r['budgetPercent'], 'retries.budgetPercent', LB_RETRY_BUDGET_PERCENT_DEFAULT, 0, 1000),
      minPerSecond: int(r['minPerSecond'], 'retries.minPerSecond', LB_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT, 0, 1_000_000),
      windowMs: LB_RETRY_BUDGET_WINDOW_MS,
    },
    onStatus: onStatus.map((s, i) => int(s, `retries.onStatus[${i}]`, 0, 500, 599)),
    idempotentGrpcMethods: methods.map((m, i) => {
      const s = str(m, `retries.idempotentGrpcMethods[${i}]`);
      if (!/^\/[\w.]+\/\w+$/.test(s)) throw new LbConfigError(`retries.idempotentGrpcMethods[${i}]`, `"${s}": expected "/package.Service/Method"`);
      return s;
    }),
  };

  const cb = o['circuitBreakers'] === undefined ? {} : obj(o['circuitBreakers'], 'circuitBreakers');
  known(cb, 'circuitBreakers', ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries']);
  const circuitBreakers: CircuitBreakerLimits = {
    maxConnections: int(cb['maxConnections'], 'circuitBreakers.maxConnections', LB_MAX_CONNECTIONS_DEFAULT, 1, 1_000_000),
    maxPendingRequests: int(cb['maxPendingRequests'], 'circuitBreakers.maxPendingRequests', LB_MAX_PENDING_REQUESTS_DEFAULT, 0, 1_000_000),
    maxRequests: int(cb['maxRequests'], 'circuitBreakers.maxRequests', LB_MAX_REQUESTS_DEFAULT, 1, 1_000_000),
    maxRetries: int(cb['maxRetries'], 'circuitBreakers.maxRetries', LB_MAX_RETRIES_DEFAULT, 0, 1_000_000),
  };

  return {
    listen,
    mode: lbMode,
    admin,
    policy,
    hashKey,
    backends,
    health,
    outlier,
    panicThresholdPercent: int(o['panicThresholdPercent'], 'panicThresholdPercent', LB_PANIC_THRESHOLD_PERCENT_DEFAULT, 0, 100),
    retries,
    circuitBreakers,
    drainTimeoutMs: int(o['drainTimeoutMs'], 'drainTimeoutMs', LB_DRAIN_TIMEOUT_MS_DEFAULT, 0, 24 * HOUR_MS),
    connectTimeoutMs: int(o['connectTimeoutMs'], 'connectTimeoutMs', LB_CONNECT_TIMEOUT_MS_DEFAULT, 1, HOUR_MS),
    responseTimeoutMs: int(o['responseTimeoutMs'], 'responseTimeoutMs', LB_RESPONSE_TIMEOUT_MS_DEFAULT, 1, 24 * HOUR_MS),
    cluster,
  };
}

/** Parses the text of a config file. */
export function parseLbConfigText(text: string, source: string): LbConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new LbConfigError(source, `not valid JSON: ${(e as Error).message}`);
  }
  return parseLbConfig(raw);
}

/** What a reload may not change without a restart (the listeners are kept, so their addresses and protocol stay). */
export function reloadProblem(current: LbConfig, next: LbConfig): string | null {
  const same = (a: HostPort | null, b: HostPort | null): boolean => (a === null || b === null ? a === b : a.host === b.host && a.port === b.port);
  if (!same(current.listen, next.listen)) return 'listen cannot change on reload (restart to move the listener)';
  if (current.mode !== next.mode) return 'mode cannot change on reload (restart to change the protocol)';
  if (!same(current.admin, next.admin)) return 'admin cannot change on reload (restart to move the admin listener)';
  if ((current.cluster === null) !== (next.cluster === null)) return 'cluster-aware mode cannot be switched on or off on reload';
  return null;
}
