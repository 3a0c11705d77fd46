/**
 * An HTTP/2 server over node:net (cleartext, prior knowledge): one Http2Connection per socket,
 * every stream event passed to the owner's handler. Sockets can come from its own listener or be
 * handed over by the shared-port listener (listener.ts).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { H2_SHUTDOWN_GRACE_MS } from '../../core/limits.js';
import { Http2Connection, type ConnectionHandler, type ConnectionOptions } from './connection.js';
import { SocketBinding } from './node-socket.js';

/** What the owner of a server handles: stream events, per connection. */
export type StreamHandler<T> = Omit<ConnectionHandler<T>, 'onOutput' | 'onClose'> & {
  onClose?(error: Error | undefined): void;
};

export interface Http2ServerOptions<T> {
  /** Called for each new connection; returns the handler for its streams. */
  readonly onConnection: (conn: Http2Connection<T>, socket: Socket) => StreamHandler<T>;
  readonly connection?: Omit<ConnectionOptions, 'role'>;
}

export class Http2Server<T> {
  private readonly connections = new Map<Http2Connection<T>, SocketBinding>();
  private netServer: Server | undefined;

  constructor(private readonly options: Http2ServerOptions<T>) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Serves HTTP/2 on a socket (whose first bytes are the client preface). */
  handleSocket(socket: Socket): void {
    const binding = new SocketBinding(socket);
    // The owner's handler is made once the connection exists; events cannot arrive before that.
    const owner: { handler?: StreamHandler<T> } = {};
    const conn: Http2Connection<T> = new Http2Connection<T>(
      { ...this.options.connection, role: 'server' },
      {
        onHeaders: (s, h, e) => owner.handler!.onHeaders(s, h, e),
        onData: (s, d, e) => owner.handler!.onData(s, d, e),
        onReset: (s, r) => owner.handler!.onReset(s, r),
        onWritable: (s) => owner.handler!.onWritable(s),
        onGoaway: (l, c, d) => owner.handler!.onGoaway?.(l, c, d),
        onPingAck: (d) => owner.handler!.onPingAck?.(d),
        onOutput: () => binding.scheduleFlush(),
        onClose: (e) => {
          this.connections.delete(conn);
          binding.finish();
          owner.handler!.onClose?.(e);
        },
      },
    );
    owner.handler = this.options.onConnection(conn, socket);
    this.connections.set(conn, binding);
    binding.attach(conn);
  }

  /** Listens on host:port (port 0 picks one); resolves with the bound port. */
  listen(port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((socket) => this.handleSocket(socket));
    this.netServer = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
      });
    });
  }

  /**
   * Stops accepting, sends GOAWAY on every connection and waits for in-flight streams to finish,
   * at most `graceMs`; then closes whatever is left.
   */
  async close(graceMs = H2_SHUTDOWN_GRACE_MS): Promise<void> {
    const closing = this.netServer === undefined ? Promise.resolve() : new Promise<void>((r) => this.netServer!.close(() => r()));
    for (const conn of this.connections.keys()) conn.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const [conn, binding] of [...this.connections]) {
      conn.close(undefined);
      binding.socket.destroy();
    }
    await closing;
  }
}
