/**
 * The state machine's snapshot format: a stream of frames, each at most KV_SNAPSHOT_FRAME_BYTES_MAX
 * and usually about KV_SNAPSHOT_FRAME_TARGET_BYTES, so neither side ever holds the snapshot as one
 * buffer. Every multi-byte integer is little-endian.
 *
 *   frame   = u32 payloadBytes, u8 kind, payload
 *   HEADER  = u32 magic "BWKV", u8 version, u53 appliedIndex, u53 revision, u53 compactRevision
 *   RECORDS = records, key by key in byte order, each key's records oldest first (a key's
 *             records may continue in the next frame):
 *             u8 flags (1: same key as the previous record, 2: has lease),
 *             [bytes key], varint main, varint sub, varint create, varint version, [i64 lease], bytes value
 *   LEASES  = per lease, ids ascending: i64 id, varint ttlSec, varint remainingTtlSec
 *   SESSION = one session: varint clientId, varint lastUsedIndex, varint lowestUnacked, varint responses
 *   RESPONSE= for the session before it: varint seq, varint revision, u8 kept, [outcome]
 *   ALARMS  = varint n, per alarm: u64 member, u8 type
 *   MEMBERS = varint n, MemberInfo…
 *   END     = varint counts (records, keys, leases, sessions, responses), u32 CRC-32C of every byte before this frame
 *
 * Only what compaction retains is written (see record.ts forEachRetained), so the bytes depend on
 * the logical state alone; their CRC is the store's whole-state hash.
 *
 * The reader (SnapshotReader) takes chunks cut anywhere, validates every frame and every
 * invariant it can check locally (key order, revision order, tombstone shape, the retention rule,
 * attached leases existing, counts, the CRC) and throws KvError 'snapshot-invalid' on the first
 * violation. It builds the new state off to the side; nothing is swapped in before `finish`.
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { crc32c } from '../core/crc32c.js';
import { DecodeError } from '../core/errors.js';
import { leaseId, nodeIdToBigInt, type LeaseId } from '../core/ids.js';
import { KEY_BYTES_MAX, KV_SNAPSHOT_FRAME_BYTES_MAX, KV_SNAPSHOT_FRAME_TARGET_BYTES, LEASE_TTL_SEC_MAX, MEMBERS_MAX, REQUEST_BYTES_MAX } from '../core/limits.js';
import { assert } from '../core/assert.js';
import type { AlarmMember } from './alarms.js';
import { readEnum, readNodeId, type AlarmType } from './command.js';
import { snapshotInvalid } from './errors.js';
import { KeyIndex } from './key-index.js';
import { latin1FromBytes, writeLatin1 } from './latin1.js';
import type { LeaseInfo } from './leases.js';
import { readMemberInfo, writeMemberInfo, type MemberInfo } from './members.js';
import { forEachRetained, recordCostBytes, RevRecord } from './record.js';
import { outcomeSizeBytes, readOutcome, writeOutcome } from './results.js';
import { RevLog } from './rev-log.js';
import type { StoredResponse } from './sessions.js';

const MAGIC = 0x564b5742; // "BWKV" little-endian
const FORMAT_VERSION = 1;

const enum Kind {
  Header = 1,
  Records = 2,
  Leases = 3,
  Session = 4,
  Response = 5,
  Alarms = 6,
  Members = 7,
  End = 8,
}

const ALARM_TYPES: readonly AlarmType[] = ['nospace', 'corrupt'];

export interface SessionImage {
  readonly clientId: number;
  readonly lastUsedIndex: number;
  readonly lowestUnacked: number;
  readonly responses: readonly (readonly [number, StoredResponse])[];
}

/** A point-in-time image of the state: what a snapshot serializes. Heads are immutable histories. */
export interface StateImage {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly compactRevision: number;
  /** Heads of every key's history, in key order. */
  readonly heads: readonly RevRecord[];
  readonly leases: readonly LeaseInfo[];
  readonly sessions: readonly SessionImage[];
  readonly alarms: readonly AlarmMember[];
  readonly members: readonly MemberInfo[];
}

/** A growable buffer for one frame, with latin1 string writes. */
class FrameBuilder {
  private buf = new Uint8Array(KV_SNAPSHOT_FRAME_TARGET_BYTES + 1024);
  private view = new DataView(this.buf.buffer);
  pos = 5;
  kind: Kind = Kind.Header;

  start(kind: Kind): void {
    this.kind = kind;
    this.pos = 5;
  }

