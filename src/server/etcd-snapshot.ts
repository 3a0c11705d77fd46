/**
 * The store as etcd 3.4 lays out its backend (what `etcdctl snapshot save` receives, and
 * `snapshot status` and `snapshot restore` read), and back:
 *
 *   key              17-byte revision keys (u64 BE main, '_', u64 BE sub; + 't' for a deletion)
 *                    → mvccpb.KeyValue (a deletion holds only the key), every retained record
 *   meta             consistent_index (u64 BE applied index); finishedCompactRev and
 *                    scheduledCompactRev (a revision key) once compacted
 *   lease            u64 BE id → leasepb.Lease {ID=1, TTL=2, RemainingTTL=3}
 *   alarm            etcdserverpb.AlarmMember → empty
 *   members          member id in hex → {"id","peerURLs","name","clientURLs","isLearner"} (JSON)
 *   cluster          clusterVersion → "3.4.0"
 *   auth             authRevision → u64 BE 1 (auth off, no users, no roles)
 *   authRoles, authUsers, members_removed: empty
 *
 * `etcdSnapshotStream` yields the bbolt file followed by the SHA-256 of it, as etcd's
 * Maintenance.Snapshot sends it (the caller hashes: Node's crypto lives in the server package).
 */
import { EtcdSnapshotError } from './errors.js';
import { encodeAlarmMember } from '../api/proto/generated/etcdserverpb.js';
import { decodeKeyValue, encodeKeyValue } from '../api/proto/generated/mvccpb.js';
import { nodeIdToBigInt, leaseId as toLeaseId, type LeaseId } from '../core/ids.js';
import type { AlarmMember } from '../kv/alarms.js';
import { bytesFromLatin1 } from '../kv/latin1.js';
import type { LeaseInfo } from '../kv/leases.js';
import type { MemberInfo } from '../kv/members.js';
import { forEachRetained, type RevRecord } from '../kv/record.js';
import type { StateImage } from '../kv/snapshot-format.js';
import { BoltReader } from './bbolt-reader.js';
import { boltImage, type BoltBucketSource, type BoltImage } from './bbolt-writer.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export const ETCD_CLUSTER_VERSION = '3.4.0';

/** etcd's revision key: u64 BE main, '_', u64 BE sub, and 't' for a tombstone. */
export function revisionKey(main: number, sub: number, tombstone: boolean): Uint8Array {
  // Revisions stay below 2^53: two 32-bit halves by arithmetic, no BigInt (this runs per record).
  const b = new Uint8Array(tombstone ? 18 : 17);
  putU64be(b, 0, main);
  b[8] = 0x5f;
  putU64be(b, 9, sub);
  if (tombstone) b[17] = 0x74;
  return b;
}

function putU64be(b: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  b[at] = hi >>> 24;
  b[at + 1] = (hi >>> 16) & 0xff;
  b[at + 2] = (hi >>> 8) & 0xff;
  b[at + 3] = hi & 0xff;
  b[at + 4] = lo >>> 24;
  b[at + 5] = (lo >>> 16) & 0xff;
  b[at + 6] = (lo >>> 8) & 0xff;
  b[at + 7] = lo & 0xff;
}

