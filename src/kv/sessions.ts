/**
 * Client sessions for exactly-once writes (Raft dissertation §6.3), in the replicated state.
 *
 * A client opens a session through the log and gets the index of that entry as its id, so ids are
 * unique and increasing: an id that is not in the table was either never issued or has expired,
 * and either way a request carrying it is refused ("session expired") rather than applied, since
 * it may be a retry of something applied before the session was dropped.
 *
 * Each request carries (client id, seq, lowest seq the client still waits for). The table keeps
 * the outcome of every seq at or above that lowest one; a retry of a kept seq gets the kept
 * outcome back instead of being applied again. Everything is bounded: sessions (least recently
 * used dropped first), unacknowledged responses per session, bytes of kept responses, and idle
 * time measured in log entries, so expiry is the same on every replica.
 */
import { assert } from '../core/assert.js';
import { SESSION_IDLE_ENTRIES_MAX, SESSION_RESPONSE_BYTES_MAX, SESSION_RESPONSES_MAX, SESSIONS_MAX, SESSIONS_RESPONSE_BYTES_MAX } from '../core/limits.js';
import type { SessionTag } from './command.js';
import type { KvErrorCode } from './errors.js';
import { outcomeSizeBytes, type Outcome } from './results.js';

/** A kept response: the outcome and the store revision it was answered with, or a marker that it was too large to keep. */
export type StoredResponse =
  | { readonly type: 'kept'; readonly outcome: Outcome; readonly revision: number; readonly sizeBytes: number }
  | { readonly type: 'dropped'; readonly revision: number };

export interface Session {
  readonly clientId: number;
  lastUsedIndex: number;
  lowestUnacked: number;
  readonly responses: Map<number, StoredResponse>;
}

export interface SessionLimits {
  readonly sessionsMax: number;
  readonly idleEntriesMax: number;
  readonly responsesMax: number;
  readonly responseBytesMax: number;
  readonly totalResponseBytesMax: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  sessionsMax: SESSIONS_MAX,
  idleEntriesMax: SESSION_IDLE_ENTRIES_MAX,
  responsesMax: SESSION_RESPONSES_MAX,
  responseBytesMax: SESSION_RESPONSE_BYTES_MAX,
  totalResponseBytesMax: SESSIONS_RESPONSE_BYTES_MAX,
};

export type SessionCheck =
  | { readonly type: 'new' }
  | { readonly type: 'duplicate'; readonly response: StoredResponse }
  | { readonly type: 'refused'; readonly code: KvErrorCode; readonly detail: string };

export class SessionTable {
  /** In least-recently-used-first order (a Map keeps insertion order; a use re-inserts). */
  private readonly sessions = new Map<number, Session>();
  private responseBytes = 0;

  constructor(readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS) {
    assert(limits.sessionsMax > 0 && limits.responsesMax > 0 && limits.idleEntriesMax > 0, 'session limits are positive');
  }

  get size(): number {
    return this.sessions.size;
  }

  get keptResponseBytes(): number {
    return this.responseBytes;
  }

  /** Sessions in least-recently-used-first order (the snapshot keeps this order). */
  list(): readonly Session[] {
    return [...this.sessions.values()];
  }

  get(clientId: number): Session | undefined {
    return this.sessions.get(clientId);
  }

  /** Opens a session whose id is the index of the entry opening it. */
  open(index: number): number {
    assert(!this.sessions.has(index), `session ${index} opened twice`);
    while (this.sessions.size >= this.limits.sessionsMax) this.dropOldest();
    this.sessions.set(index, { clientId: index, lastUsedIndex: index, lowestUnacked: 0, responses: new Map() });
    return index;
  }

  close(clientId: number): boolean {
    const s = this.sessions.get(clientId);
    if (s === undefined) return false;
    this.drop(s);
    return true;
  }

  /** Drops sessions idle for more than the idle bound, as of applying entry `index`. */
  expire(index: number): void {
    for (const s of this.sessions.values()) {
      if (s.lastUsedIndex + this.limits.idleEntriesMax >= index) return;
      this.drop(s);
    }
  }

  /** Looks a tagged request up before it is applied. */
  check(tag: SessionTag, index: number): SessionCheck {
    const s = this.sessions.get(tag.clientId);
    if (s === undefined) return { type: 'refused', code: 'session-expired', detail: `client session ${tag.clientId}` };
    if (tag.lowestUnacked > tag.seq) return { type: 'refused', code: 'invalid-request', detail: `lowest unacknowledged seq ${tag.lowestUnacked} above seq ${tag.seq}` };
    this.sessions.delete(s.clientId);
    this.sessions.set(s.clientId, s);
    s.lastUsedIndex = index;
    if (tag.lowestUnacked > s.lowestUnacked) {
      s.lowestUnacked = tag.lowestUnacked;
      for (const [seq, r] of s.responses) {
        if (seq < s.lowestUnacked) {
          s.responses.delete(seq);
          if (r.type === 'kept') this.responseBytes -= r.sizeBytes;
        }
      }
    }
    const kept = s.responses.get(tag.seq);
    if (kept !== undefined) return { type: 'duplicate', response: kept };
    if (tag.seq < s.lowestUnacked) return { type: 'refused', code: 'session-acknowledged', detail: `seq ${tag.seq} below ${s.lowestUnacked}` };
    if (s.responses.size >= this.limits.responsesMax) return { type: 'refused', code: 'session-busy', detail: `${s.responses.size} unacknowledged responses` };
    return { type: 'new' };
  }

  /** Keeps the outcome of a request that `check` called new. */
  record(tag: SessionTag, outcome: Outcome, revision: number): void {
    const s = this.sessions.get(tag.clientId);
    if (s === undefined) return; // the request closed its own session
    const sizeBytes = outcomeSizeBytes(outcome);
    if (sizeBytes > this.limits.responseBytesMax || this.responseBytes + sizeBytes > this.limits.totalResponseBytesMax) {
      s.responses.set(tag.seq, { type: 'dropped', revision });
      return;
    }
    s.responses.set(tag.seq, { type: 'kept', outcome, revision, sizeBytes });
    this.responseBytes += sizeBytes;
  }

  /** Restores one session (snapshot load), in least-recently-used-first order. */
  restore(s: Session): void {
    assert(!this.sessions.has(s.clientId), 'restored session is unique');
    this.sessions.set(s.clientId, s);
    for (const r of s.responses.values()) if (r.type === 'kept') this.responseBytes += r.sizeBytes;
  }

  private dropOldest(): void {
    const first = this.sessions.values().next();
    if (!first.done) this.drop(first.value);
  }

  private drop(s: Session): void {
    for (const r of s.responses.values()) if (r.type === 'kept') this.responseBytes -= r.sizeBytes;
    this.sessions.delete(s.clientId);
  }
}
