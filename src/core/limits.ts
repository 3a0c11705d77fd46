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
