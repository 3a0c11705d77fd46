/**
 * Runs one unary call against the cluster until it succeeds, fails for good, or its deadline
 * passes: picks the endpoint (the leader for writes, any member for serializable reads), retries
 * what can be retried with backoff under the retry budget, tags writes with the exactly-once
 * session, and learns leadership and member ids from every answer.
 *
 * The retry rules (failure.ts):
 * - a read is retried on any transport failure or "try again" answer;
 * - a write is retried when it provably never reached a server (etcd's clientv3 rule), when the
 *   server refused it before proposing it ("no leader"), or — with an exactly-once session, which
 *   a Bulwark server keeps — after any transport failure or timeout, since the server applies a
 *   (session, seq) once;
 * - everything else is returned to the caller, and a deadline says whether the write may have
 *   been applied.
 */
import { assert, assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import { nodeIdFromBigInt, type NodeId } from '../core/ids.js';
import {
  CLIENT_ATTEMPTS_PER_CALL_MAX,
  CLIENT_LEADER_DISCOVERY_INTERVAL_MS_MIN,
  CLIENT_SESSION_INFLIGHT_MAX,
  CLIENT_STATUS_TIMEOUT_MS,
} from '../core/limits.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import { GrpcError } from '../api/grpc/errors.js';
import type { MetadataInit } from '../api/grpc/metadata.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from '../api/grpc/method.js';
import { Status } from '../api/grpc/status.js';
import { MaintenanceService, type ResponseHeader, type StatusResponse } from '../api/proto/generated/etcdserverpb.js';
import { backoffDelayMs, type BackoffOptions } from './backoff.js';
import type { Connection, ConnectionCallOptions } from './connector.js';
import type { EndpointPool, Route } from './endpoint-pool.js';
import { ClientError, serverError } from './errors.js';
import type { EventHub } from './events.js';
import { classifyFailure, type Failure } from './failure.js';
import type { LeaderTracker } from './leader-tracker.js';
import type { RetryBudget } from './retry-budget.js';
import { formatSessionTag, SESSION_METADATA_KEY, SessionService, type OpenSessionResponse } from './session-protocol.js';
import { SessionState } from './session.js';

export interface CallOptions {
  /** Milliseconds the whole call may take, retries included (default: the client's callTimeoutMs). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface CallPolicy {
  readonly route: Route;
  /** The call changes state (a write): retried after an ambiguous failure only when that is safe. */
  readonly write: boolean;
  /** Repeating the call is harmless, so it may be retried like a read. */
  readonly idempotent?: boolean;
  /** Wait for the leader to be known before the first attempt (calls only the leader serves: MoveLeader). */
  readonly strictLeader?: boolean;
  /** Longest wait for one attempt before another member is tried (default: the client's attemptTimeoutMs). */
  readonly attemptTimeoutMs?: number;
}

export type ExactlyOnce = 'auto' | 'off' | 'require';

export interface RunnerDeps {
  readonly pool: EndpointPool;
  readonly tracker: LeaderTracker;
  readonly budget: RetryBudget;
  readonly clock: Clock;
  readonly random: Random;
  readonly events: EventHub;
  readonly logger: Logger;
  readonly backoff: BackoffOptions;
  readonly callTimeoutMs: number;
  readonly attemptTimeoutMs: number;
  readonly exactlyOnce: ExactlyOnce;
  /** Metadata sent with every call (hasleader, an auth token). */
  readonly metadata: MetadataInit;
  /** Aborted when the client closes. */
  readonly closed: AbortSignal;
}

/** One attempt on one connection; `options` carries the attempt's deadline, metadata and abort signal. */
export type AttemptFn<T> = (conn: Connection, options: ConnectionCallOptions) => Promise<T>;

interface CallSpec<T> {
  readonly label: string;
  readonly attemptFn: AttemptFn<T>;
  readonly policy: CallPolicy;
  readonly options: CallOptions;
  readonly deadlineAtMs: number;
  readonly timeoutMs: number;
}

/** Node's timers take at most 2^31 - 1 ms; a longer deadline is, in practice, none. */
const TIMER_MS_MAX = 2 ** 31 - 1;

type AttemptResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };

