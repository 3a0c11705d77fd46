import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { BulwarkError } from '../core/errors.js';
import { NodeDisk } from '../env/node/disk.js';
import { ConfigError, parseInitialCluster } from '../server/config.js';
import { RestoreError as EngineRestoreError } from '../server/errors.js';
import { restoreSnapshot as restoreEngine } from '../server/snapshot-restore.js';
import { BoltError, boltStatus } from './ctl-bolt.js';
import { BulwarkSnapshotError, bulwarkSnapshotStatus, isBulwarkSnapshot } from './ctl-bulwark-snapshot.js';
import { CtlError, Exit } from './ctl-flags.js';
import { humanizeBytes } from './ctl-format.js';
import { printSnapshotStatus } from './ctl-print.js';
import { ctlCommand, type CtlContext } from './ctl-run.js';

/** An errno as Go's os package words it. */
function goErrno(e: unknown): string {
  const words: Record<string, string> = { ENOENT: 'no such file or directory', EACCES: 'permission denied', EISDIR: 'is a directory', ENOTDIR: 'not a directory', EEXIST: 'file exists', ENOSPC: 'no space left on device', EROFS: 'read-only file system' };
  const code = (e as NodeJS.ErrnoException).code;
  return (code !== undefined ? words[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}

/** The bytes of the sha256 etcd appends to a snapshot stream. */
const SHA256_BYTES = 32;
/** Redraw the progress bar at most this often. */
const PROGRESS_INTERVAL_MS = 100;

function progressBar(done: number, total: number): string {
  const width = 30;
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  return `\r[${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? '>' : ''}${' '.repeat(width - filled)}] ${String(Math.round(frac * 100)).padStart(3)}% ${humanizeBytes(done)} / ${humanizeBytes(total)}`;
}

async function save(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('snapshot save expects one argument', Exit.badArgs);
  if (ctx.endpoints.length !== 1) throw new CtlError(`snapshot must be requested to one selected node, not multiple [${ctx.endpoints.join(' ')}]`, Exit.interrupted);
  const path = ctx.args[1]!;
  const part = `${path}.part`;
  let fd: number;
  try {
    fd = openSync(part, 'w', 0o600);
  } catch (e) {
    throw new CtlError(`could not open ${part} (open ${part}: ${goErrno(e)})`, Exit.interrupted);
  }
  const showProgress = process.stderr.isTTY === true;
  let written = 0;
  let total = 0;
  let lastDrawMs = 0;
  const sha = createHash('sha256');
  // The last 32 bytes seen so far may be the trailing checksum: hold them back from the hash.
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of ctx.client().snapshot(ctx.endpoints[0]!, { signal: ctx.interrupted })) {
      const blob = chunk.blob;
      if (total === 0) total = blob.length + Number(chunk.remainingBytes);
      writeSync(fd, blob);
      written += blob.length;
      const joined = Buffer.concat([tail, blob]);
      const cut = Math.max(0, joined.length - SHA256_BYTES);
      sha.update(joined.subarray(0, cut));
      tail = joined.subarray(cut);
      const now = Date.now();
      if (showProgress && now - lastDrawMs >= PROGRESS_INTERVAL_MS) {
        ctx.err(progressBar(written, total));
        lastDrawMs = now;
      }
    }
    if (showProgress) ctx.err(progressBar(written, Math.max(total, written)) + '\n');
    if (written < SHA256_BYTES || !sha.digest().equals(tail)) throw new CtlError('snapshot file integrity check failed: the trailing sha256 does not match the data', Exit.error);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(part, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(part);
    } catch {
      // nothing to remove
    }
    throw e;
  }
  ctx.out(`Snapshot saved at ${path}\n`);
  return 0;
}

function status(ctx: CtlContext): number {
  if (ctx.args.length !== 2) throw new CtlError('snapshot status requires exactly one argument', Exit.badArgs);
  const path = ctx.args[1]!;
  try {
    statSync(path);
  } catch (e) {
    throw new CtlError(`stat ${path}: ${goErrno(e)}`, Exit.error);
  }
  const buf = readFileSync(path);
  try {
    // Bulwark's own format (what `bulwark serve` streams), or etcd's bbolt database.
    ctx.write(printSnapshotStatus(isBulwarkSnapshot(buf) ? bulwarkSnapshotStatus(buf) : boltStatus(buf), ctx.print));
  } catch (e) {
    if (e instanceof BoltError) throw new CtlError('invalid database', Exit.error);
    if (e instanceof BulwarkSnapshotError) throw new CtlError(`invalid snapshot: ${e.message}`, Exit.error);
    throw e;
  }
  return 0;
}

