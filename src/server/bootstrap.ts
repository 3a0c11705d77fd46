/**
 * Who this member is and what cluster it starts in, decided once when its data directory is new and
 * remembered in the directory from then on:
 *
 *   data directory  --initial-cluster-state  what happens
 *   has 'bootstrap'  (ignored)               restart: identity and initial membership from the file
 *   empty            new                     ids derived from --initial-cluster and the token, as etcd does
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

function encodeBootstrap(b: Bootstrap): Uint8Array {
  const body = JSON.stringify(b);
  return utf8(JSON.stringify({ crc32c: crc32c(utf8(body)), body }));
}

function decodeBootstrap(bytes: Uint8Array, where: string): Bootstrap {
  try {
    const outer = JSON.parse(fromUtf8(bytes)) as { crc32c: number; body: string };
    if (crc32c(utf8(outer.body)) !== outer.crc32c) throw new Error('checksum mismatch');
    return JSON.parse(outer.body) as Bootstrap;
  } catch (e) {
    throw new ConfigError(`${where}/${BOOTSTRAP_FILE} is damaged (${(e as Error).message}); restore the data directory from a backup or remove this member and add it back with an empty one`);
  }
}

export async function resolveBootstrap(config: ServerConfig, disk: Disk, logger: Logger): Promise<{ bootstrap: Bootstrap; fresh: boolean }> {
  if ((await disk.stat(BOOTSTRAP_FILE)) !== null) {
    const b = decodeBootstrap(await disk.readFile(BOOTSTRAP_FILE), disk.name);
    if (b.protocol !== config.consensus) {
      throw new ConfigError(`data directory ${disk.name} belongs to a cluster running ${b.protocol}, but --consensus is ${config.consensus}; start this member with --consensus ${b.protocol}`);
    }
    return { bootstrap: b, fresh: false };
  }
  const b = config.initialClusterState === 'new' ? fromFlags(config) : await fromCluster(config, logger);
  await writeFileAtomic(disk, BOOTSTRAP_FILE, encodeBootstrap(b));
  return { bootstrap: b, fresh: true };
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
    const self = d.members.find((m) => m.peerUrls.some((u) => mine.has(u)));
    if (self === undefined) {
      throw new ConfigError(
        `cluster ${d.clusterId} (asked at ${url}) has no member with peer URL ${[...mine].join(',')}; add it first: bulwark member add ${config.name} --peer-urls=${[...mine].join(',')}`,
      );
    }
    logger.info('joining an existing cluster', { clusterId: d.clusterId, memberId: self.id, askedAt: url, protocol: d.protocol });
    if (d.protocol !== config.consensus) {
      throw new ConfigError(`cluster ${d.clusterId} runs ${d.protocol}, but this member is configured with --consensus ${config.consensus}; a member cannot join a cluster of the other protocol (start it with --consensus ${d.protocol})`);
    }
    return {
      clusterId: d.clusterId,
      memberId: self.id,
      protocol: d.protocol,
      members: d.members,
      config: d.config,
    };
  }
  throw new ConfigError(`--initial-cluster-state existing: no member of the cluster answered (${errors.join('; ')})`);
}

/**
 * A member whose data directory is new but whose peers already hold a history has lost its disk
 * (or was wiped): whatever it voted or acknowledged before is gone. Asks the peers how far the
 * cluster has committed; the member then neither votes nor campaigns until its log gets there
 * (the same rule as after corruption, DurableState.repairUntil). Null when no peer has history.
 */
export async function rejoinRepairIndex(config: ServerConfig, logger: Logger): Promise<LogIndex | null> {
  const others = config.initialCluster.filter((m) => m.name !== config.name).flatMap((m) => m.peerUrls);
  const answers = await Promise.all(
    others.map(async (url) => {
      try {
        return decodeClusterDescription(await queryCluster(parsePeerUrl(url), REJOIN_QUERY_TIMEOUT_MS)).commitIndex;
      } catch {
        return 0;
      }
    }),
  );
  const highest = Math.max(0, ...answers);
  if (highest <= 0) return null;
  logger.warn('this member starts with an empty data directory in a cluster that already has history: it will not vote until it has caught up', { commitIndex: highest });
  return logIndex(highest);
}