/** A response's header, if it has one (every etcd response does). */
export function headerOf(response: unknown): ResponseHeader | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  const h = (response as { header?: unknown }).header;
  return typeof h === 'object' && h !== null ? (h as ResponseHeader) : undefined;
}

export class CallRunner {
  readonly session = new SessionState();
  private sessionOpening: Promise<void> | null = null;
  private sessionWaiters: (() => void)[] = [];
  private discovery: Promise<void> | null = null;
  private discoveryTimer: Timer | null = null;
  private lastDiscoveryMs = -Infinity;
  /** Aborts of attempts and sleeps in progress, run by close(). */
  private readonly inflight = new Set<() => void>();

  /** Status must answer even from a member without a leader, so it goes without `hasleader`. */
  private readonly statusMetadata: MetadataInit;

  constructor(private readonly d: RunnerDeps) {
    this.statusMetadata = Object.fromEntries(Object.entries(d.metadata).filter(([k]) => k !== 'hasleader'));
  }

  /** The endpoint of the member we believe leads, if it is one of ours. */
  leaderEndpoint(): string | null {
    const l = this.d.tracker.leader;
    return l === null ? null : this.d.pool.endpointOf(l);
  }

  async unary<M extends AnyMethod>(method: M, request: RequestInitOf<M>, policy: CallPolicy, options: CallOptions = {}): Promise<ResponseOf<M>> {
    return this.withRetries(method.path, policy, options, (conn, o) => conn.call(method, request, o));
  }

