/**
 * `bulwark snapshot restore`: a minimal front for the restore engine (src/server/snapshot-restore.ts)
 * until the client commands' `snapshot` (save | status | restore) lands; that command should call
 * `restoreSnapshot` the same way and replace this file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { errorMessage } from '../core/errors.js';
import { NodeDisk } from '../env/node/disk.js';
import { ConfigError, parseInitialCluster } from '../server/config.js';
import { restoreSnapshot } from '../server/snapshot-restore.js';
import { RestoreError } from '../server/errors.js';
import { UsageError, type Command } from './command.js';

const USAGE = `bulwark snapshot restore <file> [flags]

Makes a new member data directory from a snapshot (etcd's format, as \`etcdctl snapshot save\` or
\`bulwark snapshot save\` write it, or a Bulwark state-machine snapshot). Run it for every member of
the new cluster with the same file and --initial-cluster, then start each with \`bulwark serve\`
and the same flags. The new cluster has new member ids and a new cluster id.

  --data-dir <dir>                  the new data directory, which must not exist or be empty (default "<name>.bulwark")
  --name <name>                     this member's name in --initial-cluster (default "default")
  --initial-cluster <list>          name=peerURL,... (default "default=http://localhost:2380")
  --initial-cluster-token <token>   (default "etcd-cluster")
  --initial-advertise-peer-urls <urls>  accepted for etcdctl compatibility; must match --initial-cluster
  --bump-revision <N>               add N to the store revision so revisions never go backwards
  --mark-compacted                  compact at the new revision (watchers of older revisions must relist)
  --skip-hash-check                 restore a file without (or with a wrong) SHA-256 trailer`;

export const snapshotRestoreCommand: Command = {
  name: 'snapshot',
  summary: 'snapshot restore: a new cluster\'s data directory from a snapshot (offline)',
  usage: USAGE,
  async run(argv) {
    const args = [...argv];
    if (args[0] !== 'restore') throw new UsageError(args[0] === undefined ? 'snapshot needs a subcommand: restore' : `unknown snapshot subcommand "${args[0]}" (this build has: restore)`);
    args.shift();
    const flags = new Map<string, string>();
    const positional: string[] = [];
    const bools = new Set(['mark-compacted', 'skip-hash-check']);
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (!a.startsWith('--')) {
        positional.push(a);
        continue;
      }
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      if (bools.has(name)) flags.set(name, eq < 0 ? 'true' : a.slice(eq + 1));
      else if (eq >= 0) flags.set(name, a.slice(eq + 1));
      else if (i + 1 < args.length) flags.set(name, args[++i]!);
      else throw new UsageError(`--${name} needs a value`);
    }
    const known = new Set(['data-dir', 'name', 'initial-cluster', 'initial-cluster-token', 'initial-advertise-peer-urls', 'bump-revision', 'mark-compacted', 'skip-hash-check']);
    for (const k of flags.keys()) if (!known.has(k)) throw new UsageError(`unknown flag --${k}`);
    if (positional.length !== 1) throw new UsageError('snapshot restore takes exactly one file');
    const name = flags.get('name') ?? 'default';
    let initialCluster;
    try {
      initialCluster = parseInitialCluster(flags.get('initial-cluster') ?? `${name}=http://localhost:2380`);
    } catch (e) {
      throw new UsageError(e instanceof ConfigError ? e.message : errorMessage(e));
    }
    const bump = Number(flags.get('bump-revision') ?? '0');
    if (!Number.isSafeInteger(bump) || bump < 0) throw new UsageError('--bump-revision must be a whole number >= 0');
    const dir = resolve(flags.get('data-dir') ?? `${name}.bulwark`);
    let file: Uint8Array;
    try {
      file = new Uint8Array(readFileSync(positional[0]!));
    } catch (e) {
      process.stderr.write(`bulwark snapshot restore: ${errorMessage(e)}\n`);
      return 1;
    }
    const disk = new NodeDisk(dir);
    await disk.mkdir('.');
    try {
      const r = await restoreSnapshot({
        snapshot: file,
        disk,
        name,
        initialCluster,
        initialClusterToken: flags.get('initial-cluster-token') ?? 'etcd-cluster',
        bumpRevision: bump,
        markCompacted: flags.get('mark-compacted') === 'true',
        skipHashCheck: flags.get('skip-hash-check') === 'true',
      });
      process.stdout.write(
        `restored ${r.format} snapshot into ${dir}: member ${r.memberId} of cluster ${r.clusterId}, revision ${r.revision}, compacted at ${r.compactRevision}, ${r.keys} keys, ${r.leases} leases${r.hashChecked ? ', SHA-256 verified' : ''}\n`,
      );
      return 0;
    } catch (e) {
      if (e instanceof RestoreError || (e as { code?: unknown }).code !== undefined) {
        process.stderr.write(`bulwark snapshot restore: ${errorMessage(e)}\n`);
        return 1;
      }
      throw e;
    }
  },
};
