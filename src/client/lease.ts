/**
 * Leases kept alive across failover, with an honest account of what the client knows. All kept
 * leases share one LeaseKeepAlive stream (to the leader when known: followers would forward it).
 * The client tracks, for each lease, the latest local time until which the lease surely lives: the
 * send time of the last confirmed keep-alive plus the TTL the server returned (the server started
 * its TTL no earlier than that send). From it:
 *
 * - in doubt: no keep-alive confirmed for CLIENT_LEASE_DOUBT_PERCENT of the TTL (the stream is
 *   down, the leader is changing) — the application should stop work that needs the lease soon;
 * - lost: that time has passed without confirmation, or the server answered TTL <= 0 (it no
 *   longer has the lease), or the lease was revoked.
 *
 * Keep-alives go every TTL / CLIENT_LEASE_KEEPALIVE_DIVISOR; a failed stream is replaced at once
 * on another member, and every lease is renewed on the new stream straight away.
 */
import { assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { leaseId, type LeaseId } from '../core/ids.js';
import {
  CLIENT_LEASE_DOUBT_PERCENT,
  CLIENT_LEASE_KEEPALIVE_DIVISOR,
  CLIENT_LEASE_KEEPALIVE_MS_MAX,
  CLIENT_LEASE_KEEPALIVE_MS_MIN,
  CLIENT_LEASES_KEPT_MAX,
  CLIENT_STREAM_SILENCE_MS_MAX,
} from '../core/limits.js';
import type { Timer } from '../env/clock.js';
import type { ClientDuplex } from '../api/grpc/client.js';
import { LeaseService, type LeaseGrantResponse, type LeaseKeepAliveRequestInit, type LeaseKeepAliveResponse, type LeaseTimeToLiveResponse } from '../api/proto/generated/etcdserverpb.js';
import { backoffDelayMs } from './backoff.js';
import type { CallOptions } from './call-runner.js';
import { ClientError } from './errors.js';
import type { LeaseLostReason } from './events.js';
import { classifyFailure } from './failure.js';
import type { StreamManagerDeps } from './stream-deps.js';

export type LeaseState = 'alive' | 'in-doubt' | 'lost';

export type LeaseEvent =
  | { readonly type: 'in-doubt'; readonly expiresInMs: number }
  | { readonly type: 'confirmed'; readonly ttlSeconds: number }
  | { readonly type: 'lost'; readonly reason: LeaseLostReason };

export class Lease {
  state: LeaseState = 'alive';
  /** Local clock time (ms) until which the lease surely lives. */
  expiresAtMs: number;
  /** Resolves with the reason once the lease is lost. */
  readonly lost: Promise<LeaseLostReason>;
  private resolveLost!: (r: LeaseLostReason) => void;
  private readonly listeners = new Set<(e: LeaseEvent) => void>();
  /** @internal keep-alive bookkeeping */
  ttlSeconds: number;
  confirmedAtMs: number;
  pendingSinceMs: number | null = null;
  nextSendAtMs: number;
  timer: Timer | null = null;
  kept = false;

  constructor(
    readonly id: LeaseId,
    readonly grantedTtlSeconds: number,
    grantedAtMs: number,
    private readonly manager: LeaseManager,
  ) {
    this.ttlSeconds = grantedTtlSeconds;
    this.confirmedAtMs = grantedAtMs;
    this.expiresAtMs = grantedAtMs + grantedTtlSeconds * 1000;
    this.nextSendAtMs = grantedAtMs + manager.keepAliveIntervalMs(grantedTtlSeconds);
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
  }

  /** Lease events of this lease only (the client's event stream carries them too). */
  on(listener: (e: LeaseEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Revokes the lease: its keys are deleted. */
  revoke(options?: CallOptions): Promise<void> {
    return this.manager.revoke(this, options);
  }

  timeToLive(options: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return this.manager.timeToLive(this.id, options);
  }

  /** Stops keeping the lease alive (it expires after its TTL unless revoked). */
  release(): void {
    this.manager.release(this);
  }

  /** @internal */
  emit(e: LeaseEvent): void {
    if (e.type === 'lost') {
      this.state = 'lost';
      this.resolveLost(e.reason);
    }
    for (const l of [...this.listeners]) l(e);
  }
}

export type LeaseManagerDeps = StreamManagerDeps;

type KeepAliveStream = ClientDuplex<LeaseKeepAliveRequestInit, LeaseKeepAliveResponse>;

export interface GrantOptions extends CallOptions {
  /** The lease id (default: a random one chosen here, which makes a retried grant safe). */
  readonly id?: LeaseId | bigint;
  /** Keep the lease alive until released, revoked or lost (default true). */
  readonly keepAlive?: boolean;
}

const ID_MASK = (1n << 63n) - 1n;

export class LeaseManager {
  private readonly kept = new Map<bigint, Lease>();
  private stream: KeepAliveStream | null = null;
  private streamEndpoint: string | null = null;
  private generation = 0;
  private reconnectTimer: Timer | null = null;
  private failuresInARow = 0;

  constructor(private readonly d: LeaseManagerDeps) {}

  keepAliveIntervalMs(ttlSeconds: number): number {
    return Math.min(CLIENT_LEASE_KEEPALIVE_MS_MAX, Math.max(CLIENT_LEASE_KEEPALIVE_MS_MIN, (ttlSeconds * 1000) / CLIENT_LEASE_KEEPALIVE_DIVISOR));
  }

  async grant(ttlSeconds: number, options: GrantOptions = {}): Promise<Lease> {
    const startedMs = this.d.clock.nowMs();
    const r = await this.grantRaw(ttlSeconds, options);
    const lease = new Lease(leaseId(r.ID), r.TTL, startedMs, this);
    if (options.keepAlive !== false) this.keep(lease);
    return lease;
  }

  /** LeaseGrant itself (nothing kept alive). */
  async grantRaw(ttlSeconds: number, options: CallOptions & { id?: LeaseId | bigint } = {}): Promise<LeaseGrantResponse> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new ClientError('invalid-argument', `lease TTL must be a positive number of seconds, got ${ttlSeconds}`);
    const chosen = options.id === undefined;
    // A random 63-bit id: a retried grant that already succeeded answers "lease already exists",
    // which for an id nobody else could have picked means "it is yours".
    const id = chosen ? this.d.random.uint64() & ID_MASK || 1n : BigInt(options.id!);
    try {
      const r = await this.d.runner.unary(LeaseService.LeaseGrant, { TTL: ttlSeconds, ID: id }, { route: { type: 'leader' }, write: true, idempotent: chosen }, options);
      if (r.error !== '') throw new ClientError('server', r.error);
      return r;
    } catch (e) {
      if (!(chosen && e instanceof ClientError && e.server?.kind === 'lease-exists')) throw e;
      const t = await this.timeToLive(leaseId(id), options);
      if (t.TTL <= 0) throw e;
      return { header: t.header, ID: id, TTL: t.grantedTTL, error: '' };
    }
  }

  /** Keeps an existing lease (granted elsewhere) alive, as if just confirmed with `ttlSeconds` left. */
  adopt(id: LeaseId | bigint, ttlSeconds: number): Lease {
    const lease = new Lease(leaseId(BigInt(id)), ttlSeconds, this.d.clock.nowMs(), this);
    this.keep(lease);
    return lease;
  }

  keep(lease: Lease): void {
    if (this.kept.has(lease.id)) return;
    if (this.kept.size >= CLIENT_LEASES_KEPT_MAX) throw new ClientError('invalid-argument', `more than ${CLIENT_LEASES_KEPT_MAX} leases kept alive by one client`);
    lease.kept = true;
    this.kept.set(lease.id, lease);
    this.ensureStream();
    this.schedule(lease);
  }

  release(lease: Lease): void {
    if (!this.kept.delete(lease.id)) return;
    lease.kept = false;
    lease.timer?.cancel();
    lease.timer = null;
    if (this.kept.size === 0) this.closeStream();
  }

  async revoke(lease: Lease, options?: CallOptions): Promise<void> {
    await this.d.runner.unary(LeaseService.LeaseRevoke, { ID: lease.id }, { route: { type: 'leader' }, write: true }, options);
    this.lose(lease, 'revoked');
  }

  timeToLive(id: LeaseId | bigint, options: CallOptions & { keys?: boolean } = {}): Promise<LeaseTimeToLiveResponse> {
    return this.d.runner.unary(LeaseService.LeaseTimeToLive, { ID: BigInt(id), keys: options.keys }, { route: { type: 'leader' }, write: false }, options);
  }

  /** One keep-alive on its own stream (what `etcdctl lease keep-alive --once` does). */
  keepAliveOnce(id: LeaseId | bigint, options: CallOptions = {}): Promise<LeaseKeepAliveResponse> {
    return this.d.runner.withRetries(LeaseService.LeaseKeepAlive.path, { route: { type: 'leader' }, write: false }, options, async (conn, o) => {
      const s = conn.duplex(LeaseService.LeaseKeepAlive, o);
      try {
        await s.write({ ID: BigInt(id) });
        for await (const r of s) return r;
        throw new ClientError('unavailable', 'the keep-alive stream ended without an answer');
      } finally {
        s.end();
        s.cancel();
      }
    });
  }

  // ---- The shared stream ---------------------------------------------------------------------

  private ensureStream(): void {
    if (this.stream !== null || this.reconnectTimer !== null || this.d.closed.aborted || this.kept.size === 0) return;
    const exclude = new Set<string>(this.streamEndpoint === null ? [] : [this.streamEndpoint]);
    const endpoint = this.d.pool.pick({ type: 'leader' }, exclude, this.d.runner.leaderEndpoint());
    const conn = this.d.pool.connection(endpoint);
    const stream = conn.duplex(LeaseService.LeaseKeepAlive, { metadata: this.d.metadata });
    const generation = ++this.generation;
    this.stream = stream;
    this.streamEndpoint = endpoint;
    void this.readLoop(stream, generation, endpoint, conn.neverSent.bind(conn));
    // Renew everything at once on a new stream: the old one may have lost keep-alives.
    const now = this.d.clock.nowMs();
    for (const l of this.kept.values()) {
      l.nextSendAtMs = now;
      this.schedule(l);
    }
  }

  private async readLoop(stream: KeepAliveStream, generation: number, endpoint: string, neverSent: (e: unknown) => boolean): Promise<void> {
    let failure: unknown = null;
    try {
      for await (const r of stream) {
        if (generation !== this.generation) return;
        this.failuresInARow = 0;
        this.d.pool.succeeded(endpoint);
        this.d.runner.observe(endpoint, r.header);
        this.answer(r);
      }
    } catch (e) {
      failure = e;
    }
    if (generation !== this.generation) return;
    const f = failure === null ? null : classifyFailure(failure, neverSent(failure));
    if (f === null || f.type === 'transport') this.d.pool.failed(endpoint, failure === null ? 'keep-alive stream ended' : errorMessage(failure));
    if (f !== null && f.type === 'retryable' && f.leader) this.d.runner.leaderLost();
    this.restartStream(failure === null ? 'ended' : errorMessage(failure));
  }

  private answer(r: LeaseKeepAliveResponse): void {
    const lease = this.kept.get(r.ID);
    if (lease === undefined) return;
    if (r.TTL <= 0) {
      this.lose(lease, 'not-found');
      return;
    }
    const now = this.d.clock.nowMs();
    lease.confirmedAtMs = lease.pendingSinceMs ?? now;
    lease.pendingSinceMs = null;
    lease.ttlSeconds = r.TTL;
    lease.expiresAtMs = Math.max(lease.expiresAtMs, lease.confirmedAtMs + r.TTL * 1000);
    if (lease.state === 'in-doubt') {
      lease.state = 'alive';
      lease.emit({ type: 'confirmed', ttlSeconds: r.TTL });
      this.d.events.emit({ type: 'lease-confirmed', id: lease.id, ttlSeconds: r.TTL });
    }
    this.schedule(lease);
  }

  private restartStream(reason: string): void {
    this.generation++;
    const old = this.stream;
    this.stream = null;
    old?.cancel();
    if (this.kept.size === 0 || this.d.closed.aborted) return;
    this.failuresInARow++;
    const delayMs = this.failuresInARow === 1 ? 0 : backoffDelayMs(this.failuresInARow - 1, this.d.backoff, this.d.random);
    this.d.logger.debug('keep-alive stream lost; reconnecting', { reason, delayMs });
    this.reconnectTimer = this.d.clock.setTimeout(() => {
      this.reconnectTimer = null;
      this.ensureStream();
    }, delayMs);
  }

  private closeStream(): void {
    this.generation++;
    this.reconnectTimer?.cancel();
    this.reconnectTimer = null;
    const s = this.stream;
    this.stream = null;
    if (s !== null) {
      s.end();
      s.cancel();
    }
  }

  // ---- Per-lease timing ----------------------------------------------------------------------

  /** Runs what is due for `lease` now and sets its timer for the next thing due. */
  private schedule(lease: Lease): void {
    lease.timer?.cancel();
    lease.timer = null;
    if (!lease.kept || lease.state === 'lost') return;
    const now = this.d.clock.nowMs();
    if (now >= lease.expiresAtMs) {
      this.lose(lease, 'expired');
      return;
    }
    const doubtAtMs = lease.confirmedAtMs + (lease.ttlSeconds * 1000 * CLIENT_LEASE_DOUBT_PERCENT) / 100;
    if (lease.state === 'alive' && now >= doubtAtMs) {
      lease.state = 'in-doubt';
      const expiresInMs = lease.expiresAtMs - now;
      lease.emit({ type: 'in-doubt', expiresInMs });
      this.d.events.emit({ type: 'lease-in-doubt', id: lease.id, expiresInMs });
    }
    if (lease.pendingSinceMs !== null && now - lease.pendingSinceMs >= CLIENT_STREAM_SILENCE_MS_MAX && this.stream !== null) {
      // Keep-alives go unanswered: the member is stuck. Move the stream.
      const endpoint = this.streamEndpoint;
      if (endpoint !== null) this.d.pool.failed(endpoint, `no keep-alive answer for ${CLIENT_STREAM_SILENCE_MS_MAX} ms`);
      lease.pendingSinceMs = null;
      this.restartStream('silent');
    }
    if (now >= lease.nextSendAtMs && this.stream !== null) {
      lease.pendingSinceMs ??= now;
      lease.nextSendAtMs = now + this.keepAliveIntervalMs(lease.ttlSeconds);
      this.stream.write({ ID: lease.id }).catch(() => {});
    }
    const candidates = [lease.expiresAtMs, lease.nextSendAtMs];
    if (lease.state === 'alive') candidates.push(doubtAtMs);
    if (lease.pendingSinceMs !== null) candidates.push(lease.pendingSinceMs + CLIENT_STREAM_SILENCE_MS_MAX);
    if (this.stream === null) candidates.push(now + this.keepAliveIntervalMs(lease.ttlSeconds));
    const next = Math.max(now + 1, Math.min(...candidates));
    lease.timer = this.d.clock.setTimeout(() => this.schedule(lease), next - now);
  }

  private lose(lease: Lease, reason: LeaseLostReason): void {
    if (lease.state === 'lost') return;
    this.release(lease);
    lease.emit({ type: 'lost', reason });
    this.d.events.emit({ type: 'lease-lost', id: lease.id, reason });
    switch (reason) {
      case 'expired':
      case 'not-found':
        this.d.logger.warn('lease lost', { id: lease.id.toString(16), reason });
        break;
      case 'revoked':
        break;
      default:
        assertNever(reason);
    }
  }

  shutdown(): void {
    for (const l of [...this.kept.values()]) this.release(l);
    this.closeStream();
  }
}