  get payloadBytes(): number {
    return this.pos - 5;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, v, true);
    this.pos += 8;
  }

  latin1(s: string): void {
    this.varint(s.length);
    this.ensure(s.length);
    this.pos += writeLatin1(s, this.buf, this.pos);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** The finished frame as a fresh array. */
  finish(): Uint8Array {
    this.view.setUint32(0, this.pos - 5, true);
    this.buf[4] = this.kind;
    assert(this.pos - 5 <= KV_SNAPSHOT_FRAME_BYTES_MAX, `snapshot frame of ${this.pos - 5} bytes`);
    return this.buf.slice(0, this.pos);
  }
}

/** Serializes an image as frames (one frame per chunk). Deterministic: the same state gives the same bytes. */
export function* snapshotChunks(image: StateImage): Generator<Uint8Array> {
  let crc = 0;
  const counts = { records: 0, keys: 0, leases: 0, sessions: 0, responses: 0 };
  const f = new FrameBuilder();
  const emit = (): Uint8Array => {
    const b = f.finish();
    crc = crc32c(b, crc);
    return b;
  };

  f.start(Kind.Header);
  const h = new ByteWriter(64).u32(MAGIC).u8(FORMAT_VERSION).u53(image.appliedIndex).u53(image.revision).u53(image.compactRevision);
  f.raw(h.finish());
  yield emit();

  f.start(Kind.Records);
  const recs: RevRecord[] = [];
  for (const head of image.heads) {
    recs.length = 0;
    forEachRetained(head, image.compactRevision, image.revision, (r) => recs.push(r));
    if (recs.length === 0) continue;
    counts.keys++;
    for (let i = recs.length - 1; i >= 0; i--) {
      const r = recs[i]!;
      const sameKey = i !== recs.length - 1;
      f.u8((sameKey ? 1 : 0) | (r.lease !== 0n ? 2 : 0));
      if (!sameKey) f.latin1(r.key);
      f.varint(r.main);
      f.varint(r.sub);
      f.varint(r.create);
      f.varint(r.version);
      if (r.lease !== 0n) f.i64(r.lease);
      f.latin1(r.value);
      counts.records++;
      if (f.payloadBytes >= KV_SNAPSHOT_FRAME_TARGET_BYTES) {
        yield emit();
        f.start(Kind.Records);
      }
    }
  }
  if (f.payloadBytes > 0) yield emit();

  f.start(Kind.Leases);
  for (const l of image.leases) {
    f.i64(l.id);
    f.varint(l.ttlSec);
    f.varint(l.remainingTtlSec);
    counts.leases++;
    if (f.payloadBytes >= KV_SNAPSHOT_FRAME_TARGET_BYTES) {
      yield emit();
      f.start(Kind.Leases);
    }
  }
  if (f.payloadBytes > 0) yield emit();

  for (const s of image.sessions) {
    f.start(Kind.Session);
    f.varint(s.clientId);
    f.varint(s.lastUsedIndex);
    f.varint(s.lowestUnacked);
    f.varint(s.responses.length);
    yield emit();
    counts.sessions++;
    for (const [seq, resp] of s.responses) {
      f.start(Kind.Response);
      f.varint(seq);
      f.varint(resp.revision);
      f.u8(resp.type === 'kept' ? 1 : 0);
      if (resp.type === 'kept') {
        const w = new ByteWriter(64);
        writeOutcome(w, resp.outcome);
        f.raw(w.finish());
      }
      yield emit();
      counts.responses++;
    }
  }

  f.start(Kind.Alarms);
  f.varint(image.alarms.length);
  for (const a of image.alarms) {
    f.raw(new ByteWriter(16).u64(nodeIdToBigInt(a.member)).finish());
    f.u8(ALARM_TYPES.indexOf(a.alarm));
  }
  yield emit();

  f.start(Kind.Members);
  const mw = new ByteWriter(256).varint(image.members.length);
  for (const m of image.members) writeMemberInfo(mw, m);
  f.raw(mw.finish());
  yield emit();

  f.start(Kind.End);
  f.varint(counts.records);
  f.varint(counts.keys);
  f.varint(counts.leases);
  f.varint(counts.sessions);
  f.varint(counts.responses);
  const endCrc = crc;
  f.raw(new ByteWriter(4).u32(endCrc).finish());
  yield emit();
}

/** What a snapshot reader hands over once the whole stream validated. */
export interface RestoredParts {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly index: KeyIndex;
  readonly revlog: RevLog;
  readonly sizeBytes: number;
  readonly leases: readonly LeaseInfo[];
  /** Live keys attached to each lease (by the head records). */
  readonly leaseKeys: ReadonlyMap<bigint, string[]>;
  readonly sessions: readonly SessionImage[];
  readonly alarms: readonly AlarmMember[];
  readonly members: readonly MemberInfo[];
}

