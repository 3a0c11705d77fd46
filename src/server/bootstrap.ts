/**
 * Who this member is and what cluster it starts in, decided once when its data directory is new and
 * remembered in the directory from then on:
 *
 *   data directory  --initial-cluster-state  what happens
 *   has 'bootstrap'  (ignored)               restart: identity and initial membership from the file
 *   empty            new                     ids derived from --initial-cluster and the token, as etcd does;
 *                                            peers already running are asked whether the cluster has
 *                                            history (then this member lost its disk) and which protocol
 *                                            it runs
 *   empty            existing                ask the members listed in --initial-cluster to describe
 *                                            the cluster; find this member there by its peer URLs
 *                                            (a member added with MemberAdd at runtime)
 *
 * The bootstrap file holds the initial membership because the state machine starts from it until
 * the first snapshot; deriving it again from flags on a restart would let a changed flag make this
 * replica diverge from the others.
 */
import { crc32c } from '../core/crc32c.js';
import { fromUtf8, utf8 } from '../core/bytes.js';
import { isNodeId, logIndex, type ClusterId, type LogIndex, type NodeId } from '../core/ids.js';
import { CLUSTER_QUERY_TIMEOUT_MS, REJOIN_QUERY_TIMEOUT_MS } from '../core/limits.js';
import type { ConfigState } from '../consensus/types.js';
import { writeFileAtomic, type Disk } from '../env/disk.js';
import type { Logger } from '../env/logger.js';
import type { MemberInfo } from '../kv/members.js';
import { parsePeerUrl, queryCluster } from '../transport/tcp-transport.js';
import { ConfigError, type ServerConfig } from './config.js';
import { clusterIdFor, memberIdFor } from './member-id.js';

export const BOOTSTRAP_FILE = 'bootstrap';

const NO_CONFIG: ConfigState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

export interface Bootstrap {
  readonly clusterId: ClusterId;
  readonly memberId: NodeId;
  readonly protocol: 'raft' | 'paxos';
  /** The membership the state machine and the engine start from when no snapshot says otherwise. */
  readonly members: readonly MemberInfo[];
  readonly config: ConfigState;
}

/** What a member tells a joining member about its cluster. */
export interface ClusterDescription {
  readonly clusterId: ClusterId;
  readonly protocol: 'raft' | 'paxos';
  readonly members: readonly MemberInfo[];
  readonly config: ConfigState;
  /** The answering member's commit index: a member rejoining without its data must catch up to it before voting. */
  readonly commitIndex: number;
}

export function encodeClusterDescription(d: ClusterDescription): Uint8Array {
  return utf8(JSON.stringify(d));
}

export function decodeClusterDescription(b: Uint8Array): ClusterDescription {
  const d = JSON.parse(fromUtf8(b)) as ClusterDescription;
  if (typeof d.clusterId !== 'string' || !isNodeId(d.clusterId) || !Array.isArray(d.members) || (d.protocol !== 'raft' && d.protocol !== 'paxos')) {
    throw new Error('malformed cluster description');
  }
  return d;
}

export function encodeBootstrap(b: Bootstrap): Uint8Array {
  const body = JSON.stringify(b);
  return utf8(JSON.stringify({ crc32c: crc32c(utf8(body)), body }));
}

export function decodeBootstrap(bytes: Uint8Array, where: string): Bootstrap {
  try {
    const outer = JSON.parse(fromUtf8(bytes)) as { crc32c: number; body: string };
    if (crc32c(utf8(outer.body)) !== outer.crc32c) throw new Error('checksum mismatch');
    return JSON.parse(outer.body) as Bootstrap;
  } catch (e) {
    throw new ConfigError(`${where}/${BOOTSTRAP_FILE} is damaged (${(e as Error).message}); restore the data directory from a backup or remove this member and add it back with an empty one`);
  }
}

export interface ResolvedBootstrap {
  readonly bootstrap: Bootstrap;
  /** The data directory was new. */
  readonly fresh: boolean;
  /**
   * Set when the data directory is new but the cluster already has history (see
   * rejoinRepairIndex): the member must not vote until its log reaches this index.
   */
  readonly rejoinRepairUntil: LogIndex | null;
}

/**
 * Decides who this member is (see the table above). Every refusal — above all a protocol that is
 * not the cluster's — happens before anything is written, so the operator can fix the flag and
 * start again on the same directory.
 */
export async function resolveBootstrap(config: ServerConfig, disk: Disk, logger: Logger): Promise<ResolvedBootstrap> {
  if ((await disk.stat(BOOTSTRAP_FILE)) !== null) {
    const b = decodeBootstrap(await disk.readFile(BOOTSTRAP_FILE), disk.name);
    if (b.protocol !== config.consensus) {
      throw new ConfigError(
        `data directory ${disk.name} belongs to a cluster running ${b.protocol}, but --consensus is ${config.consensus}; a cluster keeps the protocol it was created with: start this member with --consensus ${b.protocol}`,
      );
    }
    return { bootstrap: b, fresh: false, rejoinRepairUntil: null };
  }
  let b: Bootstrap;
  let rejoinRepairUntil: LogIndex | null = null;
  if (config.initialClusterState === 'new') {
    b = fromFlags(config);
    rejoinRepairUntil = rejoinRepairIndex(config, b, await describePeers(config), logger);
  } else {
    b = await fromCluster(config, logger);
  }
  await writeFileAtomic(disk, BOOTSTRAP_FILE, encodeBootstrap(b));
  return { bootstrap: b, fresh: true, rejoinRepairUntil };
}

