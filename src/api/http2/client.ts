/**
 * An HTTP/2 client connection over node:net (cleartext, prior knowledge h2c).
 */
import { connect, type Socket } from 'node:net';
import { Http2Connection, type ConnectionOptions } from './connection.js';
import { Http2ClosedError } from './errors.js';
import { SocketBinding } from './node-socket.js';
import type { StreamHandler } from './server.js';

export interface Http2ClientOptions<T> {
  readonly host: string;
  readonly port: number;
  readonly handler: StreamHandler<T>;
  readonly connectTimeoutMs: number;
  readonly connection?: Omit<ConnectionOptions, 'role'>;
}

export interface Http2ClientConnection<T> {
  readonly conn: Http2Connection<T>;
  readonly socket: Socket;
  /** Closes at once; open streams are reset. */
  destroy(): void;
}

/** Connects; resolves once TCP is up (the preface and SETTINGS are already queued). */
export function connectHttp2<T>(options: Http2ClientOptions<T>): Promise<Http2ClientConnection<T>> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: options.host, port: options.port });
    const binding = new SocketBinding(socket);
    const handler = options.handler;
    const conn = new Http2Connection<T>(
      { ...options.connection, role: 'client' },
      {
        onHeaders: (s, h, e) => handler.onHeaders(s, h, e),
        onData: (s, d, e) => handler.onData(s, d, e),
        onReset: (s, r) => handler.onReset(s, r),
        onWritable: (s) => handler.onWritable(s),
        onGoaway: (l, c, d) => handler.onGoaway?.(l, c, d),
        onPingAck: (d) => handler.onPingAck?.(d),
        onOutput: () => binding.scheduleFlush(),
        onClose: (e) => {
          binding.finish();
          handler.onClose?.(e);
        },
      },
    );
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Http2ClosedError(`connect to ${options.host}:${options.port} timed out after ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(new Http2ClosedError(`connect to ${options.host}:${options.port} failed: ${e.message}`, { cause: e }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      binding.attach(conn);
      resolve({
        conn,
        socket,
        destroy: () => {
          conn.close(new Http2ClosedError('connection closed by the client'));
          socket.destroy();
        },
      });
    });
  });
}
