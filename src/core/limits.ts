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
// Durable storage: write-ahead log, snapshots, recovery (src/wal).

/** A log segment is rolled once it would grow past this size (etcd cuts at 64 MB). */
export const WAL_SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/**
 * How far ahead of the data a member's WAL writes zeros into its active segment (in the
 * background, one write of this size when the data comes within half of it). An O_DSYNC write into
 * blocks that already exist leaves the file's size alone, so it needs no journal commit: measured
 * here, 86 µs against 136 µs for a 4 KiB write at the end of the file, 150 against 290–350 µs with
 * three members writing at once (docs/benchmarks.md). etcd preallocates whole 64 MB segments.
 */
export const WAL_PREALLOCATE_BYTES_DEFAULT = 8 * 1024 * 1024;
/** How often a member samples its event-loop delay for /metrics (ms); each sample is a wake-up. */
export const EVENT_LOOP_DELAY_RESOLUTION_MS = 10;
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
// Multi-Paxos (src/paxos).

/**
 * α of the α-window: a configuration decided in slot i governs slots from i + α on, and a leader
 * never proposes slot s before every slot up to s − α is decided (its pipeline window). A protocol
 * constant: every member must use the same value.
 */
export const PAXOS_ALPHA_SLOTS = 256;
/** Accepted entries one Promise carries; a longer report continues with another Prepare from the next slot. */
export const PAXOS_PROMISE_ENTRIES_MAX = ENTRIES_PER_MESSAGE_MAX;
/** Heartbeat intervals without an Accepted reply from a peer before the leader resends its open slots. */
export const PAXOS_RETRANSMIT_HEARTBEATS = 2;
/** Heartbeat intervals a catch-up (decided values) or snapshot chunk may stay unanswered before it is resent. */
export const PAXOS_CATCHUP_TIMEOUT_HEARTBEATS = 4;
/**
 * Configurations (with the slot each takes effect) kept in the hard state: those of every slot
 * after the snapshot, so a snapshot sent to a peer carries them. Past this bound only the ones
 * after the commit index are kept (one change at a time needs two).
 */
export const PAXOS_CONFIG_HISTORY_MAX = 16;
/**
 * Slots the commit index may move before the hard state is rewritten for it alone. The commit
 * index in the hard state only saves a restarted member from relearning decided slots, so it may
 * lag; everything safety rests on (the promise, repair marks, configurations) is written at once.
 */
export const PAXOS_COMMIT_PERSIST_STRIDE_SLOTS = 64;
/** Bits of a ballot number below the round: the member's ordinal. */
export const PAXOS_BALLOT_ORDINAL_BITS = 16;
// HTTP/2 and gRPC (src/api/http2, src/api/grpc). Per-connection memory is bounded by these: frames
// by H2_FRAME_BYTES_MAX, header blocks by H2_HEADER_BLOCK_BYTES_MAX, unread input by the stream
// windows, unsent output by H2_STREAM_SEND_BUFFER_BYTES_MAX and H2_OUTPUT_BYTES_MAX.

/** The SETTINGS_MAX_FRAME_SIZE we advertise: the largest frame we accept (the protocol minimum). */
export const H2_FRAME_BYTES_MAX = 16 * 1024;
/** Receive window of each stream (SETTINGS_INITIAL_WINDOW_SIZE we advertise). */
export const H2_STREAM_WINDOW_BYTES = 1024 * 1024;
/** Receive window of the whole connection (raised from 64 KiB by a WINDOW_UPDATE at start). */
export const H2_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Streams a peer may have open on one connection at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
export const H2_CONCURRENT_STREAMS_MAX = 1024;
/** Decoded header list of one HEADERS block (SETTINGS_MAX_HEADER_LIST_SIZE): gRPC metadata. */
export const H2_HEADER_LIST_BYTES_MAX = 64 * 1024;
/** Compressed header block accumulated over HEADERS + CONTINUATION frames. */
export const H2_HEADER_BLOCK_BYTES_MAX = 64 * 1024;
/** HPACK dynamic table size, ours to decode and the cap on the one we encode with. */
export const H2_HPACK_TABLE_BYTES = 4096;
/** Bytes queued on one stream waiting for flow-control window before `write` makes the writer wait. */
export const H2_STREAM_SEND_BUFFER_BYTES_MAX = 1024 * 1024;
/** Bytes written to a socket but not yet taken by the kernel before we stop reading from the peer. */
export const H2_OUTPUT_BYTES_MAX = 8 * 1024 * 1024;
/** Frames that do no work (PING, SETTINGS, empty DATA, PRIORITY, unknown) between two that do. */
export const H2_IDLE_FRAMES_MAX = 10_000;
/** Streams the peer may reset beyond those that completed normally (rapid-reset defence). */
export const H2_RESET_STREAMS_EXCESS_MAX = 1000;
/** Time a server gives in-flight streams to finish after GOAWAY before closing the connection. */
export const H2_SHUTDOWN_GRACE_MS = 10_000;
/** Time a new connection on the shared port has to send its first bytes. */
export const H2_FIRST_BYTES_TIMEOUT_MS = 10_000;
/** gRPC message a server accepts: etcd's --max-request-bytes plus etcd's 512 KiB of gRPC overhead. */
export const GRPC_SERVER_RECEIVE_MESSAGE_BYTES_MAX = REQUEST_BYTES_MAX + 512 * 1024;
/** gRPC message our client accepts by default (etcd's clients allow 2 GiB; a snapshot chunk is small). */
export const GRPC_CLIENT_RECEIVE_MESSAGE_BYTES_MAX = 256 * 1024 * 1024;
/** Calls a client channel holds while the server's stream limit is reached. */
export const GRPC_CLIENT_PENDING_CALLS_MAX = 16 * 1024;
/** Time a client channel waits for a TCP connection before failing calls with UNAVAILABLE. */
export const GRPC_CONNECT_TIMEOUT_MS = 5000;

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
assert(WAL_SEGMENT_BYTES_MIN <= WAL_SEGMENT_BYTES_DEFAULT, 'the default segment size is allowed');
assert(WAL_ENTRY_BYTES_MAX >= REQUEST_BYTES_MAX * 2, 'a log entry holds the largest request with room to spare');
assert(WAL_ENTRY_BYTES_MAX <= WAL_BATCH_BYTES_MAX * 4, 'an oversized entry is a batch of its own, not a different regime');
assert(WAL_PENDING_BYTES_MAX >= WAL_ENTRY_BYTES_MAX * 8, 'several of the largest entries can wait for a batch');
assert(WAL_HARD_STATE_BYTES_MAX + 256 < WAL_COMMIT_COPY_SPACING_BYTES, 'a commit frame fits in one copy spacing');
assert(WAL_COMMIT_COPY_SPACING_BYTES % WAL_RECOVERY_SECTOR_BYTES === 0, 'commit copies straddle whole sectors');
assert(WAL_RECOVERY_READ_CHUNK_BYTES % WAL_RECOVERY_SECTOR_BYTES === 0, 'chunks split into whole sectors');
assert(SNAPSHOT_CHUNK_BYTES <= SNAPSHOT_READ_BYTES_MAX, 'a snapshot chunk can be read in one call');
assert(SNAPSHOT_TRAILER_BYTES_MAX >= MEMBERS_MAX * 64, 'a trailer holds the largest configuration');
assert(PAXOS_ALPHA_SLOTS >= 2, 'the alpha window holds a config entry and the slot after it');
assert(PAXOS_ALPHA_SLOTS <= INFLIGHT_MESSAGES_MAX * ENTRIES_PER_MESSAGE_MAX, 'a window of slots fits in the pipeline');
assert(PAXOS_PROMISE_ENTRIES_MAX <= ENTRIES_PER_MESSAGE_MAX, 'a promise is an ordinary-sized message');
assert(PAXOS_CONFIG_HISTORY_MAX >= 2, 'the config in force and the one decided but not yet in force');
assert(PAXOS_BALLOT_ORDINAL_BITS <= 20, 'ballot rounds keep at least 2^33 values below 2^53');

