/**
 * One port for HTTP/2 (gRPC) and HTTP/1.1 (the JSON gateway, /metrics, /health): each new
 * connection's first bytes are read; if they are the HTTP/2 client preface the socket goes to the
 * HTTP/2 side, otherwise to a node:http server, which gets the socket with the bytes put back.
 *
 *   const http1 = http.createServer(handler);
 *   const server = createSharedListener({ onHttp2: (s) => grpc.handleSocket(s), http1 });
 *   server.listen(2379, '127.0.0.1');
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { H2_FIRST_BYTES_TIMEOUT_MS } from '../../core/limits.js';
import { CONNECTION_PREFACE } from './constants.js';

export interface SharedListenerOptions {
  /** Receives sockets that start with the HTTP/2 preface (the preface is still unread). */
  readonly onHttp2: (socket: Socket) => void;
  /** Receives everything else, as if it had accepted the connection itself. */
  readonly http1: HttpServer;
  readonly firstBytesTimeoutMs?: number;
}

export type Protocol = 'http2' | 'http1' | 'undecided';

/** Which protocol `head` (the first bytes of a connection) speaks. */
export function sniffProtocol(head: Uint8Array): Protocol {
  const n = Math.min(head.length, CONNECTION_PREFACE.length);
  for (let i = 0; i < n; i++) if (head[i] !== CONNECTION_PREFACE[i]) return 'http1';
  return n === CONNECTION_PREFACE.length ? 'http2' : 'undecided';
}

export function createSharedListener(options: SharedListenerOptions): Server {
  const timeoutMs = options.firstBytesTimeoutMs ?? H2_FIRST_BYTES_TIMEOUT_MS;
  return createServer((socket) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, length);
      const protocol = sniffProtocol(head);
      if (protocol === 'undecided') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.pause();
      socket.unshift(head);
      if (protocol === 'http2') options.onHttp2(socket);
      else options.http1.emit('connection', socket);
      socket.resume();
    };
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', () => clearTimeout(timer));
  });
}
