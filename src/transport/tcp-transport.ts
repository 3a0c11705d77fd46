/**
 * The real peer transport: consensus messages and peer RPCs over TCP.
 *
 * Each member dials each peer on two lanes — `control` for consensus messages, pings and RPCs, and
 * `bulk` for snapshot chunks, so a long snapshot transfer never delays heartbeats — and accepts
 * the peers' connections on its listening addresses. A connection starts with a handshake (cluster
 * id, member ids, protocol); a peer of another cluster, an unknown member or a member running the
 * other protocol is refused and logged on both sides.
 */
import * as net from 'node:net';
import type { ClusterId, NodeId } from '../core/ids.js';
import { PEER_CONNECTIONS_MAX, PEER_RPC_PENDING_MAX, PEER_RPC_TIMEOUT_MS } from '../core/limits.js';
import { errorMessage } from '../core/errors.js';
import type { Clock, Timer } from '../env/clock.js';
import type { Logger } from '../env/logger.js';
import type { Random } from '../env/random.js';
import type { PeerMessage, Transport } from '../env/transport.js';
import { TransportError } from './errors.js';
import { FrameDecoder, FrameType, encodeFrame, type Frame } from './frame.js';
import { TRANSPORT_VERSION, checkHello, decodeHello, encodeReject, type Hello } from './handshake.js';
import { PeerLink, type LinkStats, type PeerAddress } from './peer-link.js';
import { decodeRpcRequest, decodeRpcResponse, encodeRpcRequest, encodeRpcResponse, type RpcResponse } from './rpc.js';

export type RpcHandler = (from: NodeId, payload: Uint8Array) => Promise<Uint8Array>;

export interface TcpTransportOptions<M extends PeerMessage> {
  readonly clusterId: ClusterId;
  readonly id: NodeId;
  readonly protocol: string;
  /** Where to accept peer connections; port 0 picks a free port. */
  readonly listen: readonly PeerAddress[];
  /** Every other member's addresses, preferred first. */
  readonly peers: ReadonlyMap<NodeId, readonly PeerAddress[]>;
  readonly encode: (msg: M) => Uint8Array;
  readonly decode: (bytes: Uint8Array) => M;
  /** Messages that go on the bulk lane (snapshot chunks). */
  readonly isBulk: (msg: M) => boolean;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Whether an incoming connection's member is known; by default, the members in `peers`. */
  readonly isKnownMember?: (id: NodeId) => boolean;
  readonly onUnreachable?: (peer: NodeId) => void;
  /**
   * Answers a joining member's cluster query (before any handshake: it does not know the cluster
   * id yet). Without it, queries are refused.
   */
  readonly describeCluster?: () => Uint8Array;
  readonly onRttMs?: (peer: NodeId, ms: number) => void;
}

export interface PeerStats {
  readonly peer: NodeId;
  readonly addresses: readonly PeerAddress[];
  readonly control: LinkStats;
  readonly bulk: LinkStats;
}

export interface TransportCounters {
  messagesSent: number;
  messagesReceived: number;
  messagesDropped: number;
  malformedMessages: number;
  connectionsRefused: number;
  bytesReceived: number;
}

interface PeerLinks {
  addresses: readonly PeerAddress[];
  readonly control: PeerLink;
  readonly bulk: PeerLink;
}

interface PendingRpc {
  readonly resolve: (b: Uint8Array) => void;
  readonly reject: (e: Error) => void;
  readonly timer: Timer;
}

export class TcpTransport<M extends PeerMessage> implements Transport<M> {
  private handler: (msg: M) => void = () => {};
  private readonly rpcHandlers = new Map<string, RpcHandler>();
  private readonly links = new Map<NodeId, PeerLinks>();
  private readonly servers: net.Server[] = [];
  private readonly inbound = new Set<net.Socket>();
  private readonly pending = new Map<number, PendingRpc>();
  private nextRpcId = 1;
  private closed = false;
  readonly counters: TransportCounters = {
    messagesSent: 0,
    messagesReceived: 0,
    messagesDropped: 0,
    malformedMessages: 0,
    connectionsRefused: 0,
    bytesReceived: 0,
  };

