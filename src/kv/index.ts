/**
 * The state machine's public surface, for the server, the API layer and tools: the store, its
 * command and result types, the lessor, watches, errors and the member table.
 */
export { KvStore, type Admission, type KvStoreOptions, type LeaseTimeToLive, type StoreStatus } from './kv-store.js';
export * from './command.js';
export type { ApplyResult, Outcome, ErrorOutcome, RangeResult, PutResult, DeleteRangeResult, TxnResult, ResponseOp, KeyValue } from './results.js';
export { encodeOutcome, decodeOutcome } from './results.js';
export { KvError, ETCD_ERRORS, isKvErrorCode, type KvErrorCode, type GrpcCode } from './errors.js';
export { Lessor, type LessorOptions, type RenewResult } from './lessor.js';
export type { LeaseEvent, LeaseInfo } from './leases.js';
export { type AlarmMember } from './alarms.js';
export { encodeMemberContext, decodeMemberContext, type MemberInfo } from './members.js';
export { WatchStream } from './watch-stream.js';
export * from './watch-types.js';
export { isReadOnlyTxn, opCostBytes, validateOp } from './validate.js';
export type { KvHash } from './mvcc.js';
export type { SessionLimits } from './sessions.js';
