/**
 * Hostile and malformed clients against a real member: each gets an error (or is cut off) and the
 * member keeps serving everyone else. Bounded in count and time; every socket is closed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { GrpcError, Status, type GrpcChannel } from '../../src/api/grpc/index.js';
import { ClusterService, KVService, LeaseService, MaintenanceService, WatchService, decodeMemberAddResponse, decodeRangeResponse, type TxnRequestInit } from '../../src/api/proto/generated/etcdserverpb.js';
import { startCluster, type TestCluster } from '../cluster/harness.js';

const enc = new TextEncoder();

async function grpcError(p: Promise<unknown>): Promise<GrpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GrpcError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('hostile clients never take the member down', () => {
  let t: TestCluster;
  let ch: GrpcChannel;
  let endpoint: string;
  let port: number;
  const sockets: net.Socket[] = [];

  before(async () => {
    t = await startCluster({ size: 1 });
    endpoint = t.cluster.endpoints()[0]!;
    port = Number(endpoint.split(':')[1]);
    ch = t.channel('m1');
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await t?.close();
  });

  /** The member still answers gRPC and HTTP quickly. */
  const stillServing = async (): Promise<void> => {
    const key = enc.encode(`alive-${Date.now()}`);
    await ch.call(KVService.Put, { key, value: enc.encode('yes') }, { deadlineMs: 5000 });
    const r = await ch.call(KVService.Range, { key }, { deadlineMs: 5000 });
    assert.equal(r.kvs.length, 1);
    const h = await fetch(`http://${endpoint}/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(h.status, 200);
    assert.equal(t.cluster.state('m1'), 'running');
  };

  test("oversized requests get etcd's errors", async () => {
    const tooLarge = await grpcError(ch.call(KVService.Put, { key: enc.encode('big'), value: new Uint8Array(1.6 * 1024 * 1024) }, { deadlineMs: 10_000 }));
    assert.equal(tooLarge.status, Status.INVALID_ARGUMENT);
    assert.equal(tooLarge.details, 'etcdserver: request is too large');
    const beyond = await grpcError(ch.call(KVService.Put, { key: enc.encode('big'), value: new Uint8Array(3 * 1024 * 1024) }, { deadlineMs: 10_000 }));
    assert.equal(beyond.status, Status.RESOURCE_EXHAUSTED);
    const ops = Array.from({ length: 129 }, (_, i) => ({ request: { type: 'requestPut' as const, value: { key: enc.encode(`k${i}`), value: enc.encode('v') } } }));
    const tooMany = await grpcError(ch.call(KVService.Txn, { success: ops }, { deadlineMs: 5000 }));
    assert.equal(tooMany.status, Status.INVALID_ARGUMENT);
    assert.equal(tooMany.details, 'etcdserver: too many operations in txn request');
    await stillServing();
  });

  test('deeply nested transactions, bad wire bytes, invalid UTF-8, unknown enum values', async () => {
    let txn: TxnRequestInit = { success: [{ request: { type: 'requestRange', value: { key: enc.encode('k') } } }] };
    for (let i = 0; i < 100; i++) txn = { success: [{ request: { type: 'requestTxn', value: txn } }] };
    const deep = await grpcError(ch.call(KVService.Txn, txn, { deadlineMs: 5000 }));
    assert.ok(deep.status === Status.INVALID_ARGUMENT || deep.status === Status.INTERNAL, `${deep.status} ${deep.details}`);
    const garbage = await grpcError(ch.unary('/etcdserverpb.KV/Range', (b: Uint8Array) => b, decodeRangeResponse, Uint8Array.of(0x0a, 0x7f, 1, 2), { deadlineMs: 5000 }));
    assert.equal(garbage.status, Status.INTERNAL);
    assert.match(garbage.details, /unmarshalling/);
    // MemberAddRequest.peerURLs (a string) holding bytes that are not UTF-8.
    const utf8 = await grpcError(ch.unary('/etcdserverpb.Cluster/MemberAdd', (b: Uint8Array) => b, decodeMemberAddResponse, Uint8Array.of(0x0a, 0x02, 0xff, 0xfe), { deadlineMs: 5000 }));
    assert.equal(utf8.status, Status.INTERNAL);
    const sort = await grpcError(ch.call(KVService.Range, { key: enc.encode('k'), sortOrder: 99 }, { deadlineMs: 5000 }));
    assert.equal(sort.status, Status.INVALID_ARGUMENT);
    const cmp = await grpcError(ch.call(KVService.Txn, { compare: [{ key: enc.encode('k'), result: 42, target: 0 }] }, { deadlineMs: 5000 }));
    assert.equal(cmp.status, Status.INVALID_ARGUMENT);
    const alarm = await grpcError(ch.call(MaintenanceService.Alarm, { action: 1, alarm: 77, memberID: 1n }, { deadlineMs: 5000 }));
    assert.equal(alarm.status, Status.INVALID_ARGUMENT);
    const member = await grpcError(ch.call(ClusterService.MemberAdd, { peerURLs: ['not a url'] }, { deadlineMs: 5000 }));
    assert.equal(member.status, Status.INVALID_ARGUMENT);
    await stillServing();
  });

  test('a watch stream and a keep-alive stream that never read', async () => {
    const watch = ch.duplex(WatchService.Watch);
    await watch.write({ requestUnion: { type: 'createRequest', value: { key: enc.encode('flood/'), rangeEnd: enc.encode('flood0'), prevKv: true } } });
    const lease = await ch.call(LeaseService.LeaseGrant, { TTL: 60 }, { deadlineMs: 5000 });
    const ka = ch.duplex(LeaseService.LeaseKeepAlive);
    const value = new Uint8Array(4096).fill(120);
    const deadline = Date.now() + 30_000;
    // ~12 MB of events for a watcher nobody reads, and keep-alives nobody reads the answers to.
    for (let i = 0; i < 3000 && Date.now() < deadline; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => ch.call(KVService.Put, { key: enc.encode(`flood/${(i + j) % 500}`), value }, { deadlineMs: 10_000 })));
      const w = ka.write({ ID: lease.ID });
      await Promise.race([w, new Promise((r) => setTimeout(r, 10))]);
    }
    await stillServing();
    watch.cancel();
    ka.cancel();
    await stillServing();
  });

  test('garbage on the port, and slow-loris HTTP connections', async () => {
    const garbage = net.connect(port, '127.0.0.1');
    sockets.push(garbage);
    await new Promise<void>((resolve) => garbage.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => garbage.once('close', () => resolve()));
    garbage.on('error', () => undefined);
    garbage.resume();
    garbage.write(Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7919) % 256)));
    const cut = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    assert.equal(cut, true, 'the member closes a connection that speaks nonsense');
    // HTTP/2 preface followed by nonsense frames.
    const h2 = net.connect(port, '127.0.0.1');
    sockets.push(h2);
    h2.on('error', () => undefined);
    h2.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    h2.write(Buffer.alloc(4096, 0xff));
    // Connections that send half a request and then nothing.
    for (let i = 0; i < 50; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write('POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"key":');
      sockets.push(s);
    }
    await stillServing();
    const r = await fetch(`http://${endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('alive').toString('base64') }), signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
  });

  test('gateway: oversized body, deep JSON, nonsense in a stream, a watch stream nobody reads', async () => {
    const big = await fetch(`http://${endpoint}/v3/kv/put`, { method: 'POST', body: `{"key":"${'A'.repeat(6 * 1024 * 1024)}"}`, signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
    assert.ok(big instanceof Error || (big as Response).status === 400, 'an oversized body is refused');
    const deep = await fetch(`http://${endpoint}/v3/kv/txn`, { method: 'POST', body: '{"success":[{"request_txn":'.repeat(500) + '{}' + '}]}'.repeat(500), signal: AbortSignal.timeout(5000) });
    assert.equal(deep.status, 400);
    const junk = await fetch(`http://${endpoint}/v3/watch`, { method: 'POST', body: '{"create_request":{"key":"Zm9v"}} hello', signal: AbortSignal.timeout(5000) });
    const text = await junk.text();
    assert.match(text, /"error"/);
    const cut = await fetch(`http://${endpoint}/v3/watch`, { method: 'POST', body: '{"create_request":{"key":', signal: AbortSignal.timeout(5000) });
    assert.match(await cut.text(), /unexpected EOF/);
    // A streaming watch whose client never reads the response.
    const s = net.connect(port, '127.0.0.1');
    sockets.push(s);
    s.on('error', () => undefined);
    s.pause();
    const body = JSON.stringify({ create_request: { key: Buffer.from('flood/').toString('base64'), range_end: Buffer.from('flood0').toString('base64'), start_revision: 1 } });
    s.write(`POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    const value = new Uint8Array(4096).fill(121);
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => ch.call(KVService.Put, { key: enc.encode(`flood/${j}`), value }, { deadlineMs: 10_000 })));
    }
    await stillServing();
  });
});
