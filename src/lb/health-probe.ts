/**
 * One active health check against one backend, over real sockets: a TCP connect, an HTTP/1.1 GET
 * expecting a status, or a grpc.health.v1.Health/Check over HTTP/2 (cleartext) expecting SERVING.
 * A probe always settles within its timeout and leaves no socket open.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { assertNever } from '../core/assert.js';
import { errorMessage } from '../core/errors.js';
import type { BackendSpec } from './backend.js';
import type { HealthCheckSpec } from './config.js';
import { GrpcFrameDecoder, encodeGrpcFrame } from './grpc-frame.js';
import { GRPC_HEALTH_CHECK_PATH, decodeHealthCheckResponse, encodeHealthCheckRequest } from './grpc-health-messages.js';

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export type Probe = (backend: BackendSpec, check: HealthCheckSpec, timeoutMs: number) => Promise<ProbeResult>;

export const realProbe: Probe = (backend, check, timeoutMs) => {
  switch (check.type) {
    case 'none':
      return Promise.resolve({ ok: true });
    case 'tcp':
      return tcpProbe(backend, timeoutMs);
    case 'http':
      return httpProbe(backend, check.path, check.expectStatus, timeoutMs);
    case 'grpc':
      return grpcProbe(backend, check.service, timeoutMs);
    default:
      return assertNever(check, 'health check');
  }
};

function tcpProbe(b: BackendSpec, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: b.host, port: b.port });
    const timer = setTimeout(() => finish({ ok: false, reason: `connect timed out after ${timeoutMs} ms` }), timeoutMs);
    function finish(r: ProbeResult): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    }
    socket.once('connect', () => finish({ ok: true }));
    socket.once('error', (e) => finish({ ok: false, reason: errorMessage(e) }));
  });
}

function httpProbe(b: BackendSpec, path: string, expectStatus: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = http.request({ host: b.host, port: b.port, path, method: 'GET', agent: false, headers: { 'user-agent': 'bulwark-lb-health', connection: 'close' } }, (res) => {
      res.resume();
      finish(res.statusCode === expectStatus ? { ok: true } : { ok: false, reason: `GET ${path} answered ${res.statusCode}, expected ${expectStatus}` });
    });
    const timer = setTimeout(() => finish({ ok: false, reason: `GET ${path} timed out after ${timeoutMs} ms` }), timeoutMs);
    req.once('error', (e) => finish({ ok: false, reason: errorMessage(e) }));
    req.end();
  });
}

function grpcProbe(b: BackendSpec, service: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let done = false;
    const session = http2.connect(`http://${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`);
    const timer = setTimeout(() => finish({ ok: false, reason: `gRPC health check timed out after ${timeoutMs} ms` }), timeoutMs);
    function finish(r: ProbeResult): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      session.destroy();
      resolve(r);
    }
    session.once('error', (e) => finish({ ok: false, reason: errorMessage(e) }));
    const stream = session.request({ ':method': 'POST', ':path': GRPC_HEALTH_CHECK_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    const decoder = new GrpcFrameDecoder(1024);
    let status: string | null = null;
    let grpcStatus: string | undefined;
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) grpcStatus = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      grpcStatus = String(trailers['grpc-status'] ?? '');
    });
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) status = decodeHealthCheckResponse(m);
      } catch (e) {
        finish({ ok: false, reason: `bad health response: ${errorMessage(e)}` });
      }
    });
    stream.on('end', () => {
      if (grpcStatus !== '0') finish({ ok: false, reason: `gRPC health check failed with grpc-status ${grpcStatus ?? 'missing'}` });
      else finish(status === 'SERVING' ? { ok: true } : { ok: false, reason: `gRPC health status ${status ?? 'missing'}` });
    });
    stream.on('error', (e) => finish({ ok: false, reason: errorMessage(e) }));
    stream.end(encodeGrpcFrame(encodeHealthCheckRequest(service)));
  });
}