// ---------------------------------------------------------------------------------------------
// Peer transport (src/transport).

/** Largest frame a member accepts from a peer: one append message or snapshot chunk plus headroom. */
export const PEER_FRAME_BYTES_MAX = 4 * 1024 * 1024;
/** Bytes queued for one peer lane before further messages are dropped (the protocols retransmit). */
export const PEER_QUEUE_BYTES_MAX = 16 * 1024 * 1024;
/** Interval of link liveness pings, which also measure the round-trip time. */
export const PEER_PING_INTERVAL_MS = 250;
/** A link that answered nothing for this long is dead: fail over to the peer's next address. */
export const PEER_LINK_DEAD_MS = 1500;
/** Reconnection backoff: first delay and cap; each failure doubles it, with jitter. */
export const PEER_BACKOFF_MS_MIN = 50;
export const PEER_BACKOFF_MS_MAX = 2000;
/** While on a secondary address, how often to try the preferred one again. */
export const PEER_PREFERRED_RETRY_MS = 2000;
/** How long a connection may take to complete the handshake. */
export const PEER_HANDSHAKE_TIMEOUT_MS = 3000;
/** Incoming peer connections one member accepts at once (2 lanes per peer plus stragglers). */
export const PEER_CONNECTIONS_MAX = 4 * MEMBERS_MAX;
/** Peer RPCs (forwarded lease renewals, hash checks) waiting for an answer. */
export const PEER_RPC_PENDING_MAX = 4096;
/** Default deadline of a peer RPC. */
export const PEER_RPC_TIMEOUT_MS = 5000;

assert(PEER_FRAME_BYTES_MAX >= MESSAGE_BYTES_MAX + 64 * 1024, 'a full append message fits in a peer frame');
assert(PEER_FRAME_BYTES_MAX >= SNAPSHOT_CHUNK_BYTES + 64 * 1024, 'a snapshot chunk fits in a peer frame');
assert(PEER_QUEUE_BYTES_MAX >= 2 * PEER_FRAME_BYTES_MAX, 'a peer queue holds at least two full frames');
assert(PEER_LINK_DEAD_MS >= 4 * PEER_PING_INTERVAL_MS, 'several pings are missed before a link is declared dead');

// ---------------------------------------------------------------------------------------------
// Server configuration defaults (etcd's, so operators find what they expect).

/** etcd's --heartbeat-interval default. */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 100;
/** etcd's --election-timeout default. */
export const ELECTION_TIMEOUT_MS_DEFAULT = 1000;
/**
 * Entries applied between snapshots: etcd 3.4's --snapshot-count default. etcd 3.6 lowered it to
 * 10,000 because its snapshot is nearly free (the bbolt file is already on disk); ours serializes
 * and checksums the whole store, which at 10,000 took 20-45% of each member's CPU under a put load
 * over 100k keys (docs/benchmarks.md, "Cluster: Bulwark vs etcd").
 */
export const SNAPSHOT_COUNT_DEFAULT = 100_000;
/** etcd's --quota-backend-bytes default (2 GiB) and suggested maximum (8 GiB). */
export const QUOTA_BACKEND_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024;
export const QUOTA_BACKEND_BYTES_MAX = 8 * 1024 * 1024 * 1024;
/** Snapshots kept on disk (etcd's --max-snapshots). */
export const SNAPSHOTS_KEPT = 5;

assert(ELECTION_TIMEOUT_MS_DEFAULT >= 5 * HEARTBEAT_INTERVAL_MS_DEFAULT, 'election timeout spans several heartbeats');

// ---------------------------------------------------------------------------------------------
// Load balancer (src/lb). Defaults follow HAProxy (health checks) and Envoy (outlier detection,
// panic threshold, circuit breakers); the retry budget follows Finagle.

