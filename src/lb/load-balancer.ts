/**
 * `bulwark lb` as a library: builds the balancer, health checker, proxy, admin listener and (in
 * cluster-aware mode) the cluster discovery from an LbConfig, and applies a new LbConfig on reload
 * without closing the listener or any connection: backends are added, drained or re-weighted, the
 * policy is swapped, and every limit takes its new value.
 */
import { assertNever } from '../core/assert.js';
import type { Clock } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import { nullLogger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import { NodeClock } from '../env/node/clock.js';
import { nodeRandom } from '../env/node/random.js';
import { AdminServer } from './admin-server.js';
import type { BackendId } from './backend.js';
import { Balancer, type BalancerEvent } from './balancer.js';
import { CircuitBreakers } from './circuit-breaker.js';
import { ClusterDiscovery, type UnaryCall } from './cluster-discovery.js';
import { meansLeaderMoved, refusedBeforeProposal, routeNeedsMessage, routeOf } from './cluster-router.js';
import { reloadProblem, type LbConfig } from './config.js';
import { LbConfigError } from './errors.js';
import { GrpcClientPool } from './grpc-client.js';
import { HealthChecker } from './health-checker.js';
import { realProbe, type Probe } from './health-probe.js';
import { LbMetrics } from './metrics.js';
import { policyByName } from './policy-registry.js';
import type { Proxy, ProxyContext } from './proxy-context.js';
import { Http1Proxy } from './proxy-http1.js';
import { Http2Proxy, type Routing } from './proxy-http2.js';
import { TcpProxy } from './proxy-tcp.js';
import { RetryBudget } from './retry-budget.js';

export interface LoadBalancerOptions {
  readonly config: LbConfig;
  readonly clock?: Clock;
  readonly random?: Random;
  readonly logger?: Logger;
  /** Replaces the real health probes (tests). */
  readonly probe?: Probe;
  /** Replaces the real gRPC calls of cluster discovery (tests). */
  readonly clusterCall?: UnaryCall;
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

export class LoadBalancer {
  readonly balancer: Balancer;
  readonly metrics = new LbMetrics();
  private config: LbConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly breakers: CircuitBreakers;
  private readonly budget: RetryBudget;
  private readonly health: HealthChecker;
  private readonly proxy: Proxy;
  private readonly discovery: ClusterDiscovery | null = null;
  private readonly grpcClients: GrpcClientPool | null = null;
  private admin: AdminServer | null = null;
  private listenAddress: Address | null = null;
  private adminAddr: Address | null = null;

  private constructor(options: LoadBalancerOptions) {
    const config = options.config;
    this.config = config;
    this.clock = options.clock ?? new NodeClock();
    this.logger = options.logger ?? nullLogger;
    const random = options.random ?? nodeRandom();
    this.balancer = new Balancer({
      policy: policyByName(config.policy),
      random: random.fork(),
      clock: this.clock,
      panicThresholdPercent: config.panicThresholdPercent,
      outlier: config.outlier,
      drainTimeoutMs: config.drainTimeoutMs,
      onEvent: (e) => this.onBalancerEvent(e),
    });
    this.breakers = new CircuitBreakers(config.circuitBreakers);
    this.budget = new RetryBudget(config.retries.budget);
    this.health = new HealthChecker({ clock: this.clock, random: random.fork(), balancer: this.balancer, probe: options.probe ?? realProbe, settings: config.health });
    const ctx: ProxyContext = {
      balancer: this.balancer,
      breakers: this.breakers,
      budget: this.budget,
      metrics: this.metrics,
      clock: this.clock,
      logger: this.logger,
      settings: () => this.config,
    };
    let routing: Routing | null = null;
    if (config.cluster !== null) {
      let call = options.clusterCall;
      if (call === undefined) {
        const pool = new GrpcClientPool();
        this.grpcClients = pool;
        call = (t, p, r, ms) => pool.unary(t, p, r, ms);
      }
      const discovery = new ClusterDiscovery({
        seeds: config.cluster.endpoints,
        pollIntervalMs: config.cluster.pollIntervalMs,
        clock: this.clock,
        logger: this.logger,
        call,
        onMembers: (backends) => {
          this.balancer.setBackends(backends);
          this.health.setBackends(backends);
        },
        onLeader: () => {
          this.metrics.leaderChanges++;
        },
      });
      this.discovery = discovery;
      routing = {
        needsMessage: routeNeedsMessage,
        route: routeOf,
        leader: () => discovery.leader,
        waitForLeader: (exclude, ms) => discovery.waitForLeader(exclude, ms),
        observe: (code, message) => {
          const moved = meansLeaderMoved(code, message);
          if (moved) void discovery.repoll();
          return moved;
        },
        refusedBeforeProposal,
      };
    }
    switch (config.mode) {
      case 'tcp':
        this.proxy = new TcpProxy(ctx);
        break;
      case 'http':
        this.proxy = new Http1Proxy(ctx);
        break;
      case 'grpc':
        this.proxy = new Http2Proxy(ctx, routing);
        break;
      default:
        this.proxy = assertNever(config.mode, 'mode');
    }
  }

  /** Starts listening (and polling the cluster in cluster-aware mode). */
  static async start(options: LoadBalancerOptions): Promise<LoadBalancer> {
    const lb = new LoadBalancer(options);
    try {
      lb.balancer.setBackends(options.config.backends);
      lb.health.setBackends(options.config.backends);
      if (lb.discovery !== null) await lb.discovery.start();
      lb.listenAddress = await lb.proxy.listen(options.config.listen.host, options.config.listen.port);
      if (options.config.admin !== null) {
        lb.admin = new AdminServer({ snapshot: () => lb.snapshot() }, () => lb.clock.wallMs());
        lb.adminAddr = await lb.admin.listen(options.config.admin.host, options.config.admin.port);
      }
    } catch (e) {
      await lb.close();
      throw e;
    }
    lb.logger.info('lb listening', { listen: lb.listenAddress, mode: options.config.mode, policy: options.config.policy, admin: lb.adminAddr });
    return lb;
  }

  get address(): Address {
    if (this.listenAddress === null) throw new Error('not listening');
    return this.listenAddress;
  }

  get adminAddress(): Address | null {
    return this.adminAddr;
  }

  get currentConfig(): LbConfig {
    return this.config;
  }

  get leader(): BackendId | null {
    return this.discovery?.leader ?? null;
  }

  /**
   * Applies a new configuration to the running balancer. Refused (LbConfigError, nothing changed)
   * when it would need new listeners.
   */
  reload(next: LbConfig): void {
    const problem = reloadProblem(this.config, next);
    if (problem !== null) {
      this.metrics.reloadsFailed++;
      throw new LbConfigError('reload', problem);
    }
    const prev = this.config;
    this.config = next;
    if (next.policy !== prev.policy) this.balancer.setPolicy(policyByName(next.policy));
    this.balancer.setSettings({ panicThresholdPercent: next.panicThresholdPercent, outlier: next.outlier, drainTimeoutMs: next.drainTimeoutMs });
    this.breakers.setLimits(next.circuitBreakers);
    this.budget.setConfig(next.retries.budget);
    this.health.setSettings(next.health);
    if (next.cluster === null) {
      this.balancer.setBackends(next.backends);
      this.health.setBackends(next.backends);
    }
    this.metrics.reloadsOk++;
    this.logger.info('configuration reloaded', { backends: next.backends.map((b) => b.id), policy: next.policy });
  }

  snapshot() {
    return {
      backends: this.balancer.status(),
      mode: this.balancer.mode,
      breakers: this.breakers,
      metrics: this.metrics,
      leader: this.discovery?.leader ?? null,
      policy: this.balancer.policyName,
      listen: this.listenAddress === null ? '' : `${this.listenAddress.host}:${this.listenAddress.port}`,
      lbMode: this.config.mode + (this.config.cluster === null ? '' : ', cluster-aware'),
    };
  }

  async close(): Promise<void> {
    this.discovery?.close();
    this.grpcClients?.close();
    this.health.close();
    this.balancer.close();
    await Promise.all([this.listenAddress === null ? Promise.resolve() : this.proxy.close(), this.admin?.close()]);
  }

  private onBalancerEvent(e: BalancerEvent): void {
    switch (e.type) {
      case 'state-changed':
        this.logger.info('backend state', { backend: e.id, from: e.from, to: e.to, reason: e.reason });
        break;
      case 'mode-changed':
        if (e.to !== 'normal' || e.from !== 'empty') this.logger.warn('pool mode', { from: e.from, to: e.to });
        break;
      case 'removed':
        this.logger.info('backend removed', { backend: e.id, forced: e.forced });
        this.proxy.closeBackend(e.id, e.forced);
        break;
      default:
        assertNever(e, 'balancer event');
    }
  }
}
