/**
 * Helpers for tests on real member processes: a cluster on free ports with fast timing, a tiny
 * KV client over our gRPC channel, and ways to find the leader and wait for things.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcChannel, GrpcError } from '../../src/api/grpc/index.js';
import { KVService, MaintenanceService } from '../../src/api/proto/generated/etcdserverpb.js';
import { localClusterOnFreePorts, type LocalCluster } from '../../src/server/local-cluster.js';

export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1000;

export type Consensus = 'raft' | 'paxos';

const ONLY: Consensus | null = (() => {
  const only = process.env['BULWARK_TEST_CONSENSUS'];
  if (only === undefined || only === '') return null;
  if (only !== 'raft' && only !== 'paxos') throw new Error(`BULWARK_TEST_CONSENSUS must be raft or paxos, got ${only}`);
  return only;
})();

/**
 * The protocols the real-process tests run under: both by default, each scenario once per
 * protocol; BULWARK_TEST_CONSENSUS=raft (or paxos) narrows a run to one, and also makes it the
 * protocol of every cluster a test starts without naming one (so a whole suite can run as Paxos).
 */
export const PROTOCOLS: readonly Consensus[] = ONLY === null ? ['raft', 'paxos'] : [ONLY];

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface TestCluster {
  readonly cluster: LocalCluster;
  readonly dir: string;
  channel(name: string): GrpcChannel;
  close(): Promise<void>;
}

export async function startCluster(
  o: { size?: number; args?: readonly string[]; env?: Record<string, string>; consensus?: Consensus; raid?: { level: 1 | 5; disks: number }; beforeStart?: (dir: string) => void } = {},
): Promise<TestCluster> {
  const consensus = o.consensus ?? ONLY ?? 'raft';
  const dir = mkdtempSync(join(tmpdir(), `bulwark-cluster-${consensus}-`));
  const cluster = await localClusterOnFreePorts({
    dir,
    size: o.size ?? 3,
    extraArgs: [
      '--consensus', consensus,
      '--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS), '--log-level', 'info', ...(o.args ?? []),
    ],
    ...(o.env === undefined ? {} : { env: o.env }),
    ...(o.raid === undefined ? {} : { raid: o.raid }),
  });
  o.beforeStart?.(dir);
  const channels = new Map<string, GrpcChannel>();
  await cluster.startAll();
  try {
    await cluster.waitAllHealthy(30_000);
  } catch (e) {
    await cluster.killAll();
    throw e;
  }
  return {
    cluster,
    dir,
    channel(name: string) {
      let c = channels.get(name);
      if (c === undefined) {
        c = new GrpcChannel(cluster.endpoints()[cluster.names.indexOf(name)]!);
        channels.set(name, c);
      }
      return c;
    },
    async close() {
      for (const c of channels.values()) c.close();
      await cluster.killAll();
      if (process.env['BULWARK_TEST_KEEP'] === undefined) rmSync(dir, { recursive: true, force: true });
      else process.stderr.write(`kept ${dir}\n`);
    },
  };
}

export async function put(ch: GrpcChannel, key: string, value: string, deadlineMs = 3000): Promise<number> {
  const r = await ch.call(KVService.Put, { key: enc.encode(key), value: enc.encode(value) }, { deadlineMs });
  return r.header?.revision ?? 0;
}

export async function get(ch: GrpcChannel, key: string, o: { serializable?: boolean; deadlineMs?: number } = {}): Promise<string | null> {
  const r = await ch.call(KVService.Range, { key: enc.encode(key), serializable: o.serializable ?? false }, { deadlineMs: o.deadlineMs ?? 3000 });
  const kv = r.kvs[0];
  return kv === undefined ? null : dec.decode(kv.value);
}

export async function count(ch: GrpcChannel, prefix: string): Promise<number> {
  const end = enc.encode(prefix);
  end[end.length - 1]!++;
  const r = await ch.call(KVService.Range, { key: enc.encode(prefix), rangeEnd: end, countOnly: true }, { deadlineMs: 5000 });
  return r.count;
}

/** Every key under `prefix` with its value, in one linearizable range. */
export async function rangePrefix(ch: GrpcChannel, prefix: string, deadlineMs = 10_000): Promise<Map<string, string>> {
  const end = enc.encode(prefix);
  end[end.length - 1]!++;
  const r = await ch.call(KVService.Range, { key: enc.encode(prefix), rangeEnd: end }, { deadlineMs });
  return new Map(r.kvs.map((kv) => [dec.decode(kv.key), dec.decode(kv.value)]));
}

/** The name of the member every reachable member calls leader, or null. */
export async function leaderName(t: TestCluster, among: readonly string[] = t.cluster.names): Promise<string | null> {
  const ids = new Map<string, string>();
  const leaders = new Set<string>();
  for (const name of among) {
    try {
      const s = await t.channel(name).call(MaintenanceService.Status, {}, { deadlineMs: 1000 });
      ids.set((s.header?.memberId ?? 0n).toString(16).padStart(16, '0'), name);
      if (s.leader !== 0n) leaders.add(s.leader.toString(16).padStart(16, '0'));
    } catch {
      /* unreachable member */
    }
  }
  if (leaders.size !== 1) return null;
  return ids.get([...leaders][0]!) ?? null;
}

export async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last === null ? '' : ` (last error: ${(last as Error).message})`}`);
}

/** Puts with retries on any member until one succeeds; returns the member that answered. */
export async function putAnywhere(t: TestCluster, key: string, value: string, among: readonly string[] = t.cluster.names, timeoutMs = 20_000): Promise<string> {
  return waitFor(`put ${key}`, async () => {
    for (const name of among) {
      try {
        await put(t.channel(name), key, value, 2000);
        return name;
      } catch (e) {
        if (!(e instanceof GrpcError)) throw e;
      }
    }
    return null;
  }, timeoutMs);
}
