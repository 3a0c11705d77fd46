/**
 * A member's Prometheus metrics, under etcd's names where one exists, so etcd dashboards and alert
 * rules work unchanged. Gauges are read from the member when scraped; counters and histograms are
 * fed as things happen.
 */
import type { NodeId } from '../core/ids.js';
import type { Entry } from '../consensus/types.js';
import { BULWARK_VERSION, ETCD_COMPAT_VERSION } from '../version.js';
import type { Member } from './member.js';
import { DISK_BUCKETS_S, RTT_BUCKETS_S, Registry, type Counter, type Gauge, type Histogram } from './metrics.js';
import { registerRuntimeMetrics, type RuntimeMetrics } from './runtime-metrics.js';

export class MemberMetrics {
  readonly registry = new Registry();
  readonly leaderChanges: Counter;
  readonly proposalsFailed: Counter;
  readonly proposalsPending: Gauge;
  readonly readIndexesFailed: Counter;
  readonly walFsync: Histogram;
  readonly peerRttS: Histogram;
  readonly grpcHandled: Counter;
  readonly grpcStarted: Counter;
  private readonly proposalsApplied: Counter;
  private readonly runtime: RuntimeMetrics;

  constructor(m: Member) {
    const r = this.registry;
    const g = (name: string, help: string, fn: () => number): Gauge => {
      const gauge = r.gauge(name, help);
      return gauge.collect(() => gauge.set(fn()));
    };
    g('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.', () => (m.leader === null ? 0 : 1));
    g('etcd_server_is_leader', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', () => (m.isLeader ? 1 : 0));
    g('etcd_server_is_learner', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', () => (m.isLearner ? 1 : 0));
    this.leaderChanges = r.counter('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.');
    g('etcd_server_proposals_committed_total', 'The total number of consensus proposals committed.', () => m.status().commitIndex);
    this.proposalsApplied = r.counter('etcd_server_proposals_applied_total', 'The total number of consensus proposals applied.');
    this.proposalsPending = r.gauge('etcd_server_proposals_pending', 'The current number of pending proposals to commit.');
    this.proposalsFailed = r.counter('etcd_server_proposals_failed_total', 'The total number of failed proposals seen.');
    this.readIndexesFailed = r.counter('etcd_server_read_indexes_failed_total', 'The total number of failed read indexes seen.');
    g('etcd_server_quota_backend_bytes', 'Current backend storage quota size in bytes.', () => m.kv.status().quotaBytes);
    const version = r.gauge('etcd_server_version', 'Which version is running. 1 for \'server_version\' label with current version.');
    version.set(1, { server_version: ETCD_COMPAT_VERSION, bulwark_version: BULWARK_VERSION });
    const id = r.gauge('etcd_server_id', 'Server or member ID in hexadecimal format. 1 for \'server_id\' label with current ID.');
    id.set(1, { server_id: m.id });
    g('etcd_mvcc_db_total_size_in_bytes', 'Total size of the underlying database physically allocated in bytes.', () => m.kv.status().sizeBytes);
    g('etcd_mvcc_db_total_size_in_use_in_bytes', 'Total size of the underlying database logically in use in bytes.', () => m.kv.status().sizeBytes);
    g('etcd_debugging_mvcc_keys_total', 'Total number of keys.', () => m.kv.status().keys);
    g('etcd_debugging_mvcc_current_revision', 'The current revision of store.', () => m.kv.status().revision);
    g('etcd_debugging_mvcc_compact_revision', 'The revision of the last compaction in store.', () => m.kv.status().compactRevision);
    g('etcd_debugging_mvcc_watcher_total', 'Total number of watchers.', () => m.kv.status().watchers);
    g('etcd_debugging_mvcc_slow_watcher_total', 'Total number of unsynced slow watchers.', () => m.kv.status().unsyncedWatchers);
    g('etcd_debugging_lease_total', 'The number of leases alive.', () => m.kv.status().leases);
    this.walFsync = r.histogram('etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.', DISK_BUCKETS_S);
    g('etcd_disk_wal_fsyncs_total', 'Number of WAL fsyncs (group commits).', () => m.driverCounters().fsyncs);
    g('bulwark_wal_entries_per_fsync_max', 'Most entries made durable by one fsync.', () => m.driverCounters().entriesPerSyncMax);
    g('bulwark_consensus_readies_total', 'Readies the consensus loop carried out.', () => m.driverCounters().readies);
    g('bulwark_consensus_entries_persisted_total', 'Log entries made durable by this member.', () => m.driverCounters().entriesPersisted);
    g('bulwark_consensus_messages_sent_total', 'Consensus messages handed to the peer transport.', () => m.driverCounters().messagesSent);
    g('bulwark_consensus_messages_received_total', 'Consensus messages received from peers.', () => m.driverCounters().messagesReceived);
    this.peerRttS = r.histogram('etcd_network_peer_round_trip_time_seconds', 'Round-Trip-Time histogram between peers.', RTT_BUCKETS_S);
    const sent = r.gauge('etcd_network_peer_sent_bytes_total', 'The total number of bytes sent to peers.');
    sent.collect(() => {
      sent.reset();
      for (const p of m.peerStats()) sent.set(p.control.bytesSent + p.bulk.bytesSent, { To: p.peer });
    });
    const received = r.gauge('etcd_network_peer_received_bytes_total', 'The total number of bytes received from peers (on the links this member dialed).');
    received.collect(() => {
      received.reset();
      for (const p of m.peerStats()) received.set(p.control.bytesReceived + p.bulk.bytesReceived, { From: p.peer });
    });
    g('etcd_network_active_peers', 'The current number of active peer connections.', () => m.transport.activePeers().length);
    const dropped = r.gauge('etcd_network_peer_sent_failures_total', 'Messages that could not be sent to a peer (link down or queue full).');
    dropped.collect(() => {
      dropped.reset();
      for (const p of m.peerStats()) dropped.set(p.control.framesDropped + p.bulk.framesDropped, { To: p.peer });
    });
    g('bulwark_snapshots_taken_total', 'Snapshots of the state machine saved by this member.', () => m.driverCounters().snapshotsTaken);
    g('bulwark_snapshots_failed_total', 'Automatic snapshots not taken because writing the temp file failed (ENOSPC); fsync failures are fatal instead.', () => m.driverCounters().snapshotsFailed);
    g('bulwark_storage_repairs_total', 'Episodes of damaged data found on this member\'s disk and repaired from its peers (the CORRUPT alarm raised, then cleared).', () => m.storageRepairs);
    g('bulwark_snapshots_installed_total', 'Snapshots received from a leader and installed.', () => m.driverCounters().snapshotsInstalled);
    g('etcd_server_snapshot_apply_in_progress_total', '1 if the server is applying the incoming snapshot. 0 if none.', () => 0);
    this.grpcStarted = r.counter('grpc_server_started_total', 'Total number of RPCs started on the server.');
    this.grpcHandled = r.counter('grpc_server_handled_total', 'Total number of RPCs completed on the server, regardless of success or failure.');
    this.runtime = registerRuntimeMetrics(r);
  }

  /** Stops sampling the process (event-loop delay, garbage collection). */
  stop(): void {
    this.runtime.stop();
  }

  applied(_e: Entry): void {
    this.proposalsApplied.inc();
  }

  leaderChanged(leader: NodeId | null): void {
    if (leader !== null) this.leaderChanges.inc();
  }

  peerRtt(peer: NodeId, ms: number): void {
    this.peerRttS.observe(ms / 1000, { To: peer });
  }

  render(): string {
    return this.registry.render();
  }
}