/** Backends in one balancer (primaries and backups together, draining ones included). */
export const LB_BACKENDS_MAX = 1024;
/** A backend's weight is in [1, LB_WEIGHT_MAX]. */
export const LB_WEIGHT_MAX = 1000;
/** Active health check period (HAProxy `inter`). */
export const LB_HEALTH_INTERVAL_MS_DEFAULT = 2000;
/** A health check that has not answered by then failed (HAProxy `timeout check`). */
export const LB_HEALTH_TIMEOUT_MS_DEFAULT = 1000;
/** Consecutive successful checks that bring a down backend up (HAProxy `rise`). */
export const LB_HEALTH_RISE_DEFAULT = 2;
/** Consecutive failed checks that take an up backend down (HAProxy `fall`). */
export const LB_HEALTH_FALL_DEFAULT = 3;
/** Bounds on the health settings an operator may give. */
export const LB_HEALTH_INTERVAL_MS_MIN = 10;
export const LB_HEALTH_THRESHOLD_MAX = 100;
/** Outlier detection (Envoy's defaults). */
export const LB_OUTLIER_CONSECUTIVE_5XX_DEFAULT = 5;
export const LB_OUTLIER_CONSECUTIVE_GATEWAY_FAILURE_DEFAULT = 5;
export const LB_OUTLIER_INTERVAL_MS_DEFAULT = 10_000;
export const LB_OUTLIER_BASE_EJECTION_MS_DEFAULT = 30_000;
export const LB_OUTLIER_MAX_EJECTION_MS_DEFAULT = 300_000;
export const LB_OUTLIER_MAX_EJECTION_PERCENT_DEFAULT = 10;
/** Below this share of healthy primaries the balancer ignores health (Envoy's panic threshold). */
export const LB_PANIC_THRESHOLD_PERCENT_DEFAULT = 50;
/** Retry budget (Finagle): retries may add this percentage of requests ... */
export const LB_RETRY_BUDGET_PERCENT_DEFAULT = 20;
/** ... on top of this many retries per second ... */
export const LB_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT = 10;
/** ... counted over a sliding window this long. */
export const LB_RETRY_BUDGET_WINDOW_MS = 10_000;
/** Buckets the retry-budget window is counted in. */
export const LB_RETRY_BUDGET_BUCKETS = 10;
/** Retries of one request (each on a backend not tried yet). */
export const LB_RETRIES_PER_REQUEST_DEFAULT = 2;
export const LB_RETRIES_PER_REQUEST_MAX = 10;
/** Circuit breakers (Envoy's defaults): connections, requests waiting for a connection, requests in flight, retries in flight. */
export const LB_MAX_CONNECTIONS_DEFAULT = 1024;
export const LB_MAX_PENDING_REQUESTS_DEFAULT = 1024;
export const LB_MAX_REQUESTS_DEFAULT = 1024;
export const LB_MAX_RETRIES_DEFAULT = 3;
/** A removed backend's in-flight requests get this long to finish before its connections are cut. */
export const LB_DRAIN_TIMEOUT_MS_DEFAULT = 30_000;
/** L4: after the backend has closed, a client that keeps its half of the connection open is cut after this long. */
export const LB_HALF_CLOSE_LINGER_MS = 5000;
/** Connecting to a backend. */
export const LB_CONNECT_TIMEOUT_MS_DEFAULT = 3000;
/** Waiting for a backend's response headers (HTTP/1.1 and plain HTTP/2; gRPC streams have none). */
export const LB_RESPONSE_TIMEOUT_MS_DEFAULT = 30_000;
/** A request body kept to replay on a retry; a larger body is streamed and the request not retried. */
export const LB_RETRY_BODY_BYTES_MAX = 64 * 1024;
/**
 * Ring hash points per unit of weight. Fixed (as Ketama's 160 per server), not scaled to a ring size,
 * so that adding a backend does not take points from the others: only the newcomer's keys move.
 */
export const LB_RING_HASH_POINTS_PER_WEIGHT = 256;
/** Ring size cap (Envoy's maximum_ring_size); a larger pool gets fewer points per weight. */
export const LB_RING_HASH_SIZE_MAX = 8 * 1024 * 1024;
/** Maglev lookup table size: a prime, Envoy's default. */
export const LB_MAGLEV_TABLE_SIZE = 65537;
/** Random hosts compared by the power-of-two-choices policy. */
export const LB_P2C_CHOICES = 2;
/** Cluster-aware mode: how often members and the leader are polled, and how long one poll RPC may take. */
export const LB_CLUSTER_POLL_INTERVAL_MS_DEFAULT = 1000;
export const LB_CLUSTER_RPC_TIMEOUT_MS = 2000;
/** Cluster-aware mode: how long a request waits for a leader to be found before UNAVAILABLE. */
export const LB_CLUSTER_LEADER_WAIT_MS = 5000;
/** The first gRPC message of a request is buffered (to peek at RangeRequest.serializable) up to this size. */
export const LB_GRPC_PEEK_BYTES_MAX = REQUEST_BYTES_MAX + 5;
/** A config file larger than this is refused. */
export const LB_CONFIG_BYTES_MAX = 1024 * 1024;
/** A reload triggered by file changes waits this long for the writes to settle. */
export const LB_CONFIG_RELOAD_DEBOUNCE_MS = 200;

assert(LB_HEALTH_TIMEOUT_MS_DEFAULT <= LB_HEALTH_INTERVAL_MS_DEFAULT, 'a health check ends before the next starts');
assert(LB_OUTLIER_BASE_EJECTION_MS_DEFAULT <= LB_OUTLIER_MAX_EJECTION_MS_DEFAULT, 'the ejection cap is above the base');
assert(LB_BACKENDS_MAX * LB_RING_HASH_POINTS_PER_WEIGHT <= LB_RING_HASH_SIZE_MAX, 'a pool of weight-1 backends gets full points');
assert(LB_MAGLEV_TABLE_SIZE > LB_BACKENDS_MAX * 10, 'maglev table is much larger than the pool');
assert(LB_RETRY_BUDGET_WINDOW_MS % LB_RETRY_BUDGET_BUCKETS === 0, 'retry budget buckets divide the window');
assert(LB_RETRIES_PER_REQUEST_DEFAULT <= LB_RETRIES_PER_REQUEST_MAX, 'default retries within the bound');
assert(LB_GRPC_PEEK_BYTES_MAX > REQUEST_BYTES_MAX, 'a peeked gRPC message holds a whole request');
assert(H2_FRAME_BYTES_MAX >= 16 * 1024 && H2_FRAME_BYTES_MAX < 1 << 24, 'frame size within the protocol range');
assert(H2_STREAM_WINDOW_BYTES <= H2_CONNECTION_WINDOW_BYTES, 'one stream cannot hold the whole connection window');
assert(H2_CONNECTION_WINDOW_BYTES < 2 ** 31, 'windows fit in 31 bits');
assert(H2_HEADER_BLOCK_BYTES_MAX >= H2_FRAME_BYTES_MAX, 'a header block may span at least one frame');
assert(GRPC_SERVER_RECEIVE_MESSAGE_BYTES_MAX > REQUEST_BYTES_MAX, 'the largest request fits in one gRPC message');
assert(H2_STREAM_SEND_BUFFER_BYTES_MAX < H2_OUTPUT_BYTES_MAX, 'one stream cannot fill the socket budget alone');
// Linearizability checker (src/check).

