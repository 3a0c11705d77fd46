/**
 * A volume's health as Prometheus samples, for the server's /metrics: plain data, so the server
 * maps it onto its own registry (src/server/metrics.ts) without this package depending on it.
 */
import type { SlotState } from './superblock.js';
import type { VolumeStatus } from './volume-status.js';

export interface MetricSample {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SLOT_STATES: readonly SlotState[] = ['active', 'rebuilding', 'failed', 'missing'];

export function volumeMetrics(s: VolumeStatus): MetricSample[] {
  const volume = { volume: s.arrayId, level: String(s.level) };
  const out: MetricSample[] = [];
  const gauge = (name: string, help: string, value: number, labels: Record<string, string> = {}): void => {
    out.push({ name, help, type: 'gauge', labels: { ...volume, ...labels }, value });
  };
  const counter = (name: string, help: string, value: number, labels: Record<string, string> = {}): void => {
    out.push({ name, help, type: 'counter', labels: { ...volume, ...labels }, value });
  };
  gauge('bulwark_raid_degraded', '1 when the volume serves with less redundancy than configured.', s.health === 'clean' ? 0 : 1);
  gauge('bulwark_raid_failed', '1 when the volume has failed (too few members); every operation fails.', s.health === 'failed' ? 1 : 0);
  gauge('bulwark_raid_generation', 'Superblock generation: bumped on every change of array state.', s.generation);
  for (const m of s.members) {
    const member = { member: String(m.index) };
    for (const st of SLOT_STATES) gauge('bulwark_raid_member_state', 'Member state (1 for the current one).', m.state === st ? 1 : 0, { ...member, state: st });
    counter('bulwark_raid_member_read_errors_total', 'Member reads that failed.', m.counters.readErrors, member);
    counter('bulwark_raid_member_write_errors_total', 'Member writes, fsyncs and name changes that failed.', m.counters.writeErrors, member);
    counter('bulwark_raid_member_checksum_errors_total', 'Member chunks that did not match their checksum.', m.counters.checksumErrors, member);
    counter('bulwark_raid_member_repaired_chunks_total', 'Member chunks rewritten from redundancy.', m.counters.repairedChunks, member);
  }
  counter('bulwark_raid_reconstructed_stripes_total', 'Stripes rebuilt from redundancy to serve a read.', s.counters.reconstructedStripes);
  counter('bulwark_raid_lost_stripes_total', 'Stripes no copy could produce (reads failed with EIO).', s.counters.lostStripes);
  counter('bulwark_raid_flushes_total', 'Journal commits (each makes a group of writes durable on every member).', s.counters.flushes);
  counter('bulwark_raid_checkpoints_total', 'Checkpoints (metadata written to every member, journals emptied).', s.counters.checkpoints);
  counter('bulwark_raid_journal_bytes_total', 'Bytes written to the members\' journals.', s.counters.journalBytes);
  const a = s.activity;
  gauge('bulwark_raid_rebuild_progress_ratio', 'Progress of the running rebuild (0 to 1; 0 when none runs).', a.type === 'rebuild' && a.totalBytes > 0 ? a.doneBytes / a.totalBytes : 0);
  gauge('bulwark_raid_scrub_progress_ratio', 'Progress of the running scrub (0 to 1; 0 when none runs).', a.type === 'scrub' && a.totalBytes > 0 ? a.doneBytes / a.totalBytes : 0);
  if (s.lastScrub !== null) {
    gauge('bulwark_raid_last_scrub_mismatches', "The last scrub's mismatch count (md's mismatch_cnt, in chunks).", s.lastScrub.mismatches);
    gauge('bulwark_raid_last_scrub_timestamp_seconds', 'When the last scrub finished.', s.lastScrub.finishedWallMs / 1000);
  }
  return out;
}
