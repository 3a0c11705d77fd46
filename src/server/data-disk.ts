/**
 * The member's data directory as a Disk: a plain directory, or a RAID-1/5 volume over several
 * (--data-dir d1,d2,d3 --raid 5). A volume with stale or blank members starts a throttled rebuild in
 * the background; its health shows in /metrics, the dashboard and the logs.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { errorMessage } from '../core/errors.js';
import type { Disk } from '../env/disk.js';
import type { Env } from '../env/env.js';
import { NodeDisk } from '../env/node/disk.js';
import { openVolume, volumeMetrics, type RaidVolume } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import { renderSamples } from './metrics.js';

export interface DataDisk {
  readonly disk: Disk;
  /** For the dashboard: level, health, rebuild progress; null without RAID. */
  status(): unknown;
  /** Prometheus text for the volume's metrics ('' without RAID). */
  metrics(): string;
  close(): Promise<void>;
}

export async function openDataDisk(config: ServerConfig, env: Env): Promise<DataDisk> {
  if (config.raid === 0) {
    const disk = new NodeDisk(resolve(config.dataDirs[0]!));
    await disk.mkdir('.');
    return { disk, status: () => null, metrics: () => '', close: async () => undefined };
  }
  const logger = env.logger.child({ component: 'raid' });
  const volume: RaidVolume = await openVolume({
    members: config.dataDirs.map((d) => new NodeDisk(resolve(d))),
    clock: env.clock,
    logger,
    create: { level: config.raid, random: env.random.fork() },
    owner: `${process.pid}@${hostname()}`,
  });
  const s = volume.status();
  logger.info('RAID volume open', { level: s.level, members: s.memberCount, health: s.health, generation: s.generation });
  if (volume.rebuildPending.length > 0) {
    logger.warn('RAID volume is rebuilding members in the background', { members: volume.rebuildPending });
    volume.rebuild().then(
      (r) => logger.info('RAID rebuild finished', { result: r }),
      (e: unknown) => logger.error('RAID rebuild stopped', { error: errorMessage(e) }),
    );
  }
  return {
    disk: volume,
    status: () => {
      const st = volume.status();
      const a = st.activity;
      return {
        level: st.level,
        state: st.health,
        degraded: st.degraded,
        generation: st.generation,
        members: st.members,
        rebuildProgress: a.type === 'rebuild' && a.totalBytes > 0 ? a.doneBytes / a.totalBytes : null,
        counters: st.counters,
      };
    },
    metrics: () => renderSamples(volumeMetrics(volume.status())),
    close: () => volume.close(),
  };
}
