/**
 * The member's data directory as a Disk: a plain directory, or a RAID-1/5 volume over several
 * (--data-dir d1,d2,d3 --raid 5). A volume is watched while the member runs (raid-monitor.ts):
 * stale or blank members are rebuilt in the background, health shows in /metrics, the dashboard,
 * etcd's Status `errors` and the logs, the operator's /raid endpoints act on it, and a volume that
 * fails stops the member.
 */
import { resolve } from 'node:path';
import type { Disk } from '../env/disk.js';
import type { Env } from '../env/env.js';
import { NodeDisk } from '../env/node/disk.js';
import { RaidError, assemble, openVolume, probeMember, volumeMetrics, type RaidVolume } from '../storage/index.js';
import type { ServerConfig } from './config.js';
import type { HttpHandler } from './http-endpoints.js';
import { renderSamples } from './metrics.js';
import { raidAdminHandler } from './raid-admin-http.js';
import { RaidMonitor, describeProblems } from './raid-monitor.js';
import { liveOwner, volumeOwner } from './volume-owner.js';

export interface DataDisk {
  readonly disk: Disk;
  /** For the dashboard: level, health, members, rebuild and scrub progress; null without RAID. */
  status(): unknown;
  /** Prometheus text for the volume's metrics ('' without RAID). */
  metrics(): string;
  /** Lines for etcd's Status `errors` (a degraded volume); empty without RAID. */
  errors(): readonly string[];
  /** GET/POST /raid/... on the client port (answers 404 without RAID). */
  readonly admin: HttpHandler;
  close(): Promise<void>;
}

export interface OpenDataDiskOptions {
  /** The volume failed (too few members): the member must stop. */
  readonly onFailed: (reason: string) => void;
}

export async function openDataDisk(config: ServerConfig, env: Env, o: OpenDataDiskOptions): Promise<DataDisk> {
  if (config.raid === 0) {
    const disk = new NodeDisk(resolve(config.dataDirs[0]!));
    await disk.mkdir('.');
    return { disk, status: () => null, metrics: () => '', errors: () => [], admin: raidAdminHandler(null), close: async () => undefined };
  }
  const logger = env.logger.child({ component: 'raid' });
  const members = config.dataDirs.map((d) => new NodeDisk(resolve(d)));
  await refuseIfHeld(members);
  const volume: RaidVolume = await openVolume({
    members,
    clock: env.clock,
    logger,
    create: { level: config.raid, random: env.random.fork() },
    owner: volumeOwner(process.pid, adminUrl(config.listenClientUrls)),
  });
  const s = volume.status();
  logger.info('RAID volume open', { raidLevel: s.level, members: s.memberCount, health: s.health, generation: s.generation, ...(s.health === 'clean' ? {} : { problems: describeProblems(s) }) });
  const monitor = new RaidMonitor({
    volume,
    clock: env.clock,
    logger,
    onFailed: o.onFailed,
    openDisk: async (dir) => {
      const disk = new NodeDisk(resolve(dir));
      await disk.mkdir('.');
      return disk;
    },
    pid: process.pid,
  });
  monitor.start();
  return {
    disk: volume,
    status: () => {
      const st = monitor.status();
      const a = st.activity;
      return {
        level: st.level,
        state: st.health,
        degraded: st.degraded,
        failure: st.failure,
        generation: st.generation,
        chunkBytes: st.chunkBytes,
        members: st.members,
        problems: describeProblems(st),
        activity: a,
        rebuildProgress: a.type === 'rebuild' && a.totalBytes > 0 ? a.doneBytes / a.totalBytes : null,
        scrubProgress: a.type === 'scrub' && a.totalBytes > 0 ? a.doneBytes / a.totalBytes : null,
        lastScrub: st.lastScrub,
        job: st.job,
        counters: st.counters,
      };
    },
    metrics: () => renderSamples(volumeMetrics(volume.status())),
    errors: () => monitor.errors(),
    admin: raidAdminHandler(monitor),
    close: async () => {
      monitor.stop();
      await volume.close();
    },
  };
}

/**
 * The URL `bulwark raid` uses to reach this member's /raid endpoints: the first client URL, with a
 * wildcard host replaced by loopback (changes are accepted only from loopback).
 */
export function adminUrl(listenClientUrls: readonly string[]): string | null {
  const first = listenClientUrls[0];
  if (first === undefined) return null;
  const u = new URL(first);
  if (u.hostname === '0.0.0.0' || u.hostname === '[::]' || u.hostname === '::') u.hostname = '127.0.0.1';
  return `${u.protocol}//${u.host}`;
}

/** Two processes writing one volume would corrupt it: refuse one another live process holds. */
async function refuseIfHeld(members: readonly Disk[]): Promise<void> {
  const probes = await Promise.all(members.map(probeMember));
  if (!probes.some((p) => p.type === 'member')) return;
  let newest;
  try {
    newest = assemble(probes).newest;
  } catch {
    return; // openVolume says what is wrong
  }
  const owner = newest.clean ? null : liveOwner(newest.owner);
  if (owner !== null) throw new RaidError('invalid-state', `the volume is open in process ${owner.pid} (${newest.owner}); stop it first`);
}
