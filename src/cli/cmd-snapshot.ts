import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { BoltError, boltStatus } from './ctl-bolt.js';
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
  try {
    ctx.write(printSnapshotStatus(boltStatus(readFileSync(path)), ctx.print));
  } catch (e) {
    if (e instanceof BoltError) throw new CtlError('invalid database', Exit.error);
    throw e;
  }
  return 0;
}

export const snapshotCommand = ctlCommand({
  name: 'snapshot',
  summary: 'snapshot save | status | restore (etcdctl snapshot)',
  usage: `bulwark snapshot <subcommand>

  snapshot save <file>      stream a member's whole state to a file (--endpoints must name one
                            member); the trailing sha256 is verified before the file is renamed into place
  snapshot status <file>    hash, revision, total keys and size of a snapshot (etcd's format)
  snapshot restore <file> --data-dir <dir> [--bump-revision N]
                            a new cluster's data directory from a snapshot (offline)`,
  flags: {
    'data-dir': { type: 'string' },
    'bump-revision': { type: 'int' },
    'mark-compacted': { type: 'bool' },
    name: { type: 'string' },
    'initial-cluster': { type: 'string' },
    'initial-cluster-token': { type: 'string' },
    'initial-advertise-peer-urls': { type: 'string' },
    'skip-hash-check': { type: 'bool' },
  },
  async run(ctx) {
    switch (ctx.args[0]) {
      case 'save':
        return save(ctx);
      case 'status':
        return status(ctx);
      case 'restore':
        throw new CtlError('snapshot restore is not available yet: it writes the server\'s storage format, which `bulwark serve` has not defined yet', Exit.badFeature);
      default:
        throw new CtlError(ctx.args[0] === undefined ? 'snapshot needs a subcommand: save, status or restore' : `unknown snapshot subcommand "${ctx.args[0]}"`, Exit.badArgs);
    }
  },
});
