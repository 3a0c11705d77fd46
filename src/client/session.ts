/**
 * The client side of an exactly-once session: the id the server gave, the next sequence number,
 * and the sequence numbers still waiting for an answer. The lowest of those is sent with every
 * request so the server can forget responses the client will never ask for again. A sequence
 * number is retired when its call ends, successfully or not: once the client stops retrying a
 * request, nobody will ask for its response.
 */
import { assert } from '../core/assert.js';
import type { SessionTag } from './session-protocol.js';

export type SessionMode =
  /** Not known yet: the first write opens a session, or learns that the server has none. */
  | { readonly type: 'unknown' }
  | { readonly type: 'unsupported' }
  | { readonly type: 'open'; readonly clientId: number };

export class SessionState {
  private modeValue: SessionMode = { type: 'unknown' };
  private nextSeq = 1;
  private readonly outstanding = new Set<number>();

  get mode(): SessionMode {
    return this.modeValue;
  }

  get inflight(): number {
    return this.outstanding.size;
  }

  opened(clientId: number): void {
    assert(Number.isSafeInteger(clientId) && clientId > 0, 'a session id is a positive integer');
    this.modeValue = { type: 'open', clientId };
    this.nextSeq = 1;
    this.outstanding.clear();
  }

  unsupported(): void {
    this.modeValue = { type: 'unsupported' };
  }

  /** The server no longer knows `clientId`; the next write opens a new session. */
  expired(clientId: number): boolean {
    if (this.modeValue.type !== 'open' || this.modeValue.clientId !== clientId) return false;
    this.modeValue = { type: 'unknown' };
    this.outstanding.clear();
    return true;
  }

  /** Starts a request: its sequence number. */
  begin(): number {
    assert(this.modeValue.type === 'open', 'a sequence number needs an open session');
    const seq = this.nextSeq++;
    this.outstanding.add(seq);
    return seq;
  }

  /** The request `seq` will not be sent again. */
  retire(seq: number): void {
    this.outstanding.delete(seq);
  }

  lowestUnacked(): number {
    let low = this.nextSeq;
    for (const s of this.outstanding) if (s < low) low = s;
    return low;
  }

  tag(seq: number): SessionTag {
    assert(this.modeValue.type === 'open', 'a tag needs an open session');
    return { clientId: this.modeValue.clientId, seq, lowestUnacked: this.lowestUnacked() };
  }
}
