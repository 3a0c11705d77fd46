/**
 * Named overlays on the swarm parameters. The swarm draws everything from the seed; a profile
 * then leans a run toward one kind of trouble, so a rare interleaving (a crash between a vote and
 * its fsync, Figure 8's overlapping leaders) shows up within a bounded number of seeds.
 */
import type { SimParams } from './params.js';

export const PROFILES = ['swarm', 'crash-in-sync', 'leader-churn', 'storage-faults'] as const;
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
        network: { delayMsMin: electionMs / 20, delayMsMean: electionMs / 8, duplicateRate: 0.1, reorderRate: 0.2, lossRate: Math.min(p.network.lossRate, 0.05) },
        node: { ...p.node, crashInSyncRate: 0.2, syncFailRate: 0, diskLatencyMsMin: 0, diskLatencyMsMean: electionMs / 20 },
        faults: { ...p.faults, actionMsMean: electionMs * 3, restartDelayMsMean: electionMs / 20, weights: { ...p.faults.weights, crash: 1, restart: 1 }, downMax: p.clusterSize },
      };
    case 'leader-churn':
      // Five members, leaders cut off and crashed often, so terms overlap and logs diverge.
      return {
        ...p,
        clusterSize: 5,
        network: { ...p.network, lossRate: 0.05 },
        node: { ...p.node, crashInSyncRate: 0.01, snapshotEveryEntries: 0 },
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
