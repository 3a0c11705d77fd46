import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GrpcChannel } from '../grpc/client.js';
import { GrpcServer } from '../grpc/server.js';
import { createSharedListener, sniffProtocol } from './listener.js';

test('sniffing the first bytes', () => {
  assert.equal(sniffProtocol(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), 'http2');
  assert.equal(sniffProtocol(Buffer.from('PRI * HT')), 'undecided');
  assert.equal(sniffProtocol(Buffer.from('POST /v3/kv/range HTTP/1.1\r\n')), 'http1');
  assert.equal(sniffProtocol(Buffer.from('P')), 'undecided');
  assert.equal(sniffProtocol(Buffer.from('G')), 'http1');
});

test('one port serves gRPC and HTTP/1.1', async () => {
  const grpc = new GrpcServer();
  grpc.unary('/t.S/Echo', (b) => b, (b: Uint8Array) => b, (req) => req);
  const http1 = createHttpServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`http1 ${req.method} ${req.url}`);
  });
  const listener = createSharedListener({ onHttp2: (s) => grpc.handleSocket(s), http1 });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const port = (listener.address() as AddressInfo).port;
  const ch = new GrpcChannel(`127.0.0.1:${port}`);
  try {
    const body = await new Promise<string>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/health', agent: false }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c.toString()));
        res.on('end', () => resolve(s));
      }).on('error', reject);
    });
    assert.equal(body, 'http1 GET /health');
    const echoed = await ch.unary('/t.S/Echo', (b: Uint8Array) => b, (b) => b, Buffer.from('over h2'));
    assert.equal(Buffer.from(echoed).toString(), 'over h2');
  } finally {
    ch.close();
    await grpc.close(100);
    http1.closeAllConnections();
    await new Promise<void>((r) => listener.close(() => r()));
  }
});
