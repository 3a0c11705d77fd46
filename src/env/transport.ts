/**
 * The network, the fourth seam: how a member's consensus engine reaches its peers. Delivery is
 * best effort: a message may be lost, delayed, duplicated or reordered, and the protocols are
 * written for that. The real transport (src/transport) frames and checksums messages over TCP;
 * the simulator's packet network injects the faults on purpose.
 */
import type { NodeId } from '../core/ids.js';

export interface PeerMessage {
  readonly from: NodeId;
  readonly to: NodeId;
}

export interface Transport<M extends PeerMessage> {
  /** Queues a message for delivery; never throws for an unreachable peer. */
  send(msg: M): void;
  /** Sets the receiver of incoming messages. Messages reach it decoded and framing-checked. */
  onMessage(handler: (msg: M) => void): void;
}
