/** `bulwark/client`: the failover client for Bulwark and etcd clusters. See docs/client.md. */
export { BULWARK_VERSION } from '../version.js';
export { createClient, type ClientOptions } from './node-client.js';
export { BulwarkClient, type ClientCoreOptions, type MemberRef } from './client.js';
export type { CallOptions, ExactlyOnce } from './call-runner.js';
export { ClientError, isClientError, isEtcdError, etcdErrorKind, type ClientErrorCode, type EtcdErrorKind, type ServerStatus } from './errors.js';
export type { ClientEvent, ClientEventListener, LeaseLostReason } from './events.js';
export type { Connector, Connection, ConnectionCallOptions } from './connector.js';
export { NodeConnector } from './node-connector.js';
export { normalizeEndpoint, type EndpointInfo, type EndpointHealth } from './endpoint-pool.js';
export { prefixEnd, text, toBytes, type Bytes, type GetOptions, type PutOptions, type DeleteOptions, type RangeSpec, type SortOrder, type SortTarget } from './kv.js';
export { Compare, Op, TxnBuilder, type CompareOp } from './txn.js';
export { Watcher, type WatchItem, type WatchOptions } from './watch.js';
export { Lease, type LeaseEvent, type LeaseState, type GrantOptions } from './lease.js';
export { SessionService, SESSION_METADATA_KEY, formatSessionTag, parseSessionTag, type SessionTag } from './session-protocol.js';
export type { KeyValue, Event } from '../api/proto/generated/mvccpb.js';
export * from './recipes/index.js';
