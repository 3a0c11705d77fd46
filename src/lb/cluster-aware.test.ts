/**
 * Cluster-aware mode against three fake etcd members (real HTTP/2 servers speaking the MemberList
 * and Status RPCs): writes reach the leader, serializable reads spread, and when the leader dies
 * writes fail over to the new one. The same is checked against a real etcd in cluster-etcd.test.ts.
 */
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import { after, test } from 'node:test';
import { parseLbConfig } from './config.js';
import { ETCD_PATH_MEMBER_LIST, ETCD_PATH_STATUS, encodeMemberListResponse, encodeRangeRequest, encodeStatusResponse } from './etcd-messages.js';
import { LoadBalancer } from './load-balancer.js';
import { grpcCall, startGrpcBackend, type TestBackend } from './test-backend.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const header = { clusterId: 1n, memberId: 0n, revision: 1n, raftTerm: 1n };

test('cluster-aware: writes to the leader, serializable reads spread, failover when the leader dies', async () => {
  const cluster = { leader: 2n, term: 5n };
  const members: TestBackend[] = [];
  const ids = [1n, 2n, 3n];
  const handler = (index: number) => (path: string) => {
    if (path === ETCD_PATH_MEMBER_LIST) {
      return {
        message: encodeMemberListResponse({
          header,
          members: members.map((m, i) => ({ id: ids[i]!, name: m.name, peerUrls: [], clientUrls: [`http://127.0.0.1:${m.port}`], isLearner: false })),
        }),
      };
    }
    if (path === ETCD_PATH_STATUS) return { message: encodeStatusResponse({ header: { ...header, memberId: ids[index]! }, version: '3.4.0', leader: cluster.leader, raftTerm: cluster.term, isLearner: false }) };
    return { message: new TextEncoder().encode(members[index]!.name) };
  };
  for (let i = 0; i < 3; i++) {
    const m = await startGrpcBackend(`m${i + 1}`, { unary: handler(i) });
    members.push(m);
    cleanups.push(() => m.kill());
  }
  const l = await LoadBalancer.start({
    config: parseLbConfig({
      listen: '127.0.0.1:0',
      mode: 'grpc',
      cluster: { endpoints: [`127.0.0.1:${members[0]!.port}`], pollIntervalMs: 5000 },
      policy: 'round-robin',
      healthCheck: 'none',
      outlierDetection: { enabled: false },
    }),
  });
  cleanups.push(() => l.close());
  assert.equal(l.leader, `127.0.0.1:${members[1]!.port}`);
  assert.equal(l.balancer.status().length, 3, 'members learned from one seed');
  const s = http2.connect(`http://127.0.0.1:${l.address.port}`);
  s.on('error', () => {});
  cleanups.push(async () => void s.destroy());
  const name = (b: Uint8Array | null): string => new TextDecoder().decode(b ?? new Uint8Array());

  for (let i = 0; i < 6; i++) assert.equal(name((await grpcCall(s, '/etcdserverpb.KV/Put', new Uint8Array([0x0a, 0x01, 0x61]))).message), 'm2');
  for (let i = 0; i < 3; i++) assert.equal(name((await grpcCall(s, '/etcdserverpb.KV/Range', encodeRangeRequest({ key: new Uint8Array([0x61]), serializable: false }))).message), 'm2', 'linearizable reads go to the leader');
  const spread = new Set<string>();
  for (let i = 0; i < 9; i++) spread.add(name((await grpcCall(s, '/etcdserverpb.KV/Range', encodeRangeRequest({ key: new Uint8Array([0x61]), serializable: true }))).message));
  assert.deepEqual(spread, new Set(['m1', 'm2', 'm3']), 'serializable reads spread over all members');

  // The leader dies; m3 wins the election a little later.
  await members[1]!.kill();
  setTimeout(() => {
    cluster.leader = 3n;
    cluster.term = 6n;
  }, 300);
  const after = await grpcCall(s, '/etcdserverpb.KV/Put', new Uint8Array([0x0a, 0x01, 0x62]));
  assert.equal(after.code, 0, `write after the leader died: ${after.error}`);
  assert.equal(name(after.message), 'm3', 'the write failed over to the new leader');
  assert.equal(l.leader, `127.0.0.1:${members[2]!.port}`);
  await sleep(10);
});
