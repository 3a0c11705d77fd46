/**
 * `bulwark snapshot restore`'s engine: makes a new member data directory from a snapshot file,
 * offline, so `bulwark serve` starts a *new* cluster holding that data (as `etcdutl snapshot
 * restore` does for etcd). Run it once per member with the same snapshot and --initial-cluster.
 *
 * Accepted files:
 *   - etcd's format (what Maintenance.Snapshot streams and `etcdctl snapshot save` writes): a
 *     bbolt database, usually followed by its SHA-256, which is checked unless `skipHashCheck`;
 *     also a bare member/snap/db file of etcd or Bulwark (no hash: needs `skipHashCheck`);
 *   - Bulwark's own state-machine snapshot (the frames of src/kv/snapshot-format.ts), with or
 *     without the snapshot store's trailer (a file from a data directory's snap/).
 *
 * What the new cluster gets: the keys with their whole retained history, revisions, compaction
 * point and leases. What it does not: the old member table (replaced by --initial-cluster, with new
 * member ids and a new cluster id derived from it and the token, as etcd derives them), alarms
 * (they name old members), client sessions.
 *
 *   bumpRevision N   the store revision goes up by N, so revisions seen by clients (and cached by
 *                    watchers such as Kubernetes informers) never go backwards after a restore to
 *                    an older point;
 *   markCompacted    the compaction point moves to the (bumped) revision: every watch or read at
 *                    an older revision gets "required revision has been compacted", which makes
 *                    clients that cached state relist instead of missing changes.
 *
 * The new log starts with the snapshot at index 1, term 1, and a hard state of term 1 with no vote
 * (Raft) or of no promise with slot 1 decided and the new members as the configuration (Paxos);
 * the member restores its state from it on start and the members elect a leader.
 */
import { RestoreError } from './errors.js';
import { createHash } from 'node:crypto';
import { logIndex, term, type LeaseId, type NodeId } from '../core/ids.js';
import { writeFileAtomic, type Disk } from '../env/disk.js';
import { KvStore } from '../kv/kv-store.js';
import { latin1FromBytes } from '../kv/latin1.js';
import type { LeaseInfo } from '../kv/leases.js';
import type { MemberInfo } from '../kv/members.js';
import { RevRecord } from '../kv/record.js';
import { snapshotChunks, type StateImage } from '../kv/snapshot-format.js';
import { assertNever } from '../core/assert.js';
import { encodePaxosHardState } from '../paxos/index.js';
import { encodeHardState } from '../raft/index.js';
import { openStorage } from '../wal/index.js';
import { BOLT_MAGIC, PAGE_HEADER_BYTES } from './bbolt-format.js';
import { BOOTSTRAP_FILE, encodeBootstrap, type Bootstrap } from './bootstrap.js';
import type { InitialMember } from './config.js';
import { readEtcdDatabase } from './etcd-snapshot.js';
import { clusterIdFor, memberIdFor } from './member-id.js';
import type { ConfigState } from '../consensus/types.js';

export interface RestoreOptions {
  /** The snapshot file's bytes. */
  readonly snapshot: Uint8Array;
  /** The new member's (empty) data directory. */
  readonly disk: Disk;
  /** This member's name in `initialCluster`. */
  readonly name: string;
  readonly initialCluster: readonly InitialMember[];
  readonly initialClusterToken: string;
  readonly consensus?: 'raft' | 'paxos';
  /** Add this many to the store revision (default 0). */
  readonly bumpRevision?: number;
  /** Move the compaction point to the new revision. */
  readonly markCompacted?: boolean;
  /** Accept an etcd database without its SHA-256 trailer, or with one that does not match. */
  readonly skipHashCheck?: boolean;
  /** Progress, in bytes of the snapshot processed, for a progress bar. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface RestoreResult {
  readonly format: 'etcd' | 'bulwark';
  readonly clusterId: string;
  readonly memberId: NodeId;
  readonly revision: number;
  readonly compactRevision: number;
  readonly keys: number;
  readonly records: number;
  readonly leases: number;
  readonly hashChecked: boolean;
}

const SHA256_BYTES = 32;
/** Shares of the progress bar: parsed by here, checked by here, written by the end. */
const PROGRESS_PARSED = 0.4;
const PROGRESS_CHECKED = 0.7;
const KV_MAGIC = 0x564b5742; // "BWKV", the state-machine snapshot's header magic
const KV_FRAME_END = 8;

/** What kind of snapshot a file holds, by its first bytes. */
export function snapshotFormatOf(file: Uint8Array): 'etcd' | 'bulwark' | null {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length >= PAGE_HEADER_BYTES + 4 && v.getUint32(PAGE_HEADER_BYTES, true) === BOLT_MAGIC) return 'etcd';
  if (file.length >= 9 && file[4] === 1 && v.getUint32(5, true) === KV_MAGIC) return 'bulwark';
  return null;
}