function u64be(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

function varintBytes(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Bytes of a record's mvccpb.KeyValue (what encodeKeyValue produces), without encoding it. */
function keyValueBytes(r: RevRecord): number {
  const klen = r.key.length;
  let n = 1 + varintBytes(klen) + klen;
  if (r.version === 0) return n;
  if (r.create !== 0) n += 1 + varintBytes(r.create);
  if (r.main !== 0) n += 1 + varintBytes(r.main);
  n += 1 + varintBytes(r.version);
  if (r.value.length > 0) n += 1 + varintBytes(r.value.length) + r.value.length;
  if (r.lease !== 0n) n += 1 + (r.lease < 0n ? 10 : varintBytes(Number(r.lease)));
  return n;
}

function encodeRecord(r: RevRecord): Uint8Array {
  const key = bytesFromLatin1(r.key);
  if (r.version === 0) return encodeKeyValue({ key });
  return encodeKeyValue({ key, createRevision: r.create, modRevision: r.main, version: r.version, value: bytesFromLatin1(r.value), lease: r.lease });
}

/** Every retained record of the image, in revision order. */
export function recordsInRevisionOrder(image: StateImage): RevRecord[] {
  const out: RevRecord[] = [];
  for (const head of image.heads) forEachRetained(head, image.compactRevision, image.revision, (r) => out.push(r));
  out.sort((a, b) => a.main - b.main || a.sub - b.sub);
  return out;
}

function arrayBucket(name: string, entries: readonly (readonly [Uint8Array, Uint8Array])[]): BoltBucketSource {
  const sorted = [...entries].sort((a, b) => compare(a[0], b[0]));
  return {
    name: enc.encode(name),
    length: sorted.length,
    key: (i) => sorted[i]![0],
    valueBytes: (i) => sorted[i]![1].length,
    value: (i) => sorted[i]![1],
  };
}

function encodeLease(l: LeaseInfo): Uint8Array {
  const out: number[] = [];
  const field = (tag: number, v: bigint): void => {
    if (v === 0n) return;
    out.push(tag);
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      out.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    out.push(Number(x));
  };
  field(0x08, l.id);
  field(0x10, BigInt(l.ttlSec));
  field(0x18, BigInt(l.remainingTtlSec));
  return Uint8Array.from(out);
}

function memberJson(m: MemberInfo): string {
  const parts = [`"id":${nodeIdToBigInt(m.id).toString()}`, `"peerURLs":${JSON.stringify(m.peerUrls)}`];
  if (m.isLearner) parts.push('"isLearner":true');
  if (m.name !== '') parts.push(`"name":${JSON.stringify(m.name)}`);
  if (m.clientUrls.length > 0) parts.push(`"clientURLs":${JSON.stringify(m.clientUrls)}`);
  return `{${parts.join(',')}}`;
}

/** The image as etcd 3.4's backend database. */
export function etcdBoltImage(image: StateImage, o: { pageSize: number }): BoltImage {
  const records = recordsInRevisionOrder(image);
  const keyBucket: BoltBucketSource = {
    name: enc.encode('key'),
    length: records.length,
    key: (i) => {
      const r = records[i]!;
      return revisionKey(r.main, r.sub, r.version === 0);
    },
    valueBytes: (i) => keyValueBytes(records[i]!),
    value: (i) => encodeRecord(records[i]!),
  };
  const meta: [Uint8Array, Uint8Array][] = [[enc.encode('consistent_index'), u64be(image.appliedIndex)]];
  if (image.compactRevision > 0) {
    meta.push([enc.encode('finishedCompactRev'), revisionKey(image.compactRevision, 0, false)]);
    meta.push([enc.encode('scheduledCompactRev'), revisionKey(image.compactRevision, 0, false)]);
  }
  const alarmEntries = image.alarms.map((a): [Uint8Array, Uint8Array] => [
    encodeAlarmMember({ memberID: nodeIdToBigInt(a.member), alarm: a.alarm === 'nospace' ? 1 : 2 }),
    new Uint8Array(0),
  ]);
  return boltImage(
    [
      keyBucket,
      arrayBucket('meta', meta),
      arrayBucket('lease', image.leases.map((l): [Uint8Array, Uint8Array] => [u64be(BigInt.asUintN(64, l.id)), encodeLease(l)])),
      arrayBucket('alarm', alarmEntries),
      arrayBucket('members', image.members.map((m): [Uint8Array, Uint8Array] => [enc.encode(nodeIdToBigInt(m.id).toString(16)), enc.encode(memberJson(m))])),
      arrayBucket('members_removed', []),
      arrayBucket('cluster', [[enc.encode('clusterVersion'), enc.encode(ETCD_CLUSTER_VERSION)]]),
      arrayBucket('auth', [[enc.encode('authRevision'), u64be(1)]]),
      arrayBucket('authRoles', []),
      arrayBucket('authUsers', []),
    ],
    o,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading an etcd database back (for `bulwark snapshot restore` of an etcd snapshot).

/** One mvcc record as etcd stores it. */
export interface EtcdRecord {
  readonly main: number;
  readonly sub: number;
  readonly tombstone: boolean;
  readonly key: Uint8Array;
  readonly createRevision: number;
  readonly version: number;
  readonly value: Uint8Array;
  readonly lease: LeaseId;
}

export interface EtcdData {
  /** Every record in revision order. */
  readonly records: readonly EtcdRecord[];
  readonly compactRevision: number;
  readonly consistentIndex: number;
  readonly leases: readonly LeaseInfo[];
  readonly alarms: readonly AlarmMember[];
}

/** Reads the mvcc data, leases and compaction point of an etcd backend database. */
export function readEtcdDatabase(file: Uint8Array): EtcdData {
  const bolt = new BoltReader(file);
  const name = (s: string): Uint8Array => enc.encode(s);
  if (!bolt.hasBucket(name('key'))) throw new EtcdSnapshotError('no "key" bucket: not an etcd database');
  const records: EtcdRecord[] = [];
  bolt.forEach([name('key')], (e) => {
    if (e.key.length !== 17 && !(e.key.length === 18 && e.key[17] === 0x74)) throw new EtcdSnapshotError(`revision key of ${e.key.length} bytes`);
    const v = new DataView(e.key.buffer, e.key.byteOffset, e.key.byteLength);
    const main = Number(v.getBigUint64(0, false));
    const sub = Number(v.getBigUint64(9, false));
    let kv;
    try {
      kv = decodeKeyValue(e.value);
    } catch (err) {
      throw new EtcdSnapshotError(`record at revision ${main}: ${(err as Error).message}`);
    }
    const tombstone = e.key.length === 18;
    records.push({
      main,
      sub,
      tombstone,
      key: kv.key.slice(),
      createRevision: tombstone ? 0 : kv.createRevision,
      version: tombstone ? 0 : kv.version,
      value: tombstone ? new Uint8Array(0) : kv.value.slice(),
      lease: toLeaseId(tombstone ? 0n : kv.lease),
    });
  });
  let compactRevision = 0;
  let consistentIndex = 0;
  if (bolt.hasBucket(name('meta'))) {
    bolt.forEach([name('meta')], (e) => {
      const k = dec.decode(e.key);
      const v = new DataView(e.value.buffer, e.value.byteOffset, e.value.byteLength);
      if (k === 'finishedCompactRev' && e.value.length >= 8) compactRevision = Number(v.getBigUint64(0, false));
      if (k === 'consistent_index' && e.value.length === 8) consistentIndex = Number(v.getBigUint64(0, false));
    });
  }
  const leases: LeaseInfo[] = [];
  if (bolt.hasBucket(name('lease'))) {
    bolt.forEach([name('lease')], (e) => leases.push(decodeLease(e.value)));
  }
  return { records, compactRevision, consistentIndex, leases, alarms: [] };
}

function decodeLease(b: Uint8Array): LeaseInfo {
  let id = 0n;
  let ttl = 0n;
  let remaining = 0n;
  let i = 0;
  const varint = (): bigint => {
    let x = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= b.length || shift > 63n) throw new EtcdSnapshotError('malformed lease record');
      const c = b[i++]!;
      x |= BigInt(c & 0x7f) << shift;
      if (c < 0x80) return x;
      shift += 7n;
    }
  };
  while (i < b.length) {
    const tag = Number(varint());
    const value = varint();
    if ((tag & 7) !== 0) throw new EtcdSnapshotError('malformed lease record');
    if (tag >> 3 === 1) id = BigInt.asIntN(64, value);
    else if (tag >> 3 === 2) ttl = value;
    else if (tag >> 3 === 3) remaining = value;
  }
  return { id: toLeaseId(id), ttlSec: Number(ttl), remainingTtlSec: Number(remaining) };
}

function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

