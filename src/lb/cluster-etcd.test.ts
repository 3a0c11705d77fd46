/**
 * Cluster-aware mode in front of a real etcd 3.4 cluster (Debian's etcd-server), when /usr/bin/etcd
 * exists: writes reach the leader (the answering member_id is the leader's), serializable reads
 * spread over the members, and after the leader is killed writes fail over to the new leader.
 * Three members on 127.0.0.1 with temporary data directories, all stopped at the end.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { decodeResponseHeader, encodeRangeRequest } from './etcd-messages.js';
import { LoadBalancer } from './load-balancer.js';
import { ProtoWriter, protoFields, protoMessage } from './protobuf.js';
import { grpcCall } from './test-backend.js';

const ETCD = '/usr/bin/etcd';
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Six free ports below 32768, in one block (client and peer port per member). */
async function freePorts(): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 24000 + Math.floor(Math.random() * 800) * 10;
    const ports = [0, 1, 2, 3, 4, 5].map((i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return ports;
  }
  throw new Error('no free ports for etcd');
}

function headerOf(response: Uint8Array | null): { memberId: bigint } {
  assert.ok(response !== null, 'a response message');
  for (const f of protoFields(response)) if (f.field === 1) return decodeResponseHeader(protoMessage(f, 'header'));
  throw new Error('no header');
}

test('cluster-aware mode against a real etcd cluster', { skip: existsSync(ETCD) ? false : `${ETCD} not found (apt-get install etcd-server to run this test)`, timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-lb-etcd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const ports = await freePorts();
  const names = ['e1', 'e2', 'e3'];
  const client = (i: number): number => ports[i * 2]!;
  const peer = (i: number): number => ports[i * 2 + 1]!;
  const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${peer(i)}`).join(',');
  const procs: ChildProcess[] = names.map((name, i) => {
    const p = spawn(
      ETCD,
      [
        `--name=${name}`,
        `--data-dir=${join(dir, name)}`,
        `--listen-client-urls=http://127.0.0.1:${client(i)}`,
        `--advertise-client-urls=http://127.0.0.1:${client(i)}`,
        `--listen-peer-urls=http://127.0.0.1:${peer(i)}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer(i)}`,
        `--initial-cluster=${initialCluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=bulwark-lb-test-${ports[0]}`,
        '--heartbeat-interval=50',
        '--election-timeout=500',
      ],
      { stdio: 'ignore' },
    );
    return p;
  });
  cleanups.push(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await sleep(100);
  });

  const l = await LoadBalancer.start({
    config: parseLbConfig({
      listen: '127.0.0.1:0',
      mode: 'grpc',
      cluster: { endpoints: names.map((_, i) => `127.0.0.1:${client(i)}`), pollIntervalMs: 200 },
      policy: 'round-robin',
      healthCheck: { type: 'grpc', intervalMs: 200, timeoutMs: 500, rise: 1, fall: 2 },
      outlierDetection: { enabled: false },
    }),
  });
  cleanups.push(() => l.close());
  const deadline = Date.now() + 30_000;
  while (l.leader === null || l.balancer.status().length < 3) {
    assert.ok(Date.now() < deadline, 'etcd elected a leader and the balancer learned it');
    await sleep(100);
  }

  const s = http2.connect(`http://127.0.0.1:${l.address.port}`);
  s.on('error', () => {});
  cleanups.push(async () => void s.destroy());
  const put = (k: string): Promise<{ code: number; message: Uint8Array | null; error: string }> => grpcCall(s, '/etcdserverpb.KV/Put', new ProtoWriter().string(1, k).string(2, 'v').finish());
  const statusMemberId = async (port: number): Promise<bigint> => {
    const direct = http2.connect(`http://127.0.0.1:${port}`);
    direct.on('error', () => {});
    try {
      const r = await grpcCall(direct, '/etcdserverpb.Maintenance/Status', new Uint8Array());
      return headerOf(r.message).memberId;
    } finally {
      direct.destroy();
    }
  };
  const memberIds = await Promise.all(names.map((_, i) => statusMemberId(client(i))));
  const leaderIndex = names.findIndex((_, i) => l.leader === `127.0.0.1:${client(i)}`);
  assert.ok(leaderIndex >= 0);

  for (let i = 0; i < 5; i++) {
    const r = await put(`k${i}`);
    assert.equal(r.code, 0, r.error);
    assert.equal(headerOf(r.message).memberId, memberIds[leaderIndex], 'the write was answered by the leader');
  }
  const readers = new Set<bigint>();
  for (let i = 0; i < 12; i++) {
    const r = await grpcCall(s, '/etcdserverpb.KV/Range', encodeRangeRequest({ key: new TextEncoder().encode('k1'), serializable: true }));
    assert.equal(r.code, 0, r.error);
    readers.add(headerOf(r.message).memberId);
  }
  assert.equal(readers.size, 3, 'serializable reads were answered by every member');

  procs[leaderIndex]!.kill('SIGKILL');
  const oldLeader = l.leader;
  let written: { code: number; message: Uint8Array | null; error: string } | null = null;
  const failoverDeadline = Date.now() + 30_000;
  for (let i = 0; written === null; i++) {
    assert.ok(Date.now() < failoverDeadline, 'writes resumed after the leader was killed');
    const r = await put(`after${i}`);
    if (r.code === 0) written = r;
    else await sleep(100);
  }
  assert.notEqual(l.leader, oldLeader);
  const newLeaderIndex = names.findIndex((_, i) => l.leader === `127.0.0.1:${client(i)}`);
  assert.notEqual(newLeaderIndex, leaderIndex);
  assert.equal(headerOf(written.message).memberId, memberIds[newLeaderIndex], 'the write reached the new leader');
});
