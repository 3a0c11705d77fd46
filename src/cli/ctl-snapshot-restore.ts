/**
 * `snapshot restore`: a new cluster's data directory from a snapshot, offline (etcdutl's snapshot
 * restore). The snapshot's key-value state, leases and client sessions are kept; the membership
 * comes from --initial-cluster (new member and cluster ids, as `bulwark serve` derives them for a
 * new cluster), alarms are cleared, and --bump-revision N raises the store revision so revisions
 * never go backwards for watchers and caches that saw the old cluster.
 *
 * The snapshot's frames (src/kv/snapshot-format.ts) are rewritten as they are: the HEADER's
 * revision, the ALARMS and MEMBERS frames, and the END frame's CRC. The result is validated by the
 * state machine's own reader before anything is written, then stored as the data directory's
 * snapshot at the snapshot's applied index, with the new voters as its configuration; the member
 * starts from it with an empty log (the storage recovery table's "snapshot newer than log" row).
 */
import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { logIndex, term } from '../core/ids.js';
import { nullLogger } from '../env/logger.js';
import { NodeClock } from '../env/node/clock.js';
import { nodeRandom } from '../env/node/random.js';
import { KvError } from '../kv/errors.js';
import { writeMemberInfo, type MemberInfo } from '../kv/members.js';
import { SnapshotReader } from '../kv/snapshot-format.js';
import { resolveBootstrap } from '../server/bootstrap.js';
import { loadConfig } from '../server/config.js';
import { openDataDisk } from '../server/data-disk.js';
import { openStorage } from '../wal/open-storage.js';
import { encodeHardState } from '../raft/hard-state.js';

const SHA256_BYTES = 32;
const FRAME_HEADER_BYTES = 5;
const MAGIC = 0x564b5742;
const Kind = { Header: 1, Alarms: 6, Members: 7, End: 8 } as const;

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export interface RestoreOptions {
  readonly dataDir: string;
  readonly name: string;
  readonly initialCluster: string;
  readonly initialClusterToken: string;
  readonly initialAdvertisePeerUrls: string;
  readonly bumpRevision: number;
  readonly consensus: string;
  readonly skipHashCheck: boolean;
}

export interface RestoreResult {
  readonly clusterId: string;
  readonly memberId: string;
  readonly appliedIndex: number;
  readonly revision: number;
}

function frame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out[4] = kind;
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** Rewrites the snapshot's frames for the new cluster; returns them and the header's facts. */
export function rewriteSnapshot(body: Uint8Array, o: { members: readonly MemberInfo[]; bumpRevision: number }): { frames: Uint8Array[]; appliedIndex: number; revision: number } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  let crc = 0;
  let appliedIndex = -1;
  let revision = 0;
  let sawMembers = false;
  let at = 0;
  while (at < body.length) {
    if (at + FRAME_HEADER_BYTES > body.length) throw new RestoreError('truncated frame header');
    const len = view.getUint32(at, true);
    const kind = body[at + 4]!;
    if (at + FRAME_HEADER_BYTES + len > body.length) throw new RestoreError('truncated frame');
    // A copy (a Buffer's slice would share the file's memory, and its offsets).
    let payload = Uint8Array.from(body.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len));
    at += FRAME_HEADER_BYTES + len;
    if (kind === Kind.Header) {
      const p = new DataView(payload.buffer);
      if (payload.length < 29 || p.getUint32(0, true) !== MAGIC) throw new RestoreError('not a Bulwark snapshot');
      appliedIndex = Number(p.getBigUint64(5, true));
      revision = Number(p.getBigUint64(13, true)) + o.bumpRevision;
      if (!Number.isSafeInteger(revision)) throw new RestoreError('--bump-revision takes the revision out of range');
      p.setBigUint64(13, BigInt(revision), true);
    } else if (kind === Kind.Alarms) {
      payload = new ByteWriter(1).varint(0).finish().slice();
    } else if (kind === Kind.Members) {
      const w = new ByteWriter(256).varint(o.members.length);
      for (const m of o.members) writeMemberInfo(w, m);
      payload = w.finish().slice();
      sawMembers = true;
    } else if (kind === Kind.End) {
      if (payload.length < 4) throw new RestoreError('short end frame');
      new DataView(payload.buffer).setUint32(payload.length - 4, crc, true);
    }
    const f = frame(kind, payload);
    if (kind !== Kind.End) crc = crc32c(f, crc);
    frames.push(f);
  }
  if (appliedIndex < 0) throw new RestoreError('no header frame');
  if (!sawMembers) throw new RestoreError('no members frame');
  return { frames, appliedIndex, revision };
}

