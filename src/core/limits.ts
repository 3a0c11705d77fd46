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
/** Bits of a ballot number below the round: the member's ordinal. */
export const PAXOS_BALLOT_ORDINAL_BITS = 16;

// ---------------------------------------------------------------------------------------------
// Relationships.

assert(KEY_BYTES_MAX <= REQUEST_BYTES_MAX, 'a key fits in a request');
assert(MESSAGE_BYTES_MAX >= REQUEST_BYTES_MAX / 2, 'an append message holds at least one large request');
assert(ELECTION_TICKS_DEFAULT > HEARTBEAT_TICKS_DEFAULT * 2, 'election timeout spans several heartbeats');
assert(SNAPSHOT_CHUNK_BYTES <= MESSAGE_BYTES_MAX, 'a snapshot chunk fits in a message');
assert(LEARNERS_MAX < MEMBERS_MAX, 'learners are a minority of members');
assert(PAXOS_ALPHA_SLOTS >= 2, 'the alpha window holds a config entry and the slot after it');
assert(PAXOS_ALPHA_SLOTS <= INFLIGHT_MESSAGES_MAX * ENTRIES_PER_MESSAGE_MAX, 'a window of slots fits in the pipeline');
assert(PAXOS_PROMISE_ENTRIES_MAX <= ENTRIES_PER_MESSAGE_MAX, 'a promise is an ordinary-sized message');
assert(PAXOS_CONFIG_HISTORY_MAX >= 2, 'the config in force and the one decided but not yet in force');
assert(PAXOS_BALLOT_ORDINAL_BITS <= 20, 'ballot rounds keep at least 2^33 values below 2^53');
