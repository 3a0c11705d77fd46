/** Durable storage: the write-ahead log, snapshots, the data directory and recovery. */
export { inspectWal, openWal, Wal, type WalOptions, type WalPlantedBug, type WalRecovered, type WalRecoveryReport, type WalStats } from './wal.js';
export { inspectSnapshots, openSnapshotStore, FileSnapshotStore, type SnapshotInspection, type SnapshotOpenReport, type SnapshotStoreOptions } from './snapshot-store.js';
export { openStorage, type OpenedStorage, type RecoveredState, type StorageOptions, type StorageRecoveryReport } from './open-storage.js';
export { checkDataDir, decodeDataDirMeta, DATA_DIR_FORMAT_VERSION, DATA_DIR_META_FILE, type ConsensusProtocol, type DataDirIdentity } from './data-dir.js';
export { WalError, isWalError, isFatalStorageError, type WalErrorCode } from './errors.js';
export { SEGMENT_RECOVERY_TABLE, type SegmentAction, type SegmentFacts } from './wal-recovery-table.js';
export { STORAGE_RECOVERY_TABLE, type StorageAction, type StorageFacts } from './storage-recovery-table.js';
export type { RecoveryEvent } from './wal-recovery.js';
