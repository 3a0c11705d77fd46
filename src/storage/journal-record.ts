/**
 * The write-ahead journal that closes the RAID-5 write hole (and keeps checksums consistent with
 * data on both levels): md's raid5-cache in write-through mode, one journal per member.
 *
 * A flush becomes one record per member, all with the same sequence number. Each record carries
 * what is common to the volume (namespace changes, new sizes and checksums) and what is that
 * member's own share of the flush: the bytes to write into its member files (data or parity) and
 * the member-file truncations. Records are fsynced on every member before anything is written in
 * place, and replayed on open, so a crash in the middle of a stripe update never leaves data and
 * parity (or data and checksum) that disagree.
 *
 * Record: a 36-byte header — magic, array id, sequence, member index, body length, body CRC32C,
 * header CRC32C — then the body. A torn or foreign record fails its checks and ends the journal.
 */
import { assertNever } from '../core/assert.js';
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import { RAID_JOURNAL_RECORD_BYTES_MAX, RAID_PATH_BYTES_MAX } from '../core/limits.js';
import { fileId, type FileId, type MetaUpdate, type NsOp } from './namespace.js';

export const JOURNAL_PATH = '.raid/journal';
const MAGIC = 0x4a525742; // "BWRJ" little-endian
export const RECORD_HEADER_BYTES = 36;

/** A change to one member's files. */
export type MemberOp =
  | { readonly type: 'truncate'; readonly fileId: FileId; readonly lengthBytes: number }
  | { readonly type: 'write'; readonly fileId: FileId; readonly offsetBytes: number; readonly data: Uint8Array };

export interface JournalRecord {
  readonly seq: number;
  readonly memberIndex: number;
  readonly nsOps: readonly NsOp[];
  readonly metas: readonly MetaUpdate[];
  readonly ops: readonly MemberOp[];
}

const NS_CODES = { mkdir: 1, rmdir: 2, create: 3, unlink: 4, rename: 5 } as const;

function writeNsOp(w: ByteWriter, op: NsOp): void {
  w.u8(NS_CODES[op.type]);
  switch (op.type) {
    case 'mkdir':
    case 'rmdir':
    case 'unlink':
      w.string(op.path);
      return;
    case 'create':
      w.string(op.path).u53(op.fileId);
      return;
    case 'rename':
      w.string(op.from).string(op.to);
      return;
    default:
      assertNever(op, 'namespace op');
  }
}

function readNsOp(r: ByteReader): NsOp {
  const code = r.u8('op');
  const path = (): string => r.string(RAID_PATH_BYTES_MAX, 'path');
  switch (code) {
    case NS_CODES.mkdir:
      return { type: 'mkdir', path: path() };
    case NS_CODES.rmdir:
      return { type: 'rmdir', path: path() };
    case NS_CODES.unlink:
      return { type: 'unlink', path: path() };
    case NS_CODES.create:
      return { type: 'create', path: path(), fileId: fileId(r.u53('file id')) };
    case NS_CODES.rename:
      return { type: 'rename', from: path(), to: path() };
    default:
      throw new DecodeError(`unknown namespace op ${code}`);
  }
}

export function encodeRecord(arrayId: string, rec: JournalRecord, checksumsPerStripe: number): Uint8Array {
  // Size the buffer up front: records carry megabytes of data, and growing means copying it.
  let estimateBytes = RECORD_HEADER_BYTES + 64;
  for (const op of rec.ops) estimateBytes += 32 + (op.type === 'write' ? op.data.length : 0);
  for (const op of rec.nsOps) estimateBytes += 32 + 3 * (op.type === 'rename' ? op.from.length + op.to.length : op.path.length);
  for (const m of rec.metas) estimateBytes += 32 + m.stripes.length * (10 + 4 * checksumsPerStripe);
  const w = new ByteWriter(estimateBytes);
  w.u32(MAGIC).u64(BigInt('0x' + arrayId)).u53(rec.seq).u32(rec.memberIndex).u32(0).u32(0).u32(0);
  w.varint(rec.nsOps.length);
  for (const op of rec.nsOps) writeNsOp(w, op);
  w.varint(rec.metas.length);
  for (const m of rec.metas) {
    w.u53(m.fileId).u53(m.sizeBytes).varint(m.stripes.length);
    for (const s of m.stripes) {
      w.varint(s.stripe);
      for (let c = 0; c < checksumsPerStripe; c++) w.u32(s.crcs[c]!);
    }
  }
  w.varint(rec.ops.length);
  for (const op of rec.ops) {
    switch (op.type) {
      case 'truncate':
        w.u8(1).u53(op.fileId).u53(op.lengthBytes);
        break;
      case 'write':
        w.u8(2).u53(op.fileId).u53(op.offsetBytes).bytes(op.data);
        break;
      default:
        assertNever(op, 'member op');
    }
  }
  const out = w.finish();
  const bodyBytes = out.length - RECORD_HEADER_BYTES;
  w.patchU32(24, bodyBytes);
  w.patchU32(28, crc32c(out, 0, RECORD_HEADER_BYTES, out.length));
  w.patchU32(32, crc32c(out, 0, 0, 32));
  return out;
}

