/**
 * Bulwark's exactly-once session protocol, on top of the etcd API. Two RPCs open and close a client
 * session, and every write of an open session carries one gRPC metadata entry:
 *
 *   /bulwark.v1.Session/Open    OpenSessionRequest {}                    -> OpenSessionResponse { header = 1, client_id = 2 (int64) }
 *   /bulwark.v1.Session/Close   CloseSessionRequest { client_id = 1 }    -> CloseSessionResponse { header = 1 }
 *
 *   bulwark-session: <client id>/<seq>/<lowest unacknowledged seq>     (decimal integers, as the server parses them)
 *
 * The server replicates the tag with the write; the state machine applies a (client id, seq) once
 * and answers a retry with the kept response (Raft dissertation §6.3). etcd does not know the
 * service (Open answers UNIMPLEMENTED) and ignores the header, so the same client works against
 * both. The messages are generated from proto/bulwark/session.proto.
 */

export {
  SessionService,
  type OpenSessionRequest,
  type OpenSessionResponse,
  type OpenSessionResponseInit,
  type CloseSessionRequest,
  type CloseSessionResponse,
} from '../api/proto/generated/bulwark-v1.js';

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
