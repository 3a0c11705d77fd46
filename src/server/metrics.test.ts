import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from './metrics.js';

test('renders the Prometheus text format with labels, escaping and cumulative buckets', () => {
  const r = new Registry();
  const c = r.counter('etcd_server_leader_changes_seen_total', 'The number of leader changes seen.');
  const g = r.gauge('etcd_server_has_leader', 'Whether or not a leader exists. 1 is existence, 0 is not.');
  const h = r.histogram('etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.', [0.001, 0.01]);
  c.inc();
  c.inc(2);
  g.set(1);
  h.observe(0.0005);
  h.observe(0.005);
  h.observe(5);
  const p = r.counter('etcd_network_peer_sent_bytes_total', 'bytes');
  p.inc(10, { To: 'a"b\\c' });
  const text = r.render();
  assert.match(text, /^# HELP etcd_server_leader_changes_seen_total The number of leader changes seen\.$/m);
  assert.match(text, /^# TYPE etcd_server_leader_changes_seen_total counter$/m);
  assert.match(text, /^etcd_server_leader_changes_seen_total 3$/m);
  assert.match(text, /^etcd_server_has_leader 1$/m);
  assert.match(text, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.001"\} 1$/m);
  assert.match(text, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.01"\} 2$/m);
  assert.match(text, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="\+Inf"\} 3$/m);
  assert.match(text, /^etcd_disk_wal_fsync_duration_seconds_count 3$/m);
  assert.match(text, /^etcd_network_peer_sent_bytes_total\{To="a\\"b\\\\c"\} 10$/m);
  assert.throws(() => r.counter('etcd_server_has_leader', 'dup'), /twice/);
});
