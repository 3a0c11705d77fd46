/**
 * HTTP/2 frames (RFC 9113 §6): the typed union, the payload decoder with every per-type check of
 * the RFC (each violation is a connection or stream error with the code the RFC names), and the
 * writers that append frames to an output buffer.
 */
import { assert } from '../../core/assert.js';
import type { ByteSink } from './byte-sink.js';
import { ErrorCode, Flag, FrameType, FRAME_HEADER_BYTES } from './constants.js';
import { Http2ConnectionError, Http2StreamError } from './errors.js';

export type Frame =
  | { readonly type: 'data'; readonly streamId: number; readonly endStream: boolean; readonly data: Uint8Array; readonly flowBytes: number }
  | { readonly type: 'headers'; readonly streamId: number; readonly endStream: boolean; readonly endHeaders: boolean; readonly block: Uint8Array; readonly dependsOn: number }
  | { readonly type: 'priority'; readonly streamId: number; readonly dependsOn: number }
  | { readonly type: 'rst-stream'; readonly streamId: number; readonly errorCode: number }
  | { readonly type: 'settings'; readonly ack: boolean; readonly settings: readonly (readonly [id: number, value: number])[] }
  | { readonly type: 'push-promise'; readonly streamId: number; readonly promisedStreamId: number; readonly endHeaders: boolean; readonly block: Uint8Array }
  | { readonly type: 'ping'; readonly ack: boolean; readonly data: Uint8Array }
  | { readonly type: 'goaway'; readonly lastStreamId: number; readonly errorCode: number; readonly debugData: Uint8Array }
  | { readonly type: 'window-update'; readonly streamId: number; readonly increment: number }
  | { readonly type: 'continuation'; readonly streamId: number; readonly endHeaders: boolean; readonly block: Uint8Array }
  | { readonly type: 'unknown'; readonly frameType: number; readonly streamId: number };

const u32 = (p: Uint8Array, i: number): number => ((p[i]! << 24) | (p[i + 1]! << 16) | (p[i + 2]! << 8) | p[i + 3]!) >>> 0;

function connError(code: number, message: string): never {
  throw new Http2ConnectionError(code, message);
}

/** Strips padding (RFC 9113 §6.1): the pad length must leave room for the content. */
function unpad(flags: number, payload: Uint8Array, what: string): [start: number, end: number] {
  if ((flags & Flag.PADDED) === 0) return [0, payload.length];
  if (payload.length < 1) connError(ErrorCode.FRAME_SIZE_ERROR, `${what} padded but empty`);
  const pad = payload[0]!;
  if (pad >= payload.length) connError(ErrorCode.PROTOCOL_ERROR, `${what} padding ${pad} >= payload ${payload.length}`);
  return [1, payload.length - pad];
}