  constructor(private readonly o: TcpTransportOptions<M>) {
    for (const [id, addrs] of o.peers) if (id !== o.id) this.addPeer(id, addrs);
  }

  /** Starts listening; resolves to the bound addresses (with real ports when 0 was asked). */
  async start(): Promise<PeerAddress[]> {
    const bound: PeerAddress[] = [];
    for (const a of this.o.listen) {
      const server = net.createServer({ noDelay: true }, (s) => this.accept(s));
      server.maxConnections = PEER_CONNECTIONS_MAX;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: a.host, port: a.port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.o.logger.error('peer listener error', { error: errorMessage(e) }));
      const addr = server.address() as net.AddressInfo;
      bound.push({ host: a.host, port: addr.port });
      this.servers.push(server);
    }
    for (const l of this.links.values()) {
      l.control.ensureConnected();
      l.bulk.ensureConnected();
    }
    return bound;
  }

  onMessage(handler: (msg: M) => void): void {
    this.handler = handler;
  }

  send(msg: M): void {
    if (this.closed) return;
    const l = this.links.get(msg.to);
    if (l === undefined) {
      this.counters.messagesDropped++;
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = this.o.encode(msg);
    } catch (e) {
      // Encoding our own message cannot fail unless the engine produced something out of bounds.
      this.o.logger.error('could not encode a peer message', { to: msg.to, error: errorMessage(e) });
      this.counters.messagesDropped++;
      return;
    }
    const lane = this.o.isBulk(msg) ? l.bulk : l.control;
    if (lane.send(encodeFrame(FrameType.message, bytes))) this.counters.messagesSent++;
    else this.counters.messagesDropped++;
  }

  /** Sets the peers after a membership change: new members are dialed, removed ones dropped. */
  setPeers(peers: ReadonlyMap<NodeId, readonly PeerAddress[]>): void {
    for (const [id, l] of this.links) {
      if (!peers.has(id)) {
        l.control.close();
        l.bulk.close();
        this.links.delete(id);
      }
    }
    for (const [id, addrs] of peers) {
      if (id === this.o.id) continue;
      const l = this.links.get(id);
      if (l === undefined) {
        this.addPeer(id, addrs);
        if (this.servers.length > 0) {
          this.links.get(id)?.control.ensureConnected();
          this.links.get(id)?.bulk.ensureConnected();
        }
      } else if (!sameAddresses(l.addresses, addrs)) {
        l.addresses = addrs;
        l.control.setAddresses(addrs);
        l.bulk.setAddresses(addrs);
      }
    }
  }

  /** Registers the handler of a peer RPC method. */
  handle(method: string, handler: RpcHandler): void {
    this.rpcHandlers.set(method, handler);
  }

  /** Calls `method` on `to`; rejects with a TransportError when unreachable, failed or timed out. */
  rpc(to: NodeId, method: string, payload: Uint8Array, timeoutMs = PEER_RPC_TIMEOUT_MS): Promise<Uint8Array> {
    const l = this.links.get(to);
    if (l === undefined) return Promise.reject(new TransportError('unreachable', `${to} is not a peer`));
    if (this.pending.size >= PEER_RPC_PENDING_MAX) return Promise.reject(new TransportError('too-many-rpcs', 'too many peer requests in flight'));
    const id = this.nextRpcId;
    this.nextRpcId = (this.nextRpcId % 0xffff_fffe) + 1;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = this.o.clock.setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError('rpc-timeout', `peer ${to} did not answer ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const sent = l.control.send(encodeFrame(FrameType.rpcRequest, encodeRpcRequest({ id, method, payload })));
      if (!sent) {
        timer.cancel();
        this.pending.delete(id);
        reject(new TransportError('unreachable', `no connection to peer ${to}`));
      }
    });
  }

  peerStats(): PeerStats[] {
    return [...this.links].map(([peer, l]) => ({ peer, addresses: l.addresses, control: l.control.stats(), bulk: l.bulk.stats() }));
  }

  /** Peers whose control lane is connected. */
  activePeers(): NodeId[] {
    return [...this.links].filter(([, l]) => l.control.linkState === 'ready').map(([id]) => id);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links.values()) {
      l.control.close();
      l.bulk.close();
    }
    for (const p of this.pending.values()) {
      p.timer.cancel();
      p.reject(new TransportError('closed', 'transport closed'));
    }
    this.pending.clear();
    for (const s of this.inbound) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private addPeer(id: NodeId, addresses: readonly PeerAddress[]): void {
    const hello: Omit<Hello, 'to' | 'lane'> = { version: TRANSPORT_VERSION, clusterId: this.o.clusterId, from: this.o.id, protocol: this.o.protocol };
    const common = {
      peer: id,
      hello,
      addresses,
      clock: this.o.clock,
      random: this.o.random,
      logger: this.o.logger,
      onFrame: (f: Frame) => this.onOutboundFrame(id, f),
      onUnreachable: () => this.o.onUnreachable?.(id),
    };
    this.links.set(id, {
      addresses,
      control: new PeerLink({ ...common, lane: 'control', onRttMs: (ms) => this.o.onRttMs?.(id, ms) }),
      bulk: new PeerLink({ ...common, lane: 'bulk' }),
    });
  }

  /** Frames a peer sends back on a connection we dialed: RPC responses. */
  private onOutboundFrame(peer: NodeId, f: Frame): void {
    if (f.type !== FrameType.rpcResponse) {
      this.o.logger.warn('unexpected frame on an outbound peer link', { peer, type: f.type });
      return;
    }
    let r: RpcResponse;
    try {
      r = decodeRpcResponse(f.payload);
    } catch (e) {
      this.counters.malformedMessages++;
      this.o.logger.warn('malformed peer RPC response', { peer, error: errorMessage(e) });
      return;
    }
    const p = this.pending.get(r.id);
    if (p === undefined) return; // timed out already
    this.pending.delete(r.id);
    p.timer.cancel();
    if (r.type === 'ok') p.resolve(r.payload);
    else p.reject(new TransportError('rpc-failed', `${r.code}: ${r.message}`));
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    const decoder = new FrameDecoder();
    let peer: NodeId | null = null;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const timer = this.o.clock.setTimeout(() => {
      if (peer === null) socket.destroy();
    }, 3000);
    socket.on('close', () => {
      timer.cancel();
      this.inbound.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      this.counters.bytesReceived += chunk.length;
      let frames: Frame[];
      try {
        frames = decoder.push(chunk);
      } catch (e) {
        this.counters.malformedMessages++;
        this.o.logger.warn('malformed frame from a peer connection; closing it', { peer, remote, error: errorMessage(e) });
        socket.destroy();
        return;
      }
      for (const f of frames) {
        if (socket.destroyed) return;
        if (peer === null && f.type === FrameType.clusterQuery) {
          const info = this.o.describeCluster?.();
          if (info === undefined) socket.destroy();
          else socket.end(encodeFrame(FrameType.clusterInfo, info));
          return;
        }
        if (peer === null) {
          peer = this.handshake(socket, f, remote);
          if (peer === null) return;
          continue;
        }
        this.onInboundFrame(socket, peer, f);
      }
    });
  }

  private handshake(socket: net.Socket, f: Frame, remote: string): NodeId | null {
    let hello: Hello;
    try {
      if (f.type !== FrameType.hello) throw new Error(`expected a handshake, got frame type ${f.type}`);
      hello = decodeHello(f.payload);
    } catch (e) {
      this.counters.connectionsRefused++;
      this.o.logger.warn('refused a peer connection: bad handshake', { remote, error: errorMessage(e) });
      socket.destroy();
      return null;
    }
    const reject = checkHello(hello, {
      clusterId: this.o.clusterId,
      id: this.o.id,
      protocol: this.o.protocol,
      isKnownMember: this.o.isKnownMember ?? ((id) => this.links.has(id)),
    });
    if (reject !== null) {
      this.counters.connectionsRefused++;
      this.o.logger.warn('refused a peer connection', { remote, from: hello.from, reason: reject.reason, message: reject.message });
      socket.end(encodeFrame(FrameType.reject, encodeReject(reject)));
      return null;
    }
    socket.write(encodeFrame(FrameType.welcome, new Uint8Array(0)));
    return hello.from;
  }

  private onInboundFrame(socket: net.Socket, peer: NodeId, f: Frame): void {
    switch (f.type) {
      case FrameType.message: {
        let msg: M;
        try {
          msg = this.o.decode(f.payload);
        } catch (e) {
          this.counters.malformedMessages++;
          this.o.logger.warn('dropped a malformed consensus message', { peer, error: errorMessage(e) });
          return;
        }
        if (msg.from !== peer || msg.to !== this.o.id) {
          this.counters.malformedMessages++;
          this.o.logger.warn('dropped a misaddressed consensus message', { peer, from: msg.from, to: msg.to });
          return;
        }
        this.counters.messagesReceived++;
        this.handler(msg);
        return;
      }
      case FrameType.ping:
        socket.write(encodeFrame(FrameType.pong, f.payload));
        return;
      case FrameType.rpcRequest:
        this.serveRpc(socket, peer, f.payload);
        return;
      default:
        this.counters.malformedMessages++;
        this.o.logger.warn('unexpected frame on an inbound peer connection', { peer, type: f.type });
    }
  }

  private serveRpc(socket: net.Socket, peer: NodeId, payload: Uint8Array): void {
    let req;
    try {
      req = decodeRpcRequest(payload);
    } catch (e) {
      this.counters.malformedMessages++;
      this.o.logger.warn('malformed peer RPC request', { peer, error: errorMessage(e) });
      return;
    }
    const reply = (r: RpcResponse): void => {
      if (!socket.destroyed) socket.write(encodeFrame(FrameType.rpcResponse, encodeRpcResponse(r)));
    };
    const h = this.rpcHandlers.get(req.method);
    if (h === undefined) {
      reply({ id: req.id, type: 'error', code: 'unknown-method', message: `no peer method ${req.method}` });
      return;
    }
    h(peer, req.payload).then(
      (out) => reply({ id: req.id, type: 'ok', payload: out }),
      (e: unknown) => reply({ id: req.id, type: 'error', code: String((e as { code?: unknown }).code ?? 'error'), message: errorMessage(e) }),
    );
  }
}

function sameAddresses(a: readonly PeerAddress[], b: readonly PeerAddress[]): boolean {
  return a.length === b.length && a.every((x, i) => x.host === b[i]!.host && x.port === b[i]!.port);
}

/** Parses etcd-style peer URLs ("http://127.0.0.1:2380") into addresses. */
export function parsePeerUrl(url: string): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TransportError('bad-url', `not a URL: ${url}`);
  }
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/**
 * Asks the member at `address` to describe its cluster (what a joining member does before it knows
 * its cluster id). Resolves to the answer's payload.
 */
export function queryCluster(address: PeerAddress, timeoutMs: number): Promise<Uint8Array> {
  return new Promise<Uint8Array>((resolve, reject) => {
    const socket = net.connect({ host: address.host, port: address.port });
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransportError('unreachable', `no answer from ${address.host}:${address.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (e: Error | null, v?: Uint8Array): void => {
      clearTimeout(timer);
      socket.destroy();
      if (e !== null) reject(e);
      else resolve(v!);
    };
    socket.on('connect', () => socket.write(encodeFrame(FrameType.clusterQuery, new Uint8Array(0))));
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.type === FrameType.clusterInfo) return done(null, f.payload);
          return done(new TransportError('bad-frame', `unexpected answer (frame type ${f.type}) to a cluster query`));
        }
      } catch (e) {
        done(e as Error);
      }
    });
    socket.on('error', (e) => done(new TransportError('unreachable', `${address.host}:${address.port}: ${e.message}`)));
    socket.on('close', () => done(new TransportError('unreachable', `${address.host}:${address.port} closed the connection without an answer`)));
  });
}
