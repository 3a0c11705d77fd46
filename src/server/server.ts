/**
 * A running member: the Member runtime plus its client listeners. Each --listen-client-urls
 * address serves gRPC (etcd's API) and HTTP (/metrics, /health, the dashboard, the JSON gateway)
 * on one port, told apart by the first bytes of each connection.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { errorMessage } from '../core/errors.js';
import { CLIENT_CONNECTIONS_MAX, WATCH_PROGRESS_INTERVAL_MS } from '../core/limits.js';
import { GrpcServer, HealthService, createSharedListener } from '../api/grpc/index.js';
import type { Disk } from '../env/disk.js';
import type { Env } from '../env/env.js';
import type { Timer } from '../env/clock.js';
import { HealthCheckResponse_ServingStatus } from '../api/proto/generated/grpc-health-v1.js';
import type { ServerConfig } from './config.js';
import { toGrpcError } from './errors.js';
import { httpEndpoints, type HttpHandler } from './http-endpoints.js';
import { Member } from './member.js';
import { MemberAdmin } from './member-admin.js';
import { registerLeasePeerRpcs } from './peer-rpcs.js';
import { ServiceContext } from './services/context.js';
import { registerCluster } from './services/cluster.js';
import { registerKv } from './services/kv.js';
import { registerLease } from './services/lease.js';
import { registerMaintenance } from './services/maintenance.js';
import { registerWatch } from './services/watch.js';
import type { Failpoints } from './failpoints.js';

export interface ServerOptions {
  readonly config: ServerConfig;
  readonly env: Env;
  readonly disk: Disk;
  /** The process should exit: the member cannot go on safely. */
  readonly onFatal: (reason: string, error?: unknown) => void;
  readonly failpoints?: Failpoints;
  /** Extra status for the dashboard and Status (a RAID volume's health). */
  readonly storageStatus?: () => unknown;
  /** Extra Prometheus text for /metrics (a RAID volume's metrics). */
  readonly storageMetrics?: () => string;
  /** Registers more gRPC services and an HTTP gateway (the full etcd API). */
  readonly extend?: (s: { grpc: GrpcServer; ctx: ServiceContext; admin: MemberAdmin }) => { gateway?: HttpHandler } | void;
}

export class BulwarkServer {
  private readonly listeners: NetServer[] = [];
  private readonly httpServers: HttpServer[] = [];
  private readonly timers: Timer[] = [];
  readonly grpc: GrpcServer;
  readonly health = new HealthService();
  private stopping = false;

  private constructor(
    readonly member: Member,
    private readonly o: ServerOptions,
  ) {
    this.grpc = new GrpcServer({
      receiveMessageBytesMax: o.config.maxRequestBytes + 512 * 1024,
      mapError: toGrpcError,
      onHandlerError: (path, e) => o.env.logger.warn('request failed unexpectedly', { path, error: errorMessage(e) }),
    });
  }

  static async start(o: ServerOptions): Promise<BulwarkServer> {
    const member = await Member.open({
      config: o.config,
      env: o.env,
      disk: o.disk,
      onFatal: o.onFatal,
      ...(o.failpoints === undefined ? {} : { failpoints: o.failpoints }),
    });
    const s = new BulwarkServer(member, o);
    await s.serve();
    return s;
  }

  private async serve(): Promise<void> {
    const { member, o } = this;
    const ctx = new ServiceContext(member);
    const admin = new MemberAdmin(member, { token: o.config.initialClusterToken, clock: o.env.clock });
    registerLeasePeerRpcs(member);
    registerKv(this.grpc, ctx);
    registerWatch(this.grpc, ctx);
    registerLease(this.grpc, ctx);
    registerCluster(this.grpc, ctx, admin);
    registerMaintenance(this.grpc, ctx, admin);
    this.health.register(this.grpc);
    const ext = o.extend?.({ grpc: this.grpc, ctx, admin }) ?? {};
    await member.start();
    member.onLeaderChange((s) => this.health.setStatus('', s.leader === null ? HealthCheckResponse_ServingStatus.NOT_SERVING : HealthCheckResponse_ServingStatus.SERVING));
    this.timers.push(o.env.clock.setInterval(() => member.kv.watchHub.progressTick(), WATCH_PROGRESS_INTERVAL_MS));
    const handler = httpEndpoints(member, {
      ...(ext.gateway === undefined ? {} : { gateway: ext.gateway }),
      status: () => this.statusJson(),
      ...(o.storageMetrics === undefined ? {} : { metrics: o.storageMetrics }),
    });
    for (const u of o.config.listenClientUrls) {
      const url = new URL(u);
      const http = createHttpServer(handler);
      http.keepAliveTimeout = 30_000;
      const listener = createSharedListener({ onHttp2: (sock) => this.grpc.handleSocket(sock), http1: http });
      listener.maxConnections = CLIENT_CONNECTIONS_MAX;
      await new Promise<void>((resolve, reject) => {
        listener.once('error', reject);
        listener.listen({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) }, () => {
          listener.off('error', reject);
          resolve();
        });
      });
      listener.on('error', (e) => o.env.logger.error('client listener error', { url: u, error: errorMessage(e) }));
      this.listeners.push(listener);
      this.httpServers.push(http);
    }
    o.env.logger.info('serving clients', { urls: o.config.listenClientUrls });
  }

  /** What the dashboard shows of this member. */
  statusJson(): unknown {
    const m = this.member;
    const st = m.status();
    const kv = m.kv.status();
    const info = m.memberInfo(m.id);
    return {
      member: { id: m.id, name: m.name, clientUrls: info?.clientUrls ?? this.o.config.advertiseClientUrls, peerUrls: info?.peerUrls ?? [] },
      cluster: { id: m.clusterId, members: m.kv.memberList() },
      consensus: {
        protocol: m.protocol,
        role: st.role,
        term: st.term,
        leader: st.leader,
        commitIndex: st.commitIndex,
        appliedIndex: st.appliedIndex,
        firstIndex: st.firstIndex,
        lastIndex: st.lastIndex,
        isLearner: m.isLearner,
        progress: st.progress,
        config: st.config,
      },
      kv: { revision: kv.revision, compactRevision: kv.compactRevision, keys: kv.keys, sizeBytes: kv.sizeBytes, leases: kv.leases, watchers: kv.watchers },
      alarms: kv.alarms.map((a) => ({ memberId: a.member, alarm: a.alarm.toUpperCase() })),
      peers: m.peerStats().map((p) => ({
        id: p.peer,
        connected: p.control.state === 'ready',
        rttMs: p.control.lastRttMs,
        address: (() => {
          const a = p.addresses[p.control.addressIndex];
          return a === undefined ? null : `${a.host}:${a.port}`;
        })(),
      })),
      storage: { recovery: m.storageReport.row, volume: this.o.storageStatus?.() ?? null },
      uptimeS: (this.o.env.clock.nowMs() - m.startedAtMs) / 1000,
    };
  }

  async stop(graceMs = 2000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const t of this.timers) t.cancel();
    this.health.setStatus('', HealthCheckResponse_ServingStatus.NOT_SERVING);
    for (const l of this.listeners) l.close();
    for (const h of this.httpServers) h.closeAllConnections();
    await this.grpc.close(graceMs);
    await this.member.stop();
  }
}
