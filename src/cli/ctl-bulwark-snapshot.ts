/**
 * `snapshot status` of a Bulwark snapshot (what `bulwark serve` streams from Maintenance.Snapshot:
 * the state machine's "BWKV" frames, src/kv/snapshot-format.ts, then the sha256 of them, as etcd
 * appends to its own). The whole stream is validated by the state machine's own reader (every
 * frame, order, count and the CRC), so a status that prints is a snapshot a member can load.
 */
import { createHash } from 'node:crypto';
import { KvError } from '../kv/errors.js';
import { SnapshotReader } from '../kv/snapshot-format.js';
import type { SnapshotStatus } from './ctl-print.js';

const SHA256_BYTES = 32;
const FRAME_HEADER_BYTES = 5;
/** "BWKV", little-endian, right after the first frame's header. */
const MAGIC = 0x564b5742;
const KIND_END = 8;

export class BulwarkSnapshotError extends Error {
  override readonly name = 'BulwarkSnapshotError';
}

/** True when `buf` starts like a Bulwark snapshot (the caller then reads it with bulwarkSnapshotStatus). */
export function isBulwarkSnapshot(buf: Uint8Array): boolean {
  return buf.length >= FRAME_HEADER_BYTES + 4 && new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(FRAME_HEADER_BYTES, true) === MAGIC;
}

export function bulwarkSnapshotStatus(file: Uint8Array): SnapshotStatus {
  let body = file;
  if (file.length > SHA256_BYTES) {
    const head = file.subarray(0, file.length - SHA256_BYTES);
    const sha = createHash('sha256').update(head).digest();
    if (sha.equals(file.subarray(file.length - SHA256_BYTES))) body = head;
  }
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (!isBulwarkSnapshot(body) || body.length < FRAME_HEADER_BYTES + 4 + 1 + 8 * 3) throw new BulwarkSnapshotError('not a Bulwark snapshot');
  // HEADER = u32 magic, u8 version, u53 appliedIndex, u53 revision, u53 compactRevision.
  const appliedIndex = Number(view.getBigUint64(FRAME_HEADER_BYTES + 5, true));
  const revision = Number(view.getBigUint64(FRAME_HEADER_BYTES + 13, true));
  const reader = new SnapshotReader(appliedIndex);
  let endPayload: Uint8Array | null = null;
  try {
    reader.write(body);
    reader.finish();
    // Find the END frame to report its counts and whole-state CRC.
    for (let at = 0; at + FRAME_HEADER_BYTES <= body.length; ) {
      const len = view.getUint32(at, true);
      if (body[at + 4] === KIND_END) endPayload = body.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + len);
      at += FRAME_HEADER_BYTES + len;
    }
  } catch (e) {
    if (e instanceof KvError) throw new BulwarkSnapshotError(e.detail === '' ? e.message : `${e.message}: ${e.detail}`);
    throw e;
  }
  if (endPayload === null || endPayload.length < 4) throw new BulwarkSnapshotError('no end frame');
  // END = varint counts (records, keys, leases, sessions, responses), u32 CRC-32C.
  let p = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (;;) {
      const b = endPayload![p++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
  };
  varint();
  const keys = varint();
  const hash = new DataView(endPayload.buffer, endPayload.byteOffset, endPayload.byteLength).getUint32(endPayload.length - 4, true);
  return { hash, revision, totalKey: keys, totalSize: file.length };
}
