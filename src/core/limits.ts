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
// State machine: the MVCC store, leases, watches, client sessions (src/kv).

/** Head records per leaf of the sorted key index (a two-level B-tree; splits beyond this). */
export const KV_INDEX_LEAF_KEYS_MAX = 512;
/** Records per chunk of the revision-ordered history log. */
export const KV_REVLOG_CHUNK_RECORDS = 4096;
/** History records trimmed per applied entry by the incremental physical compaction. */
export const KV_COMPACTION_STEP_RECORDS_MAX = 10_000;
/** etcd's --quota-backend-bytes default: 2 GiB of logical data before the NOSPACE alarm. */
export const KV_QUOTA_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024;
/** Bytes charged per history record on top of its key and value (index, revisions, lease). */
export const KV_RECORD_OVERHEAD_BYTES = 64;
/** Nesting depth of transactions accepted by the decoder (etcd bounds it only by request size). */
export const TXN_NESTING_DEPTH_MAX = 32;

/** etcd's MaxLeaseTTL, in seconds. */
export const LEASE_TTL_SEC_MAX = 9_000_000_000;
/** etcd's minimum lease TTL with default timing: ceil(1.5 election timeouts of 1 s) seconds. */
export const LEASE_TTL_SEC_MIN_DEFAULT = 2;
/** Leases alive at once in one store. */
export const LEASES_MAX = 1 << 20;
/** How often the leader checkpoints remaining TTLs through the log (etcd's 5 minutes). */
export const LEASE_CHECKPOINT_INTERVAL_MS_DEFAULT = 5 * 60 * 1000;
/**
 * The shortest delay between checkpoints of one lease. A lease is checkpointed every half TTL,
 * within [this, the interval], so a leader change extends any lease by at most that much.
 */
export const LEASE_CHECKPOINT_DELAY_MS_MIN = 1000;
/** Checkpoints in one LeaseCheckpoint entry (etcd's maxLeaseCheckpointBatchSize). */
export const LEASE_CHECKPOINTS_PER_ENTRY_MAX = 1000;
/** Expired leases in one LeaseExpire entry (etcd revokes at most 1000 a second). */
export const LEASE_EXPIRIES_PER_ENTRY_MAX = 1000;
/** A lease proposed for expiry and still alive this long after is proposed again. */
export const LEASE_EXPIRY_RETRY_MS = 3000;

/** Client sessions kept for exactly-once writes; the least recently used is dropped beyond it. */
export const SESSIONS_MAX = 4096;
/** A session unused for this many log entries expires (deterministic: measured in the log). */
export const SESSION_IDLE_ENTRIES_MAX = 1_000_000;
/** Responses one session keeps for requests its client has not yet acknowledged. */
export const SESSION_RESPONSES_MAX = 256;
/** A response larger than this is not kept: a duplicate gets "response not retained". */
export const SESSION_RESPONSE_BYTES_MAX = 1024 * 1024;
/** Bytes of kept responses over all sessions. */
export const SESSIONS_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;

/** Watchers registered at once on one store. */
export const WATCHERS_MAX = 100_000;
/** Events queued for one watcher before it falls back to catching up from history. */
export const WATCH_QUEUE_EVENTS_MAX = 1024;
/** Estimated bytes queued for one watcher before it falls back to catching up from history. */
export const WATCH_QUEUE_BYTES_MAX = 4 * 1024 * 1024;
/** History records one catch-up step scans for an unsynced watcher (then it yields). */
export const WATCH_CATCHUP_SCAN_RECORDS_MAX = 8192;
/**
 * Responses a watch stream queues that are not any watcher's (refused creates): beyond it the API
 * layer stops reading the client's requests until they are sent (etcd's ctrlStreamBufLen).
 */
export const WATCH_STREAM_CONTROL_RESPONSES_MAX = 16;
/** Events merged into one watch response (whole revisions only). */
export const WATCH_RESPONSE_EVENTS_MAX = 1000;
/** Estimated bytes of one watch response; a larger revision is fragmented when the watcher asks. */
export const WATCH_FRAGMENT_BYTES_MAX = REQUEST_BYTES_MAX;
/** etcd's --watch-progress-notify-interval default. */
export const WATCH_PROGRESS_NOTIFY_INTERVAL_MS_DEFAULT = 10 * 60 * 1000;

/** Target bytes of one frame (and one chunk) of a state-machine snapshot. */
export const KV_SNAPSHOT_FRAME_TARGET_BYTES = 256 * 1024;
/** Largest frame a snapshot reader accepts: the target plus one record of the largest request. */
export const KV_SNAPSHOT_FRAME_BYTES_MAX = 4 * 1024 * 1024;

/** A member's name, in bytes. */
export const MEMBER_NAME_BYTES_MAX = 256;
/** Peer or client URLs of one member. */
export const MEMBER_URLS_MAX = 16;
/** One URL, in bytes. */
export const MEMBER_URL_BYTES_MAX = 1024;

// ---------------------------------------------------------------------------------------------
// Relationships.

assert(KEY_BYTES_MAX <= REQUEST_BYTES_MAX, 'a key fits in a request');
assert(MESSAGE_BYTES_MAX >= REQUEST_BYTES_MAX / 2, 'an append message holds at least one large request');
assert(ELECTION_TICKS_DEFAULT > HEARTBEAT_TICKS_DEFAULT * 2, 'election timeout spans several heartbeats');
assert(SNAPSHOT_CHUNK_BYTES <= MESSAGE_BYTES_MAX, 'a snapshot chunk fits in a message');
assert(LEARNERS_MAX < MEMBERS_MAX, 'learners are a minority of members');
assert(KV_SNAPSHOT_FRAME_BYTES_MAX >= KV_SNAPSHOT_FRAME_TARGET_BYTES + REQUEST_BYTES_MAX + 4096, 'a snapshot frame holds a full target plus one largest record');
assert(WATCH_QUEUE_EVENTS_MAX >= WATCH_RESPONSE_EVENTS_MAX, 'a watcher queue holds at least one full response');
assert(WATCH_QUEUE_BYTES_MAX >= WATCH_FRAGMENT_BYTES_MAX, 'a watcher queue holds at least one full-size response');
assert(SESSION_RESPONSE_BYTES_MAX <= SESSIONS_RESPONSE_BYTES_MAX, 'one kept response fits in the session budget');
assert(LEASE_TTL_SEC_MIN_DEFAULT >= 1 && LEASE_TTL_SEC_MIN_DEFAULT < LEASE_TTL_SEC_MAX, 'the lease TTL bounds are ordered');
assert(LEASE_TTL_SEC_MAX * 1000 < Number.MAX_SAFE_INTEGER, 'lease deadlines in milliseconds are exact');
assert(LEASE_EXPIRY_RETRY_MS < LEASE_CHECKPOINT_INTERVAL_MS_DEFAULT, 'expiry retries are faster than checkpoints');
assert(LEASE_CHECKPOINT_DELAY_MS_MIN < LEASE_CHECKPOINT_INTERVAL_MS_DEFAULT, 'the checkpoint delay bounds are ordered');
assert(TXN_NESTING_DEPTH_MAX >= 2, 'transactions may nest');
