/**
 * The real connector: one GrpcChannel (our HTTP/2 client) per endpoint. The only client file that
 * opens sockets, through src/api/grpc.
 */
import { GrpcChannel } from '../api/grpc/client.js';
import { GrpcError } from '../api/grpc/errors.js';
import type { MetadataInit } from '../api/grpc/metadata.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from '../api/grpc/method.js';
import { Status } from '../api/grpc/status.js';
import { Http2ClosedError } from '../api/http2/errors.js';
import type { Connection, ConnectionCallOptions, Connector } from './connector.js';

export interface NodeConnectorOptions {
  /** Time to open a TCP connection to one endpoint. */
  readonly dialTimeoutMs: number;
  readonly userAgent?: string;
  /** Metadata sent on every call by every channel. */
  readonly metadata?: MetadataInit;
}

export class NodeConnector implements Connector {
  constructor(private readonly o: NodeConnectorOptions) {}

  connect(endpoint: string): Connection {
    return new NodeConnection(endpoint, new GrpcChannel(endpoint, { connectTimeoutMs: this.o.dialTimeoutMs, userAgent: this.o.userAgent ?? 'bulwark-client', ...(this.o.metadata === undefined ? {} : { metadata: this.o.metadata }) }));
  }
}

class NodeConnection implements Connection {
  constructor(
    readonly endpoint: string,
    private readonly channel: GrpcChannel,
  ) {}

  call<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions): Promise<ResponseOf<M>> {
    return this.channel.call(method, request, finite(options));
  }

  stream<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions) {
    return this.channel.stream(method, request, finite(options));
  }

  duplex<M extends AnyMethod>(method: M, options: ConnectionCallOptions) {
    return this.channel.duplex(method, finite(options));
  }

  /**
   * The channel fails a call with UNAVAILABLE in three ways where the server cannot have seen it:
   * the TCP connection could not be made (the cause is the connect error), the server refused the
   * stream (REFUSED_STREAM), or it sent GOAWAY naming a last stream below ours.
   */
  neverSent(error: unknown): boolean {
    if (!(error instanceof GrpcError) || error.status !== Status.UNAVAILABLE || error.metadata.length > 0) return false;
    if (error.cause instanceof Http2ClosedError && error.cause.message.startsWith('connect to ')) return true;
    return error.details === 'stream refused by the server' || error.details.startsWith('GOAWAY');
  }

  close(): void {
    this.channel.close();
  }
}

/** The channel's own timer takes a finite deadline; an unbounded call sends none. */
function finite(o: ConnectionCallOptions): ConnectionCallOptions {
  if (o.deadlineMs === undefined || Number.isFinite(o.deadlineMs)) return o;
  const { deadlineMs: _drop, ...rest } = o;
  return rest;
}
