/**
 * The admin listener: a status page (HTML) for people, `/metrics` (Prometheus text) for machines,
 * `/status.json` for scripts and `/healthz` for whoever watches the balancer itself.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendStatus } from './balancer.js';
import { renderPrometheus, type MetricsSnapshot } from './metrics.js';

export interface AdminView {
  snapshot(): MetricsSnapshot & { readonly policy: string; readonly mode: string; readonly listen: string; readonly lbMode: string };
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const STATE_COLOR: Record<string, string> = { up: '#1a7f37', down: '#cf222e', ejected: '#bc4c00', draining: '#6e7781' };

function row(b: BackendStatus, nowMs: number, leader: string | null, latency: (id: string) => string): string {
  const ejected = b.ejectedUntilMs === null ? '' : ` (for ${Math.max(0, Math.round((b.ejectedUntilMs - nowMs) / 1000))} s)`;
  const role = b.spec.backup ? 'backup' : 'primary';
  const lead = leader === b.id ? ' ★ leader' : '';
  return `<tr><td>${esc(b.id)}${lead}</td><td>${role}</td><td>${b.spec.weight}</td><td style="color:${STATE_COLOR[b.state]}"><b>${b.state}</b>${ejected}</td><td>${b.eligible ? 'yes' : 'no'}</td><td>${b.active}</td><td>${b.stats.requests}</td><td>${b.stats.errors}</td><td>${b.stats.retries}</td><td>${b.stats.ejections}</td><td>${latency(b.id)}</td><td>${esc(b.lastHealthFailure)}</td></tr>`;
}

export function renderStatusPage(view: AdminView, nowMs: number): string {
  const s = view.snapshot();
  const latency = (id: string): string => {
    const h = s.metrics.latencyByBackend.get(id as never);
    return h === undefined || h.count === 0 ? '–' : `≤ ${h.quantileSeconds(0.5) * 1000} / ≤ ${h.quantileSeconds(0.99) * 1000}`;
  };
  const rows = s.backends.map((b) => row(b, nowMs, s.leader, latency)).join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>bulwark lb</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}</style></head><body>
<h1>bulwark lb</h1>
<p>listening on <b>${esc(s.listen)}</b> (${esc(s.lbMode)}) · policy <b>${esc(s.policy)}</b> · pool <b>${esc(s.mode)}</b>${s.leader === null ? '' : ` · leader <b>${esc(s.leader)}</b>`}</p>
<p>requests ok ${s.metrics.requests.ok} · errors ${s.metrics.requests.error} · rejected ${s.metrics.requests.rejected} · retries ${s.metrics.retries} · retry budget exhausted ${s.metrics.retryBudgetExhausted}</p>
<table><tr><th>backend</th><th>role</th><th>weight</th><th>state</th><th>eligible</th><th>active</th><th>requests</th><th>errors</th><th>retries</th><th>ejections</th><th>p50 / p99 ms</th><th>last health failure</th></tr>
${rows}
</table><p><a href="/metrics">/metrics</a> · <a href="/status.json">/status.json</a></p></body></html>
`;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(
    private readonly view: AdminView,
    private readonly nowMs: () => number,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderStatusPage(this.view, this.nowMs()));
        return;
      case '/metrics':
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderPrometheus(this.view.snapshot()));
        return;
      case '/status.json': {
        const s = this.view.snapshot();
        const body = {
          listen: s.listen,
          mode: s.lbMode,
          policy: s.policy,
          pool: s.mode,
          leader: s.leader,
          requests: s.metrics.requests,
          retries: s.metrics.retries,
          backends: s.backends.map((b) => ({ id: b.id, backup: b.spec.backup, weight: b.spec.weight, state: b.state, eligible: b.eligible, active: b.active, ...b.stats })),
        };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body, null, 2) + '\n');
        return;
      }
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /, /metrics, /status.json\n');
    }
  }
}