/** The message for a member whose --consensus is not its cluster's. */
function otherProtocol(o: { clusterId: ClusterId; where: string; runs: 'raft' | 'paxos'; configured: 'raft' | 'paxos' }): ConfigError {
  return new ConfigError(
    `cluster ${o.clusterId} (asked at ${o.where}) runs ${o.runs}, but this member is configured with --consensus ${o.configured}; a member cannot join a cluster of the other protocol: start it with --consensus ${o.runs}`,
  );
}

function fromFlags(config: ServerConfig): Bootstrap {
  const members: MemberInfo[] = config.initialCluster.map((m) => ({
    id: memberIdFor(m.peerUrls, config.initialClusterToken),
    name: m.name,
    peerUrls: [...m.peerUrls],
    // Every replica must start from the same table: client URLs arrive through the log when each
    // member publishes its own.
    clientUrls: [],
    isLearner: false,
  }));
  const ids = members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new ConfigError('two members of --initial-cluster get the same id; give them distinct peer URLs');
  const self = members.find((m) => m.name === config.name)!;
  return {
    clusterId: clusterIdFor(ids, config.initialClusterToken),
    memberId: self.id,
    protocol: config.consensus,
    members,
    config: { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false },
  };
}

async function fromCluster(config: ServerConfig, logger: Logger): Promise<Bootstrap> {
  const mine = new Set(config.initialAdvertisePeerUrls);
  const others = config.initialCluster.filter((m) => m.name !== config.name).flatMap((m) => m.peerUrls);
  if (others.length === 0) {
    throw new ConfigError('--initial-cluster-state existing needs the other members in --initial-cluster, to ask them about the cluster');
  }
  const errors: string[] = [];
  for (const url of others) {
    let d: ClusterDescription;
    try {
      d = decodeClusterDescription(await queryCluster(parsePeerUrl(url), CLUSTER_QUERY_TIMEOUT_MS));
    } catch (e) {
      errors.push(`${url}: ${(e as Error).message}`);
      continue;
    }
    if (d.protocol !== config.consensus) throw otherProtocol({ clusterId: d.clusterId, where: url, runs: d.protocol, configured: config.consensus });
    const self = d.members.find((m) => m.peerUrls.some((u) => mine.has(u)));
    if (self === undefined) {
      throw new ConfigError(
        `cluster ${d.clusterId} (asked at ${url}) has no member with peer URL ${[...mine].join(',')}; add it first: bulwark member add ${config.name} --peer-urls=${[...mine].join(',')}`,
      );
    }
    logger.info('joining an existing cluster', { clusterId: d.clusterId, memberId: self.id, askedAt: url, protocol: d.protocol });
    return {
      clusterId: d.clusterId,
      memberId: self.id,
      protocol: d.protocol,
      members: d.members,
      // Raft config entries carry the configuration they lead to, so a joining Raft member may start
      // from the cluster's current one. A Multi-Paxos member must start knowing no configuration:
      // which one governs a slot depends on decisions it has not learned yet (the α-window), so it
      // learns them from the leader's catch-up or snapshot and never campaigns before that.
      config: d.protocol === 'paxos' ? NO_CONFIG : d.config,
    };
  }
  throw new ConfigError(`--initial-cluster-state existing: no member of the cluster answered (${errors.join('; ')})`);
}

/** What the other members of --initial-cluster that are running say about their cluster (by URL). */
async function describePeers(config: ServerConfig): Promise<{ url: string; d: ClusterDescription }[]> {
  const others = config.initialCluster.filter((m) => m.name !== config.name).flatMap((m) => m.peerUrls);
  const answers = await Promise.all(
    others.map(async (url) => {
      try {
        return { url, d: decodeClusterDescription(await queryCluster(parsePeerUrl(url), REJOIN_QUERY_TIMEOUT_MS)) };
      } catch {
        return null; // not running yet, as is usual when a cluster starts
      }
    }),
  );
  return answers.filter((a): a is { url: string; d: ClusterDescription } => a !== null);
}

/**
 * A member whose data directory is new but whose peers already hold a history has lost its disk
 * (or was wiped): whatever it voted or acknowledged before is gone. The peers say how far the
 * cluster has committed; the member then neither votes nor campaigns until its log gets there
 * (the same rule as after corruption, DurableState.repairUntil). Null when no peer has history.
 * Throws when a peer of this very cluster runs the other protocol.
 */
function rejoinRepairIndex(config: ServerConfig, b: Bootstrap, peers: readonly { url: string; d: ClusterDescription }[], logger: Logger): LogIndex | null {
  let highest = 0;
  for (const { url, d } of peers) {
    if (d.clusterId !== b.clusterId) continue; // another cluster's member at that address: the transport refuses it
    if (d.protocol !== config.consensus) throw otherProtocol({ clusterId: d.clusterId, where: url, runs: d.protocol, configured: config.consensus });
    highest = Math.max(highest, d.commitIndex);
  }
  if (highest <= 0) return null;
  logger.warn('this member starts with an empty data directory in a cluster that already has history: it will not vote until it has caught up', { commitIndex: highest });
  return logIndex(highest);
}
