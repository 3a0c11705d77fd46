/**
 * The proxy fabric: one fault-injecting proxy in front of each member's peer port. A connection's
 * dialer is found from /proc (socket-owner.ts), so a fault on the directed link a → b applies to
 * the bytes a sends to b on every connection between them, whichever of the two dialed it (etcd,
 * for instance, receives on streams it dialed itself and sends on connections it dialed).
 */
import { SeededRandom } from '../env/random.js';
import type { LinkCapability, LinkShape, MemberAddress, NetworkFabric } from './network-fabric.js';
import type { DirectedLink } from './partition.js';
import { socketOwner } from './socket-owner.js';
import { TcpProxy, type LinkFault, type ProxyConnectionInfo, type ProxyDirection } from './tcp-proxy.js';

export interface ProxyFabricOptions {
  /** Members with their real peer ports; advertisedPeerPort is where the proxy listens. */
  readonly members: readonly MemberAddress[];
  /** The member processes' ids now (they change on restart). */
  readonly pids: () => ReadonlyMap<number, string>;
  readonly seed: number;
}

export class ProxyFabric implements NetworkFabric {
  readonly kind = 'proxy';
  private readonly proxies = new Map<string, TcpProxy>();
  private cuts = new Set<string>();
  private shape: LinkFault = { type: 'pass' };
  private readonly random: SeededRandom;

  constructor(private readonly o: ProxyFabricOptions) {
    this.random = new SeededRandom(o.seed);
  }

  get addresses(): readonly MemberAddress[] {
    return this.o.members;
  }

  async setup(): Promise<void> {
    for (const m of this.o.members) {
      const proxy: TcpProxy = new TcpProxy({
        target: { host: m.host, port: m.peerPort },
        listenHost: m.advertisedPeerHost,
        listenPort: m.advertisedPeerPort,
        identify: (socket) => socketOwner({ dialerPort: socket.remotePort ?? 0, listenPort: m.advertisedPeerPort, candidates: this.o.pids() }),
        faultFor: (c, d) => this.faultFor(m.name, c, d),
        random: () => this.random.float(),
      });
      await proxy.start();
      this.proxies.set(m.name, proxy);
    }
  }

  /** Who dialed each open connection, per listening member (for tests and the report). */
  connections(): Map<string, (string | null)[]> {
    return new Map([...this.proxies].map(([name, p]) => [name, p.connections().map((c) => c.dialer)]));
  }

  private faultFor(listener: string, c: ProxyConnectionInfo, direction: ProxyDirection): LinkFault {
    const dialer = c.dialer;
    if (dialer === null || dialer === listener) return { type: 'pass' }; // not a member: leave it alone
    const from = direction === 'forward' ? dialer : listener;
    const to = direction === 'forward' ? listener : dialer;
    if (this.cuts.has(`${from}>${to}`)) return { type: 'blackhole' };
    return this.shape;
  }

  async partition(cuts: readonly DirectedLink[]): Promise<void> {
    this.cuts = new Set(cuts.map((c) => `${c.from}>${c.to}`));
    this.refresh();
  }

  async degrade(s: LinkShape): Promise<void> {
    this.shape = { type: 'delay', delayMs: s.delayMs, jitterMs: s.jitterMs, lossPercent: s.lossPercent, bytesPerSecond: s.bytesPerSecond, resetPercent: s.resetPercent };
    this.refresh();
  }

  async heal(): Promise<void> {
    this.cuts = new Set();
    this.shape = { type: 'pass' };
    this.refresh();
  }

  unsupported(_c: LinkCapability): string | null {
    // Without /proc the proxies cannot tell which member dialed, and would fault nothing.
    return process.platform === 'linux' ? null : 'the proxy fabric finds who dialed a connection in /proc (Linux only)';
  }

  async teardown(): Promise<void> {
    const ps = [...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(ps.map((p) => p.stop()));
  }

  private refresh(): void {
    for (const p of this.proxies.values()) p.refresh();
  }
}
