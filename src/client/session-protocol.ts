/**
 * Bulwark's exactly-once session protocol, on top of the etcd API. Two RPCs open and close a client
 * session, and every write of an open session carries one gRPC metadata entry:
 *
 *   /bulwark.v1.Session/Open    OpenSessionRequest {}                    -> OpenSessionResponse { header = 1, client_id = 2 (uint64) }
 *   /bulwark.v1.Session/Close   CloseSessionRequest { client_id = 1 }    -> CloseSessionResponse { header = 1 }
 *
 *   bulwark-session: <client id>/<seq>/<lowest unacknowledged seq>     (decimal integers, as the server parses them)
 *
 * The server replicates the tag with the write; the state machine applies a (client id, seq) once
 * and answers a retry with the kept response (Raft dissertation §6.3). etcd does not know the
 * service (Open answers UNIMPLEMENTED) and ignores the header, so the same client works against
 * both. The messages are tiny, so their codecs are written here rather than generated.
 */
import { DecodeError } from '../core/errors.js';
import type { MethodDescriptor } from '../api/grpc/method.js';
import { ProtoReader, ProtoWriter, wrongWireType } from '../api/proto/wire.js';
import { decodeResponseHeader, encodeResponseHeader, type ResponseHeader, type ResponseHeaderInit } from '../api/proto/generated/etcdserverpb.js';

export const SESSION_METADATA_KEY = 'bulwark-session';

export interface SessionTag {
  readonly clientId: number;
  readonly seq: number;
  readonly lowestUnacked: number;
}

export function formatSessionTag(t: SessionTag): string {
  return `${t.clientId}/${t.seq}/${t.lowestUnacked}`;
}

/** Parses a `bulwark-session` value; null when it is malformed (the server answers INVALID_ARGUMENT). */
export function parseSessionTag(text: string): SessionTag | null {
  const m = /^([0-9]{1,15})\/([0-9]{1,15})\/([0-9]{1,15})$/.exec(text);
  if (m === null) return null;
  const clientId = Number(m[1]);
  const seq = Number(m[2]);
  const lowestUnacked = Number(m[3]);
  if (!Number.isSafeInteger(clientId) || clientId <= 0 || seq <= 0 || lowestUnacked > seq) return null;
  return { clientId, seq, lowestUnacked };
}

export type OpenSessionRequest = Record<string, never>;
export interface OpenSessionResponse {
  header: ResponseHeader | undefined;
  clientId: number;
}
export interface OpenSessionResponseInit {
  header?: ResponseHeaderInit;
  clientId?: number;
}
export interface CloseSessionRequest {
  clientId: number;
}
export interface CloseSessionResponse {
  header: ResponseHeader | undefined;
}

function readMessage(buf: Uint8Array, name: string, onField: (field: number, wire: number, r: ProtoReader) => boolean): void {
  const r = new ProtoReader(buf);
  while (r.pos < buf.length) {
    const tag = r.tag();
    if (!onField(tag >>> 3, tag & 7, r)) r.skip(tag & 7);
  }
  if (r.pos !== buf.length) throw new DecodeError(`${name}: field overruns the message`);
}

function readHeader(r: ProtoReader): ResponseHeader {
  const end = r.lengthEnd();
  const h = decodeResponseHeader(r.buf.subarray(r.pos, end));
  r.pos = end;
  return h;
}

function writeHeader(w: ProtoWriter, h: ResponseHeaderInit | undefined): void {
  if (h === undefined) return;
  w.tag(1, 2);
  w.bytes(encodeResponseHeader(h));
}

const emptyRequest = {
  encode: (_m: OpenSessionRequest | Record<string, never>): Uint8Array => new Uint8Array(0),
  decode: (_b: Uint8Array): OpenSessionRequest => ({}) as OpenSessionRequest,
};

function encodeOpenResponse(m: OpenSessionResponseInit): Uint8Array {
  const w = new ProtoWriter(64);
  writeHeader(w, m.header);
  if (m.clientId !== undefined && m.clientId !== 0) {
    w.tag(2, 0);
    w.int64Number(m.clientId);
  }
  return w.finish();
}

function decodeOpenResponse(buf: Uint8Array): OpenSessionResponse {
  const m: OpenSessionResponse = { header: undefined, clientId: 0 };
  readMessage(buf, 'bulwark.v1.OpenSessionResponse', (field, wire, r) => {
    if (field === 1) {
      if (wire !== 2) throw wrongWireType('bulwark.v1.OpenSessionResponse', 1, wire);
      m.header = readHeader(r);
      return true;
    }
    if (field === 2) {
      if (wire !== 0) throw wrongWireType('bulwark.v1.OpenSessionResponse', 2, wire);
      m.clientId = r.uint64Number();
      return true;
    }
    return false;
  });
  return m;
}

function encodeCloseRequest(m: Partial<CloseSessionRequest>): Uint8Array {
  const w = new ProtoWriter(16);
  if (m.clientId !== undefined && m.clientId !== 0) {
    w.tag(1, 0);
    w.int64Number(m.clientId);
  }
  return w.finish();
}

function decodeCloseRequest(buf: Uint8Array): CloseSessionRequest {
  const m: CloseSessionRequest = { clientId: 0 };
  readMessage(buf, 'bulwark.v1.CloseSessionRequest', (field, wire, r) => {
    if (field !== 1) return false;
    if (wire !== 0) throw wrongWireType('bulwark.v1.CloseSessionRequest', 1, wire);
    m.clientId = r.uint64Number();
    return true;
  });
  return m;
}

function encodeCloseResponse(m: { header?: ResponseHeaderInit }): Uint8Array {
  const w = new ProtoWriter(64);
  writeHeader(w, m.header);
  return w.finish();
}

function decodeCloseResponse(buf: Uint8Array): CloseSessionResponse {
  const m: CloseSessionResponse = { header: undefined };
  readMessage(buf, 'bulwark.v1.CloseSessionResponse', (field, wire, r) => {
    if (field !== 1) return false;
    if (wire !== 2) throw wrongWireType('bulwark.v1.CloseSessionResponse', 1, wire);
    m.header = readHeader(r);
    return true;
  });
  return m;
}

/** Method descriptors, usable with GrpcChannel.call on the client and GrpcServer.handle on the server. */
export const SessionService = {
  Open: {
    path: '/bulwark.v1.Session/Open',
    requestStream: false,
    responseStream: false,
    encodeRequest: emptyRequest.encode,
    decodeRequest: emptyRequest.decode,
    encodeResponse: encodeOpenResponse,
    decodeResponse: decodeOpenResponse,
  } satisfies MethodDescriptor<OpenSessionRequest, OpenSessionRequest, OpenSessionResponse, OpenSessionResponseInit>,
  Close: {
    path: '/bulwark.v1.Session/Close',
    requestStream: false,
    responseStream: false,
    encodeRequest: encodeCloseRequest,
    decodeRequest: decodeCloseRequest,
    encodeResponse: encodeCloseResponse,
    decodeResponse: decodeCloseResponse,
  } satisfies MethodDescriptor<CloseSessionRequest, Partial<CloseSessionRequest>, CloseSessionResponse, { header?: ResponseHeaderInit }>,
} as const;