export interface DecodedJournal {
  readonly records: JournalRecord[];
  /** Bytes of valid records from the start; anything after is a torn tail or stale. */
  readonly validBytes: number;
}

/**
 * Reads records from the start of a journal until the first one that is torn, corrupt, belongs to
 * another array or member, or breaks the sequence: the journal ends there.
 */
export function decodeJournal(bytes: Uint8Array, o: { arrayId: string; memberIndex: number; checksumsPerStripe: number }): DecodedJournal {
  const records: JournalRecord[] = [];
  const arrayId = BigInt('0x' + o.arrayId);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + RECORD_HEADER_BYTES <= bytes.length) {
    if (view.getUint32(pos + 32, true) !== crc32c(bytes, 0, pos, pos + 32)) break;
    if (view.getUint32(pos, true) !== MAGIC || view.getBigUint64(pos + 4, true) !== arrayId) break;
    if (view.getUint32(pos + 20, true) !== o.memberIndex) break;
    const bodyBytes = view.getUint32(pos + 24, true);
    if (bodyBytes > RAID_JOURNAL_RECORD_BYTES_MAX || pos + RECORD_HEADER_BYTES + bodyBytes > bytes.length) break;
    const end = pos + RECORD_HEADER_BYTES + bodyBytes;
    if (view.getUint32(pos + 28, true) !== crc32c(bytes, 0, pos + RECORD_HEADER_BYTES, end)) break;
    const seq = Number(view.getBigUint64(pos + 12, true));
    if (records.length > 0 && seq !== records[records.length - 1]!.seq + 1) break;
    let rec: JournalRecord;
    try {
      rec = decodeBody(new ByteReader(bytes, pos + RECORD_HEADER_BYTES, end), seq, o.memberIndex, o.checksumsPerStripe);
    } catch (e) {
      // A record whose checksums match but whose body does not parse was written by a broken
      // writer, not torn by a crash; stop here all the same, and let the caller see fewer records.
      if (e instanceof DecodeError) break;
      throw e;
    }
    records.push(rec);
    pos = end;
  }
  return { records, validBytes: pos };
}

function decodeBody(r: ByteReader, seq: number, memberIndex: number, checksumsPerStripe: number): JournalRecord {
  const nsOps: NsOp[] = [];
  const nsCount = r.varint('ns ops');
  for (let i = 0; i < nsCount; i++) nsOps.push(readNsOp(r));
  const metas: MetaUpdate[] = [];
  const metaCount = r.varint('metas');
  for (let i = 0; i < metaCount; i++) {
    const fid = fileId(r.u53('file id'));
    const sizeBytes = r.u53('size');
    const stripeCount = r.varint('stripes');
    const stripes: { stripe: number; crcs: number[] }[] = [];
    for (let k = 0; k < stripeCount; k++) {
      const stripe = r.varint('stripe');
      const crcs: number[] = [];
      for (let c = 0; c < checksumsPerStripe; c++) crcs.push(r.u32('crc'));
      stripes.push({ stripe, crcs });
    }
    metas.push({ fileId: fid, sizeBytes, stripes });
  }
  const ops: MemberOp[] = [];
  const opCount = r.varint('member ops');
  for (let i = 0; i < opCount; i++) {
    const code = r.u8('member op');
    const fid = fileId(r.u53('file id'));
    if (code === 1) ops.push({ type: 'truncate', fileId: fid, lengthBytes: r.u53('length') });
    else if (code === 2) {
      const offsetBytes = r.u53('offset');
      // A view into the journal's bytes, not a copy: replay holds whole journals in memory already.
      ops.push({ type: 'write', fileId: fid, offsetBytes, data: r.bytes(RAID_JOURNAL_RECORD_BYTES_MAX, 'data') });
    } else throw new DecodeError(`unknown member op ${code}`);
  }
  r.done('journal record');
  return { seq, memberIndex, nsOps, metas, ops };
}
