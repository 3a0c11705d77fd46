/**
 * HPACK encoder (RFC 7541) with a dynamic table. Fields repeat from call to call in gRPC
 * (`:path`, `content-type`, `te`, `grpc-status: 0`), so after the first request most fields
 * encode as one indexed byte. Values that change every time (`grpc-timeout`, `grpc-message`) are
 * sent without indexing so they do not churn the table; credentials are never indexed.
 * Literals use Huffman coding when it is shorter.
 */
import { assert } from '../../core/assert.js';
import { HPACK_HUFFMAN_CACHE_ENTRIES_MAX, HPACK_HUFFMAN_CACHE_STRING_BYTES_MAX } from '../../core/limits.js';
import type { ByteSink } from './byte-sink.js';
import { huffmanEncode, huffmanEncodedLength } from './hpack-huffman.js';
import { ENTRY_OVERHEAD_BYTES, STATIC_TABLE, STATIC_TABLE_LENGTH } from './hpack-static-table.js';
import { latin1Write } from './latin1.js';

/** Names whose values change on nearly every message: literal without indexing. */
/** Huffman encodings of short strings seen lately, shared by every encoder (pure function of the string). */
const HUFFMAN_CACHE = new Map<string, Uint8Array>();
const UNINDEXED_NAMES = new Set(['grpc-timeout', 'grpc-message', 'content-length', 'date', 'grpc-status-details-bin']);
/** Names whose values are secrets: never indexed, here or by any intermediary (RFC 7541 §7.1.3). */
const SENSITIVE_NAMES = new Set(['authorization', 'token', 'cookie', 'set-cookie', 'proxy-authorization']);

interface StaticEntry {
  readonly nameIndex: number;
  readonly values: Map<string, number>;
}

const STATIC_INDEX: ReadonlyMap<string, StaticEntry> = (() => {
  const m = new Map<string, StaticEntry>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let e = m.get(name);
    if (e === undefined) {
      e = { nameIndex: i + 1, values: new Map() };
      m.set(name, e);
    }
    if (!e.values.has(value)) e.values.set(value, i + 1);
  });
  return m;
})();

export class HpackEncoder {
  /** Table entries, oldest first: [name, value, ...]; entry k (0-based from oldest) has seq = evicted + k. */
  private entries: string[] = [];
  private evictedCount = 0;
  private sizeBytes = 0;
  private capacityBytes: number;
  /** Latest seq per (name, value) and per name, for lookups. */
  private readonly byName = new Map<string, Map<string, number>>();
  private readonly nameSeq = new Map<string, number>();
  /** A table size the peer must hear about at the start of the next block, or -1. */
  private pendingSizeUpdate = -1;
  private pendingMinSize = -1;

