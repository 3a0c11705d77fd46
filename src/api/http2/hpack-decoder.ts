/**
 * HPACK decoder (RFC 7541): integers with prefixes, string literals (raw or Huffman), the static
 * table and a dynamic table bounded by our SETTINGS_HEADER_TABLE_SIZE, with size updates.
 *
 * Headers come out as a flat array [name0, value0, name1, value1, ...] of latin1 strings. A block
 * that expands past `headerListBytesMax` (a few indexed bytes can name large table entries) is
 * still decoded to the end, to keep the dynamic table in step with the peer's encoder, but its
 * headers are dropped and `oversized` is set: the caller refuses the stream, not the connection.
 */
import { assert } from '../../core/assert.js';
import { HpackError } from './hpack-error.js';
import { huffmanDecode } from './hpack-huffman.js';
import { ENTRY_OVERHEAD_BYTES, STATIC_TABLE, STATIC_TABLE_LENGTH } from './hpack-static-table.js';
import { latin1Decode } from './latin1.js';

export interface DecodedHeaderBlock {
  /** [name, value, name, value, ...]; empty when oversized. */
  readonly headers: string[];
  /** The header list size as RFC 9113 §6.5.2 counts it (name + value + 32 per field). */
  readonly listBytes: number;
  readonly oversized: boolean;
}

export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE we advertised: the most the peer may make the table. */
  readonly tableBytesMax: number;
  readonly headerListBytesMax: number;
}

export class HpackDecoder {
  /** Dynamic table, oldest first, flat [name, value, ...]; the newest entry has index 62. */
  private entries: string[] = [];
  private sizeBytes = 0;
  private capacityBytes: number;
  private readonly settingsBytesMax: number;
  private readonly headerListBytesMax: number;
  private pos = 0;

  constructor(options: HpackDecoderOptions) {
    assert(options.tableBytesMax >= 0 && options.headerListBytesMax > 0, 'hpack decoder bounds');
    this.settingsBytesMax = options.tableBytesMax;
    this.capacityBytes = options.tableBytesMax;
    this.headerListBytesMax = options.headerListBytesMax;
  }

  get dynamicTableBytes(): number {
    return this.sizeBytes;
  }

  get dynamicTableEntries(): number {
    return this.entries.length / 2;
  }

  decode(block: Uint8Array, start = 0, end = block.length): DecodedHeaderBlock {
    const headers: string[] = [];
    let listBytes = 0;
    let oversized = false;
    let fieldSeen = false;
    this.pos = start;
    while (this.pos < end) {
      const b = block[this.pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        const index = this.integer(block, end, 7);
        if (index === 0) throw new HpackError('indexed header field with index 0');
        [name, value] = this.lookup(index);
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update: only before the first field of a block (RFC 7541 §4.2).
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const size = this.integer(block, end, 5);
        if (size > this.settingsBytesMax) throw new HpackError(`table size update ${size} above the limit ${this.settingsBytesMax}`);
        this.capacityBytes = size;
        this.evict(0);
        continue;
      } else {
        const incremental = (b & 0xc0) === 0x40;
        const index = this.integer(block, end, incremental ? 6 : 4);
        name = index === 0 ? this.string(block, end) : this.lookup(index)[0];
        value = this.string(block, end);
        if (incremental) this.insert(name, value);
      }
      fieldSeen = true;
      listBytes += name.length + value.length + ENTRY_OVERHEAD_BYTES;
      if (listBytes > this.headerListBytesMax) {
        oversized = true;
        headers.length = 0;
      }
      if (!oversized) headers.push(name, value);
    }
    return { headers, listBytes, oversized };
  }

  private lookup(index: number): readonly [string, string] {
    if (index <= STATIC_TABLE_LENGTH) return STATIC_TABLE[index - 1]!;
    const i = this.entries.length - 2 * (index - STATIC_TABLE_LENGTH);
    if (i < 0) throw new HpackError(`header index ${index} beyond the dynamic table`);
    return [this.entries[i]!, this.entries[i + 1]!];
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD_BYTES;
    if (size > this.capacityBytes) {
      // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
      this.entries.length = 0;
      this.sizeBytes = 0;
      return;
    }
    this.evict(size);
    this.entries.push(name, value);
    this.sizeBytes += size;
  }

  /** Evicts the oldest entries until `incomingBytes` more fit. */
  private evict(incomingBytes: number): void {
    let drop = 0;
    while (this.sizeBytes + incomingBytes > this.capacityBytes && drop < this.entries.length) {
      this.sizeBytes -= this.entries[drop]!.length + this.entries[drop + 1]!.length + ENTRY_OVERHEAD_BYTES;
      drop += 2;
    }
    if (drop > 0) this.entries.splice(0, drop);
  }

  /** An integer with an N-bit prefix (RFC 7541 §5.1), bounded to 2^31 to rule out overflow games. */
  private integer(block: Uint8Array, end: number, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = block[this.pos++]! & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = block[this.pos++]!;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (value > 2 ** 31) throw new HpackError('integer too large');
      if ((b & 0x80) === 0) return value;
    }
  }

  private string(block: Uint8Array, end: number): string {
    if (this.pos >= end) throw new HpackError('truncated string');
    const huffman = (block[this.pos]! & 0x80) !== 0;
    const length = this.integer(block, end, 7);
    if (length > end - this.pos) throw new HpackError(`string of ${length} bytes overruns the block`);
    const s = huffman ? huffmanDecode(block, this.pos, this.pos + length) : latin1Decode(block, this.pos, this.pos + length);
    this.pos += length;
    return s;
  }
}
