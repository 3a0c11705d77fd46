/**
 * Peer RPC payloads: a small request/response layer beside the consensus messages, for what must
 * reach a particular member (a lease renewal forwarded to the leader, a hash check, a status).
 */
import { ByteReader, ByteWriter } from '../core/bytes.js';
import { DecodeError } from '../core/errors.js';
import { PEER_FRAME_BYTES_MAX } from '../core/limits.js';

export interface RpcRequest {
  readonly id: number;
  readonly method: string;
  readonly payload: Uint8Array;
}

export type RpcResponse =
  | { readonly id: number; readonly type: 'ok'; readonly payload: Uint8Array }
  | { readonly id: number; readonly type: 'error'; readonly code: string; readonly message: string };

const METHOD_BYTES_MAX = 128;

export function encodeRpcRequest(r: RpcRequest): Uint8Array {
  return new ByteWriter(r.payload.length + 32).u32(r.id).string(r.method).bytes(r.payload).finish().slice();
}

export function decodeRpcRequest(b: Uint8Array): RpcRequest {
  const r = new ByteReader(b);
  const id = r.u32('rpc id');
  const method = r.string(METHOD_BYTES_MAX, 'rpc method');
  const payload = r.bytes(PEER_FRAME_BYTES_MAX, 'rpc payload');
  r.done('rpc request');
  return { id, method, payload };
}

export function encodeRpcResponse(r: RpcResponse): Uint8Array {
  const w = new ByteWriter(64).u32(r.id);
  if (r.type === 'ok') w.u8(0).bytes(r.payload);
  else w.u8(1).string(r.code.slice(0, 64)).string(r.message.slice(0, 1024));
  return w.finish().slice();
}

export function decodeRpcResponse(b: Uint8Array): RpcResponse {
  const r = new ByteReader(b);
  const id = r.u32('rpc id');
  const kind = r.u8('rpc status');
  let out: RpcResponse;
  if (kind === 0) out = { id, type: 'ok', payload: r.bytes(PEER_FRAME_BYTES_MAX, 'rpc payload') };
  else if (kind === 1) out = { id, type: 'error', code: r.string(64, 'rpc error code'), message: r.string(1024, 'rpc error message') };
  else throw new DecodeError(`unknown rpc status ${kind}`);
  r.done('rpc response');
  return out;
}