/** Decodes one frame's payload. Throws Http2ConnectionError / Http2StreamError on a violation. */
export function decodeFrame(type: number, flags: number, streamId: number, payload: Uint8Array): Frame {
  switch (type) {
    case FrameType.DATA: {
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
      const [s, e] = unpad(flags, payload, 'DATA');
      return { type: 'data', streamId, endStream: (flags & Flag.END_STREAM) !== 0, data: payload.subarray(s, e), flowBytes: payload.length };
    }
    case FrameType.HEADERS: {
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
      let [s, e] = unpad(flags, payload, 'HEADERS');
      let dependsOn = 0;
      if (flags & Flag.PRIORITY) {
        if (e - s < 5) connError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority fields truncated');
        dependsOn = u32(payload, s) & 0x7fffffff;
        s += 5;
        if (dependsOn === streamId) throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
      }
      if (s > e) e = s;
      return { type: 'headers', streamId, endStream: (flags & Flag.END_STREAM) !== 0, endHeaders: (flags & Flag.END_HEADERS) !== 0, block: payload.subarray(s, e), dependsOn };
    }
    case FrameType.PRIORITY: {
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
      if (payload.length !== 5) throw new Http2StreamError(streamId, ErrorCode.FRAME_SIZE_ERROR, `PRIORITY of ${payload.length} bytes`);
      const dependsOn = u32(payload, 0) & 0x7fffffff;
      if (dependsOn === streamId) throw new Http2StreamError(streamId, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
      return { type: 'priority', streamId, dependsOn };
    }
    case FrameType.RST_STREAM:
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
      if (payload.length !== 4) connError(ErrorCode.FRAME_SIZE_ERROR, `RST_STREAM of ${payload.length} bytes`);
      return { type: 'rst-stream', streamId, errorCode: u32(payload, 0) };
    case FrameType.SETTINGS: {
      if (streamId !== 0) connError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
      const ack = (flags & Flag.ACK) !== 0;
      if (ack && payload.length !== 0) connError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ack with a payload');
      if (payload.length % 6 !== 0) connError(ErrorCode.FRAME_SIZE_ERROR, `SETTINGS of ${payload.length} bytes`);
      const settings: [number, number][] = [];
      for (let i = 0; i < payload.length; i += 6) settings.push([(payload[i]! << 8) | payload[i + 1]!, u32(payload, i + 2)]);
      return { type: 'settings', ack, settings };
    }
    case FrameType.PUSH_PROMISE: {
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE on stream 0');
      const [s, e] = unpad(flags, payload, 'PUSH_PROMISE');
      if (e - s < 4) connError(ErrorCode.FRAME_SIZE_ERROR, 'PUSH_PROMISE truncated');
      return { type: 'push-promise', streamId, promisedStreamId: u32(payload, s) & 0x7fffffff, endHeaders: (flags & Flag.END_HEADERS) !== 0, block: payload.subarray(s + 4, e) };
    }
    case FrameType.PING:
      if (streamId !== 0) connError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
      if (payload.length !== 8) connError(ErrorCode.FRAME_SIZE_ERROR, `PING of ${payload.length} bytes`);
      return { type: 'ping', ack: (flags & Flag.ACK) !== 0, data: payload };
    case FrameType.GOAWAY:
      if (streamId !== 0) connError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
      if (payload.length < 8) connError(ErrorCode.FRAME_SIZE_ERROR, `GOAWAY of ${payload.length} bytes`);
      return { type: 'goaway', lastStreamId: u32(payload, 0) & 0x7fffffff, errorCode: u32(payload, 4), debugData: payload.subarray(8) };
    case FrameType.WINDOW_UPDATE:
      if (payload.length !== 4) connError(ErrorCode.FRAME_SIZE_ERROR, `WINDOW_UPDATE of ${payload.length} bytes`);
      return { type: 'window-update', streamId, increment: u32(payload, 0) & 0x7fffffff };
    case FrameType.CONTINUATION:
      if (streamId === 0) connError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION on stream 0');
      return { type: 'continuation', streamId, endHeaders: (flags & Flag.END_HEADERS) !== 0, block: payload };
    default:
      // Unknown frame types are ignored (RFC 9113 §4.1), but must not interrupt a header block;
      // the connection checks that.
      return { type: 'unknown', frameType: type, streamId };
  }
}

// ---------------------------------------------------------------------------------------------
// Writers: each appends one complete frame to the sink.

export function writeFrameHeader(out: ByteSink, lengthBytes: number, type: number, flags: number, streamId: number): void {
  assert(lengthBytes < 1 << 24 && streamId >= 0 && streamId < 2 ** 31, 'frame header fields in range');
  out.ensure(FRAME_HEADER_BYTES);
  const b = out.buf;
  const p = out.pos;
  b[p] = lengthBytes >>> 16;
  b[p + 1] = (lengthBytes >>> 8) & 0xff;
  b[p + 2] = lengthBytes & 0xff;
  b[p + 3] = type;
  b[p + 4] = flags;
  b[p + 5] = (streamId >>> 24) & 0x7f;
  b[p + 6] = (streamId >>> 16) & 0xff;
  b[p + 7] = (streamId >>> 8) & 0xff;
  b[p + 8] = streamId & 0xff;
  out.pos = p + FRAME_HEADER_BYTES;
}

export function writeData(out: ByteSink, streamId: number, data: Uint8Array, endStream: boolean): void {
  writeFrameHeader(out, data.length, FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId);
  out.bytes(data);
}

/** A header block as HEADERS plus CONTINUATION frames of at most `frameBytesMax` each. */
export function writeHeaderBlock(out: ByteSink, streamId: number, block: Uint8Array, endStream: boolean, frameBytesMax: number): void {
  let first = true;
  let pos = 0;
  do {
    const n = Math.min(frameBytesMax, block.length - pos);
    const last = pos + n === block.length;
    const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
    writeFrameHeader(out, n, first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId);
    out.bytes(block, pos, pos + n);
    pos += n;
    first = false;
  } while (pos < block.length);
}

export function writeSettings(out: ByteSink, settings: readonly (readonly [number, number])[]): void {
  writeFrameHeader(out, settings.length * 6, FrameType.SETTINGS, 0, 0);
  out.ensure(settings.length * 6);
  for (const [id, value] of settings) {
    out.buf[out.pos++] = id >> 8;
    out.buf[out.pos++] = id & 0xff;
    out.u32(value);
  }
}

export function writeSettingsAck(out: ByteSink): void {
  writeFrameHeader(out, 0, FrameType.SETTINGS, Flag.ACK, 0);
}

export function writePing(out: ByteSink, data: Uint8Array, ack: boolean): void {
  assert(data.length === 8, 'ping payload is 8 bytes');
  writeFrameHeader(out, 8, FrameType.PING, ack ? Flag.ACK : 0, 0);
  out.bytes(data);
}

export function writeRstStream(out: ByteSink, streamId: number, errorCode: number): void {
  writeFrameHeader(out, 4, FrameType.RST_STREAM, 0, streamId);
  out.u32(errorCode);
}

export function writeWindowUpdate(out: ByteSink, streamId: number, increment: number): void {
  assert(increment > 0 && increment < 2 ** 31, 'window increment in range');
  writeFrameHeader(out, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  out.u32(increment);
}

export function writeGoaway(out: ByteSink, lastStreamId: number, errorCode: number, debug: string): void {
  const d = Buffer.from(debug, 'utf8');
  writeFrameHeader(out, 8 + d.length, FrameType.GOAWAY, 0, 0);
  out.u32(lastStreamId);
  out.u32(errorCode);
  out.bytes(d);
}
