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
assert(H2_FRAME_BYTES_MAX >= 16 * 1024 && H2_FRAME_BYTES_MAX < 1 << 24, 'frame size within the protocol range');
assert(H2_STREAM_WINDOW_BYTES <= H2_CONNECTION_WINDOW_BYTES, 'one stream cannot hold the whole connection window');
assert(H2_CONNECTION_WINDOW_BYTES < 2 ** 31, 'windows fit in 31 bits');
assert(H2_HEADER_BLOCK_BYTES_MAX >= H2_FRAME_BYTES_MAX, 'a header block may span at least one frame');
assert(GRPC_SERVER_RECEIVE_MESSAGE_BYTES_MAX > REQUEST_BYTES_MAX, 'the largest request fits in one gRPC message');
assert(H2_STREAM_SEND_BUFFER_BYTES_MAX < H2_OUTPUT_BYTES_MAX, 'one stream cannot fill the socket budget alone');
