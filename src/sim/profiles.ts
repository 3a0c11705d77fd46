/**
 * Named overlays on the swarm parameters. The swarm draws everything from the seed; a profile
 * then leans a run toward one kind of trouble, so a rare interleaving (a crash between a vote and
 * its fsync, Figure 8's overlapping leaders) shows up within a bounded number of seeds.
 */
import type { SimParams } from './params.js';

export const PROFILES = ['swarm', 'crash-in-sync', 'leader-churn', 'storage-faults', 'stale-reads', 'figure-8'] as const;
export type Profile = (typeof PROFILES)[number];

export function applyProfile(profile: Profile, p: SimParams): SimParams {
  const electionMs = p.node.tickMs * p.node.engine.electionTicks;
  switch (profile) {
    case 'swarm':
      return p;
    case 'crash-in-sync':
      // Crashes land while writes are unsynced, restarts are quick, and old packets arrive late.
      return {
        ...p,
        clusterSize: 3,
        safetyMs: 300 * electionMs,
        network: { delayMsMin: electionMs / 20, delayMsMean: electionMs / 8, duplicateRate: 0.1, reorderRate: 0.2, lossRate: Math.min(p.network.lossRate, 0.05) },
        // Without pre-vote, candidacies overlap more often; one-way cuts keep a candidate from hearing
        // the winner, so a second grant of the same term can still elect it.
        node: { ...p.node, engine: { ...p.node.engine, preVote: false }, crashInSyncRate: 0.2, syncFailRate: 0, diskLatencyMsMin: 0, diskLatencyMsMean: electionMs / 20 },
        faults: {
          ...p.faults,
          actionMsMean: electionMs * 3,
          partitionModes: ['asymmetric', 'isolate'],
          restartDelayMsMean: electionMs / 20,
          weights: { partition: 1, heal: 1, crash: 1, restart: 1, clog: 0.2 },
          downMax: p.clusterSize,
        },
      };
    case 'leader-churn':
      // Five members, leaders cut off and crashed often, so terms overlap and logs diverge.
      return {
        ...p,
        clusterSize: 5,
        safetyMs: 300 * electionMs,
        network: { ...p.network, lossRate: 0.05 },
        // One entry per message: an old term's entries and the new leader's no-op travel apart, so
        // a majority can hold the old entry without the new one (the shape of Figure 8).
        node: { ...p.node, engine: { ...p.node.engine, entriesPerMessageMax: 1, preVote: false }, crashInSyncRate: 0.01, crashAfterApplyRate: 0.003 },
        faults: {
          ...p.faults,
          actionMsMean: electionMs * 2,
          partitionModes: ['isolate', 'halves'],
          weights: { partition: 1, heal: 0.7, crash: 1, restart: 1, clog: 0.2 },
          restartDelayMsMean: electionMs,
          downMax: 2,
        },
        client: { ...p.client, mix: { get: 0.2, put: 1, delete: 0.1, cas: 0.5 } },
      };
    case 'stale-reads':
      // The leader is cut off again and again while read-heavy clients keep asking it: a leader
      // that answers reads without confirming it still leads serves stale data in the window
      // before check-quorum makes it step down.
      return {
        ...p,
        clusterSize: p.clusterSize < 3 ? 3 : p.clusterSize,
        safetyMs: 200 * electionMs,
        network: { ...p.network, lossRate: Math.min(p.network.lossRate, 0.02) },
        faults: {
          ...p.faults,
          actionMsMean: electionMs * 2,
          partitionModes: ['isolate-leader'],
          weights: { partition: 1, heal: 0.5, crash: 0, restart: 1, clog: 0 },
        },
        clientCount: 8,
        client: { ...p.client, mix: { get: 1, put: 0.5, delete: 0.05, cas: 0.2 }, keys: p.client.keys.slice(0, 2) },
      };
    case 'figure-8':
      // Raft's Figure 8 (three members suffice): leaders of successive terms cut off or crashed right
      // after applying, one entry per message and one message in flight, so an old term's entry can reach a majority
      // before the new leader's own entry does.
      return {
        ...p,
        clusterSize: 3,
        safetyMs: 300 * electionMs,
        network: { ...p.network, lossRate: 0.02, duplicateRate: 0, reorderRate: 0.05 },
        node: { ...p.node, engine: { ...p.node.engine, entriesPerMessageMax: 1, inflightMessagesMax: 1, preVote: false }, crashInSyncRate: 0.02, crashAfterApplyRate: 0.1, snapshotEveryEntries: 0 },
        faults: {
          ...p.faults,
          actionMsMean: electionMs * 2,
          partitionModes: ['isolate-leader', 'halves'],
          weights: { partition: 1, heal: 1, crash: 1, restart: 1, clog: 0 },
          restartDelayMsMean: electionMs,
          downMax: 2,
        },
        client: { ...p.client, mix: { get: 0.1, put: 1, delete: 0, cas: 0.2 } },
      };
    case 'storage-faults':
      // Three members over the write-ahead log with heavy disk faults (within the fault atlas),
      // small segments, snapshots, and crashes and restarts often enough that recovery reads the
      // damage: a storage bug that loses or forges data shows up within a few seeds.
      return {
        ...p,
        clusterSize: 3,
        node: { ...p.node, crashInSyncRate: 0.05, snapshotEveryEntries: p.node.snapshotEveryEntries === 0 ? 50 : p.node.snapshotEveryEntries },
        faults: { ...p.faults, actionMsMean: electionMs * 3, restartDelayMsMean: electionMs, weights: { ...p.faults.weights, crash: 1, restart: 1 }, downMax: 1 },
        storage: { ...p.storage, kind: 'wal', segmentBytes: 16 * 1024, faultIntensity: 'heavy' },
      };
  }
}
