/**
 * HTTP on the client port, next to gRPC: /metrics (Prometheus), /health, /livez, /readyz (etcd's
 * checks, `?verbose`, `?exclude=`), /version, and the dashboard. The JSON gateway (/v3/...) is
 * mounted here too when given.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { rangeOp } from '../kv/command.js';
import { BULWARK_VERSION, ETCD_COMPAT_VERSION } from '../version.js';
import { DASHBOARD_HTML } from './dashboard-html.js';
import type { Member } from './member.js';
import { errorMessage } from '../core/errors.js';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

interface Check {
  readonly name: string;
  run(): Promise<string | null>;
}

const HEALTH_READ_TIMEOUT_MS = 2000;

export function httpEndpoints(member: Member, extra: { gateway?: HttpHandler; status?: () => unknown; metrics?: () => string } = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const serializableRead: Check = {
    name: 'serializable_read',
    async run() {
      try {
        member.kv.range(rangeOp('health'));
        return null;
      } catch (e) {
        return errorMessage(e);
      }
    },
  };
  const linearizableRead: Check = {
    name: 'linearizable_read',
    async run() {
      try {
        await member.readBarrier(HEALTH_READ_TIMEOUT_MS);
        member.kv.range(rangeOp('health'));
        return null;
      } catch (e) {
        return errorMessage(e);
      }
    },
  };
  const dataCorruption: Check = {
    name: 'data_corruption',
    async run() {
      return member.kv.alarmList().some((a) => a.alarm === 'corrupt') ? 'alarm activated: CORRUPT' : null;
    },
  };
  const nonLearner: Check = {
    name: 'non_learner',
    async run() {
      return member.isLearner ? 'this member is a learner' : null;
    },
  };

  return (req, res) => {
    void route(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${errorMessage(e)}\n`);
    });
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (extra.gateway !== undefined && path.startsWith('/v3/') && (await extra.gateway(req, res))) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/metrics':
        return send(res, 200, 'text/plain; version=0.0.4', member.metrics.render() + (extra.metrics?.() ?? ''));
      case '/version':
        return send(res, 200, 'application/json', JSON.stringify({ etcdserver: ETCD_COMPAT_VERSION, etcdcluster: '3.4.0', bulwark: BULWARK_VERSION }));
      case '/health':
        return health(url, res);
      case '/livez':
        return probe(url, res, [serializableRead]);
      case '/readyz':
        return probe(url, res, [dataCorruption, serializableRead, linearizableRead, nonLearner]);
      case '/dashboard':
      case '/dashboard/':
        return send(res, 200, 'text/html; charset=utf-8', DASHBOARD_HTML);
      case '/dashboard/status':
        res.setHeader('access-control-allow-origin', '*');
        return send(res, 200, 'application/json', JSON.stringify(extra.status?.() ?? {}, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      case '/':
        res.writeHead(302, { location: '/dashboard' });
        res.end();
        return;
      default:
        if (path.startsWith('/livez/') || path.startsWith('/readyz/')) {
          const name = path.split('/')[2];
          const all = [dataCorruption, serializableRead, linearizableRead, nonLearner];
          const check = all.find((c) => c.name === name);
          if (check !== undefined) return probe(url, res, [check]);
        }
        return send(res, 404, 'text/plain', '404 page not found\n');
    }
  }

  /** etcd's /health: no leader or an active alarm (unless excluded) or a failed read → 503. */
  async function health(url: URL, res: ServerResponse): Promise<void> {
    const excluded = new Set(url.searchParams.getAll('exclude').map((s) => s.toUpperCase()));
    let reason = '';
    const alarms = member.kv.alarmList().filter((a) => !excluded.has(a.alarm.toUpperCase()));
    if (alarms.length > 0) reason = `ALARM ${alarms.map((a) => a.alarm.toUpperCase()).join(',')}`;
    else if (member.leader === null) reason = 'RAFT NO LEADER';
    else {
      const failed = await (url.searchParams.get('serializable') === 'true' ? serializableRead : linearizableRead).run();
      if (failed !== null) reason = `QGET ERROR: ${failed}`;
    }
    send(res, reason === '' ? 200 : 503, 'application/json', JSON.stringify({ health: reason === '' ? 'true' : 'false', reason }));
  }

  async function probe(url: URL, res: ServerResponse, checks: readonly Check[]): Promise<void> {
    const excluded = new Set(url.searchParams.getAll('exclude'));
    const lines: string[] = [];
    let ok = true;
    for (const c of checks) {
      if (excluded.has(c.name)) {
        lines.push(`[+]${c.name} excluded: ok`);
        continue;
      }
      const failed = await c.run();
      if (failed === null) lines.push(`[+]${c.name} ok`);
      else {
        ok = false;
        lines.push(`[-]${c.name} failed: ${failed}`);
      }
    }
    const verbose = url.searchParams.has('verbose');
    const path = url.pathname.replace(/^\//, '');
    const body = verbose || !ok ? `${lines.join('\n')}\n${path} check ${ok ? 'passed' : 'failed'}\n` : 'ok\n';
    send(res, ok ? 200 : 503, 'text/plain; charset=utf-8', body);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