/** Search steps per key before the checker answers "unknown" (the problem is NP-complete). */
export const LINEARIZABILITY_SEARCH_STEPS_MAX = 50_000_000;
/** Window starts tried when narrowing a violation to a small witness. */
export const LINEARIZABILITY_WINDOW_TRIES_MAX = 256;

assert(LINEARIZABILITY_WINDOW_TRIES_MAX > 0, 'at least one window is tried');

// ---------------------------------------------------------------------------------------------
// Simulator (src/sim). Times are virtual milliseconds.

/** Key and value sizes of the simulator's register workload. */
export const SIM_KEY_BYTES_MAX = 64;
export const SIM_VALUE_BYTES_MAX = 64;
/** Pieces a KV snapshot is produced in (small, so a snapshot is written between other work). */
export const SIM_SNAPSHOT_PIECE_BYTES = 512;
/** Members of a simulated cluster. */
export const SIM_CLUSTER_SIZE_MAX = 7;
/** Events one simulation may run before it is declared stuck (a livelock guard). */
export const SIM_EVENTS_MAX = 5_000_000;
/** Client attempts per operation before it is recorded as indeterminate. */
export const SIM_CLIENT_ATTEMPTS_MAX = 6;

assert(SIM_CLUSTER_SIZE_MAX <= MEMBERS_MAX, 'a simulated cluster is a legal cluster');
assert(SIM_SNAPSHOT_PIECE_BYTES <= SNAPSHOT_CHUNK_BYTES, 'a snapshot piece fits in a chunk');

// ---------------------------------------------------------------------------------------------
// Benchmark tool (src/bench, `bulwark bench`).

/** Requests in flight at once, and connections they share. */
export const BENCH_CONCURRENCY_MAX = 32_768;
export const BENCH_CONNECTIONS_MAX = 1024;
/** Watch streams of the watch fan-out workload. */
export const BENCH_WATCHERS_MAX = 10_000;
/** Distinct keys, and value size (etcd refuses requests above 1.5 MiB). */
export const BENCH_KEY_COUNT_MAX = 10_000_000;
export const BENCH_VALUE_BYTES_MAX = 1024 * 1024;
/** Writers filling the key space before a read workload. */
export const BENCH_PRELOAD_CONCURRENCY = 64;
/** Distinct error messages a run keeps counts of (the rest are counted, not named). */
export const BENCH_ERROR_KINDS_MAX = 16;
/** How often the progress bar is redrawn. */
export const BENCH_PROGRESS_INTERVAL_MS = 250;
/** A worker's pause after a failed request, so a refusing server is not met with a spin. */
export const BENCH_ERROR_BACKOFF_MS = 10;
/** After the last put of a watch run, how long to wait for events still on their way. */
export const BENCH_WATCH_DRAIN_MS_MAX = 5000;
/** Rounds of `--compare` (A B A B ...). */
export const BENCH_COMPARE_ROUNDS_MAX = 100;
/** Latency histogram: exact below 2^bits, then 2^(bits-1) buckets per power of two (0.8 % error). */
export const HISTOGRAM_SUB_BUCKET_BITS = 8;
/** Largest value recorded (µs): one hour; larger values are clamped and counted as such. */
export const HISTOGRAM_VALUE_MAX = 3_600_000_000;

assert(BENCH_CONNECTIONS_MAX <= BENCH_CONCURRENCY_MAX, 'every connection can carry a request');
assert(BENCH_VALUE_BYTES_MAX < REQUEST_BYTES_MAX, 'a benchmark value fits in a request');
assert(HISTOGRAM_SUB_BUCKET_BITS >= 2 && HISTOGRAM_SUB_BUCKET_BITS <= 16, 'histogram precision in a sane range');
assert(HISTOGRAM_VALUE_MAX < 2 ** 52, 'histogram values are exact doubles');

// ---------------------------------------------------------------------------------------------
// Chaos tool (src/chaos, `bulwark chaos`).

/** Bytes a fault-injecting proxy holds for one direction of one connection (delayed, not yet sent). */
export const PROXY_QUEUE_BYTES_MAX = 4 * 1024 * 1024;
/** Looks at /proc for the process that dialed a proxied connection before calling it unknown. */
export const CHAOS_SOCKET_OWNER_TRIES = 20;
/** Deadline of an administrative call (member add/remove, move leader). */
export const CHAOS_ADMIN_TIMEOUT_MS = 5000;
/** Between two /health polls of a starting member. */
export const CHAOS_HEALTH_POLL_MS = 100;
/** SIGTERM before SIGKILL when a run stops its members. */
export const CHAOS_STOP_GRACE_MS = 3000;
/** After the load: how long every member gets to come back healthy. */
export const CHAOS_RECOVERY_TIMEOUT_MS = 30_000;
/** After recovery, before the final reads: replication catches up. */
export const CHAOS_SETTLE_MS = 1000;
/** A client's pause after an operation that did not succeed (no spinning on a dead member). */
export const CHAOS_CLIENT_BACKOFF_MS = 100;
/** Progress lines during the load. */
export const CHAOS_PROGRESS_INTERVAL_MS = 2000;
/** Anomalies of one type listed in the report (all are counted). */
export const CHAOS_ANOMALIES_PER_TYPE_MAX = 10;
/** Linearizability search steps per key before "unknown" (a key's history is bounded below). */
export const CHAOS_LINEARIZABILITY_STEPS_MAX = 5_000_000;
/** Register: operations per key before it retires, and keys in use at once. */
export const CHAOS_REGISTER_OPS_PER_KEY = 150;
export const CHAOS_REGISTER_KEYS_AT_ONCE = 4;
/** List append: operations per key, keys at once, and attempts of one append under contention. */
export const CHAOS_LIST_OPS_PER_KEY = 100;
export const CHAOS_LIST_KEYS_AT_ONCE = 4;
export const CHAOS_APPEND_TRIES_MAX = 10;
/** Set: elements per set before a new set (prefix) starts, so reads stay small. */
export const CHAOS_SET_ELEMENTS_PER_SET = 1000;
/** Watch: progress requests, the silence after which a stream is abandoned, and the catch-up after healing. */
export const CHAOS_WATCH_PROGRESS_MS = 1000;
export const CHAOS_WATCH_STALL_MS = 4000;
export const CHAOS_WATCH_CATCHUP_MS = 20_000;
/** Lock: locks contended for, and the TTL of each holder's lease (etcd's minimum is about 1.5 election timeouts). */
export const CHAOS_LOCK_NAMES = 2;
export const CHAOS_LOCK_TTL_SECONDS = 3;
/** Timeline picture: operations drawn (the rest thinned) and width. */
export const CHAOS_TIMELINE_OPS_MAX = 60_000;
export const CHAOS_TIMELINE_WIDTH_PX_MAX = 24_000;

