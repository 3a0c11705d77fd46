/** The gRPC layer's public API: server, client channel, errors, statuses, metadata, health. */
export { GrpcServer, type GrpcServerOptions, type LocalMethod, type ServerCall, type ServerWriter, type Decode, type Encode, type UnaryHandler, type ServerStreamHandler, type ClientStreamHandler, type BidiHandler } from './server.js';
export { GrpcChannel, type CallOptions, type ChannelOptions, type ClientReadable, type ClientDuplex, type ClientWritable } from './client.js';
export { GrpcError } from './errors.js';
export { Status, statusName, type StatusCode } from './status.js';
export { Metadata, type MetadataInit } from './metadata.js';
export { HealthService } from './health-service.js';
export type { MethodDescriptor, RequestOf, RequestInitOf, ResponseOf, ResponseInitOf } from './method.js';
export { createSharedListener, sniffProtocol, type SharedListenerOptions } from '../http2/listener.js';
