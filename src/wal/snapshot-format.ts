/**
 * A snapshot file: the state machine's bytes exactly as the state machine produced them (what peers
 * are sent, what SnapshotMeta.sizeBytes and crc32c describe), followed by a trailer that makes the
 * file self-describing. A trailer at the end lets a received snapshot be written chunk by chunk at
 * the offsets the leader sends, and described once it is verified.
 *
 *   [data: sizeBytes][meta][u32 meta length][u32 CRC-32C of meta]["BWSNAP01"]
 *
 *   meta: u32 format version, u64 index, u64 term, u64 data size, u32 data CRC-32C, then the
 *         configuration: voters, learners, outgoing voters, next learners (each a varint count of
 *         u64 member ids), and autoLeave as one byte.
 *
 * Named snap-<index, 20 digits>-<term, 20 digits>.snap, so a listing orders them.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import { logIndex, nodeIdFromBigInt, nodeIdToBigInt, term, type NodeId } from '../core/ids.js';
import { MEMBERS_MAX, SNAPSHOT_BYTES_MAX, SNAPSHOT_TRAILER_BYTES_MAX } from '../core/limits.js';
import type { ConfigState, SnapshotMeta } from '../consensus/types.js';

export const SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC = [0x42, 0x57, 0x53, 0x4e, 0x41, 0x50, 0x30, 0x31]; // "BWSNAP01"
export const TRAILER_FIXED_BYTES = 4 + 4 + MAGIC.length;

export function encodeTrailer(meta: SnapshotMeta): Uint8Array {
  const w = new ByteWriter(256);
  w.u32(SNAPSHOT_FORMAT_VERSION).u53(meta.index).u53(meta.term).u53(meta.sizeBytes).u32(meta.crc32c);
  const ids = (xs: readonly NodeId[]) => {
    w.varint(xs.length);
    for (const x of xs) w.u64(nodeIdToBigInt(x));
  };
  ids(meta.config.voters);
  ids(meta.config.learners);
  ids(meta.config.votersOutgoing);
  ids(meta.config.learnersNext);
  w.bool(meta.config.autoLeave);
  const metaBytes = w.finish().slice();
  const out = new ByteWriter(metaBytes.length + TRAILER_FIXED_BYTES);
  out.raw(metaBytes).u32(metaBytes.length).u32(crc32c(metaBytes));
  for (const b of MAGIC) out.u8(b);
  return out.finish().slice();
}

/** Reads the fixed tail (the last TRAILER_FIXED_BYTES bytes): the meta's length and checksum. */
export function decodeTrailerTail(tail: Uint8Array): { metaBytes: number; metaCrc: number } {
  if (tail.length !== TRAILER_FIXED_BYTES) throw new DecodeError('snapshot trailer: short file');
  for (let i = 0; i < MAGIC.length; i++) if (tail[8 + i] !== MAGIC[i]) throw new DecodeError('snapshot trailer: bad magic');
  const r = new ByteReader(tail);
  const metaBytes = r.u32();
  const metaCrc = r.u32();
  if (metaBytes > SNAPSHOT_TRAILER_BYTES_MAX) throw new DecodeError(`snapshot trailer: meta of ${metaBytes} bytes`);
  return { metaBytes, metaCrc };
}

export function decodeTrailerMeta(buf: Uint8Array, metaCrc: number): SnapshotMeta {
  if (crc32c(buf) !== metaCrc) throw new DecodeError('snapshot trailer: checksum mismatch');
  const r = new ByteReader(buf);
  const version = r.u32('format version');
  if (version !== SNAPSHOT_FORMAT_VERSION) throw new DecodeError(`snapshot format version ${version}, expected ${SNAPSHOT_FORMAT_VERSION}`);
  const index = r.u53('index');
  const t = r.u53('term');
  const sizeBytes = r.u53('size');
  const crc = r.u32('data crc');
  if (sizeBytes > SNAPSHOT_BYTES_MAX) throw new DecodeError(`snapshot of ${sizeBytes} bytes`);
  const ids = (what: string): NodeId[] => {
    const n = r.varint(what);
    if (n > MEMBERS_MAX) throw new DecodeError(`${what}: ${n} members`);
    const out: NodeId[] = [];
    for (let i = 0; i < n; i++) {
      const v = r.u64(what);
      if (v === 0n) throw new DecodeError(`${what}: member id 0`);
      out.push(nodeIdFromBigInt(v));
    }
    return out;
  };
  const config: ConfigState = {
    voters: ids('voters'),
    learners: ids('learners'),
    votersOutgoing: ids('outgoing voters'),
    learnersNext: ids('next learners'),
    autoLeave: r.bool('autoLeave'),
  };
  r.done('snapshot meta');
  return { index: logIndex(index), term: term(t), config, sizeBytes, crc32c: crc };
}

export function snapshotFileName(m: { index: number; term: number }): string {
  return `snap-${String(m.index).padStart(20, '0')}-${String(m.term).padStart(20, '0')}.snap`;
}

const NAME = /^snap-([0-9]{20})-([0-9]{20})\.snap$/;

export function parseSnapshotFileName(name: string): { index: number; term: number } | null {
  const m = NAME.exec(name);
  if (m === null) return null;
  const index = Number(m[1]);
  const t = Number(m[2]);
  return Number.isSafeInteger(index) && Number.isSafeInteger(t) ? { index, term: t } : null;
}
