/**
 * A tiny unary gRPC client over node:http2 (cleartext), for the balancer's own calls: polling
 * MemberList and Status in cluster-aware mode. One session per target is kept and reused; a broken
 * one is dropped and the next call connects again.
 */
import * as http2 from 'node:http2';
import { errorMessage } from '../core/errors.js';
import { LB_GRPC_PEEK_BYTES_MAX } from '../core/limits.js';
import type { HostPort } from './config.js';
import { LbError } from './errors.js';
import { GrpcFrameDecoder, encodeGrpcFrame } from './grpc-frame.js';

export function authorityOf(t: HostPort): string {
  return `${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}

export class GrpcClientPool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private closed = false;

  private session(target: HostPort): http2.ClientHttp2Session {
    const key = authorityOf(target);
    const existing = this.sessions.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(`http://${key}`);
    const drop = (): void => {
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    };
    s.on('error', drop);
    s.on('close', drop);
    s.on('goaway', drop);
    this.sessions.set(key, s);
    return s;
  }

  /** One unary call; rejects with LbError('lb-upstream' | 'lb-protocol') on failure or timeout. */
  unary(target: HostPort, path: string, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new LbError('lb-upstream', 'client closed'));
    return new Promise((resolve, reject) => {
      let session: http2.ClientHttp2Session;
      try {
        session = this.session(target);
      } catch (e) {
        reject(new LbError('lb-upstream', `${authorityOf(target)}: ${errorMessage(e)}`, { cause: e }));
        return;
      }
      let settled = false;
      const decoder = new GrpcFrameDecoder(LB_GRPC_PEEK_BYTES_MAX);
      let message: Uint8Array | null = null;
      let grpcStatus: string | undefined;
      let grpcMessage = '';
      const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
      const timer = setTimeout(() => fail(new LbError('lb-upstream', `${authorityOf(target)}${path}: no answer within ${timeoutMs} ms`)), timeoutMs);
      function fail(e: LbError): void {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(e);
      }
      const onSessionError = (e: Error): void => fail(new LbError('lb-upstream', `${authorityOf(target)}: ${errorMessage(e)}`, { cause: e }));
      session.once('error', onSessionError);
      const readStatus = (h: http2.IncomingHttpHeaders): void => {
        if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']);
        if (h['grpc-message'] !== undefined) grpcMessage = decodeURIComponent(String(h['grpc-message']));
      };
      stream.on('response', readStatus);
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => {
        try {
          for (const m of decoder.push(chunk)) message ??= m;
        } catch (e) {
          fail(new LbError('lb-protocol', `${authorityOf(target)}${path}: ${errorMessage(e)}`, { cause: e }));
        }
      });
      stream.on('error', (e) => fail(new LbError('lb-upstream', `${authorityOf(target)}${path}: ${errorMessage(e)}`, { cause: e })));
      stream.on('close', () => {
        session.off('error', onSessionError);
        if (settled) return;
        if (grpcStatus !== '0') return fail(new LbError('lb-upstream', `${authorityOf(target)}${path}: grpc-status ${grpcStatus ?? 'missing'} ${grpcMessage}`.trim()));
        if (message === null) return fail(new LbError('lb-protocol', `${authorityOf(target)}${path}: no response message`));
        settled = true;
        clearTimeout(timer);
        resolve(message);
      });
      stream.end(encodeGrpcFrame(request));
    });
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}
