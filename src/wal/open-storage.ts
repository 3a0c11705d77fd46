/**
 * Opens a member's data directory: checks it belongs to this member, recovers the snapshots and
 * the log, and decides (STORAGE_RECOVERY_TABLE) where the state machine starts. Returns both stores
 * and the DurableState pieces the engine is rebuilt from, plus a report for logs and alarms.
 *
 * Layout on the disk (the disk's root is the data directory):
 *   meta              data directory identity and format version (data-dir.ts)
 *   wal/              log segments (wal.ts); wal/quarantine/ holds damaged segments
 *   snap/             snapshots (snapshot-store.ts); snap/quarantine/ holds damaged ones
 */
import { assertNever, unreachable } from '../core/assert.js';
import { logIndex, type LogIndex } from '../core/ids.js';
import type { Entry, SnapshotMeta } from '../consensus/types.js';
import type { Disk } from '../env/disk.js';
import { nullLogger, type Logger } from '../env/logger.js';
import { checkDataDir, type DataDirIdentity } from './data-dir.js';
import { decide } from './decision-table.js';
import { openSnapshotStore, type FileSnapshotStore, type SnapshotOpenReport } from './snapshot-store.js';
import { STORAGE_RECOVERY_TABLE, type StorageAction, type StorageFacts } from './storage-recovery-table.js';
import { openWal, type Wal, type WalOptions, type WalRecoveryReport } from './wal.js';

export interface StorageOptions {
  readonly identity: DataDirIdentity;
  /** Create the meta file in an empty data directory (a new member). Default true. */
  readonly create?: boolean;
  readonly wal?: Omit<WalOptions, 'dir' | 'logger'>;
  readonly logger?: Logger;
}

/** The DurableState pieces recovered from disk (the caller adds initialConfig). */
export interface RecoveredState {
  readonly hardState: Uint8Array | null;
  readonly snapshot: SnapshotMeta | null;
  /** Entries after the snapshot, ascending by index. */
  readonly entries: readonly Entry[];
  readonly repairUntil: LogIndex | null;
}

export interface StorageRecoveryReport {
  readonly dataDir: 'created' | 'opened';
  readonly wal: WalRecoveryReport;
  readonly snapshots: SnapshotOpenReport;
  readonly facts: StorageFacts;
  readonly row: string;
  readonly action: StorageAction;
  /** A Raft log that conflicted with the snapshot at its index was discarded (an interrupted install). */
  readonly conflictingLogDiscarded: boolean;
  /** 'CORRUPT' when damaged data was found (etcd's alarm of that name); the server raises it. */
  readonly alarm: 'CORRUPT' | null;
}

export interface OpenedStorage {
  readonly log: Wal;
  readonly snapshots: FileSnapshotStore;
  readonly durable: RecoveredState;
  readonly report: StorageRecoveryReport;
}

export async function openStorage(disk: Disk, options: StorageOptions): Promise<OpenedStorage> {
  const logger = (options.logger ?? nullLogger).child({ component: 'storage' });
  const dataDir = await checkDataDir(disk, options.identity, { create: options.create ?? true });
  const { store: snapshots, report: snapReport } = await openSnapshotStore(disk, { logger });
  const { wal: log, recovered } = await openWal(disk, { ...options.wal, dir: 'wal', logger });
  const snapshot = snapshots.latest();
  const base = snapshot?.index ?? 0;
  const facts: StorageFacts = {
    snapshot: snapshot === null ? 'none' : 'valid',
    newerSnapshotCorrupt: snapReport.newerCorruptIndex !== null,
    log: recovered.lastIndex < base ? 'behind' : recovered.completeFromIndex > base + 1 ? 'gap' : 'reaches',
  };
  const row = decide(STORAGE_RECOVERY_TABLE, facts);
  let entries: readonly Entry[] = [];
  let conflictingLogDiscarded = false;
  switch (row.action) {
    case 'replay-log':
      entries = recovered.entries;
      break;
    case 'snapshot-plus-log': {
      const atBase = recovered.entries.find((e) => e.index === base);
      if (options.identity.protocol === 'raft' && snapshot !== null && atBase !== undefined && atBase.term !== snapshot.term) {
        // A snapshot received from the leader became durable, and the crash came before the log
        // reset that installs it: the log still holds this member's old entries, which conflict
        // with the snapshot at its own index. Raft's InstallSnapshot rule (Figure 13: keep the
        // suffix only if the entry at the snapshot index has the snapshot's term) discards them;
        // none can be committed, since the committed entry there is the snapshot's. A Paxos log
        // keeps them: its slots are independent accepted values.
        await log.reset(logIndex(base));
        conflictingLogDiscarded = true;
        logger.warn('log conflicts with the snapshot at its index; discarded (interrupted snapshot install)', { snapshotIndex: base, logTerm: atBase.term, snapshotTerm: snapshot.term });
      } else {
        entries = recovered.entries.filter((e) => e.index > base);
        if (base > log.compactedThrough) await log.compact(logIndex(base));
      }
      break;
    }
    case 'snapshot-newer-than-log':
      await log.reset(logIndex(base));
      break;
    case 'repair-from-peers': {
      const until = Math.max(recovered.lastIndex, recovered.repairUntil ?? 0, snapReport.newerCorruptIndex ?? 0);
      // One batch: a crash or a failed write between a reset and a separate marker left an empty
      // log that looked whole (simulator: paxos 2 + 4 of 5, storage-faults, seed 22 once its run changed).
      await log.resetForRepair(logIndex(base), logIndex(until));
      break;
    }
    case 'impossible':
      unreachable(`storage recovery: impossible facts ${JSON.stringify(facts)}`);
      break;
    default:
      assertNever(row.action, 'storage action');
  }
  const pending = log.pendingRepairUntil;
  const repairUntil = pending !== null && pending > base ? pending : null;
  const corrupt = recovered.report.corrupt || facts.newerSnapshotCorrupt || snapReport.quarantined.length > 0 || row.action === 'repair-from-peers';
  const report: StorageRecoveryReport = {
    dataDir: dataDir.type === 'created' ? 'created' : 'opened',
    wal: recovered.report,
    snapshots: snapReport,
    facts,
    row: row.id,
    action: row.action,
    conflictingLogDiscarded,
    alarm: corrupt ? 'CORRUPT' : null,
  };
  (corrupt ? logger.error.bind(logger) : logger.info.bind(logger))(corrupt ? 'CORRUPT: storage recovered with damage' : 'storage recovered', {
    row: row.id,
    snapshotIndex: base,
    entries: entries.length,
    repairUntil,
  });
  return { log, snapshots, durable: { hardState: recovered.hardState, snapshot, entries, repairUntil }, report };
}
