/**
 * Where the members' peer traffic flows, and how the chaos tool breaks it. Two fabrics:
 *
 * - proxy (default, needs nothing): every member listens for peers on one port and advertises
 *   another, where a fault-injecting TCP proxy forwards to it. The proxy learns which member dialed
 *   each connection (socket-owner.ts), so every directed link m_i → m_j can be cut, delayed or
 *   degraded on its own, in both directions of every connection that carries its messages.
 * - netns (root, Linux): every member runs in its own network namespace behind a veth on a bridge;
 *   faults are packet filters (iptables DROP, random-loss DROP) and queueing disciplines (tc) in
 *   the namespaces: real packet loss and real one-way cuts, as TCP sees them on a network.
 *
 * Clients (the chaos tool's workload) always reach every member: faults are between members, as
 * in Jepsen, where clients talk to the node they are bound to.
 */
import type { DirectedLink } from './partition.js';

export interface MemberAddress {
  readonly name: string;
  /** Where the member listens, for clients and peers. */
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  /** What the member advertises to its peers (a proxy, in proxy mode). */
  readonly advertisedPeerHost: string;
  readonly advertisedPeerPort: number;
  /** The network namespace the member's process runs in (netns mode). */
  readonly netns: string | null;
}

/** Degradation of every link between members. */
export interface LinkShape {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
  /** 0: unlimited. */
  readonly bytesPerSecond: number;
  /** Proxy only: share of chunks that break their connection. */
  readonly resetPercent: number;
}

export type LinkCapability = 'cut' | 'delay' | 'loss' | 'bandwidth' | 'reset';

export interface NetworkFabric {
  readonly kind: 'proxy' | 'netns';
  readonly addresses: readonly MemberAddress[];
  /** Before the members start: proxies listening, namespaces and links up. */
  setup(): Promise<void>;
  /** Cuts these directed links (and only these; a new call replaces the last). */
  partition(cuts: readonly DirectedLink[]): Promise<void>;
  /** Degrades every link between members. */
  degrade(shape: LinkShape): Promise<void>;
  /** Every link back to normal. */
  heal(): Promise<void>;
  /** Why this fabric cannot do `c` here, or null when it can. */
  unsupported(c: LinkCapability): string | null;
  /** Removes everything setup made. Safe to call twice, and after a failed setup. */
  teardown(): Promise<void>;
}

export const NO_SHAPE: LinkShape = { delayMs: 0, jitterMs: 0, lossPercent: 0, bytesPerSecond: 0, resetPercent: 0 };

export function describeShape(s: LinkShape): string {
  const parts: string[] = [];
  if (s.delayMs > 0 || s.jitterMs > 0) parts.push(`+${s.delayMs} ms${s.jitterMs > 0 ? ` ±${s.jitterMs / 2} ms` : ''}`);
  if (s.lossPercent > 0) parts.push(`${s.lossPercent} % loss`);
  if (s.bytesPerSecond > 0) parts.push(`${Math.round(s.bytesPerSecond / 1024)} KiB/s`);
  if (s.resetPercent > 0) parts.push(`${s.resetPercent} % resets`);
  return parts.length === 0 ? 'no change' : parts.join(', ');
}
