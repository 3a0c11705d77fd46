import { parseArgs } from 'node:util';
import { errorMessage } from '../core/errors.js';
import type { LogLevel } from '../env/logger.js';
import { JsonLogger } from '../env/node/logger.js';
import { readLbConfigFile, watchLbConfigFile } from '../lb/config-file.js';
import { parseLbConfig, type LbConfig } from '../lb/config.js';
import { LbConfigError } from '../lb/errors.js';
import { LoadBalancer } from '../lb/load-balancer.js';
import { POLICY_NAMES } from '../lb/policy.js';
import { UsageError, type Command } from './command.js';

const usage = `bulwark lb: a load balancer with health checks, failover and hot standby

Usage:
  bulwark lb --listen HOST:PORT --backend HOST:PORT[,backup][,weight=N] ... [flags]
  bulwark lb --config lb.json          (reloaded on SIGHUP and when the file changes)

Flags:
  --listen HOST:PORT          where clients connect
  --mode tcp|http|grpc        L4 splice, HTTP/1.1, or HTTP/2 and gRPC (default http)
  --backend ADDR[,backup][,weight=N]
                              a backend (repeat the flag); ",backup" makes it a hot standby
  --policy NAME               ${POLICY_NAMES.join(', ')} (default round-robin)
  --hash-key KEY              for ring-hash/maglev: client-address, path or header:NAME
  --health-check CHECK        none, tcp, http[:/PATH[:STATUS]], grpc[:SERVICE] (default tcp)
  --health-interval MS        between checks (default 2000)
  --health-timeout MS         per check (default 1000)
  --rise N --fall N           checks to come up / go down (default 2 / 3)
  --retries N                 retries of an idempotent request on another backend (default 2)
  --panic-threshold PERCENT   below this share of healthy primaries health is ignored (default 50)
  --max-connections N --max-pending N --max-requests N
                              circuit breakers (default 1024 each)
  --drain-timeout MS          how long a removed backend's requests may take (default 30000)
  --cluster-endpoints A,B,C   cluster-aware mode for Bulwark/etcd: learn members and leader from these
  --admin HOST:PORT           status page, /metrics, /status.json
  --log-level LEVEL           debug, info, warn, error (default info)

Example:
  bulwark lb --listen 127.0.0.1:8080 --backend 127.0.0.1:9001 --backend 127.0.0.1:9002,backup \\
             --policy least-conn --mode http --health-check http:/health --admin 127.0.0.1:9901`;

