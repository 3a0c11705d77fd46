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
// Relationships.

assert(KEY_BYTES_MAX <= REQUEST_BYTES_MAX, 'a key fits in a request');
assert(MESSAGE_BYTES_MAX >= REQUEST_BYTES_MAX / 2, 'an append message holds at least one large request');
assert(ELECTION_TICKS_DEFAULT > HEARTBEAT_TICKS_DEFAULT * 2, 'election timeout spans several heartbeats');
assert(SNAPSHOT_CHUNK_BYTES <= MESSAGE_BYTES_MAX, 'a snapshot chunk fits in a message');
assert(LEARNERS_MAX < MEMBERS_MAX, 'learners are a minority of members');

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
/** etcd 3.6's --snapshot-count default: entries applied between snapshots. */
export const SNAPSHOT_COUNT_DEFAULT = 10_000;
/** etcd's --quota-backend-bytes default (2 GiB) and suggested maximum (8 GiB). */
export const QUOTA_BACKEND_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024;
export const QUOTA_BACKEND_BYTES_MAX = 8 * 1024 * 1024 * 1024;
/** Snapshots kept on disk (etcd's --max-snapshots). */
export const SNAPSHOTS_KEPT = 5;

assert(ELECTION_TIMEOUT_MS_DEFAULT >= 5 * HEARTBEAT_INTERVAL_MS_DEFAULT, 'election timeout spans several heartbeats');

// ---------------------------------------------------------------------------------------------
// RAID volumes (src/storage).

/** Members of a volume (RAID-1 copies or RAID-5 columns). */
export const RAID_MEMBERS_MAX = 16;
/** RAID-1 needs two copies to be redundant at all. */
export const RAID1_MEMBERS_MIN = 2;
/** RAID-5 needs two data columns and a parity column. */
export const RAID5_MEMBERS_MIN = 3;
/** Chunk (stripe unit) sizes: a power of two in this range; each chunk has its own CRC32C. */
export const RAID_CHUNK_BYTES_MIN = 4 * 1024;
export const RAID_CHUNK_BYTES_MAX = 1024 * 1024;
export const RAID_CHUNK_BYTES_DEFAULT = 64 * 1024;
/** Stripe images kept in memory (clean ones are evicted least recently used first). */
export const RAID_STRIPE_CACHE_BYTES_MAX = 32 * 1024 * 1024;
/** Unflushed (dirty) stripe bytes; beyond it a write flushes first, so memory stays bounded. */
export const RAID_DIRTY_BYTES_MAX = 16 * 1024 * 1024;
/** Journal bytes on one member before a checkpoint empties it. */
export const RAID_JOURNAL_BYTES_MAX = 128 * 1024 * 1024;
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
