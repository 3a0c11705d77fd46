/**
 * `bulwark lb --cluster-endpoints` (a real lb process) in front of a real 3-member Bulwark cluster:
 * writes through the balancer are answered by the leader; when the leader is killed (kill -9) the
 * balancer learns the new leader by itself and writes through it resume there; every acknowledged
 * write is in the cluster afterwards. The lb and the members are stopped at the end, pass or fail.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { GrpcChannel, GrpcError } from '../../src/api/grpc/index.js';
import { KVService, MaintenanceService } from '../../src/api/proto/generated/etcdserverpb.js';
import { BULWARK_MAIN } from '../../src/server/local-cluster.js';
import { count, leaderName, PROTOCOLS, startCluster, waitFor, type TestCluster } from './harness.js';

const enc = new TextEncoder();
const hex = (id: bigint): string => id.toString(16).padStart(16, '0');

/** Starts `bulwark lb` on free ports; resolves with its listen and admin addresses once it says them. */
async function startLb(endpoints: readonly string[]): Promise<{ proc: ChildProcess; listen: string; admin: string }> {
  const proc = spawn(
    process.execPath,
    [BULWARK_MAIN, 'lb', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--cluster-endpoints', endpoints.join(','), '--health-check', 'grpc', '--health-interval', '200', '--health-timeout', '1000', '--rise', '1', '--fall', '2', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const started = new Promise<{ listen: string; admin: string }>((resolve, reject) => {
    proc.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const m = /bulwark lb: grpc on (\S+), .*admin http:\/\/([^/\s]+)\//.exec(stderr);
      if (m !== null) resolve({ listen: m[1]!, admin: m[2]! });
    });
    proc.once('exit', (code) => reject(new Error(`bulwark lb exited (${code}) before listening: ${stderr}`)));
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  try {
    return { proc, ...(await started) };
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

interface LbStatus {
  readonly leader: string | null;
  readonly backends: readonly { id: string; state: string }[];
}

async function lbStatus(admin: string): Promise<LbStatus> {
  const r = await fetch(`http://${admin}/status.json`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as LbStatus;
}

async function memberIds(t: TestCluster): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of t.cluster.names) {
    const s = await t.channel(name).call(MaintenanceService.Status, {}, { deadlineMs: 3000 });
    out.set(name, hex(s.header!.memberId));
  }
  return out;
}

for (const consensus of PROTOCOLS) {
  test(`${consensus}: bulwark lb in cluster-aware mode sends writes to the leader and follows a new leader after kill -9`, { timeout: 180_000 }, async () => {
    const t = await startCluster({ consensus });
    let lb: ChildProcess | null = null;
    let ch: GrpcChannel | null = null;
    try {
      const names = t.cluster.names;
      const endpoints = t.cluster.endpoints();
      const ids = await memberIds(t);
      const started = await startLb(endpoints);
      lb = started.proc;
      const { admin } = started;
      const leader = await waitFor('a leader', () => leaderName(t));
      const leaderEndpoint = endpoints[names.indexOf(leader)]!;
      await waitFor('the lb to learn the members and the leader', async () => {
        const s = await lbStatus(admin);
        return s.leader === leaderEndpoint && s.backends.filter((b) => b.state === 'up').length === 3;
      });

      ch = new GrpcChannel(started.listen);
      const acked: string[] = [];
      const put = async (key: string): Promise<string> => {
        const r = await ch!.call(KVService.Put, { key: enc.encode(key), value: enc.encode('x') }, { deadlineMs: 3000 });
        acked.push(key);
        return hex(r.header!.memberId);
      };
      for (let i = 0; i < 20; i++) assert.equal(await put(`lb/before/${i}`), ids.get(leader), 'a write through the lb is answered by the leader');

      // Writes keep going through the lb while the leader is killed.
      let stop = false;
      let failed = 0;
      const answeredBy: string[] = [];
      const writer = (async () => {
        for (let i = 0; i < 5000 && !stop; i++) {
          try {
            answeredBy.push(await put(`lb/during/${i}`));
          } catch (e) {
            if (!(e instanceof GrpcError)) throw e;
            failed++;
            await new Promise((r) => setTimeout(r, 50));
          }
        }
      })();
      try {
        await new Promise((r) => setTimeout(r, 300));
        await t.cluster.kill(leader);
        const survivors = names.filter((n) => n !== leader);
        const newLeader = await waitFor('a new leader', () => leaderName(t, survivors), 20_000);
        assert.notEqual(newLeader, leader);
        const newId = ids.get(newLeader)!;
        const newEndpoint = endpoints[names.indexOf(newLeader)]!;
        await waitFor('the lb to follow the new leader', async () => (await lbStatus(admin)).leader === newEndpoint, 30_000);
        // The writer is sequential: at most one write was in flight, routed before the lb switched.
        const seenBefore = answeredBy.length + 1;
        await waitFor('writes through the lb answered by the new leader', async () => answeredBy.slice(seenBefore).filter((m) => m === newId).length >= 20, 30_000);
        assert.ok(answeredBy.slice(seenBefore).every((m) => m === newId), 'after the switch every write went to the new leader');
      } finally {
        stop = true;
        await writer;
      }
      assert.ok(!answeredBy.includes('') && answeredBy.every((m) => [...ids.values()].includes(m)));
      const killed = endpoints[names.indexOf(leader)]!;
      await waitFor('the killed member to be marked down', async () => (await lbStatus(admin)).backends.find((b) => b.id === killed)?.state === 'down', 20_000);

      // Every acknowledged write is in the cluster (failed ones may or may not be: they were not retried).
      const survivor = names.find((n) => n !== leader)!;
      const stored = await count(t.channel(survivor), 'lb/');
      assert.ok(stored >= acked.length, `${stored} keys stored for ${acked.length} acknowledged writes (${failed} failed during the election)`);
      assert.ok(stored <= acked.length + failed, 'no key appeared that was never written');
    } finally {
      ch?.close();
      if (lb !== null && lb.exitCode === null && lb.signalCode === null) {
        const exited = new Promise((r) => lb!.once('exit', r));
        lb.kill('SIGTERM');
        const timer = setTimeout(() => lb!.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await t.close();
    }
  });
}
