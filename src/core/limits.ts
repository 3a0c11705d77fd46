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