assert(CHAOS_WATCH_STALL_MS > 2 * CHAOS_WATCH_PROGRESS_MS, 'a stream is abandoned only after several unanswered progress requests');
assert(CHAOS_REGISTER_OPS_PER_KEY * CHAOS_REGISTER_KEYS_AT_ONCE <= 1000, 'a register key history stays small enough to search');
assert(CHAOS_LINEARIZABILITY_STEPS_MAX <= LINEARIZABILITY_SEARCH_STEPS_MAX, 'the chaos budget is within the checker bound');
assert(PROXY_QUEUE_BYTES_MAX >= PEER_FRAME_BYTES_MAX, 'a proxy can hold one full peer frame');

// ---------------------------------------------------------------------------------------------
// RAID volumes (src/storage).

/** Members of a volume (RAID-1 copies or RAID-5 columns). */
export const RAID_MEMBERS_MAX = 16;
/** RAID-1 needs two copies to be redundant at all. */
export const RAID1_MEMBERS_MIN = 2;
/** RAID-5 needs two data columns and a parity column. */
export const RAID5_MEMBERS_MIN = 3;
/** Chunk (stripe unit) sizes: a power of two in this range (md's default is 512 KiB); each chunk has its own CRC32C. */
export const RAID_CHUNK_BYTES_MIN = 4 * 1024;
export const RAID_CHUNK_BYTES_MAX = 512 * 1024;
export const RAID_CHUNK_BYTES_DEFAULT = 64 * 1024;
/** Stripe images kept in memory (clean ones are evicted least recently used first). */
export const RAID_STRIPE_CACHE_BYTES_MAX = 32 * 1024 * 1024;
/** Unflushed (dirty) stripe bytes; beyond it a write flushes first, so memory stays bounded. */
export const RAID_DIRTY_BYTES_MAX = 8 * 1024 * 1024;
/** Journal bytes on one member before a checkpoint empties it (opening reads a whole journal into memory). */
export const RAID_JOURNAL_BYTES_MAX = 64 * 1024 * 1024;
/**
 * One journal record: the dirty data of one flush plus its metadata. A flush carries at most the
 * dirty bytes (and parity for them) plus metadata, so this bounds what open() will read per record.
 */
export const RAID_JOURNAL_RECORD_BYTES_MAX = 4 * RAID_DIRTY_BYTES_MAX + 16 * 1024 * 1024;
/** Member file handles kept open per member (clean ones are closed least recently used first). */
export const RAID_MEMBER_HANDLES_MAX = 256;
/** The checkpointed metadata (namespace, sizes, checksums) of one volume. */
export const RAID_META_BYTES_MAX = 256 * 1024 * 1024;
/** A superblock. */
export const RAID_SUPERBLOCK_BYTES_MAX = 64 * 1024;
/** A path inside a volume. */
export const RAID_PATH_BYTES_MAX = 4096;
/** Bytes of one member rebuilt or scrubbed while holding the volume lock (the rest of the time it serves). */
export const RAID_RESYNC_STEP_BYTES = 1024 * 1024;
/** Default rebuild and scrub rates (md's speed_limit_max is 200 MB/s; we default lower to stay out of the way). */
export const RAID_REBUILD_BYTES_PER_SEC_DEFAULT = 64 * 1024 * 1024;
export const RAID_SCRUB_BYTES_PER_SEC_DEFAULT = 32 * 1024 * 1024;
/** The slowest rate a rebuild or scrub may be throttled to (md's speed_limit_min is 1 MB/s). */
export const RAID_RESYNC_BYTES_PER_SEC_MIN = 64 * 1024;
/** How often a running rebuild or scrub writes its progress into the superblocks, for `raid status`. */
export const RAID_PROGRESS_PERSIST_BYTES = 64 * 1024 * 1024;
/**
 * How often a flush also reads every member's superblock by path. Writes go to open handles, which
 * keep working on a directory that was deleted or unmounted; a fresh read notices.
 */
export const RAID_PROBE_INTERVAL_MS = 1000;

assert(RAID5_MEMBERS_MIN <= RAID_MEMBERS_MAX && RAID1_MEMBERS_MIN <= RAID_MEMBERS_MAX, 'RAID member bounds are ordered');
assert(RAID_CHUNK_BYTES_MIN <= RAID_CHUNK_BYTES_DEFAULT && RAID_CHUNK_BYTES_DEFAULT <= RAID_CHUNK_BYTES_MAX, 'the default chunk is in range');
assert(RAID_DIRTY_BYTES_MAX >= (RAID_MEMBERS_MAX - 1) * RAID_CHUNK_BYTES_MAX, 'at least one full stripe can be dirty');
assert(RAID_STRIPE_CACHE_BYTES_MAX >= 2 * RAID_DIRTY_BYTES_MAX, 'dirty stripes leave room in the cache for clean ones');
assert(RAID_JOURNAL_RECORD_BYTES_MAX >= 2 * RAID_DIRTY_BYTES_MAX, 'a journal record holds a full flush (data and parity)');
assert(RAID_JOURNAL_BYTES_MAX >= RAID_JOURNAL_RECORD_BYTES_MAX, 'a journal holds at least one record');
assert(RAID_RESYNC_STEP_BYTES >= RAID_CHUNK_BYTES_MAX / 4, 'a resync step is a few chunks at least');
assert(RAID_RESYNC_BYTES_PER_SEC_MIN <= RAID_SCRUB_BYTES_PER_SEC_DEFAULT, 'the default scrub rate is above the floor');

