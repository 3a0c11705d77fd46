/**
 * Backends for the balancer's tests and benchmarks: HTTP/1.1, TCP echo and HTTP/2/gRPC servers on
 * 127.0.0.1 that say who they are, count what they serve, and can be killed (every connection cut)
 * and restarted on the same port.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { encodeGrpcFrame, GrpcFrameDecoder } from './grpc-frame.js';
import { GRPC_HEALTH_CHECK_PATH, encodeHealthCheckResponse } from './grpc-health-messages.js';

export interface TestBackend {
  readonly name: string;
  port: number;
  /** Requests (or connections) served since start. */
  served: number;
  /** Stops listening and cuts every open connection, like a crashed process. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: TestBackend) => void;

const defaultHandler: Handler = (req, res, b) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const delay = Number(/[?&]delay=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-backend': b.name });
      res.end(`${b.name} ${req.method} ${req.url} ${Buffer.concat(chunks).length}\n`);
    };
    if (delay > 0) setTimeout(send, delay);
    else send();
  });
};

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function trackable(make: () => net.Server, name: string, onConnection?: (b: TestBackend) => void): Promise<TestBackend> {
  let server: net.Server;
  let sockets = new Set<net.Socket>();
  const b: TestBackend = {
    name,
    port: 0,
    served: 0,
    async kill() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      sockets = new Set();
      await closed;
    },
    async restart() {
      await start(b.port);
    },
  };
  const start = async (port: number): Promise<void> => {
    server = make();
    server.on('connection', (s: net.Socket) => {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      onConnection?.(b);
    });
    b.port = await listen(server, port);
  };
  return start(0).then(() => b);
}

export function startHttpBackend(name: string, handler: Handler = defaultHandler): Promise<TestBackend> {
  let self: TestBackend | null = null;
  const p = trackable(
    () =>
      http.createServer({ keepAlive: true }, (req, res) => {
        self!.served++;
        handler(req, res, self!);
      }),
    name,
  );
  return p.then((b) => (self = b));
}

/** A TCP server that answers each connection with its name and then echoes. */
export function startTcpBackend(name: string): Promise<TestBackend> {
  return trackable(
    () =>
      net.createServer((s) => {
        s.on('error', () => s.destroy());
        s.write(`${name}\n`);
        s.pipe(s);
      }),
    name,
    (b) => b.served++,
  );
}

export interface GrpcTestBackendOptions {
  /** Answers a unary call: a response message, or a gRPC error. */
  readonly unary?: (path: string, message: Uint8Array, backend: TestBackend) => { message: Uint8Array } | { code: number; error: string };
  /** The grpc.health.v1 status to report. */
  health?: 'SERVING' | 'NOT_SERVING';
}

/** An HTTP/2 (h2c) server that answers unary gRPC calls and grpc.health.v1 checks. */
export function startGrpcBackend(name: string, options: GrpcTestBackendOptions = {}): Promise<TestBackend & { options: GrpcTestBackendOptions }> {
  let self: TestBackend | null = null;
  const sessions = new Set<http2.ServerHttp2Session>();
  const make = (): net.Server => {
    const server = http2.createServer();
    server.on('session', (s) => {
      sessions.add(s);
      s.once('close', () => sessions.delete(s));
    });
    server.on('stream', (stream, headers) => {
      const path = String(headers[':path']);
      const decoder = new GrpcFrameDecoder(4 * 1024 * 1024);
      const messages: Uint8Array[] = [];
      stream.on('error', () => {});
      stream.on('data', (c: Buffer) => messages.push(...decoder.push(c)));
      stream.on('end', () => {
        if (stream.destroyed || stream.closed) return;
        if (path === GRPC_HEALTH_CHECK_PATH) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(encodeGrpcFrame(encodeHealthCheckResponse(options.health ?? 'SERVING')));
          return;
        }
        self!.served++;
        const answer = options.unary?.(path, messages[0] ?? new Uint8Array(0), self!) ?? { message: new TextEncoder().encode(name) };
        if ('code' in answer) {
          stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(answer.code), 'grpc-message': encodeURIComponent(answer.error) }, { endStream: true });
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-backend': name }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(encodeGrpcFrame(answer.message));
      });
    });
    return server as unknown as net.Server;
  };
  return trackable(make, name).then((b) => {
    const kill = b.kill.bind(b);
    b.kill = async () => {
      for (const s of sessions) s.destroy();
      await kill();
    };
    self = b;
    return Object.assign(b, { options });
  });
}

/** One HTTP/1.1 request; resolves with status, body and the backend that answered. */
export function httpGet(port: number, path: string, options: { agent?: http.Agent; method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<{ status: number; body: string; backend: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), backend: String(res.headers['x-backend'] ?? '') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('test request timed out')));
    req.end(options.body);
  });
}

/** One unary gRPC call over a client session; resolves with grpc-status, message and backend. */
export function grpcCall(session: http2.ClientHttp2Session, path: string, message: Uint8Array): Promise<{ code: number; message: Uint8Array | null; error: string; backend: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    const decoder = new GrpcFrameDecoder(4 * 1024 * 1024);
    let msg: Uint8Array | null = null;
    let code = -1;
    let error = '';
    let backend = '';
    const read = (h: http2.IncomingHttpHeaders): void => {
      if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']);
      if (h['grpc-message'] !== undefined) error = decodeURIComponent(String(h['grpc-message']));
      if (h['x-backend'] !== undefined) backend = String(h['x-backend']);
    };
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('data', (c: Buffer) => {
      for (const m of decoder.push(c)) msg ??= m;
    });
    stream.on('close', () => resolve({ code, message: msg, error, backend }));
    stream.on('error', reject);
    stream.setTimeout(20_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.end(encodeGrpcFrame(message));
  });
}
