/**
 * The client's only contact with the network: a Connector opens a Connection to an endpoint, and a
 * Connection makes gRPC calls on it. The real one (node-connector.ts) wraps the GrpcChannel of
 * src/api/grpc; a simulated one can deliver calls to simulated members. The client core never
 * touches a socket or a timer of its own.
 */
import type { ClientDuplex, ClientReadable } from '../api/grpc/client.js';
import type { MetadataInit } from '../api/grpc/metadata.js';
import type { AnyMethod, RequestInitOf, ResponseOf } from '../api/grpc/method.js';

export interface ConnectionCallOptions {
  /** Sent to the server as grpc-timeout; the client also enforces its own deadline through the Clock. */
  readonly deadlineMs?: number;
  readonly metadata?: MetadataInit;
  readonly signal?: AbortSignal;
}

export interface Connection {
  readonly endpoint: string;
  /** A unary call. Rejects with a GrpcError (transport failures are UNAVAILABLE). */
  call<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions): Promise<ResponseOf<M>>;
  /** A server-streaming call. */
  stream<M extends AnyMethod>(method: M, request: RequestInitOf<M>, options: ConnectionCallOptions): ClientReadable<ResponseOf<M>>;
  /** A bidirectional call. */
  duplex<M extends AnyMethod>(method: M, options: ConnectionCallOptions): ClientDuplex<RequestInitOf<M>, ResponseOf<M>>;
  /**
   * True when `error`, from a call on this connection, proves the request never reached the server
   * (the connection could not be made, or the server refused the stream before reading it). Such a
   * write can be retried even without exactly-once sessions: it is etcd's clientv3 rule.
   */
  neverSent(error: unknown): boolean;
  close(): void;
}

export interface Connector {
  connect(endpoint: string): Connection;
}