// ---------------------------------------------------------------------------------------------
// Raft core (src/raft).

/**
 * Bytes of one log entry's data. Larger than a request so a request plus its header fits; the
 * server checks REQUEST_BYTES_MAX before proposing, so a larger entry is a programmer error.
 */
export const RAFT_ENTRY_BYTES_MAX = REQUEST_BYTES_MAX + 64 * 1024;
/** Snapshot chunks a leader keeps in flight to one follower before waiting for acknowledgements. */
export const RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX = 4;
/** Election timeouts without an acknowledgement before a leader restarts a snapshot transfer. */
export const RAFT_SNAPSHOT_TIMEOUT_ELECTIONS = 2;
/** Received snapshot chunks queued for the next Readys (one chunk goes out per Ready). */
export const RAFT_SNAPSHOT_CHUNKS_QUEUED_MAX = RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX;
/** Committed entries handed out in one Ready; the rest follow in the next. */
export const RAFT_COMMITTED_ENTRIES_PER_READY_MAX = 16 * 1024;
/** Bytes of committed entry data handed out in one Ready (an entry larger than this goes alone). */
export const RAFT_COMMITTED_BYTES_PER_READY_MAX = 64 * 1024 * 1024;
/** Election timeouts a read request may wait (for a quorum, or for a leader's answer) before it is dropped. */
export const RAFT_READ_TIMEOUT_ELECTIONS = 2;

assert(RAFT_ENTRY_BYTES_MAX >= REQUEST_BYTES_MAX, 'a request fits in an entry');
assert(RAFT_ENTRY_BYTES_MAX <= 2 * MESSAGE_BYTES_MAX, 'one entry alone in an append stays near the message bound');
assert(RAFT_SNAPSHOT_CHUNKS_QUEUED_MAX >= RAFT_SNAPSHOT_CHUNKS_INFLIGHT_MAX, 'a follower can queue a whole window of chunks');
assert(RAFT_COMMITTED_ENTRIES_PER_READY_MAX >= ENTRIES_PER_MESSAGE_MAX, 'a Ready applies at least one append worth of entries');
assert(RAFT_COMMITTED_BYTES_PER_READY_MAX >= MESSAGE_BYTES_MAX, 'a Ready applies at least one append worth of bytes');
assert(INFLIGHT_MESSAGES_MAX >= 1 && ENTRIES_PER_MESSAGE_MAX >= 1, 'replication can make progress');

// ---------------------------------------------------------------------------------------------
// Member runtime (src/server).

/**
 * Client writes waiting for their entry to be applied on one member; beyond it: "too many requests".
 * It also bounds how much one Ready carries: with 16k a flooded leader spent over an election
 * timeout on one Ready, lost leadership, and every admitted write failed (docs/benchmarks.md,
 * "Cluster: Bulwark vs etcd", "Overload"). A few thousand keeps the pipeline full at any load we
 * can serve (throughput x latency is a few hundred).
 */
export const PROPOSALS_PENDING_MAX = 4 * 1024;
/** Linearizable reads waiting for their read index on one member; beyond it: "too many requests". */
export const READS_PENDING_MAX = 16 * 1024;
/** etcd's request timeout: 5 s plus two election timeouts (the election part is added at run time). */
export const REQUEST_TIMEOUT_MS_BASE = 5000;
/** How often the leader's lessor looks for expired leases and due checkpoints. */
export const LESSOR_TICK_MS = 250;
/** How often a member retries publishing its name and client URLs until the cluster has them. */
export const PUBLISH_RETRY_MS = 1000;
/** How often the watch hub sends periodic progress notifications (etcd's default is 10 minutes). */
export const WATCH_PROGRESS_INTERVAL_MS = 10 * 60 * 1000;
/** How long a joining member waits for an existing member to describe the cluster. */
export const CLUSTER_QUERY_TIMEOUT_MS = 5000;
/** How long a member starting on an empty data directory waits for each peer to say how far it committed. */
export const REJOIN_QUERY_TIMEOUT_MS = 1000;
/** A learner may be promoted only when its log is within this many entries of the leader's. */
export const LEARNER_PROMOTE_LAG_ENTRIES_MAX = 1000;
/** Open gRPC connections on one client listener. */
export const CLIENT_CONNECTIONS_MAX = 4096;

assert(PROPOSALS_PENDING_MAX >= 1024 && READS_PENDING_MAX >= 1024, 'members queue enough requests for heavy load');
assert(LESSOR_TICK_MS <= LEASE_EXPIRY_RETRY_MS, 'the lessor looks for expiries more often than it retries them');

// ---------------------------------------------------------------------------------------------
// The etcd API surface (src/server: lock, election, JSON gateway, etcd-format snapshots).

/** TTL of the lease a Lock or Campaign without a lease gets (etcd's concurrency.NewSession default). */
export const CONCURRENCY_SESSION_TTL_SEC = 60;
/** Largest JSON body the gateway reads (etcd's 1.5 MiB request limit, base64 and JSON overhead on top). */
export const GATEWAY_BODY_BYTES_MAX = 4 * 1024 * 1024;
/** How long the gateway waits for a request's headers and body (slow-loris bound). */
export const GATEWAY_REQUEST_TIMEOUT_MS = 30_000;
/** Streaming gateway calls (watch, keep-alive) open at once on one member. */
export const GATEWAY_STREAMS_MAX = 1024;
/** Requests of one streaming gateway call read ahead of its handler before the body is paused. */
export const GATEWAY_QUEUED_REQUESTS_MAX = 64;
/** Bytes of an HTTP streaming response queued for a client that does not read before the stream is cut. */
export const GATEWAY_STREAM_BUFFER_BYTES_MAX = 4 * 1024 * 1024;
/** Snapshot stream chunk, as etcd's (32 KiB). */
export const ETCD_SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** bbolt page size of the etcd-format snapshot (bbolt uses the OS page size; 4 KiB on Linux). */
export const BBOLT_PAGE_BYTES = 4096;
/** A bbolt file larger than this is refused by the snapshot reader (etcd's largest quota). */
export const BBOLT_FILE_BYTES_MAX = 8 * 1024 * 1024 * 1024;

