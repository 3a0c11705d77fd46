/**
 * The data directory's meta file: which cluster, member and consensus protocol the directory
 * belongs to, and its format version. Checked before anything else is read, so a member never
 * starts on another member's log (a copied directory, a wrong --data-dir) or on a format it cannot
 * read. Written once, atomically (temp file, fsync, rename, directory fsync).
 *
 *   offset  size  field
 *   0       8     magic "BWMETA\0\0"
 *   8       4     format version
 *   12      1     protocol: 1 raft, 2 paxos
 *   13      3     reserved, zero
 *   16      8     cluster id
 *   24      8     member id
 *   32      4     CRC-32C of bytes [0, 32)
 *   36      4     reserved, zero
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { clusterIdFromBigInt, nodeIdFromBigInt, nodeIdToBigInt, type ClusterId, type NodeId } from '../core/ids.js';
import { writeFileAtomic, type Disk } from '../env/disk.js';
import { WalError } from './errors.js';

export const DATA_DIR_FORMAT_VERSION = 1;
export const DATA_DIR_META_FILE = 'meta';
const META_BYTES = 40;
const MAGIC = [0x42, 0x57, 0x4d, 0x45, 0x54, 0x41, 0x00, 0x00]; // "BWMETA\0\0"
const PROTOCOL_CODES = { raft: 1, paxos: 2 } as const;

export type ConsensusProtocol = 'raft' | 'paxos';

export interface DataDirIdentity {
  readonly clusterId: ClusterId;
  readonly memberId: NodeId;
  readonly protocol: ConsensusProtocol;
}

export interface DataDirMeta extends DataDirIdentity {
  readonly formatVersion: number;
}

export function encodeDataDirMeta(m: DataDirMeta): Uint8Array {
  const w = new ByteWriter(META_BYTES);
  for (const b of MAGIC) w.u8(b);
  w.u32(m.formatVersion).u8(PROTOCOL_CODES[m.protocol]).u8(0).u8(0).u8(0);
  w.u64(nodeIdToBigInt(m.clusterId)).u64(nodeIdToBigInt(m.memberId));
  w.u32(crc32c(w.finish(), 0, 0, 32)).u32(0);
  return w.finish().slice();
}

/** Decodes the meta file; a damaged one is a typed error naming the file. */
export function decodeDataDirMeta(buf: Uint8Array, where: string): DataDirMeta {
  const corrupt = (why: string) =>
    new WalError('data-dir-meta-corrupt', `data directory ${where}: the meta file is damaged (${why}); refusing to start. Restore it from a backup, or remove this member from the cluster and add it back with an empty data directory`);
  if (buf.length !== META_BYTES) throw corrupt(`${buf.length} bytes, expected ${META_BYTES}`);
  for (let i = 0; i < MAGIC.length; i++) if (buf[i] !== MAGIC[i]) throw corrupt('bad magic');
  const r = new ByteReader(buf, 8);
  const formatVersion = r.u32();
  const protocolCode = r.u8();
  r.skip(3);
  const cluster = r.u64();
  const member = r.u64();
  const storedCrc = r.u32();
  if (crc32c(buf, 0, 0, 32) !== storedCrc) throw corrupt('checksum mismatch');
  if (formatVersion !== DATA_DIR_FORMAT_VERSION) {
    throw new WalError(
      'data-dir-format-version',
      `data directory ${where} has format version ${formatVersion}; this build of bulwark reads version ${DATA_DIR_FORMAT_VERSION}. Run the bulwark version that wrote it`,
    );
  }
  const protocol = protocolCode === 1 ? 'raft' : protocolCode === 2 ? 'paxos' : null;
  if (protocol === null) throw corrupt(`unknown protocol code ${protocolCode}`);
  if (cluster === 0n || member === 0n) throw corrupt('zero cluster or member id');
  return { formatVersion, protocol, clusterId: clusterIdFromBigInt(cluster), memberId: nodeIdFromBigInt(member) };
}

export type DataDirCheck = { readonly type: 'created' } | { readonly type: 'matched'; readonly meta: DataDirMeta };

/**
 * Checks that the data directory on `disk` belongs to `identity`, creating the meta file in an empty
 * directory when `create` allows. Typed errors (codes data-dir-*) say exactly what does not match.
 */
export async function checkDataDir(disk: Disk, identity: DataDirIdentity, options: { create: boolean }): Promise<DataDirCheck> {
  const where = disk.name;
  const st = await disk.stat(DATA_DIR_META_FILE);
  if (st === null) {
    const holdsData = (await disk.list('.')).some((n) => n === 'wal' || n === 'snap');
    if (holdsData || !options.create) {
      throw new WalError(
        'data-dir-meta-missing',
        `data directory ${where} has no meta file${holdsData ? ' but holds a log or snapshots' : ''}; refusing to start on a directory bulwark did not create`,
      );
    }
    await writeFileAtomic(disk, DATA_DIR_META_FILE, encodeDataDirMeta({ ...identity, formatVersion: DATA_DIR_FORMAT_VERSION }));
    return { type: 'created' };
  }
  const meta = decodeDataDirMeta(await disk.readFile(DATA_DIR_META_FILE), where);
  if (meta.clusterId !== identity.clusterId) {
    throw new WalError('data-dir-other-cluster', `data directory ${where} belongs to cluster ${meta.clusterId}, not ${identity.clusterId}; refusing to start`);
  }
  if (meta.memberId !== identity.memberId) {
    throw new WalError('data-dir-other-member', `data directory ${where} belongs to member ${meta.memberId} of cluster ${meta.clusterId}, not ${identity.memberId}; refusing to start`);
  }
  if (meta.protocol !== identity.protocol) {
    throw new WalError('data-dir-other-protocol', `data directory ${where} was written by ${meta.protocol}, but this member is configured for ${identity.protocol}; refusing to start`);
  }
  return { type: 'matched', meta };
}
