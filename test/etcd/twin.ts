/**
 * Twin clusters for compatibility tests: a three-member Bulwark cluster and, when the etcd 3.4
 * server is installed, a three-member reference etcd cluster, both on free ports below 32768 in
 * temporary directories; etcdctl runs the same command against both and the outputs are compared
 * after normalizing what legitimately differs (ids, ports, terms, timings, sizes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../../src/server/local-cluster.js';
import { startCluster, type Consensus, type TestCluster } from '../cluster/harness.js';

export const ETCDCTL = ['/usr/bin/etcdctl', '/usr/local/bin/etcdctl'].find((p) => existsSync(p));
export const ETCD = ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p));

export interface CtlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Target {
  readonly name: 'bulwark' | 'etcd';
  /** Client endpoints host:port, member order m1..m3. */
  readonly endpoints: readonly string[];
  readonly dir: string;
  close(): Promise<void>;
}

/** Runs etcdctl; `streamMs`: for commands that do not end (watch, elect), stop after that long. */
export function etcdctl(endpoints: readonly string[], args: readonly string[], o: { input?: string; streamMs?: number; timeoutMs?: number } = {}): Promise<CtlResult> {
  return new Promise((resolve) => {
    const p = spawn(ETCDCTL!, [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=5s', '--command-timeout=15s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // etcdctl may exit before reading its input: a closed pipe is not an error here.
    p.stdin.on('error', () => undefined);
    p.stdin.end(o.input ?? '');
    const limit = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 40_000);
    const stream = o.streamMs === undefined ? null : setTimeout(() => p.kill('SIGINT'), o.streamMs);
    p.on('close', (code, signal) => {
      clearTimeout(limit);
      if (stream !== null) clearTimeout(stream);
      resolve({ code: code ?? (signal === 'SIGINT' ? 130 : -1), stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n') });
    });
  });
}

export async function startBulwark(consensus: Consensus): Promise<Target & { cluster: TestCluster }> {
  const t = await startCluster({ size: 3, consensus });
  return { name: 'bulwark', endpoints: t.cluster.endpoints(), dir: t.dir, cluster: t, close: () => t.close() };
}

/** A three-member etcd 3.4 cluster (fast election timing like the Bulwark test cluster's). */
export async function startReferenceEtcd(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-refetcd-'));
  const ports = await freePorts(6);
  const names = ['m1', 'm2', 'm3'];
  const initial = names.map((n, i) => `${n}=http://127.0.0.1:${ports[i * 2 + 1]}`).join(',');
  const procs: ChildProcess[] = [];
  const endpoints = names.map((_, i) => `127.0.0.1:${ports[i * 2]}`);
  names.forEach((n, i) => {
    const client = `http://127.0.0.1:${ports[i * 2]}`;
    const peer = `http://127.0.0.1:${ports[i * 2 + 1]}`;
    const log = createWriteStream(join(dir, `${n}.log`));
    const p = spawn(
      ETCD!,
      [
        '--name', n, '--data-dir', join(dir, n),
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initial, '--initial-cluster-token', 'reference', '--initial-cluster-state', 'new',
        '--heartbeat-interval', '50', '--election-timeout', '500', '--logger', 'zap',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    p.stdout?.pipe(log);
    p.stderr?.pipe(log);
    procs.push(p);
  });
  const close = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (const ep of endpoints) {
    for (;;) {
      try {
        const r = await fetch(`http://${ep}/health`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) {
        await close();
        throw new Error(`reference etcd ${ep} did not become healthy`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { name: 'etcd', endpoints, dir, close };
}

/** What differs between two clusters for reasons that are not about compatibility. */
export function normalize(s: string): string {
  return s
    .replace(/"(cluster_id|member_id|raft_term|ID|lease|leader|memberID)":\d+/g, '"$1":N')
    .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : N')
    // Go's %16x pads a 15-digit id with a space.
    .replace(/ {2,}(?=[0-9a-f]{12,16}\b)/g, ' ')
    .replace(/\b[0-9a-f]{12,16}\b/g, 'ID')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT')
    .replace(/\b3\.4\.\d+\b/g, '3.4.x')
    .replace(/took = [\d.]+[µnm]?s/g, 'took = T')
    .replace(/remaining\(\d+s\)/g, 'remaining(Rs)')
    .replace(/bulwark-(cluster|refetcd)-[A-Za-z0-9]+/g, 'DIR')
    .replace(/bulwark-ctl-[A-Za-z0-9]+\/(bulwark|etcd)/g, 'CTL/TARGET');
}

/** Also numbers and table padding: for status-like output whose values differ by nature. */
export function normalizeLoose(s: string): string {
  return normalize(s)
    .replace(/\d+(\.\d+)?\s?(kB|MB|B)\b/g, 'SIZE')
    .replace(/\d+(\.\d+)?(µs|ns|ms|s)\b/g, 'DURATION')
    .replace(/\b\d+\b/g, 'N')
    .replace(/ +/g, ' ')
    .replace(/-{2,}/g, '-');
}

export function sortedLines(s: string): string {
  return s.split('\n').filter((l) => l !== '').sort().join('\n');
}
