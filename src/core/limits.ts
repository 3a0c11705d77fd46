/**
 * Every bound in Bulwark, in one place, with its unit last in the name. A queue, batch, retry or
 * buffer without a bound here is a bug. Relationships between bounds are asserted at the bottom,
 * so changing one number cannot silently break another.
 *
 * Packages add their bounds here in a section of their own rather than keeping private constants.
 */
import { assert } from './assert.js';

// ---------------------------------------------------------------------------------------------
// Requests (etcd's limits, so clients see the same errors).

/** etcd's --max-request-bytes default: 1.5 MiB. */
export const REQUEST_BYTES_MAX = 1.5 * 1024 * 1024;
/** etcd's --max-txn-ops default. */
export const TXN_OPS_MAX = 128;
/** Keys are bounded by the request size; this is the bound used by decoders before that check. */
export const KEY_BYTES_MAX = REQUEST_BYTES_MAX;

// ---------------------------------------------------------------------------------------------
// Consensus (both engines).

/** Logical ticks between heartbeats from a leader. */
export const HEARTBEAT_TICKS_DEFAULT = 1;
/** Logical ticks without hearing from a leader before a follower campaigns (randomized in [t, 2t)). */
export const ELECTION_TICKS_DEFAULT = 10;
/** Entries in one append message. */
export const ENTRIES_PER_MESSAGE_MAX = 512;
/** Bytes of entry data in one append message (an entry larger than this goes alone). */
export const MESSAGE_BYTES_MAX = 1024 * 1024;
/** Append messages in flight to one follower in the replicate state (the pipeline window). */
export const INFLIGHT_MESSAGES_MAX = 256;
/** Bytes proposed but not yet committed on a leader; beyond it proposals are refused. */
export const UNCOMMITTED_BYTES_MAX = 64 * 1024 * 1024;
/** Read-index requests waiting for confirmation on one member. */
export const PENDING_READS_MAX = 16 * 1024;
/** Bytes of snapshot data in one install-snapshot message. */
export const SNAPSHOT_CHUNK_BYTES = 256 * 1024;
/** Members of one cluster, voters and learners together. */
export const MEMBERS_MAX = 64;
/** Learners at once (etcd 3.4/3.5 allow one; we allow a few hot standbys). */
export const LEARNERS_MAX = 4;
/** Proposals a follower forwards to its leader before refusing (no unbounded forwarding queue). */
export const FORWARDED_PROPOSALS_MAX = 4096;

// ---------------------------------------------------------------------------------------------
// Durable storage: write-ahead log, snapshots, recovery (src/wal).

/** A log segment is rolled once it would grow past this size (etcd cuts at 64 MB). */
export const WAL_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** The smallest segment size an option may ask for (tests use tiny segments to exercise rolls). */
export const WAL_SEGMENT_BYTES_MIN = 4 * 1024;
/** Bytes of encoded records in one group-commit batch; a single larger entry goes alone. */
export const WAL_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/** Records (entries, truncations) in one group-commit batch. */
export const WAL_BATCH_RECORDS_MAX = 8 * 1024;
/** Bytes appended but not yet handed to a batch; beyond it append refuses (the caller is not syncing). */
export const WAL_PENDING_BYTES_MAX = 256 * 1024 * 1024;
/** Data bytes of one log entry (a request plus the engine's framing, with room for config entries). */
export const WAL_ENTRY_BYTES_MAX = 8 * 1024 * 1024;
/** Bytes of the engine's encoded hard state; it rides in every commit frame, so it must stay small. */
export const WAL_HARD_STATE_BYTES_MAX = 1024;
/**
 * The two copies of a batch's commit frame straddle a boundary of this size, so no single torn or
 * unreadable sector (512 B or 4 KiB) can destroy both.
 */
export const WAL_COMMIT_COPY_SPACING_BYTES = 4096;
/** Bytes read at a time when scanning a segment in recovery; an unreadable chunk is re-read by sector. */
export const WAL_RECOVERY_READ_CHUNK_BYTES = 1024 * 1024;
/** The sector size recovery falls back to when a chunk read fails (the smallest a disk reports). */
export const WAL_RECOVERY_SECTOR_BYTES = 512;
/** Reads of a segment that looked damaged before recovery believes it (transient read faults). */
export const WAL_RECOVERY_READ_ATTEMPTS_MAX = 3;
/** Snapshots kept by prune when the caller does not say (etcd keeps 5). */
export const SNAPSHOTS_KEEP_DEFAULT = 3;
/** Size of one snapshot's data (state is bounded by memory; this bounds what a peer may send). */
export const SNAPSHOT_BYTES_MAX = 16 * 1024 * 1024 * 1024;
/** Bytes one SnapshotStore.read may return. */
export const SNAPSHOT_READ_BYTES_MAX = 16 * 1024 * 1024;
/** Bytes of a snapshot file's trailer (meta and configuration). */
export const SNAPSHOT_TRAILER_BYTES_MAX = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Relationships.

assert(KEY_BYTES_MAX <= REQUEST_BYTES_MAX, 'a key fits in a request');
assert(MESSAGE_BYTES_MAX >= REQUEST_BYTES_MAX / 2, 'an append message holds at least one large request');
assert(ELECTION_TICKS_DEFAULT > HEARTBEAT_TICKS_DEFAULT * 2, 'election timeout spans several heartbeats');
assert(SNAPSHOT_CHUNK_BYTES <= MESSAGE_BYTES_MAX, 'a snapshot chunk fits in a message');
assert(LEARNERS_MAX < MEMBERS_MAX, 'learners are a minority of members');
assert(WAL_SEGMENT_BYTES_MIN <= WAL_SEGMENT_BYTES_DEFAULT, 'the default segment size is allowed');
assert(WAL_ENTRY_BYTES_MAX >= REQUEST_BYTES_MAX * 2, 'a log entry holds the largest request with room to spare');
assert(WAL_ENTRY_BYTES_MAX <= WAL_BATCH_BYTES_MAX * 4, 'an oversized entry is a batch of its own, not a different regime');
assert(WAL_PENDING_BYTES_MAX >= WAL_ENTRY_BYTES_MAX * 8, 'several of the largest entries can wait for a batch');
assert(WAL_HARD_STATE_BYTES_MAX + 256 < WAL_COMMIT_COPY_SPACING_BYTES, 'a commit frame fits in one copy spacing');
assert(WAL_COMMIT_COPY_SPACING_BYTES % WAL_RECOVERY_SECTOR_BYTES === 0, 'commit copies straddle whole sectors');
assert(WAL_RECOVERY_READ_CHUNK_BYTES % WAL_RECOVERY_SECTOR_BYTES === 0, 'chunks split into whole sectors');
assert(SNAPSHOT_CHUNK_BYTES <= SNAPSHOT_READ_BYTES_MAX, 'a snapshot chunk can be read in one call');
assert(SNAPSHOT_TRAILER_BYTES_MAX >= MEMBERS_MAX * 64, 'a trailer holds the largest configuration');
