/**
 * Splits a byte stream of concatenated JSON values (a streaming gateway request:
 * `{"create_request":{...}}{"progress_request":{}}`, with or without whitespace between them) into
 * one text per value, as Go's json.Decoder reads them. A pure state machine: feed chunks of any
 * size, down to one byte. Only objects and arrays are values here (what protobuf JSON sends).
 */
import { JsonStreamError } from './errors.js';

export class JsonStreamSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly valueBytesMax: number) {}

  /** Feeds bytes; returns the complete values they finish. Throws JsonStreamError on nonsense or an oversized value. */
  push(chunk: Uint8Array): string[] {
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
          start = i + 1;
          continue;
        }
        if (c !== 0x7b && c !== 0x5b) throw new JsonStreamError(`invalid character '${String.fromCharCode(c)}' looking for beginning of value`);
        start = i;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          this.take(chunk.subarray(start, i + 1));
          out.push(Buffer.concat(this.parts).toString('utf8'));
          this.parts = [];
          this.partBytes = 0;
          start = i + 1;
        }
      }
    }
    if (this.depth > 0) this.take(chunk.subarray(start));
    return out;
  }

  /** Whether the input ended between values (not in the middle of one). */
  get atBoundary(): boolean {
    return this.depth === 0;
  }

  private take(bytes: Uint8Array): void {
    this.partBytes += bytes.length;
    if (this.partBytes > this.valueBytesMax) throw new JsonStreamError(`a request of more than ${this.valueBytesMax} bytes`);
    this.parts.push(Buffer.from(bytes));
  }
}

