/**
 * Load-balancer benchmark: requests per second and latency through `bulwark lb` and through HAProxy
 * in front of the same backends on the same machine, with wrk as the load, in HTTP and L4 (TCP)
 * modes, and straight to one backend for the overhead. Everything runs in one go, side by side,
 * so the ratios are meaningful even on a busy machine (the absolute figures are not).
 *
 *   node dist/bench/lb.js [--duration 10] [--connections 32] [--json]
 *
 * Needs `haproxy` and `wrk` (Debian: apt-get install -y haproxy wrk). The backends are one HAProxy
 * process answering a fixed 200 on two ports, so that the backends cost little and the same for
 * every configuration.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { duration: { type: 'string', default: '10' }, connections: { type: 'string', default: '32' }, json: { type: 'boolean', default: false } } });
const durationS = Number(values.duration);
const connections = Number(values.connections);

function need(cmd: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`]);
  if (r.status !== 0) {
    process.stderr.write(`lb bench: '${cmd}' not found. Install it: apt-get install -y haproxy wrk\n`);
    process.exit(2);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface WrkResult {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (m === null) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

function wrk(port: number): WrkResult {
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${durationS}s`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8' });
  const out = r.stdout;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const errs = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(errs?.[1] ?? 0) + (sock === null ? 0 : sock.slice(1).reduce((a, b) => a + Number(b), 0));
  return { rps, p50Ms: p50, p99Ms: p99, errors };
}

const procs: ChildProcess[] = [];
function start(cmd: string, args: readonly string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  p.once('exit', (code) => {
    if (code !== 0 && code !== null) process.stderr.write(`${cmd} exited ${code}: ${err}\n`);
  });
  procs.push(p);
  return p;
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 3000).unref();
  });
}

async function main(): Promise<void> {
  need('haproxy');
  need('wrk');
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-lb-bench-'));
  const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
  try {
    const [a, b] = [await freePort(), await freePort()];
    const backendsCfg = join(dir, 'backends.cfg');
    writeFileSync(
      backendsCfg,
      `global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode http\n  timeout client 30s\n` +
        [a, b].map((p, i) => `frontend b${i}\n  bind 127.0.0.1:${p}\n  http-request return status 200 content-type text/plain string "ok"\n`).join(''),
    );
    start('haproxy', ['-f', backendsCfg, '-db']);
    await waitListening(a);
    await waitListening(b);

    const rows: { name: string; mode: string; result: WrkResult }[] = [];
    const run = async (name: string, mode: string, port: number, proc: ChildProcess | null): Promise<void> => {
      await waitListening(port);
      wrk(port); // warm-up (JIT, pools), short and discarded
      const result = wrk(port);
      rows.push({ name, mode, result });
      if (proc !== null) await stop(proc);
    };

    await run('direct to one backend', 'http', a, null);

    for (const mode of ['http', 'tcp'] as const) {
      const hp = await freePort();
      const cfg = join(dir, `haproxy-${mode}.cfg`);
      writeFileSync(
        cfg,
        `global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode ${mode}\n  timeout connect 3s\n  timeout client 30s\n  timeout server 30s\n` +
          `frontend fe\n  bind 127.0.0.1:${hp}\n  default_backend be\nbackend be\n  balance roundrobin\n${mode === 'http' ? '  http-reuse always\n' : ''}` +
          `  server s1 127.0.0.1:${a} check inter 2s fall 3 rise 2\n  server s2 127.0.0.1:${b} check inter 2s fall 3 rise 2\n`,
      );
      await run(`haproxy ${mode}`, mode, hp, start('haproxy', ['-f', cfg, '-db']));
      const bp = await freePort();
      const lb = start(process.execPath, [main, 'lb', '--listen', `127.0.0.1:${bp}`, '--mode', mode, '--backend', `127.0.0.1:${a}`, '--backend', `127.0.0.1:${b}`, '--policy', 'round-robin', '--log-level', 'warn']);
      await run(`bulwark lb ${mode}`, mode, bp, lb);
    }

    const direct = rows[0]!.result;
    const find = (n: string): WrkResult | undefined => rows.find((r) => r.name === n)?.result;
    if (values.json) {
      process.stdout.write(JSON.stringify({ durationS, connections, rows }, null, 2) + '\n');
      return;
    }
    const lines = [
      `Load balancer benchmark: wrk -t1 -c${connections} -d${durationS}s, two backends (HAProxy answering a fixed 200), round-robin.`,
      'Provisional figures: one 2-core machine shared by wrk, the balancer and the backends.',
      '',
      `${'configuration'.padEnd(24)} ${'req/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(7)} ${'vs direct'.padStart(10)}`,
      ...rows.map((r) => `${r.name.padEnd(24)} ${r.result.rps.toFixed(0).padStart(10)} ${r.result.p50Ms.toFixed(2).padStart(8)} ${r.result.p99Ms.toFixed(2).padStart(8)} ${String(r.result.errors).padStart(7)} ${(r.result.rps / direct.rps).toFixed(2).padStart(10)}`),
      '',
    ];
    for (const mode of ['http', 'tcp']) {
      const h = find(`haproxy ${mode}`);
      const bw = find(`bulwark lb ${mode}`);
      if (h !== undefined && bw !== undefined) lines.push(`${mode}: bulwark lb / haproxy = ${(bw.rps / h.rps).toFixed(2)} × throughput, p99 ${(bw.p99Ms / h.p99Ms).toFixed(2)} ×`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await Promise.all(procs.map(stop));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (e: unknown) => {
  process.stderr.write(`lb bench: ${e instanceof Error ? e.message : String(e)}\n`);
  await Promise.all(procs.map(stop));
  process.exitCode = 1;
});