async function restore(ctx: CtlContext): Promise<number> {
  if (ctx.args.length !== 2) throw new CtlError('snapshot restore requires exactly one argument', Exit.badArgs);
  const path = ctx.args[1]!;
  const name = (ctx.flags['name'] as string) || 'default';
  const peerUrls = (ctx.flags['initial-advertise-peer-urls'] as string) || 'http://localhost:2380';
  const dataDir = (ctx.flags['data-dir'] as string) || `${name}.bulwark`;
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new CtlError(`open ${path}: ${goErrno(e)}`, Exit.error);
  }
  return restoreWithEngine(ctx, file, { path, name, dataDir, peerUrls, started: Date.now() });
}

/** `snapshot restore` through src/server/snapshot-restore.ts (etcd's bbolt format and Bulwark's). */
async function restoreWithEngine(ctx: CtlContext, file: Buffer, o: { path: string; name: string; dataDir: string; peerUrls: string; started: number }): Promise<number> {
  const consensus = (ctx.flags['consensus'] as string) || 'raft';
  if (consensus !== 'raft' && consensus !== 'paxos') throw new CtlError(`--consensus must be raft or paxos, not ${consensus}`, Exit.badArgs);
  // As save does: a bar on stderr when it is a terminal, redrawn at most every PROGRESS_INTERVAL_MS.
  const showProgress = process.stderr.isTTY === true;
  let lastDrawMs = 0;
  let drawn = false;
  try {
    const initialCluster = parseInitialCluster((ctx.flags['initial-cluster'] as string) || `${o.name}=${o.peerUrls}`);
    const disk = new NodeDisk(resolvePath(o.dataDir));
    await disk.mkdir('.');
    const r = await restoreEngine({
      snapshot: new Uint8Array(file.buffer, file.byteOffset, file.byteLength),
      disk,
      name: o.name,
      initialCluster,
      initialClusterToken: (ctx.flags['initial-cluster-token'] as string) || 'etcd-cluster',
      consensus,
      bumpRevision: (ctx.flags['bump-revision'] as number | undefined) ?? 0,
      markCompacted: ctx.flags['mark-compacted'] === true,
      skipHashCheck: ctx.flags['skip-hash-check'] === true,
      ...(showProgress
        ? {
            onProgress: (done: number, total: number) => {
              const now = Date.now();
              if (done < total && now - lastDrawMs < PROGRESS_INTERVAL_MS) return;
              ctx.err(progressBar(done, total));
              lastDrawMs = now;
              drawn = true;
            },
          }
        : {}),
    });
    if (drawn) ctx.err('\n');
    drawn = false;
    ctx.err(
      `restored ${r.format === 'etcd' ? 'etcd' : 'Bulwark'} snapshot ${o.path} (revision ${r.revision}, compacted at ${r.compactRevision}, ${r.keys} keys, ${r.leases} leases${r.hashChecked ? ', sha256 verified' : ''}) into ${o.dataDir}: cluster ${r.clusterId}, member ${r.memberId}, ${Date.now() - o.started} ms\n`,
    );
    return 0;
  } catch (e) {
    if (drawn) ctx.err('\n'); // the error goes on a line of its own
    if (e instanceof EngineRestoreError || e instanceof ConfigError || e instanceof BulwarkError) throw new CtlError(e.message, Exit.error);
    throw e;
  }
}

export const snapshotCommand = ctlCommand({
  name: 'snapshot',
  summary: 'snapshot save | status | restore (etcdctl snapshot)',
  usage: `bulwark snapshot <subcommand>

  snapshot save <file>      stream a member's whole state to a file (--endpoints must name one
                            member); the trailing sha256 is verified before the file is renamed into place
  snapshot status <file>    hash, revision, total keys and size of a snapshot (Bulwark's format, validated
                            frame by frame, or etcd's bbolt database)
  snapshot restore <file> --data-dir <dir> [--name N] [--initial-cluster ...] [--initial-cluster-token T]
                   [--initial-advertise-peer-urls U] [--bump-revision N] [--mark-compacted] [--skip-hash-check]
                   [--consensus raft|paxos]
                            a new cluster's data directory from a snapshot in etcd's format (what
                            snapshot save writes; its sha256 is checked) or Bulwark's (offline): the data,
                            leases and sessions kept; new member and cluster ids from --initial-cluster;
                            alarms cleared; --bump-revision raises the revision so it never goes back.
                            Run it once per member with the same flags but its own --name and --data-dir;
                            --consensus (default raft) must be the one the new cluster's members serve with.`,
  flags: {
    'data-dir': { type: 'string' },
    'bump-revision': { type: 'int' },
    'mark-compacted': { type: 'bool' },
    name: { type: 'string' },
    'initial-cluster': { type: 'string' },
    'initial-cluster-token': { type: 'string' },
    'initial-advertise-peer-urls': { type: 'string' },
    'skip-hash-check': { type: 'bool' },
    consensus: { type: 'string' },
  },
  async run(ctx) {
    switch (ctx.args[0]) {
      case 'save':
        return save(ctx);
      case 'status':
        return status(ctx);
      case 'restore':
        return restore(ctx);
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'snapshot needs a subcommand: save, status or restore' : `unknown snapshot subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
