/**
 * grpc-go interop on the wire: Debian's etcdctl 3.4 against our server with a tiny fake KV.
 * Skipped, with a message, when etcdctl is not installed (`apt-get install -y etcd-client`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as pb from '../proto/generated/etcdserverpb.js';
import { HealthService } from './health-service.js';
import { GrpcServer } from './server.js';

const ETCDCTL = ['/usr/bin/etcdctl', '/usr/local/bin/etcdctl'].find((p) => existsSync(p));
const skip = ETCDCTL === undefined ? 'etcdctl not installed (apt-get install -y etcd-client)' : false;

function etcdctl(port: number, ...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(ETCDCTL!, [`--endpoints=127.0.0.1:${port}`, '--dial-timeout=5s', '--command-timeout=10s', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1 });
    });
  });
}

describe('etcdctl 3.4 (grpc-go) against our server', { skip }, () => {
  let server: GrpcServer;
  let port = 0;
  const store = new Map<string, { value: Uint8Array; create: number; mod: number; version: number }>();
  let revision = 1;

  before(async () => {
    server = new GrpcServer();
    const header = (): pb.ResponseHeaderInit => ({ clusterId: 0x1234n, memberId: 0x5678n, revision, raftTerm: 2 });
    server.handle(pb.KVService.Put, (req) => {
      const key = Buffer.from(req.key).toString('latin1');
      const old = store.get(key);
      revision++;
      store.set(key, { value: Uint8Array.from(req.value), create: old?.create ?? revision, mod: revision, version: (old?.version ?? 0) + 1 });
      return { header: header() };
    });
    server.handle(pb.KVService.Range, (req) => {
      const key = Buffer.from(req.key).toString('latin1');
      const e = store.get(key);
      const kvs = e === undefined ? [] : [{ key: req.key, value: e.value, createRevision: e.create, modRevision: e.mod, version: e.version }];
      return { header: header(), kvs, count: kvs.length };
    });
    new HealthService().register(server);
    port = await server.listen(0);
  });

  after(async () => {
    await server?.close(1000);
  });

  test('put and get', async () => {
    const put = await etcdctl(port, 'put', 'k', 'v');
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout.trim(), 'OK');
    const get = await etcdctl(port, 'get', 'k');
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, 'k\nv\n');
  });

  test('a value larger than a frame and a window', async () => {
    const big = 'x'.repeat(100_000); // > 16 KiB frames and the 64 KiB default window; < the 128 KiB argv limit
    const put = await etcdctl(port, 'put', 'big', big);
    assert.equal(put.code, 0, put.stderr);
    const get = await etcdctl(port, 'get', 'big', '--print-value-only');
    assert.equal(get.stdout.trim().length, big.length);
  });

  test('json output carries our header ids and revisions', async () => {
    const get = await etcdctl(port, 'get', 'k', '-w', 'json');
    assert.equal(get.code, 0, get.stderr);
    const j = JSON.parse(get.stdout) as { header: { cluster_id: number; member_id: number; revision: number }; count: number };
    assert.equal(j.header.cluster_id, 0x1234);
    assert.equal(j.header.member_id, 0x5678);
    assert.equal(j.count, 1);
  });

  test('an unimplemented method is reported, not hung', async () => {
    const del = await etcdctl(port, 'del', 'k');
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /Unimplemented|unknown method/i);
  });
});