  /**
   * Runs `attemptFn` on a chosen connection until it succeeds or the call fails for good. Streams
   * that end after one answer (a keep-alive) use it directly; unary calls go through `unary`.
   */
  async withRetries<T>(label: string, policy: CallPolicy, options: CallOptions, attemptFn: AttemptFn<T>): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.d.callTimeoutMs;
    assert(timeoutMs > 0, 'a call timeout is positive');
    const deadlineAtMs = this.d.clock.nowMs() + timeoutMs;
    this.throwIfStopped(options.signal);
    const call: CallSpec<T> = { label, attemptFn, policy, options, deadlineAtMs, timeoutMs };
    const tagged = policy.write && policy.idempotent !== true && this.d.exactlyOnce !== 'off';
    if (!tagged) return this.run(call, null);
    await this.ensureSession(options, deadlineAtMs, timeoutMs);
    const mode = this.session.mode;
    if (mode.type !== 'open') return this.run(call, null);
    await this.sessionSlot(options.signal);
    return this.run(call, { clientId: mode.clientId, seq: this.session.begin() });
  }

  /**
   * The attempt loop. `tag` is the session tag of a tagged write (null otherwise); it may be
   * replaced when the session expires and the request provably did not apply under the old one.
   */
  private async run<T>(call: CallSpec<T>, tag: { clientId: number; seq: number } | null): Promise<T> {
    const { label, policy, options, deadlineAtMs, timeoutMs } = call;
    const d = this.d;
    const tried = new Set<string>();
    /** Some attempt of this write may have reached a server and been applied. */
    let maybeApplied = false;
    let lastError = 'no attempt made';
    let lastEndpoint: string | undefined;
    d.budget.recordCall(d.clock.nowMs());
    try {
      if (policy.strictLeader === true && this.leaderEndpoint() === null) await this.discoverLeaderWithin(deadlineAtMs);
      for (let attempt = 1; ; attempt++) {
        this.throwIfStopped(options.signal);
        const remainingMs = deadlineAtMs - d.clock.nowMs();
        if (remainingMs <= 0) throw this.deadlineError(label, timeoutMs, policy, maybeApplied, lastError, lastEndpoint);
        const endpoint = d.pool.pick(policy.route, tried, this.leaderEndpoint());
        tried.add(endpoint);
        lastEndpoint = endpoint;
        const conn = d.pool.connection(endpoint);
        const metadata = tag === null ? d.metadata : { ...d.metadata, [SESSION_METADATA_KEY]: formatSessionTag({ clientId: tag.clientId, seq: tag.seq, lowestUnacked: this.session.lowestUnacked() }) };
        // A member that stopped answering (paused, partitioned with its connection up) must not hold
        // the call until its deadline: an attempt gets at most attemptTimeoutMs, unless it is a
        // write that could not be retried anyway.
        const repeatable = !policy.write || policy.idempotent === true || tag !== null;
        const attemptMs = Math.min(remainingMs, policy.attemptTimeoutMs ?? (repeatable ? d.attemptTimeoutMs : Infinity));
        const result = await this.attempt(conn, call.attemptFn, attemptMs, metadata, options.signal);
        if (result.ok) {
          d.pool.succeeded(endpoint);
          this.observe(endpoint, headerOf(result.value));
          return result.value;
        }
        if (result.timedOut && attemptMs >= remainingMs) {
          // The attempt was in flight when the deadline passed: a write may have been applied.
          throw this.deadlineError(label, timeoutMs, policy, maybeApplied || policy.write, errorMessage(result.error), endpoint);
        }
        const failure: Failure = result.timedOut ? { type: 'transport', neverSent: false, message: `no answer from ${endpoint} within ${Math.round(attemptMs)} ms` } : classifyFailure(result.error, conn.neverSent(result.error));
        lastError = failureMessage(failure, result.error);
        const decision = this.decide(failure, endpoint, policy, tag !== null);
        if (decision.mayHaveApplied) maybeApplied = true;
        switch (decision.type) {
          case 'fail':
            throw this.failError(failure, label, policy, maybeApplied, lastError, endpoint, timeoutMs);
          case 'reopen-session': {
            assert(tag !== null, 'only tagged writes meet an expired session');
            if (this.session.expired(tag.clientId)) d.events.emit({ type: 'session-expired', clientId: tag.clientId });
            if (maybeApplied) {
              throw new ClientError('unavailable', `${label}: the client session expired while the outcome of an earlier attempt was unknown; the write may have been applied`, { mayHaveApplied: true, endpoint });
            }
            this.session.retire(tag.seq);
            await this.ensureSession(options, deadlineAtMs, timeoutMs);
            const mode = this.session.mode;
            if (mode.type !== 'open') throw new ClientError('unavailable', `${label}: could not reopen the client session`, { endpoint });
            tag = { clientId: mode.clientId, seq: this.session.begin() };
            break;
          }
          case 'retry':
            break;
          default:
            assertNever(decision);
        }
        if (attempt >= CLIENT_ATTEMPTS_PER_CALL_MAX) {
          throw new ClientError('unavailable', `${label}: gave up after ${attempt} attempts: ${lastError}`, { mayHaveApplied: policy.write && maybeApplied, endpoint });
        }
        if (!d.budget.tryRetry(d.clock.nowMs())) {
          throw new ClientError('unavailable', `${label}: retry budget exhausted (the cluster is failing many calls): ${lastError}`, { mayHaveApplied: policy.write && maybeApplied, endpoint });
        }
        // A fresh member can be tried at once; a pause gives an election or a restart time to finish.
        const fresh = decision.type === 'retry' && !decision.pause && d.pool.hasFreshEndpoint(tried);
        const delayMs = fresh ? 0 : backoffDelayMs(attempt, d.backoff, d.random);
        if (d.clock.nowMs() + delayMs >= deadlineAtMs) {
          throw this.deadlineError(label, timeoutMs, policy, maybeApplied, lastError, endpoint);
        }
        if (!d.pool.hasFreshEndpoint(tried)) tried.clear();
        d.events.emit({ type: 'retry', method: label, endpoint, attempt, delayMs, reason: lastError });
        if (delayMs > 0) await this.sleep(delayMs, options.signal);
      }
    } finally {
      if (tag !== null) {
        this.session.retire(tag.seq);
        this.releaseSessionSlot();
      }
    }
  }

  /** What to do after a failed attempt. */
  private decide(
    f: Failure,
    endpoint: string,
    policy: CallPolicy,
    tagged: boolean,
  ): { type: 'fail'; mayHaveApplied: boolean } | { type: 'retry'; pause: boolean; mayHaveApplied: boolean } | { type: 'reopen-session'; mayHaveApplied: false } {
    const repeatable = !policy.write || policy.idempotent === true || tagged;
    switch (f.type) {
      case 'transport': {
        this.d.pool.failed(endpoint, f.message);
        if (this.leaderEndpoint() === endpoint) this.leaderLost();
        const mayHaveApplied = policy.write && !f.neverSent;
        if (f.neverSent || repeatable) return { type: 'retry', pause: false, mayHaveApplied };
        return { type: 'fail', mayHaveApplied };
      }
      case 'retryable': {
        this.d.pool.succeeded(endpoint);
        if (f.leader) this.leaderLost();
        const mayHaveApplied = policy.write && f.applied === 'maybe';
        if (f.applied === 'no' || repeatable) return { type: 'retry', pause: f.pause, mayHaveApplied };
        return { type: 'fail', mayHaveApplied };
      }
      case 'session-expired':
        this.d.pool.succeeded(endpoint);
        return tagged ? { type: 'reopen-session', mayHaveApplied: false } : { type: 'fail', mayHaveApplied: false };
      case 'final':
        this.d.pool.succeeded(endpoint);
        return { type: 'fail', mayHaveApplied: false };
      case 'deadline':
        // The member gave up on this attempt at the deadline the attempt carried (grpc-timeout): it
        // is alive but could not finish in time (no leader yet, a slow commit). The same as an
        // attempt that timed out here: repeatable calls (reads, idempotent or session-tagged
        // writes) try again after a pause, within the call's own deadline.
        if (repeatable) return { type: 'retry', pause: true, mayHaveApplied: policy.write };
        return { type: 'fail', mayHaveApplied: policy.write };
      case 'cancelled':
      case 'broken':
        return { type: 'fail', mayHaveApplied: policy.write };
      default:
        return assertNever(f);
    }
  }

  private failError(f: Failure, label: string, policy: CallPolicy, maybeApplied: boolean, lastError: string, endpoint: string, timeoutMs: number): ClientError {
    switch (f.type) {
      case 'final':
      case 'session-expired':
        if (f.server.kind === 'session-response-dropped') {
          return new ClientError('response-lost', `${label}: ${f.server.message}`, { mayHaveApplied: true, server: f.server, endpoint });
        }
        return serverError(f.server, endpoint);
      case 'deadline':
        return this.deadlineError(label, timeoutMs, policy, maybeApplied, lastError, endpoint);
      case 'cancelled':
        if (this.d.closed.aborted) return new ClientError('closed', 'the client is closed', { mayHaveApplied: policy.write && maybeApplied, endpoint });
        return new ClientError('cancelled', `${label}: cancelled`, { mayHaveApplied: policy.write && maybeApplied, endpoint });
      case 'broken':
        return new ClientError('unavailable', `${label}: ${f.message}`, { mayHaveApplied: policy.write && maybeApplied, endpoint });
      case 'transport':
      case 'retryable': {
        const server = f.type === 'retryable' ? { server: f.server } : {};
        return new ClientError(
          'unavailable',
          `${label}: ${lastError}; not retried: the write may have been applied and the server keeps no exactly-once session for this client`,
          { mayHaveApplied: true, endpoint, ...server },
        );
      }
      default:
        return assertNever(f);
    }
  }

  private deadlineError(label: string, timeoutMs: number, policy: CallPolicy, mayHaveApplied: boolean, lastError: string, endpoint: string | undefined): ClientError {
    const applied = policy.write ? (mayHaveApplied ? '; the write may have been applied' : '; the write was not applied') : '';
    return new ClientError('deadline', `${label}: deadline of ${timeoutMs} ms exceeded (last error: ${lastError})${applied}`, {
      mayHaveApplied: policy.write && mayHaveApplied,
      ...(endpoint === undefined ? {} : { endpoint }),
    });
  }

  /**
   * One attempt, raced against its deadline, the caller's signal and close(). The connection gets
   * the deadline (it sends grpc-timeout and ends the call itself) and the caller's signal; no
   * AbortController of our own per call, which costs more than the rest of the client's work.
   */
  private attempt<T>(conn: Connection, attemptFn: AttemptFn<T>, ms: number, metadata: MetadataInit, signal: AbortSignal | undefined): Promise<AttemptResult<T>> {
    return new Promise<AttemptResult<T>>((resolve) => {
      let done = false;
      const finish = (r: AttemptResult<T>): void => {
        if (done) return;
        done = true;
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
        this.inflight.delete(onAbort);
        resolve(r);
      };
      const timer = this.d.clock.setTimeout(() => finish({ ok: false, error: new GrpcError(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), timedOut: true }), Math.min(ms, TIMER_MS_MAX));
      const onAbort = (): void => finish({ ok: false, error: new GrpcError(Status.CANCELLED, 'cancelled by the client'), timedOut: false });
      signal?.addEventListener('abort', onAbort);
      this.inflight.add(onAbort);
      const options: ConnectionCallOptions = signal === undefined ? { deadlineMs: ms, metadata } : { deadlineMs: ms, metadata, signal };
      let pending: Promise<T>;
      try {
        pending = attemptFn(conn, options);
      } catch (error) {
        finish({ ok: false, error, timedOut: false });
        return;
      }
      pending.then(
        (value) => finish({ ok: true, value }),
        (error: unknown) => finish({ ok: false, error, timedOut: error instanceof GrpcError && error.status === Status.DEADLINE_EXCEEDED && error.metadata.length === 0 }),
      );
    });
  }

  /** Learns from a response header: the member behind the endpoint, and whether a new term began. */
  observe(endpoint: string, header: ResponseHeader | undefined): void {
    if (header === undefined || header.memberId === 0n) return;
    this.d.pool.setMember(endpoint, nodeIdFromBigInt(header.memberId));
    if (this.d.tracker.observeTerm(header.raftTerm)) this.requestDiscovery();
  }

  /** The leader we knew may be gone: forget it and look again. */
  leaderLost(): void {
    this.d.tracker.invalidate();
    this.requestDiscovery();
  }

  // ---- Leader discovery -------------------------------------------------------------------

  /** Starts a discovery round soon, at most one at a time and not more often than the minimum interval. */
  requestDiscovery(): void {
    if (this.discovery !== null || this.discoveryTimer !== null || this.d.closed.aborted) return;
    const waitMs = this.lastDiscoveryMs + CLIENT_LEADER_DISCOVERY_INTERVAL_MS_MIN - this.d.clock.nowMs();
    if (waitMs <= 0) {
      void this.discoverLeader();
      return;
    }
    this.discoveryTimer = this.d.clock.setTimeout(() => {
      this.discoveryTimer = null;
      void this.discoverLeader();
    }, waitMs);
  }

  /** One round: Status from every endpoint at once; the answer with the highest term names the leader. */
  discoverLeader(): Promise<void> {
    if (this.discovery !== null) return this.discovery;
    this.lastDiscoveryMs = this.d.clock.nowMs();
    const round = (async () => {
      const answers = await Promise.all(this.d.pool.endpoints.map((e) => this.statusOf(e, CLIENT_STATUS_TIMEOUT_MS).catch(() => null)));
      let best: StatusResponse | null = null;
      for (const a of answers) if (a !== null && a.leader !== 0n && (best === null || a.raftTerm > best.raftTerm)) best = a;
      if (best === null) return;
      const leader: NodeId = nodeIdFromBigInt(best.leader);
      if (this.d.tracker.observeLeader(leader, best.raftTerm)) {
        this.d.events.emit({ type: 'leader-changed', leader, endpoint: this.d.pool.endpointOf(leader), term: best.raftTerm });
      }
    })();
    this.discovery = round.finally(() => {
      this.discovery = null;
    });
    return this.discovery;
  }

  private async discoverLeaderWithin(deadlineAtMs: number): Promise<void> {
    while (this.leaderEndpoint() === null && this.d.clock.nowMs() < deadlineAtMs && !this.d.closed.aborted) {
      await this.discoverLeader();
      if (this.leaderEndpoint() !== null) return;
      const waitMs = Math.min(CLIENT_LEADER_DISCOVERY_INTERVAL_MS_MIN, deadlineAtMs - this.d.clock.nowMs());
      if (waitMs > 0) await this.sleep(waitMs, undefined);
    }
  }

  /** Status of one endpoint, directly (no retries): used by discovery and per-member tools. */
  async statusOf(endpoint: string, timeoutMs: number): Promise<StatusResponse> {
    const conn = this.d.pool.connection(endpoint);
    const r = await this.attempt(conn, (c, o) => c.call(MaintenanceService.Status, {}, o), timeoutMs, this.statusMetadata, undefined);
    if (!r.ok) {
      const f = classifyFailure(r.error, conn.neverSent(r.error));
      if (f.type === 'transport' || r.timedOut) this.d.pool.failed(endpoint, failureMessage(f, r.error));
      throw r.error;
    }
    this.d.pool.succeeded(endpoint);
    this.observe(endpoint, r.value.header);
    return r.value;
  }

  // ---- Sessions -------------------------------------------------------------------------------

  /** Opens the exactly-once session if its state is unknown; concurrent callers share one attempt. */
  private async ensureSession(options: CallOptions, deadlineAtMs: number, timeoutMs: number): Promise<void> {
    while (this.session.mode.type === 'unknown') {
      this.sessionOpening ??= this.openSession(deadlineAtMs, timeoutMs, options.signal).finally(() => {
        this.sessionOpening = null;
      });
      await this.sessionOpening;
    }
    if (this.session.mode.type === 'unsupported' && this.d.exactlyOnce === 'require') {
      throw new ClientError('unsupported', 'the server does not support exactly-once client sessions (is it etcd rather than Bulwark?)');
    }
  }

  private async openSession(deadlineAtMs: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    try {
      const remaining = Math.max(1, deadlineAtMs - this.d.clock.nowMs());
      const res = await this.run<OpenSessionResponse>(
        {
          label: SessionService.Open.path,
          attemptFn: (c, o) => c.call(SessionService.Open, {}, o),
          policy: { route: { type: 'leader' }, write: true, idempotent: true },
          options: signal === undefined ? { timeoutMs: remaining } : { timeoutMs: remaining, signal },
          deadlineAtMs,
          timeoutMs,
        },
        null,
      );
      if (res.clientId <= 0) throw new ClientError('unavailable', 'the server opened a session without an id');
      this.session.opened(res.clientId);
      this.d.events.emit({ type: 'session-opened', clientId: res.clientId });
    } catch (e) {
      if (e instanceof ClientError && e.server?.status === Status.UNIMPLEMENTED) {
        this.session.unsupported();
        this.d.events.emit({ type: 'session-unsupported' });
        return;
      }
      throw e;
    }
  }

  private async sessionSlot(signal: AbortSignal | undefined): Promise<void> {
    while (this.session.inflight >= CLIENT_SESSION_INFLIGHT_MAX) {
      this.throwIfStopped(signal);
      await new Promise<void>((resolve) => this.sessionWaiters.push(resolve));
    }
  }

  private releaseSessionSlot(): void {
    const w = this.sessionWaiters.shift();
    w?.();
  }

  // ---- Helpers -------------------------------------------------------------------------------

  sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        timer.cancel();
        signal?.removeEventListener('abort', done);
        this.inflight.delete(done);
        resolve();
      };
      const timer = this.d.clock.setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.inflight.add(done);
    });
  }

  throwIfStopped(signal: AbortSignal | undefined): void {
    if (this.d.closed.aborted) throw new ClientError('closed', 'the client is closed');
    if (signal?.aborted === true) throw new ClientError('cancelled', 'cancelled by the caller');
  }

  close(): void {
    for (const f of [...this.inflight]) f();
    this.discoveryTimer?.cancel();
    this.discoveryTimer = null;
    for (const w of this.sessionWaiters.splice(0)) w();
  }
}

function failureMessage(f: Failure, error: unknown): string {
  switch (f.type) {
    case 'transport':
    case 'broken':
      return f.message;
    case 'retryable':
    case 'final':
    case 'session-expired':
      return f.server.message;
    case 'deadline':
      return 'deadline exceeded';
    case 'cancelled':
      return errorMessage(error);
    default:
      return assertNever(f);
  }
}