export async function restoreSnapshot(file: Uint8Array, o: RestoreOptions): Promise<RestoreResult> {
  let body = file;
  const hasSha = file.length > SHA256_BYTES && createHash('sha256').update(file.subarray(0, file.length - SHA256_BYTES)).digest().equals(file.subarray(file.length - SHA256_BYTES));
  if (hasSha) body = file.subarray(0, file.length - SHA256_BYTES);
  else if (!o.skipHashCheck) throw new RestoreError('snapshot missing hash but --skip-hash-check=false');
  const dirs = o.dataDir.split(',');
  for (const dir of dirs) {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      // does not exist yet: good
    }
    if (entries.length > 0) throw new RestoreError(`data-dir "${dir}" exists and is not empty`);
  }
  try {
    return await restoreInto(body, o);
  } catch (e) {
    // Leave no half-made data directory behind (they were empty or absent).
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function restoreInto(body: Uint8Array, o: RestoreOptions): Promise<RestoreResult> {
  const config = loadConfig(
    [
      '--name', o.name,
      '--data-dir', o.dataDir,
      '--initial-cluster', o.initialCluster,
      '--initial-cluster-token', o.initialClusterToken,
      '--initial-advertise-peer-urls', o.initialAdvertisePeerUrls,
      '--initial-cluster-state', 'new',
      '--consensus', o.consensus,
      ...(o.dataDir.includes(',') ? ['--raid', '1'] : []),
    ],
    {},
  );
  if (o.consensus !== 'raft') throw new RestoreError(`restoring a ${o.consensus} cluster is not supported yet (its hard state carries configuration epochs); restore with --consensus raft`);
  const env = { clock: new NodeClock(), random: nodeRandom(), logger: nullLogger };
  const dataDisk = await openDataDisk(config, env);
  try {
    const { bootstrap } = await resolveBootstrap(config, dataDisk.disk, nullLogger);
    const rewritten = rewriteSnapshot(body, { members: bootstrap.members, bumpRevision: o.bumpRevision });
    // Nothing is stored unless the state machine's reader accepts the result.
    const reader = new SnapshotReader(rewritten.appliedIndex);
    try {
      for (const f of rewritten.frames) reader.write(f);
      reader.finish();
    } catch (e) {
      if (e instanceof KvError) throw new RestoreError(`invalid snapshot: ${e.detail === '' ? e.message : `${e.message}: ${e.detail}`}`);
      throw e;
    }
    const storage = await openStorage(dataDisk.disk, { identity: { clusterId: bootstrap.clusterId, memberId: bootstrap.memberId, protocol: bootstrap.protocol } });
    try {
      await storage.snapshots.save({ index: logIndex(rewritten.appliedIndex), term: term(1), config: bootstrap.config }, rewritten.frames);
      // The engine's durable state must not be behind the snapshot: term 1, no vote, committed up to it.
      storage.log.setHardState(encodeHardState({ term: term(1), vote: null, commit: logIndex(rewritten.appliedIndex) }));
      await storage.log.sync();
    } finally {
      await storage.log.close();
      await storage.snapshots.close();
    }
    return { clusterId: bootstrap.clusterId, memberId: bootstrap.memberId, appliedIndex: rewritten.appliedIndex, revision: rewritten.revision };
  } finally {
    await dataDisk.close();
  }
}