export async function restoreSnapshot(o: RestoreOptions): Promise<RestoreResult> {
  const bump = o.bumpRevision ?? 0;
  if (!Number.isSafeInteger(bump) || bump < 0) throw new RestoreError(`--bump-revision must be a whole number >= 0, not ${bump}`);
  const self = o.initialCluster.find((m) => m.name === o.name);
  if (self === undefined) throw new RestoreError(`--name ${o.name} is not in --initial-cluster`);
  if ((await o.disk.list('.')).length > 0) throw new RestoreError(`data directory ${o.disk.name} exists and is not empty; restore into a new directory`);

  const format = snapshotFormatOf(o.snapshot);
  if (format === null) throw new RestoreError('the file is neither an etcd snapshot (bbolt database) nor a Bulwark snapshot');
  let source: StateImage;
  let hashChecked = false;
  if (format === 'etcd') {
    const r = etcdImage(o.snapshot, o.skipHashCheck ?? false);
    source = r.image;
    hashChecked = r.hashChecked;
  } else {
    source = bulwarkImage(o.snapshot);
  }
  // Progress in bytes of the snapshot: parsing counts for the first part, checking the image
  // through the store's reader for the next, writing the new data directory for the rest.
  const total = o.snapshot.length;
  const progress = (fraction: number): void => o.onProgress?.(Math.floor(total * fraction), total);
  progress(PROGRESS_PARSED);

  // The new membership, derived as a new cluster's (bootstrap.ts fromFlags).
  const members: MemberInfo[] = o.initialCluster.map((m) => ({ id: memberIdFor(m.peerUrls, o.initialClusterToken), name: m.name, peerUrls: [...m.peerUrls], clientUrls: [], isLearner: false }));
  const ids = members.map((m) => m.id);
  if (new Set(ids).size !== ids.length) throw new RestoreError('two members of --initial-cluster get the same id; give them distinct peer URLs');
  const memberId = members.find((m) => m.name === o.name)!.id;
  const clusterId = clusterIdFor(ids, o.initialClusterToken);
  const revision = source.revision + bump;
  const compactRevision = o.markCompacted === true ? revision : source.compactRevision;
  const image: StateImage = { ...source, appliedIndex: 1, revision, compactRevision, sessions: [], alarms: [], members };

  // Through the store's own validating reader: a snapshot that would not load is refused here.
  const chunks = [...snapshotChunks(image)];
  const check = new KvStore();
  const sink = check.restore(logIndex(1));
  for (let i = 0; i < chunks.length; i++) {
    sink.write(chunks[i]!);
    progress(PROGRESS_PARSED + ((PROGRESS_CHECKED - PROGRESS_PARSED) * (i + 1)) / chunks.length);
  }
  sink.finish();
  const st = check.status();

  const consensus = o.consensus ?? 'raft';
  const config = { voters: ids, learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
  const bootstrap: Bootstrap = { clusterId, memberId, protocol: consensus, members, config };
  await writeFileAtomic(o.disk, BOOTSTRAP_FILE, encodeBootstrap(bootstrap));
  progress(PROGRESS_CHECKED);
  const storage = await openStorage(o.disk, { identity: { clusterId, memberId, protocol: consensus }, create: true });
  try {
    await storage.snapshots.save({ index: logIndex(1), term: term(1), config }, chunks);
    storage.log.setHardState(hardStateAtSnapshot(consensus, config));
    await storage.log.sync();
  } finally {
    await storage.log.close();
  }
  progress(1);
  return { format, clusterId, memberId, revision: st.revision, compactRevision: st.compactRevision, keys: st.keys, records: st.historyRecords, leases: st.leases, hashChecked };
}

/** The hard state of a member whose log is the snapshot at index 1 and nothing else. */
function hardStateAtSnapshot(consensus: 'raft' | 'paxos', config: ConfigState): Uint8Array {
  switch (consensus) {
    case 'raft':
      // Raft checks that the log's last term (the snapshot's) is not beyond the hard state's term.
      return encodeHardState({ term: term(1), vote: null, commit: logIndex(1) });
    case 'paxos':
      // No promise yet (the first leader runs phase 1 at a fresh ballot); slot 1 is decided (the
      // snapshot), and the members govern every slot after it, as a member starting from that
      // snapshot with no hard state would derive.
      return encodePaxosHardState({
        promised: { ballot: term(0), node: null },
        commit: 1,
        repairUntil: 0,
        reportGapUntil: 0,
        configs: [{ effectiveSlot: 1, config }],
        configsValidFrom: 2,
      });
    default:
      return assertNever(consensus);
  }
}

/** An etcd (bbolt) snapshot as a state image. */
function etcdImage(file: Uint8Array, skipHashCheck: boolean): { image: StateImage; hashChecked: boolean } {
  let db = file;
  let hashChecked = false;
  // etcd's rule: a file whose size is 32 past a multiple of 512 carries a SHA-256 trailer.
  if (file.length % 512 === SHA256_BYTES) {
    db = file.subarray(0, file.length - SHA256_BYTES);
    if (!skipHashCheck) {
      const want = Buffer.from(file.subarray(file.length - SHA256_BYTES)).toString('hex');
      const got = createHash('sha256').update(db).digest('hex');
      if (want !== got) throw new RestoreError(`snapshot hash mismatch: the file says ${want}, its contents hash to ${got} (damaged or truncated; --skip-hash-check to restore anyway)`);
      hashChecked = true;
    }
  } else if (!skipHashCheck) {
    throw new RestoreError('the snapshot has no SHA-256 trailer (a copied member/snap/db file?); pass --skip-hash-check to restore it anyway');
  }
  const data = readEtcdDatabase(db);
  const leases = new Map<bigint, LeaseInfo>(data.leases.map((l) => [l.id, l]));
  const byKey = new Map<string, RevRecord>();
  let last = 0;
  let prevMain = 0;
  let prevSub = -1;
  for (const r of data.records) {
    if (r.main < prevMain || (r.main === prevMain && r.sub <= prevSub)) throw new RestoreError(`revisions out of order at ${r.main}`);
    prevMain = r.main;
    prevSub = r.sub;
    const key = latin1FromBytes(r.key);
    // A key attached to a lease the snapshot does not hold would never expire: detach it (etcd logs it).
    const lease = (r.lease !== 0n && leases.has(r.lease) ? leases.get(r.lease)!.id : 0n) as LeaseId;
    byKey.set(key, new RevRecord(key, r.main, r.sub, r.createRevision, r.version, lease, latin1FromBytes(r.value), byKey.get(key) ?? null));
    last = r.main;
  }
  const heads = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const revision = Math.max(1, last, data.compactRevision);
  return {
    image: {
      appliedIndex: 1,
      revision,
      compactRevision: Math.min(data.compactRevision, revision),
      heads,
      leases: [...leases.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      sessions: [],
      alarms: [],
      members: [],
    },
    hashChecked,
  };
}

/** A Bulwark state-machine snapshot (optionally with the snapshot store's trailer) as a state image. */
function bulwarkImage(file: Uint8Array): StateImage {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let end = 0;
  for (;;) {
    if (end + 5 > file.length) throw new RestoreError('the Bulwark snapshot ends before its end frame (truncated?)');
    const len = v.getUint32(end, true);
    const kind = file[end + 4];
    end += 5 + len;
    if (end > file.length) throw new RestoreError('the Bulwark snapshot ends inside a frame (truncated?)');
    if (kind === KV_FRAME_END) break;
  }
  const header = file.subarray(0, end);
  const appliedIndex = Number(new DataView(header.buffer, header.byteOffset + 5 + 5).getBigUint64(0, true) & ((1n << 53n) - 1n));
  const store = new KvStore();
  const sink = store.restore(logIndex(appliedIndex));
  sink.write(header);
  sink.finish();
  return store.snapshotImage();
}