const options = {
  config: { type: 'string' },
  listen: { type: 'string' },
  mode: { type: 'string' },
  backend: { type: 'string', multiple: true },
  policy: { type: 'string' },
  'hash-key': { type: 'string' },
  'health-check': { type: 'string' },
  'health-interval': { type: 'string' },
  'health-timeout': { type: 'string' },
  rise: { type: 'string' },
  fall: { type: 'string' },
  retries: { type: 'string' },
  'panic-threshold': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-pending': { type: 'string' },
  'max-requests': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'cluster-endpoints': { type: 'string' },
  admin: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a whole number, got "${v}"`);
  return Number(v);
}

/** Turns the flags into the same document a config file holds, so both are validated alike. */
export function configFromFlags(values: Record<string, string | string[] | undefined>): LbConfig {
  const v = (k: string): string | undefined => values[k] as string | undefined;
  const drop = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  const health = drop({ intervalMs: num('health-interval', v('health-interval')), timeoutMs: num('health-timeout', v('health-timeout')), rise: num('rise', v('rise')), fall: num('fall', v('fall')) });
  const check = v('health-check');
  const raw = drop({
    listen: v('listen'),
    mode: v('mode') ?? (v('cluster-endpoints') !== undefined ? 'grpc' : undefined),
    admin: v('admin'),
    policy: v('policy'),
    hashKey: v('hash-key'),
    backends: values['backend'] as string[] | undefined,
    healthCheck: check === undefined && Object.keys(health).length === 0 ? undefined : { ...health, ...(check === undefined ? {} : checkObject(check)) },
    panicThresholdPercent: num('panic-threshold', v('panic-threshold')),
    retries: v('retries') === undefined ? undefined : { perRequest: num('retries', v('retries')) },
    circuitBreakers: drop({ maxConnections: num('max-connections', v('max-connections')), maxPendingRequests: num('max-pending', v('max-pending')), maxRequests: num('max-requests', v('max-requests')) }),
    drainTimeoutMs: num('drain-timeout', v('drain-timeout')),
    cluster: v('cluster-endpoints') === undefined ? undefined : { endpoints: v('cluster-endpoints')!.split(',').map((s) => s.trim()).filter((s) => s !== '') },
  });
  try {
    return parseLbConfig(raw);
  } catch (e) {
    if (e instanceof LbConfigError) throw new UsageError(flagMessage(e));
    throw e;
  }
}

/** "--health-check http:/h:204" in the object form the config file uses. */
function checkObject(text: string): Record<string, unknown> {
  if (text === 'none' || text === 'tcp') return { type: text };
  const http = /^http(?::(\/[^:\s]*))?(?::(\d{3}))?$/.exec(text);
  if (http !== null) return { type: 'http', ...(http[1] === undefined ? {} : { path: http[1] }), ...(http[2] === undefined ? {} : { expectStatus: Number(http[2]) }) };
  const grpc = /^grpc(?::(.*))?$/.exec(text);
  if (grpc !== null) return { type: 'grpc', ...(grpc[1] === undefined ? {} : { service: grpc[1] }) };
  throw new UsageError(`--health-check: "${text}": expected none, tcp, http[:/PATH[:STATUS]] or grpc[:SERVICE]`);
}

const FLAG_OF: Record<string, string> = {
  listen: '--listen',
  mode: '--mode',
  admin: '--admin',
  policy: '--policy',
  hashKey: '--hash-key',
  backends: '--backend',
  healthCheck: '--health-check',
  panicThresholdPercent: '--panic-threshold',
  retries: '--retries',
  circuitBreakers: '--max-*',
  drainTimeoutMs: '--drain-timeout',
  cluster: '--cluster-endpoints',
};

function flagMessage(e: LbConfigError): string {
  const top = e.path.split(/[.[]/)[0] ?? e.path;
  const flag = FLAG_OF[top];
  return flag === undefined ? e.message : `${flag} (${e.message})`;
}

export const lbCommand: Command = {
  name: 'lb',
  summary: 'run the load balancer (TCP, HTTP/1.1, HTTP/2 and gRPC; health checks, failover, backups)',
  usage,
  async run(args) {
    const { values } = parseArgs({ args: [...args], options, allowPositionals: false, strict: true });
    const level = (values['log-level'] ?? 'info') as LogLevel;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UsageError(`--log-level: "${level}": expected debug, info, warn or error`);
    const logger = new JsonLogger({ level, fields: { component: 'lb' } });
    let config: LbConfig;
    if (values.config !== undefined) {
      const others = Object.keys(values).filter((k) => k !== 'config' && k !== 'log-level');
      if (others.length > 0) throw new UsageError(`--config: the file holds the whole configuration; drop --${others.join(', --')}`);
      try {
        config = readLbConfigFile(values.config);
      } catch (e) {
        throw new UsageError(errorMessage(e));
      }
    } else {
      config = configFromFlags(values);
    }
    const lb = await LoadBalancer.start({ config, logger });
    const stopWatching = values.config === undefined ? () => {} : watchLbConfigFile(values.config, lb, logger);
    const a = lb.address;
    process.stderr.write(`bulwark lb: ${config.mode} on ${a.host}:${a.port}, policy ${config.policy}${lb.adminAddress === null ? '' : `, admin http://${lb.adminAddress.host}:${lb.adminAddress.port}/`}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    stopWatching();
    await lb.close();
    return 0;
  },
};
