/**
 * The packet network: every message between members crosses it as bytes (encoded by the sending
 * engine, decoded by the receiving one, so the codec is exercised). Faults, after TigerBeetle's
 * packet simulator: a one-way delay of a minimum plus an exponential tail, loss, duplication,
 * reordering (an occasional long extra delay), partitions (random halves, one member isolated,
 * asymmetric one-way cuts), clogged paths (everything on a path waits until the clog clears), and
 * healing.
 */
import { assertNever } from '../core/assert.js';
import { DecodeError } from '../core/errors.js';
import type { NodeId } from '../core/ids.js';
import type { Random } from '../env/random.js';
import type { Transport } from '../env/transport.js';
import type { EngineMessage } from '../consensus/types.js';
import type { EventLoop } from './event-loop.js';
import { exponential, shuffle } from './random-util.js';

export interface NetworkParams {
  readonly delayMsMin: number;
  /** Mean of the exponential part of the delay. */
  readonly delayMsMean: number;
  readonly lossRate: number;
  readonly duplicateRate: number;
  /** Chance a packet takes a long extra delay (arrives after later ones). */
  readonly reorderRate: number;
}

/** `isolate-leader` cuts off the member that currently leads (Jepsen's "partition the primaries"). */
export type PartitionMode = 'halves' | 'isolate' | 'asymmetric' | 'isolate-leader';

export interface NetworkCounters {
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  cut: number;
  toDownMember: number;
  undecodable: number;
}

type Deliver = (bytes: Uint8Array) => void;

export class SimNetwork {
  readonly counters: NetworkCounters = { sent: 0, delivered: 0, lost: 0, duplicated: 0, cut: 0, toDownMember: 0, undecodable: 0 };
  private readonly cutLinks = new Set<string>();
  private readonly clogUntilMs = new Map<string, number>();
  private readonly endpoints = new Map<NodeId, Deliver>();

  constructor(
    private readonly loop: EventLoop,
    private readonly random: Random,
    private params: NetworkParams,
    readonly members: readonly NodeId[],
  ) {}

  attach(id: NodeId, deliver: Deliver): void {
    this.endpoints.set(id, deliver);
  }

  detach(id: NodeId): void {
    this.endpoints.delete(id);
  }

  setParams(params: NetworkParams): void {
    this.params = params;
  }

  send(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    this.counters.sent++;
    const link = `${from}>${to}`;
    if (this.cutLinks.has(link)) {
      this.counters.cut++;
      return;
    }
    if (this.random.chance(this.params.lossRate)) {
      this.counters.lost++;
      return;
    }
    const copies = this.random.chance(this.params.duplicateRate) ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = this.delayMs();
      if (this.random.chance(this.params.reorderRate)) delay += this.delayMs() * (2 + this.random.int(8));
      const clog = this.clogUntilMs.get(link);
      if (clog !== undefined && clog > this.loop.nowMs) delay = Math.max(delay, clog - this.loop.nowMs + this.delayMs());
      this.loop.schedule(delay, `net ${from.slice(-2)}>${to.slice(-2)} ${bytes.length}b`, () => this.deliver(from, to, bytes));
    }
  }

  private deliver(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    // A partition that began while the packet was in flight still stops it.
    if (this.cutLinks.has(`${from}>${to}`)) {
      this.counters.cut++;
      return;
    }
    const d = this.endpoints.get(to);
    if (d === undefined) {
      this.counters.toDownMember++;
      return;
    }
    this.counters.delivered++;
    d(bytes);
  }

  delayMs(): number {
    return this.params.delayMsMin + exponential(this.random, this.params.delayMsMean);
  }

  /** Cuts links according to a mode; returns a description for the trace. `leader` is for `isolate-leader`. */
  partition(mode: PartitionMode, leader: NodeId | null = null): string {
    const ms = this.members;
    if (ms.length < 2) return 'no partition (one member)';
    switch (mode) {
      case 'halves': {
        const shuffled = shuffle(this.random, ms);
        const k = 1 + this.random.int(ms.length - 1);
        const a = shuffled.slice(0, k);
        const b = shuffled.slice(k);
        for (const x of a) for (const y of b) this.cutBoth(x, y);
        return `partition ${short(a)} | ${short(b)}`;
      }
      case 'isolate':
      case 'isolate-leader': {
        const x = mode === 'isolate-leader' && leader !== null ? leader : this.random.pick(ms);
        for (const y of ms) if (y !== x) this.cutBoth(x, y);
        return `isolate ${short([x])}`;
      }
      case 'asymmetric': {
        const cut: string[] = [];
        for (const x of ms) {
          for (const y of ms) {
            if (x !== y && this.random.chance(0.3)) {
              this.cutLinks.add(`${x}>${y}`);
              cut.push(`${x.slice(-2)}>${y.slice(-2)}`);
            }
          }
        }
        return `one-way cuts ${cut.join(' ') || '(none)'}`;
      }
      default:
        return assertNever(mode, 'partition mode');
    }
  }

  /** Delays everything on one path for a while. */
  clog(from: NodeId, to: NodeId, durationMs: number): void {
    this.clogUntilMs.set(`${from}>${to}`, this.loop.nowMs + durationMs);
  }

  heal(): void {
    this.cutLinks.clear();
    this.clogUntilMs.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cutLinks.has(`${from}>${to}`);
  }

  private cutBoth(x: NodeId, y: NodeId): void {
    this.cutLinks.add(`${x}>${y}`);
    this.cutLinks.add(`${y}>${x}`);
  }
}

function short(ids: readonly NodeId[]): string {
  return ids.map((x) => x.slice(-2)).join(',');
}

/**
 * One incarnation's view of the network as the Transport seam: messages are encoded with the
 * engine's codec on the way out and decoded on the way in; undecodable bytes are counted and
 * dropped. After `close()` (a crash) nothing goes in or out.
 */
export class SimTransport<M extends EngineMessage> implements Transport<M> {
  private handler: ((m: M) => void) | null = null;
  private closed = false;

  constructor(
    private readonly net: SimNetwork,
    private readonly self: NodeId,
    private readonly codec: { encodeMessage(m: M): Uint8Array; decodeMessage(b: Uint8Array): M },
  ) {
    net.attach(self, (bytes) => this.receive(bytes));
  }

  send(msg: M): void {
    if (this.closed) return;
    this.net.send(this.self, msg.to, this.codec.encodeMessage(msg));
  }

  onMessage(handler: (msg: M) => void): void {
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
    this.net.detach(this.self);
  }

  private receive(bytes: Uint8Array): void {
    if (this.closed || this.handler === null) return;
    let m: M;
    try {
      m = this.codec.decodeMessage(bytes);
    } catch (e) {
      // Only a DecodeError is a peer speaking nonsense; anything else is an engine bug and fails the run.
      if (!(e instanceof DecodeError)) throw e;
      this.net.counters.undecodable++;
      return;
    }
    this.handler(m);
  }
}