assert(GATEWAY_BODY_BYTES_MAX >= (REQUEST_BYTES_MAX * 4) / 3 + 1024, 'the gateway reads a largest request in base64');
assert(BBOLT_PAGE_BYTES >= 1024 && (BBOLT_PAGE_BYTES & (BBOLT_PAGE_BYTES - 1)) === 0, 'bbolt pages are a power of two');


// Failover client (src/client). Retry budget after Finagle; backoff and timeouts after etcd's
// clientv3 and etcdctl where they have one.

/** Deadline of one client call, retries included, when the caller gives none. */
export const CLIENT_CALL_TIMEOUT_MS_DEFAULT = 10_000;
/** Time to open a connection to one endpoint (etcdctl's --dial-timeout default). */
export const CLIENT_DIAL_TIMEOUT_MS_DEFAULT = 2000;
/** Endpoints one client is given (a cluster's members, with room for a proxy or two). */
export const CLIENT_ENDPOINTS_MAX = MEMBERS_MAX;
/** Backoff between attempts of one call: first delay and cap (each retry doubles it, with jitter). */
export const CLIENT_BACKOFF_MS_MIN = 25;
export const CLIENT_BACKOFF_MS_MAX = 1000;
/** Attempts of one call, whatever the budget and deadline allow. */
export const CLIENT_ATTEMPTS_PER_CALL_MAX = 64;
/** Retry budget: retries may add this percentage of calls ... */
export const CLIENT_RETRY_BUDGET_PERCENT_DEFAULT = 20;
/** ... on top of this many retries per second ... */
export const CLIENT_RETRY_BUDGET_MIN_PER_SECOND_DEFAULT = 10;
/** ... counted over a sliding window this long, in this many buckets. */
export const CLIENT_RETRY_BUDGET_WINDOW_MS = 10_000;
export const CLIENT_RETRY_BUDGET_BUCKETS = 10;
/** An endpoint that failed at the transport level is avoided for a while: first and longest pause. */
export const CLIENT_ENDPOINT_DOWN_MS_MIN = 100;
export const CLIENT_ENDPOINT_DOWN_MS_MAX = 5000;
/** Leader discovery (a Status round over the endpoints): deadline of one Status, least time between rounds. */
export const CLIENT_STATUS_TIMEOUT_MS = 1500;
export const CLIENT_LEADER_DISCOVERY_INTERVAL_MS_MIN = 200;
/** Writes of one client session in flight at once (below the server's kept responses per session). */
export const CLIENT_SESSION_INFLIGHT_MAX = 128;
/** Watchers of one client. */
export const CLIENT_WATCHERS_MAX = 10_000;
/** Events a watcher buffers for a slow reader before it pauses (cancels on the server, resumes later). */
export const CLIENT_WATCH_BUFFERED_EVENTS_MAX = 10_000;
/** Leases one client keeps alive. */
export const CLIENT_LEASES_KEPT_MAX = 10_000;
/** A kept-alive lease is renewed every TTL / this (etcd's clientv3 uses a third of the TTL). */
export const CLIENT_LEASE_KEEPALIVE_DIVISOR = 3;
/** Shortest and longest keep-alive period, whatever the TTL. */
export const CLIENT_LEASE_KEEPALIVE_MS_MIN = 200;
export const CLIENT_LEASE_KEEPALIVE_MS_MAX = 60_000;
/** A lease is in doubt when no keep-alive was confirmed for this share of its TTL (percent). */
export const CLIENT_LEASE_DOUBT_PERCENT = 60;
/** Client event listeners (a leak guard). */
export const CLIENT_EVENT_LISTENERS_MAX = 1024;
/** Recipes: entries one queue read takes at a time, and retries of one STM transaction. */
export const CLIENT_RECIPE_BATCH_MAX = 64;
export const CLIENT_STM_ATTEMPTS_MAX = 100;

assert(CLIENT_BACKOFF_MS_MIN > 0 && CLIENT_BACKOFF_MS_MIN < CLIENT_BACKOFF_MS_MAX, 'backoff grows from a positive floor');
assert(CLIENT_BACKOFF_MS_MAX < CLIENT_CALL_TIMEOUT_MS_DEFAULT, 'several retries fit in a default deadline');
assert(CLIENT_RETRY_BUDGET_WINDOW_MS % CLIENT_RETRY_BUDGET_BUCKETS === 0, 'client retry budget buckets divide the window');
assert(CLIENT_ENDPOINT_DOWN_MS_MIN < CLIENT_ENDPOINT_DOWN_MS_MAX, 'endpoint pause grows');
assert(CLIENT_STATUS_TIMEOUT_MS < CLIENT_CALL_TIMEOUT_MS_DEFAULT, 'a leader probe ends well within a call');
assert(CLIENT_LEASE_KEEPALIVE_DIVISOR >= 2, 'a lease is renewed at least twice per TTL');
assert(CLIENT_LEASE_DOUBT_PERCENT > 100 / CLIENT_LEASE_KEEPALIVE_DIVISOR && CLIENT_LEASE_DOUBT_PERCENT < 100, 'doubt comes after one missed renewal and before expiry');
assert(CLIENT_LEASE_KEEPALIVE_MS_MIN < CLIENT_LEASE_KEEPALIVE_MS_MAX, 'keep-alive period range');
/** One attempt of a retryable call waits this long for an answer before another member is tried. */
export const CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT = 4000;
/** Watch and keep-alive streams: a stream silent this long is probed; unanswered this long again, it is replaced. */
export const CLIENT_STREAM_PROBE_INTERVAL_MS = 2000;
export const CLIENT_STREAM_SILENCE_MS_MAX = 4000;