  /** `tableBytesMax` is our own cap on the table; the peer's SETTINGS may lower it further. */
  constructor(private readonly tableBytesMax = 4096) {
    this.capacityBytes = Math.min(tableBytesMax, 4096);
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE changed: use min(ours, theirs), and tell the decoder. */
  setPeerTableSize(peerBytes: number): void {
    const size = Math.min(peerBytes, this.tableBytesMax);
    if (size === this.capacityBytes && this.pendingSizeUpdate < 0) return;
    // If the size dips and recovers between two blocks, the decoder must still see the minimum.
    this.pendingMinSize = this.pendingMinSize < 0 ? Math.min(size, this.capacityBytes) : Math.min(this.pendingMinSize, size);
    this.pendingSizeUpdate = size;
    this.capacityBytes = size;
    this.evict(0);
  }

  /** Appends the block for `headers` ([name, value, ...], lowercase names) to `out`. */
  encode(headers: readonly string[], out: ByteSink): void {
    assert(headers.length % 2 === 0, 'headers come in name/value pairs');
    if (this.pendingSizeUpdate >= 0) {
      if (this.pendingMinSize < this.pendingSizeUpdate) this.integer(out, 0x20, 5, this.pendingMinSize);
      this.integer(out, 0x20, 5, this.pendingSizeUpdate);
      this.pendingSizeUpdate = -1;
      this.pendingMinSize = -1;
    }
    for (let i = 0; i < headers.length; i += 2) this.field(headers[i]!, headers[i + 1]!, out);
  }

  private field(name: string, value: string, out: ByteSink): void {
    const st = STATIC_INDEX.get(name);
    const full = st?.values.get(value);
    if (full !== undefined) {
      this.integer(out, 0x80, 7, full);
      return;
    }
    const dynValues = this.byName.get(name);
    const seq = dynValues?.get(value);
    if (seq !== undefined) {
      this.integer(out, 0x80, 7, this.indexOfSeq(seq));
      return;
    }
    const dynNameSeq = this.nameSeq.get(name);
    const nameIndex = st !== undefined ? st.nameIndex : dynNameSeq !== undefined ? this.indexOfSeq(dynNameSeq) : 0;
    if (SENSITIVE_NAMES.has(name)) {
      this.integer(out, 0x10, 4, nameIndex);
    } else if (UNINDEXED_NAMES.has(name) || name.length + value.length + ENTRY_OVERHEAD_BYTES > this.capacityBytes / 2) {
      this.integer(out, 0x00, 4, nameIndex);
    } else {
      this.integer(out, 0x40, 6, nameIndex);
      if (nameIndex === 0) this.string(out, name);
      this.string(out, value);
      this.insert(name, value);
      return;
    }
    if (nameIndex === 0) this.string(out, name);
    this.string(out, value);
  }

  private indexOfSeq(seq: number): number {
    const newest = this.evictedCount + this.entries.length / 2 - 1;
    return STATIC_TABLE_LENGTH + 1 + (newest - seq);
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD_BYTES;
    this.evict(size);
    if (size > this.capacityBytes) return;
    const seq = this.evictedCount + this.entries.length / 2;
    this.entries.push(name, value);
    this.sizeBytes += size;
    let values = this.byName.get(name);
    if (values === undefined) {
      values = new Map();
      this.byName.set(name, values);
    }
    values.set(value, seq);
    this.nameSeq.set(name, seq);
  }

  private evict(incomingBytes: number): void {
    let drop = 0;
    while (this.sizeBytes + incomingBytes > this.capacityBytes && drop < this.entries.length) {
      const name = this.entries[drop]!;
      const value = this.entries[drop + 1]!;
      const seq = this.evictedCount + drop / 2;
      this.sizeBytes -= name.length + value.length + ENTRY_OVERHEAD_BYTES;
      const values = this.byName.get(name);
      if (values !== undefined && values.get(value) === seq) {
        values.delete(value);
        if (values.size === 0) this.byName.delete(name);
      }
      if (this.nameSeq.get(name) === seq) this.nameSeq.delete(name);
      drop += 2;
    }
    if (drop > 0) {
      this.entries.splice(0, drop);
      this.evictedCount += drop / 2;
    }
  }

  private integer(out: ByteSink, firstByteBits: number, prefixBits: number, value: number): void {
    const max = (1 << prefixBits) - 1;
    out.ensure(6);
    if (value < max) {
      out.buf[out.pos++] = firstByteBits | value;
      return;
    }
    out.buf[out.pos++] = firstByteBits | max;
    value -= max;
    while (value >= 0x80) {
      out.buf[out.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 0x80);
    }
    out.buf[out.pos++] = value;
  }

  private string(out: ByteSink, s: string): void {
    const cached = s.length <= HPACK_HUFFMAN_CACHE_STRING_BYTES_MAX ? HUFFMAN_CACHE.get(s) : undefined;
    if (cached !== undefined) {
      this.integer(out, 0x80, 7, cached.length);
      out.ensure(cached.length);
      out.buf.set(cached, out.pos);
      out.pos += cached.length;
      return;
    }
    const huffLength = s.length > 4 ? huffmanEncodedLength(s) : s.length;
    if (huffLength < s.length) {
      this.integer(out, 0x80, 7, huffLength);
      out.ensure(huffLength);
      const at = out.pos;
      out.pos = huffmanEncode(s, out.buf, out.pos);
      // Unindexed values repeat (grpc-message of a refusal, grpc-timeout): encode each once.
      if (s.length <= HPACK_HUFFMAN_CACHE_STRING_BYTES_MAX) {
        if (HUFFMAN_CACHE.size >= HPACK_HUFFMAN_CACHE_ENTRIES_MAX) HUFFMAN_CACHE.clear();
        HUFFMAN_CACHE.set(s, new Uint8Array(out.buf.subarray(at, out.pos))); // a copy: out.buf is reused
      }
    } else {
      this.integer(out, 0x00, 7, s.length);
      out.ensure(s.length);
      out.pos = latin1Write(s, out.buf, out.pos);
    }
  }
}
