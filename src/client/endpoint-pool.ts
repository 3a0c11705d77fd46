/**
 * The endpoints a client talks to: one lazily opened connection each, a health state learned from
 * the calls themselves (no pings of our own: etcd's clientv3 found that a separate health view goes
 * stale and pins clients to partitioned members), the member id behind each endpoint (from
 * response headers), and the choice of endpoint for the next attempt.
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import { CLIENT_ENDPOINT_DOWN_MS_MAX, CLIENT_ENDPOINT_DOWN_MS_MIN, CLIENT_ENDPOINTS_MAX } from '../core/limits.js';
import type { Clock } from '../env/clock.js';
import type { Random } from '../env/random.js';
import type { Connection, Connector } from './connector.js';
import type { EventHub } from './events.js';

/** Where an attempt should go. */
export type Route =
  /** The leader if known and reachable, else any member (members forward to the leader). */
  | { readonly type: 'leader' }
  /** Any member, spreading load over them in turn. */
  | { readonly type: 'any' }
  /** This endpoint only (per-member calls: status, hash, snapshot, defragment). */
  | { readonly type: 'endpoint'; readonly endpoint: string };

export type EndpointHealth = 'unknown' | 'up' | 'down';

interface EndpointState {
  readonly endpoint: string;
  connection: Connection | null;
  health: EndpointHealth;
  downUntilMs: number;
  failuresInARow: number;
  memberId: NodeId | null;
}

export interface EndpointInfo {
  readonly endpoint: string;
  readonly health: EndpointHealth;
  readonly memberId: NodeId | null;
}

/** Normalizes an endpoint as etcdctl accepts them: "host:port", "http://host:port", "https://host:port/". */
export function normalizeEndpoint(text: string): string {
  const t = text.trim().replace(/^(?:https?|unix|unixs):\/\//, '').replace(/\/+$/, '');
  return t;
}

export class EndpointPool {
  private readonly states: EndpointState[] = [];
  private next: number;

  constructor(
    endpoints: readonly string[],
    private readonly connector: Connector,
    private readonly clock: Clock,
    random: Random,
    private readonly events: EventHub,
  ) {
    assert(endpoints.length > 0, 'at least one endpoint');
    for (const e of endpoints) this.add(e);
    // Start at a random member (Raft dissertation §6.2) so clients spread from the first call.
    this.next = random.int(this.states.length);
  }

  get endpoints(): string[] {
    return this.states.map((s) => s.endpoint);
  }

  info(): EndpointInfo[] {
    return this.states.map((s) => ({ endpoint: s.endpoint, health: s.health, memberId: s.memberId }));
  }

  has(endpoint: string): boolean {
    return this.states.some((s) => s.endpoint === endpoint);
  }

  add(endpoint: string): void {
    const e = normalizeEndpoint(endpoint);
    if (this.has(e)) return;
    assert(this.states.length < CLIENT_ENDPOINTS_MAX, `at most ${CLIENT_ENDPOINTS_MAX} endpoints`);
    this.states.push({ endpoint: e, connection: null, health: 'unknown', downUntilMs: 0, failuresInARow: 0, memberId: null });
  }

  /** The connection to `endpoint`, opened on first use. */
  connection(endpoint: string): Connection {
    const s = this.state(endpoint);
    s.connection ??= this.connector.connect(s.endpoint);
    return s.connection;
  }

  /**
   * The endpoint for the next attempt. `exclude` holds endpoints this call already tried; they are
   * used again only when nothing else is left. Endpoints resting after a failure come last, the one
   * that rests least first.
   */
  pick(route: Route, exclude: ReadonlySet<string>, leaderEndpoint: string | null): string {
    const now = this.clock.nowMs();
    switch (route.type) {
      case 'endpoint':
        return this.state(route.endpoint).endpoint;
      case 'leader':
        if (leaderEndpoint !== null && !exclude.has(leaderEndpoint) && this.usable(this.state(leaderEndpoint), now)) return leaderEndpoint;
        return this.pickAny(exclude, now);
      case 'any':
        return this.pickAny(exclude, now);
    }
  }

  private pickAny(exclude: ReadonlySet<string>, now: number): string {
    const n = this.states.length;
    for (let k = 0; k < n; k++) {
      const s = this.states[(this.next + k) % n]!;
      if (!exclude.has(s.endpoint) && this.usable(s, now)) {
        this.next = (this.next + k + 1) % n;
        return s.endpoint;
      }
    }
    const rest = this.states.filter((s) => !exclude.has(s.endpoint));
    const pool = rest.length > 0 ? rest : this.states;
    let best = pool[0]!;
    for (const s of pool) if (s.downUntilMs < best.downUntilMs) best = s;
    return best.endpoint;
  }

  /** True when some endpoint outside `exclude` is usable now (so a retry need not wait). */
  hasFreshEndpoint(exclude: ReadonlySet<string>): boolean {
    const now = this.clock.nowMs();
    return this.states.some((s) => !exclude.has(s.endpoint) && this.usable(s, now));
  }

  private usable(s: EndpointState, now: number): boolean {
    return s.health !== 'down' || s.downUntilMs <= now;
  }

  /** A call on `endpoint` got an answer from the server (success or a server error). */
  succeeded(endpoint: string): void {
    const s = this.state(endpoint);
    s.failuresInARow = 0;
    s.downUntilMs = 0;
    if (s.health !== 'up') {
      s.health = 'up';
      this.events.emit({ type: 'connected', endpoint: s.endpoint });
    }
  }

  /** A call on `endpoint` failed at the transport level: rest it, longer after each failure in a row. */
  failed(endpoint: string, error: string): void {
    const s = this.state(endpoint);
    s.failuresInARow++;
    const restMs = Math.min(CLIENT_ENDPOINT_DOWN_MS_MAX, CLIENT_ENDPOINT_DOWN_MS_MIN * 2 ** Math.min(s.failuresInARow - 1, 20));
    s.downUntilMs = this.clock.nowMs() + restMs;
    if (s.health !== 'down') {
      s.health = 'down';
      this.events.emit({ type: 'disconnected', endpoint: s.endpoint, error });
    }
  }

  health(endpoint: string): EndpointHealth {
    return this.state(endpoint).health;
  }

  setMember(endpoint: string, memberId: NodeId): void {
    this.state(endpoint).memberId = memberId;
  }

  memberOf(endpoint: string): NodeId | null {
    return this.state(endpoint).memberId;
  }

  endpointOf(memberId: NodeId): string | null {
    return this.states.find((s) => s.memberId === memberId)?.endpoint ?? null;
  }

  close(): void {
    for (const s of this.states) {
      s.connection?.close();
      s.connection = null;
    }
  }

  private state(endpoint: string): EndpointState {
    const e = normalizeEndpoint(endpoint);
    const s = this.states.find((x) => x.endpoint === e);
    assert(s !== undefined, `unknown endpoint ${endpoint}`);
    return s;
  }
}