assert(CLIENT_ATTEMPT_TIMEOUT_MS_DEFAULT < CLIENT_CALL_TIMEOUT_MS_DEFAULT, 'a call outlives one stuck attempt');
assert(CLIENT_STREAM_PROBE_INTERVAL_MS < CLIENT_STREAM_SILENCE_MS_MAX, 'a probe has time to be answered');
assert(CLIENT_SESSION_INFLIGHT_MAX < SESSION_RESPONSES_MAX, 'a client never has more writes in flight than the server keeps responses for');

// ---------------------------------------------------------------------------------------------
// RAID in a running member (src/server/raid-*.ts, `bulwark raid --endpoint`, the simulator's volumes).

/** A failed member's reason is cut to this many characters in etcd's Status `errors` and the dashboard. */
export const RAID_STATUS_REASON_CHARS_MAX = 160;
/** How often `bulwark raid` asks a live member how its rebuild or scrub is going. */
export const RAID_ADMIN_POLL_INTERVAL_MS = 500;
/** How long `bulwark raid` waits for one answer of a live member's /raid endpoints. */
export const RAID_ADMIN_REQUEST_TIMEOUT_MS = 10_000;
/** Chunk of the simulator's volumes: the smallest, so a small write-ahead log spans many stripes. */
export const SIM_RAID_CHUNK_BYTES = RAID_CHUNK_BYTES_MIN;

assert(RAID_ADMIN_POLL_INTERVAL_MS <= RAID_PROBE_INTERVAL_MS, 'the CLI sees each probe of a live volume');
assert(RAID_ADMIN_REQUEST_TIMEOUT_MS >= 10 * RAID_ADMIN_POLL_INTERVAL_MS, 'a slow answer does not look like a dead member');

// ---------------------------------------------------------------------------------------------
// Performance under load (the real cluster; docs/benchmarks.md, "Cluster: Bulwark vs etcd").

/**
 * Bytes of client input all HTTP/2 connections of a process hand to their parsers in one turn of
 * the event loop; past it a socket pauses until the next turn. A flood of requests is then parsed
 * a slice at a time, and the timers in between (the consensus tick and the leader's heartbeats)
 * still run: without it a leader flooded by 20k calls stalled past an election timeout.
 */
export const H2_INPUT_BYTES_PER_TURN_MAX = 256 * 1024;

/** Strings whose HPACK Huffman encoding is remembered (unindexed values that repeat, like a refusal's grpc-message). */
export const HPACK_HUFFMAN_CACHE_ENTRIES_MAX = 256;
/** Longest string (in characters) whose Huffman encoding is remembered. */
export const HPACK_HUFFMAN_CACHE_STRING_BYTES_MAX = 64;

assert(H2_INPUT_BYTES_PER_TURN_MAX >= H2_FRAME_BYTES_MAX * 4, 'a turn parses several of the largest frames');
assert(HPACK_HUFFMAN_CACHE_ENTRIES_MAX * HPACK_HUFFMAN_CACHE_STRING_BYTES_MAX <= 64 * 1024, 'the Huffman cache stays small');

// --- The failover client inside the simulator (src/sim/client-simulation.ts) ---

/** A simulated client call's deadline, retries included (virtual ms): long, so leader crashes delay writes rather than fail them. */
export const CLIENT_SIM_CALL_TIMEOUT_MS = 60_000;
/** Virtual time a client simulation may take before it counts as stuck. */
export const CLIENT_SIM_RUN_MS_MAX = 30 * 60_000;
assert(CLIENT_SIM_CALL_TIMEOUT_MS < CLIENT_SIM_RUN_MS_MAX, 'a stuck call is found before the run gives up');
// ---------------------------------------------------------------------------------------------
// Automatic snapshots by size, and the pause they cost (docs/storage.md, "Automatic snapshots").

/**
 * Bytes of applied entry data between automatic snapshots (--snapshot-bytes), besides
 * --snapshot-count: with large values 100,000 entries could be many GiB of log to keep and replay.
 * An eighth of the default backend quota, so a full store is rewritten at most once per 256 MiB of
 * writes.
 */
export const SNAPSHOT_BYTES_DEFAULT = 256 * 1024 * 1024;
/** Largest --snapshot-bytes accepted (0 disables the byte trigger). */
export const SNAPSHOT_BYTES_SETTING_MAX = 64 * 1024 * 1024 * 1024;

assert(SNAPSHOT_BYTES_DEFAULT <= QUOTA_BACKEND_BYTES_DEFAULT, 'a store within its quota is snapshotted by size at least once');
assert(SNAPSHOT_BYTES_DEFAULT <= SNAPSHOT_BYTES_SETTING_MAX, 'the default is a valid setting');

// ---------------------------------------------------------------------------------------------
// Raft leader lease (leaseReads).

/**
 * Share of the election timeout a leader lease gives up, against the flight of the reply that
 * renewed it and clock-rate drift between members (at least one tick).
 */
export const RAFT_LEASE_MARGIN_PERCENT = 20;

assert(RAFT_LEASE_MARGIN_PERCENT > 0 && RAFT_LEASE_MARGIN_PERCENT < 100, 'a lease is shorter than an election timeout and not empty');

// ---------------------------------------------------------------------------------------------
// Atomic log reset with retained entries (LogStore.resetWith; a Paxos acceptor installing a
// snapshot keeps the values it accepted above it, docs/paxos.md "Installing a snapshot").

/** Entries one resetWith may carry: they share one batch with the reset record. */
export const LOG_RESET_RETAINED_ENTRIES_MAX = WAL_BATCH_RECORDS_MAX - 1;
/** Data bytes of the entries one resetWith may carry; beyond it the engine installs in two steps. */
export const LOG_RESET_RETAINED_BYTES_MAX = WAL_BATCH_BYTES_MAX;

assert(LOG_RESET_RETAINED_ENTRIES_MAX >= PAXOS_ALPHA_SLOTS, 'a window of accepted slots is kept in one step');
assert(LOG_RESET_RETAINED_BYTES_MAX <= WAL_PENDING_BYTES_MAX, 'the retained entries are no more than a caller may buffer');
