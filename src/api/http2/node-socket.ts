/**
 * Binds an Http2Connection to a node:net socket. Output is corked for the rest of the tick: every
 * frame produced while handling one batch of input (and the promise continuations it starts) goes
 * out in a single socket write at setImmediate, which is where most of the CPU of small calls goes.
 * When the kernel stops taking our bytes, we stop reading the peer's (bounded output). Input is
 * metered per event-loop turn across every connection of the process (H2_INPUT_BYTES_PER_TURN_MAX),
 * so a flood of calls cannot starve the timers that keep a consensus leader in office.
 */
import type { Socket } from 'node:net';
import { H2_INPUT_BYTES_PER_TURN_MAX, H2_OUTPUT_BYTES_MAX } from '../../core/limits.js';
import type { Http2Connection } from './connection.js';

/** Input bytes parsed in the current turn, by every connection; reset at the turn's check phase. */
let turnInputBytes = 0;
let turnResetScheduled = false;

/** Counts input against this turn's budget; true when the budget is spent. */
function chargeInput(bytes: number): boolean {
  turnInputBytes += bytes;
  if (!turnResetScheduled) {
    turnResetScheduled = true;
    setImmediate(() => {
      turnInputBytes = 0;
      turnResetScheduled = false;
    });
  }
  return turnInputBytes > H2_INPUT_BYTES_PER_TURN_MAX;
}

export class SocketBinding {
  private conn: Http2Connection<unknown> | undefined;
  private flushScheduled = false;
  private ended = false;
  private blocked = false;
  /** Paused until the next turn because this turn's input budget is spent. */
  private deferred = false;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
  }

  attach<T>(conn: Http2Connection<T>): void {
    this.conn = conn as Http2Connection<unknown>;
    const socket = this.socket;
    socket.on('data', (chunk: Buffer) => {
      conn.receive(chunk);
      if (chargeInput(chunk.length) && !this.deferred && !this.blocked && !this.ended) {
        // Read the rest in a later turn, after the timers have run.
        this.deferred = true;
        socket.pause();
        setImmediate(() => {
          this.deferred = false;
          if (!this.blocked && !this.ended) socket.resume();
        });
      }
    });
    socket.on('drain', () => {
      if (!this.blocked) return;
      this.blocked = false;
      conn.setOutputBlocked(false);
      if (!this.ended) socket.resume();
    });
    socket.on('error', (e) => conn.socketClosed(e));
    socket.on('close', () => conn.socketClosed(undefined));
    socket.on('end', () => conn.socketClosed(undefined));
    this.flush();
  }

  /** The connection has output: write it at the end of this tick. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flush);
  }

  readonly flush = (): void => {
    this.flushScheduled = false;
    const conn = this.conn;
    if (conn === undefined || this.socket.destroyed) return;
    const out = conn.takeOutput();
    if (out !== null && !this.socket.writableEnded) this.socket.write(out);
    if (!this.blocked && this.socket.writableLength > H2_OUTPUT_BYTES_MAX) {
      this.blocked = true;
      conn.setOutputBlocked(true);
      this.socket.pause();
    }
  };

  /** After the connection closed: write what is left, then end the socket. */
  finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    this.socket.end();
    // A peer that never reads must not keep the socket (and its buffers) alive.
    const t = setTimeout(() => this.socket.destroy(), 5000);
    t.unref();
    this.socket.once('close', () => clearTimeout(t));
  }
}
