/**
 * Cluster-aware mode's view of the cluster: the members (etcdserverpb.Cluster/MemberList, asked of
 * any member that answers) and the leader (etcdserverpb.Maintenance/Status on every member; the
 * `leader` field, believed from the member with the highest raft term). Polled every interval and
 * again at once when a proxied request says the leader moved; concurrent re-polls are coalesced.
 */
import { LB_CLUSTER_RPC_TIMEOUT_MS } from '../core/limits.js';
import { errorMessage } from '../core/errors.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import { backendId, type BackendId, type BackendSpec } from './backend.js';
import { parseHostPort, type HostPort } from './config.js';
import {
  ETCD_PATH_MEMBER_LIST,
  ETCD_PATH_STATUS,
  decodeMemberListResponse,
  decodeStatusResponse,
  encodeMemberListRequest,
  encodeStatusRequest,
  type EtcdMember,
} from './etcd-messages.js';

/** The call the discovery makes; GrpcClientPool.unary in production, a fake in tests. */
export type UnaryCall = (target: HostPort, path: string, request: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;

export interface ClusterDiscoveryOptions {
  readonly seeds: readonly HostPort[];
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly call: UnaryCall;
  /** The voting members changed: these are the backends now. */
  readonly onMembers: (backends: readonly BackendSpec[]) => void;
  readonly onLeader: (leader: BackendId | null) => void;
}

interface KnownMember {
  readonly member: EtcdMember;
  readonly address: HostPort;
  readonly id: BackendId;
}

/** The first http:// client URL of a member, as a backend address. */
export function memberAddress(m: EtcdMember): HostPort | null {
  for (const u of m.clientUrls) {
    try {
      return parseHostPort(u, 'clientURLs', { allowPortZero: false });
    } catch {
      // https or malformed: try the next one
    }
  }
  return null;
}

export class ClusterDiscovery {
  private members: KnownMember[] = [];
  private leaderNow: BackendId | null = null;
  private timer: Timer | null = null;
  private polling: Promise<void> | null = null;
  private closed = false;
  private membersKey = '';

  constructor(private readonly options: ClusterDiscoveryOptions) {}

  get leader(): BackendId | null {
    return this.leaderNow;
  }

  /** Polls at once, then every interval. Resolves after the first poll. */
  async start(): Promise<void> {
    await this.repoll();
    this.timer = this.options.clock.setInterval(() => void this.repoll(), this.options.pollIntervalMs);
  }

  close(): void {
    this.closed = true;
    this.timer?.cancel();
  }

  /** Polls now (or joins the poll in progress). */
  repoll(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.polling ??= this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  /**
   * Resolves with a leader not in `exclude` as soon as one is known, re-polling meanwhile;
   * null after `timeoutMs`.
   */
  async waitForLeader(exclude: ReadonlySet<BackendId>, timeoutMs: number): Promise<BackendId | null> {
    const deadline = this.options.clock.nowMs() + timeoutMs;
    for (;;) {
      const l = this.leaderNow;
      if (l !== null && !exclude.has(l)) return l;
      const left = deadline - this.options.clock.nowMs();
      if (left <= 0 || this.closed) return null;
      await this.repoll();
      if (this.leaderNow !== null && !exclude.has(this.leaderNow)) continue;
      // An election takes a while: wait a little before asking again.
      await this.options.clock.sleep(Math.min(left, 100));
    }
  }

  private async poll(): Promise<void> {
    const { call } = this.options;
    const targets = [...this.members.map((m) => m.address), ...this.options.seeds];
    let list: EtcdMember[] | null = null;
    for (const t of dedupe(targets)) {
      try {
        // Serializable, so that a member without a leader still answers.
        list = [...decodeMemberListResponse(await call(t, ETCD_PATH_MEMBER_LIST, encodeMemberListRequest(false), LB_CLUSTER_RPC_TIMEOUT_MS)).members];
        break;
      } catch (e) {
        this.options.logger.debug('member list failed', { endpoint: `${t.host}:${t.port}`, error: errorMessage(e) });
      }
    }
    if (this.closed) return;
    if (list !== null) this.setMembers(list);
    const statuses = await Promise.all(
      this.members.map(async (m) => {
        try {
          return decodeStatusResponse(await call(m.address, ETCD_PATH_STATUS, encodeStatusRequest(), LB_CLUSTER_RPC_TIMEOUT_MS));
        } catch {
          return null;
        }
      }),
    );
    if (this.closed) return;
    let best: { leader: bigint; term: bigint } | null = null;
    for (const s of statuses) {
      if (s === null || s.leader === 0n) continue;
      if (best === null || s.raftTerm > best.term) best = { leader: s.leader, term: s.raftTerm };
    }
    const leaderMember = best === null ? undefined : this.members.find((m) => m.member.id === best.leader);
    const leader = leaderMember?.id ?? null;
    if (leader !== this.leaderNow) {
      this.options.logger.info('cluster leader', { leader, previous: this.leaderNow });
      this.leaderNow = leader;
      this.options.onLeader(leader);
    }
  }

  private setMembers(list: readonly EtcdMember[]): void {
    const known: KnownMember[] = [];
    for (const m of list) {
      if (m.isLearner) continue; // learners refuse most requests
      const address = memberAddress(m);
      if (address === null) continue;
      known.push({ member: m, address, id: backendId(address.host, address.port) });
    }
    this.members = known;
    const key = known.map((k) => k.id).join(',');
    if (key === this.membersKey) return;
    this.membersKey = key;
    this.options.logger.info('cluster members', { members: known.map((k) => `${k.member.name}=${k.id}`) });
    this.options.onMembers(known.map((k) => ({ id: k.id, host: k.address.host, port: k.address.port, weight: 1, backup: false })));
  }
}

function dedupe(targets: readonly HostPort[]): HostPort[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const k = `${t.host}:${t.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