type Phase = 'header' | 'records' | 'leases' | 'sessions' | 'alarms' | 'members' | 'end' | 'done';

/** Parses a snapshot stream chunk by chunk (chunks may be cut anywhere). */
export class SnapshotReader {
  private buf = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;
  private crc = 0;
  private phase: Phase = 'header';

  private appliedIndex = 0;
  private revision = 0;
  private compactRevision = 0;
  private readonly heads: RevRecord[] = [];
  private readonly revRecords: RevRecord[] = [];
  private current: RevRecord | null = null;
  private sizeBytes = 0;
  private records = 0;
  private readonly leases: LeaseInfo[] = [];
  private readonly sessions: { image: SessionImage; expected: number; responses: [number, StoredResponse][] }[] = [];
  private responses = 0;
  private alarms: AlarmMember[] = [];
  private members: MemberInfo[] = [];

  constructor(private readonly expectedIndex: number) {}

  write(chunk: Uint8Array): void {
    if (this.phase === 'done') throw snapshotInvalid('bytes after the end frame');
    this.append(chunk);
    for (;;) {
      const avail = this.end - this.start;
      if (avail < 5) return;
      const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.start, 5);
      const len = view.getUint32(0, true);
      if (len > KV_SNAPSHOT_FRAME_BYTES_MAX) throw snapshotInvalid(`frame of ${len} bytes, at most ${KV_SNAPSHOT_FRAME_BYTES_MAX}`);
      if (avail < 5 + len) return;
      const kind = this.buf[this.start + 4]!;
      const frame = this.buf.subarray(this.start, this.start + 5 + len);
      const payload = frame.subarray(5);
      this.start += 5 + len;
      if (kind === Kind.End) this.readEnd(payload);
      else {
        try {
          this.readFrame(kind, payload);
        } catch (e) {
          if (e instanceof DecodeError) throw snapshotInvalid(e.message, e);
          throw e;
        }
      }
      this.crc = crc32c(frame, this.crc);
      if ((this.phase as Phase) === 'done' && this.end > this.start) throw snapshotInvalid('bytes after the end frame');
    }
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      if (live + chunk.length > this.buf.length) {
        const next = new Uint8Array(Math.max(live + chunk.length, this.buf.length * 2));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  private advance(to: Phase, kind: number): void {
    const order: Phase[] = ['header', 'records', 'leases', 'sessions', 'alarms', 'members', 'end'];
    if (order.indexOf(to) < order.indexOf(this.phase)) throw snapshotInvalid(`frame kind ${kind} out of order (in ${this.phase})`);
    if (this.phase === 'header' && to !== 'header') throw snapshotInvalid('the snapshot does not start with a header');
    this.phase = to;
  }

  private readFrame(kind: number, payload: Uint8Array): void {
    const r = new ByteReader(payload);
    switch (kind) {
      case Kind.Header: {
        if (this.phase !== 'header') throw snapshotInvalid('a second header');
        if (r.u32('magic') !== MAGIC) throw snapshotInvalid('not a Bulwark state-machine snapshot (bad magic)');
        const v = r.u8('format version');
        if (v !== FORMAT_VERSION) throw snapshotInvalid(`unknown snapshot format version ${v}`);
        this.appliedIndex = r.u53('applied index');
        this.revision = r.u53('revision');
        this.compactRevision = r.u53('compact revision');
        r.done('header');
        if (this.appliedIndex !== this.expectedIndex) throw snapshotInvalid(`snapshot of index ${this.appliedIndex}, expected ${this.expectedIndex}`);
        if (this.revision < 1 || this.compactRevision > this.revision) throw snapshotInvalid(`revision ${this.revision}, compact revision ${this.compactRevision}`);
        this.phase = 'records';
        return;
      }
      case Kind.Records:
        this.advance('records', kind);
        while (r.remainingBytes > 0) this.readRecord(r);
        return;
      case Kind.Leases:
        this.advance('leases', kind);
        this.closeKey();
        while (r.remainingBytes > 0) {
          const id = leaseId(r.i64('lease id'));
          const ttlSec = r.varint('lease ttl');
          const remainingTtlSec = r.varint('lease remaining ttl');
          const last = this.leases[this.leases.length - 1];
          if (id === 0n || (last !== undefined && last.id >= id)) throw snapshotInvalid(`lease ${id} out of order`);
          if (ttlSec < 1 || ttlSec > LEASE_TTL_SEC_MAX || remainingTtlSec > ttlSec) throw snapshotInvalid(`lease ${id}: ttl ${ttlSec}, remaining ${remainingTtlSec}`);
          this.leases.push({ id, ttlSec, remainingTtlSec });
        }
        return;
      case Kind.Session: {
        this.advance('sessions', kind);
        this.closeKey();
        this.closeSession();
        const clientId = r.varint('client id');
        const lastUsedIndex = r.varint('last used index');
        const lowestUnacked = r.varint('lowest unacked');
        const expected = r.varint('responses');
        r.done('session');
        if (this.sessions.some((s) => s.image.clientId === clientId)) throw snapshotInvalid(`session ${clientId} twice`);
        const responses: [number, StoredResponse][] = [];
        this.sessions.push({ image: { clientId, lastUsedIndex, lowestUnacked, responses }, expected, responses });
        return;
      }
      case Kind.Response: {
        const s = this.sessions[this.sessions.length - 1];
        if (this.phase !== 'sessions' || s === undefined) throw snapshotInvalid('a response outside a session');
        const seq = r.varint('seq');
        const revision = r.varint('response revision');
        const kept = r.u8('kept');
        if (kept > 1) throw snapshotInvalid(`bad kept flag ${kept}`);
        let resp: StoredResponse;
        if (kept === 1) {
          const outcome = readOutcome(r);
          resp = { type: 'kept', outcome, revision, sizeBytes: outcomeSizeBytes(outcome) };
        } else resp = { type: 'dropped', revision };
        r.done('response');
        if (s.responses.some(([q]) => q === seq)) throw snapshotInvalid(`session ${s.image.clientId}: seq ${seq} twice`);
        s.responses.push([seq, resp]);
        this.responses++;
        return;
      }
      case Kind.Alarms: {
        this.advance('alarms', kind);
        this.closeKey();
        this.closeSession();
        const n = r.varint('alarms');
        if (n > MEMBERS_MAX * ALARM_TYPES.length) throw snapshotInvalid(`${n} alarms`);
        const alarms: AlarmMember[] = [];
        for (let i = 0; i < n; i++) alarms.push({ member: readNodeId(r, 'alarm member'), alarm: readEnum(r, ALARM_TYPES, 'alarm type') });
        r.done('alarms');
        this.alarms = alarms;
        this.phase = 'members';
        return;
      }
      case Kind.Members: {
        if (this.phase !== 'members') throw snapshotInvalid('members frame out of order');
        const n = r.varint('members');
        if (n > MEMBERS_MAX) throw snapshotInvalid(`${n} members`);
        const members: MemberInfo[] = [];
        for (let i = 0; i < n; i++) members.push(readMemberInfo(r));
        r.done('members');
        this.members = members;
        this.phase = 'end';
        return;
      }
      default:
        throw snapshotInvalid(`unknown frame kind ${kind}`);
    }
  }

  private readRecord(r: ByteReader): void {
    const flags = r.u8('record flags');
    if ((flags & ~3) !== 0) throw snapshotInvalid(`bad record flags ${flags}`);
    const same = (flags & 1) !== 0;
    let key: string;
    if (same) {
      if (this.current === null) throw snapshotInvalid('record continues no key');
      key = this.current.key;
    } else {
      key = latin1FromBytes(r.bytes(KEY_BYTES_MAX, 'key'));
      if (this.current !== null && !(this.current.key < key)) throw snapshotInvalid('keys out of order');
      this.closeKey();
    }
    const main = r.varint('main revision');
    const sub = r.varint('sub revision');
    const create = r.varint('create revision');
    const version = r.varint('version');
    const lease = (flags & 2) !== 0 ? leaseId(r.i64('lease')) : (0n as LeaseId);
    if ((flags & 2) !== 0 && lease === 0n) throw snapshotInvalid('lease flag with lease 0');
    const value = latin1FromBytes(r.bytes(REQUEST_BYTES_MAX, 'value'));
    const prev = same ? this.current : null;
    if (main < 1 || main > this.revision) throw snapshotInvalid(`record revision ${main} outside [1, ${this.revision}]`);
    if (prev !== null && !(prev.main < main || (prev.main === main && prev.sub < sub))) throw snapshotInvalid(`key history out of revision order at ${main}`);
    if (version === 0) {
      if (create !== 0 || lease !== 0n || value.length !== 0) throw snapshotInvalid(`malformed tombstone at ${main}`);
      if (main < this.compactRevision) throw snapshotInvalid(`tombstone at ${main} below the compaction point`);
    } else if (create < 1 || create > main) throw snapshotInvalid(`create revision ${create} of a record at ${main}`);
    if (prev !== null && main < this.compactRevision) throw snapshotInvalid(`two records below the compaction point`);
    const rec = new RevRecord(key, main, sub, create, version, lease, value, prev);
    this.current = rec;
    this.records++;
    this.sizeBytes += recordCostBytes(rec);
    if (main >= this.compactRevision) this.revRecords.push(rec);
  }

  private closeKey(): void {
    if (this.current !== null) this.heads.push(this.current);
    this.current = null;
  }

  private closeSession(): void {
    const s = this.sessions[this.sessions.length - 1];
    if (s !== undefined && s.responses.length !== s.expected) throw snapshotInvalid(`session ${s.image.clientId}: ${s.responses.length} responses, expected ${s.expected}`);
  }

  private readEnd(payload: Uint8Array): void {
    if (this.phase !== 'end') throw snapshotInvalid(`end frame in phase ${this.phase}`);
    try {
      const r = new ByteReader(payload);
      const counts = [r.varint(), r.varint(), r.varint(), r.varint(), r.varint()];
      const crc = r.u32('crc');
      r.done('end');
      const have = [this.records, this.heads.length, this.leases.length, this.sessions.length, this.responses];
      if (counts.some((c, i) => c !== have[i])) throw snapshotInvalid(`counts ${counts.join('/')} but read ${have.join('/')}`);
      if (crc !== this.crc) throw snapshotInvalid(`checksum ${crc.toString(16)} but computed ${this.crc.toString(16)}`);
    } catch (e) {
      if (e instanceof DecodeError) throw snapshotInvalid(e.message, e);
      throw e;
    }
    this.phase = 'done';
  }

  /** Validates the whole and returns the parts; throws 'snapshot-invalid' when incomplete or inconsistent. */
  finish(): RestoredParts {
    if (this.phase !== 'done') throw snapshotInvalid(`snapshot ended early (in ${this.phase})`);
    const leaseIds = new Set(this.leases.map((l) => l.id as bigint));
    const leaseKeys = new Map<bigint, string[]>();
    for (const h of this.heads) {
      if (h.version === 0 || h.lease === 0n) continue;
      if (!leaseIds.has(h.lease)) throw snapshotInvalid(`key attached to unknown lease ${h.lease}`);
      let keys = leaseKeys.get(h.lease);
      if (keys === undefined) leaseKeys.set(h.lease, (keys = []));
      keys.push(h.key);
    }
    const sessions = this.sessions.map((s) => s.image);
    return {
      appliedIndex: this.appliedIndex,
      revision: this.revision,
      compactRevision: this.compactRevision,
      index: KeyIndex.fromSorted(this.heads),
      revlog: buildRevLog(this.revRecords, this.revision, this.compactRevision),
      sizeBytes: this.sizeBytes,
      leases: this.leases,
      leaseKeys,
      sessions,
      alarms: this.alarms,
      members: this.members,
    };
  }
}

/** Sorts retained records into revision order: a counting sort by main revision when the span allows. */
function buildRevLog(records: RevRecord[], revision: number, compactRevision: number): RevLog {
  const span = revision - compactRevision + 1;
  let sorted: RevRecord[];
  if (span <= records.length * 4 + 1024) {
    const counts = new Int32Array(span + 1);
    for (const r of records) counts[r.main - compactRevision + 1]!++;
    for (let i = 1; i <= span; i++) counts[i]! += counts[i - 1]!;
    sorted = new Array<RevRecord>(records.length);
    for (const r of records) sorted[counts[r.main - compactRevision]!++] = r;
    // Within one revision records came key by key; order them by sub-revision.
    let i = 0;
    while (i < sorted.length) {
      let j = i + 1;
      while (j < sorted.length && sorted[j]!.main === sorted[i]!.main) j++;
      if (j - i > 1) {
        let ordered = true;
        for (let k = i + 1; k < j && ordered; k++) ordered = sorted[k - 1]!.sub < sorted[k]!.sub;
        if (!ordered) {
          const part = sorted.slice(i, j).sort((a, b) => a.sub - b.sub);
          for (let k = i; k < j; k++) sorted[k] = part[k - i]!;
        }
      }
      i = j;
    }
  } else {
    sorted = records.slice().sort((a, b) => a.main - b.main || a.sub - b.sub);
  }
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1]!;
    const b = sorted[k]!;
    if (a.main === b.main && a.sub === b.sub) throw snapshotInvalid(`two records at revision ${a.main}.${a.sub}`);
  }
  return RevLog.fromSorted(sorted);
}
