/**
 * Interop with @grpc/grpc-js, both directions, using our .proto files through proto-loader:
 * a grpc-js client calling our server, and our client calling a grpc-js server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as pb from '../proto/generated/etcdserverpb.js';
import * as health from '../proto/generated/grpc-health-v1.js';
import { GrpcChannel } from './client.js';
import { GrpcError } from './errors.js';
import { HealthService } from './health-service.js';
import { GrpcServer } from './server.js';
import { Status } from './status.js';

const root = resolve(new URL('../../../..', import.meta.url).pathname);
const packageDef = protoLoader.loadSync(['etcdserverpb/rpc.proto', 'grpc/health/v1/health.proto'], {
  includeDirs: [join(root, 'proto')],
  longs: String,
  enums: Number,
  defaults: true,
  oneofs: true,
});
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const loaded = grpc.loadPackageDefinition(packageDef) as any;
type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

const b = (s: string): Buffer => Buffer.from(s);
const KV_VALUE = Buffer.alloc(256, 0x61);
const BIG = 3 * 1024 * 1024 + 17;

/** A tiny fake etcd: KV, Watch (echo), Maintenance.Snapshot (chunks), Lease (slow, for deadlines). */
function fakeEtcd(observed: { aborted: string[]; metadata: Record<string, string>[] }): GrpcServer {
  const server = new GrpcServer();
  const store = new Map<string, Uint8Array>();
  let revision = 1;
  const header = (): pb.ResponseHeaderInit => ({ clusterId: 0xdeadbeefcafef00dn, memberId: 2n, revision, raftTerm: 3 });
  server.handle(pb.KVService.Range, (req, call) => {
    observed.metadata.push(call.metadata.toObject());
    const key = Buffer.from(req.key).toString();
    if (key === 'fail') throw new GrpcError(Status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted — ünïcode');
    if (key === 'crash') throw new Error('handler bug');
    if (key === 'meta') {
      call.sendMetadata({ 'x-echo': call.metadata.get('x-token') ?? 'none' });
      call.setTrailers({ 'x-trailer': 'yes' });
    }
    const value = key === 'bench' ? KV_VALUE : store.get(key);
    return { header: header(), kvs: value === undefined ? [] : [{ key: req.key, value, createRevision: 1, modRevision: revision, version: 1 }], count: value === undefined ? 0 : 1 };
  });
  server.handle(pb.KVService.Put, (req) => {
    store.set(Buffer.from(req.key).toString(), Uint8Array.from(req.value));
    revision++;
    return { header: header() };
  });
  server.handle(pb.LeaseService.LeaseGrant, async (req, call) => {
    // Waits until cancelled (deadline or client reset), then records why.
    await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve()));
    observed.aborted.push(String((call.signal.reason as GrpcError).status));
    return { ID: req.ID, TTL: req.TTL };
  });
  server.handle(pb.WatchService.Watch, async (requests, call) => {
    for await (const r of requests) {
      if (r.requestUnion?.type === 'createRequest') {
        await call.write({ header: header(), watchId: r.requestUnion.value.watchId, created: true });
      } else if (r.requestUnion?.type === 'cancelRequest') {
        await call.write({ header: header(), watchId: r.requestUnion.value.watchId, canceled: true, cancelReason: 'bye' });
      }
    }
  });
  server.handle(pb.MaintenanceService.Snapshot, async (_req, call) => {
    // One large message (beyond every default window), then many small ones.
    await call.write({ header: header(), remainingBytes: 100, blob: Buffer.alloc(BIG, 0x5a) });
    for (let i = 99; i >= 0; i--) await call.write({ remainingBytes: i, blob: Buffer.alloc(1000, i) });
  });
  server.handle(pb.KVService.Txn, () => ({ header: header(), succeeded: true, responses: [{ response: { type: 'responsePut', value: { header: header() } } }] }));
  server.handle(pb.KVService.Compact, (req) => ({ header: { ...header(), revision: req.revision } }));
  new HealthService().register(server);
  return server;
}

describe('a grpc-js client calling our server', () => {
  const observed = { aborted: [] as string[], metadata: [] as Record<string, string>[] };
  let server: GrpcServer;
  let kv: Client;
  let watch: Client;
  let lease: Client;
  let maint: Client;
  let hc: Client;

  before(async () => {
    server = fakeEtcd(observed);
    const port = await server.listen(0);
    const target = `127.0.0.1:${port}`;
    const creds = grpc.credentials.createInsecure();
    const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
    kv = new loaded.etcdserverpb.KV(target, creds, opts);
    watch = new loaded.etcdserverpb.Watch(target, creds, opts);
    lease = new loaded.etcdserverpb.Lease(target, creds, opts);
    maint = new loaded.etcdserverpb.Maintenance(target, creds, opts);
    hc = new loaded.grpc.health.v1.Health(target, creds, opts);
  });

  after(async () => {
    for (const c of [kv, watch, lease, maint, hc]) c?.close();
    await server?.close(1000);
  });

  const unary = <T>(client: Client, method: string, req: unknown, options: grpc.CallOptions = {}, md = new grpc.Metadata()): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method]!(req, md, options, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });

  test('unary calls: put then range, with every header field', async () => {
    await unary(kv, 'Put', { key: b('k1'), value: b('v1') });
    const res = await unary<{ header: { cluster_id: string; clusterId?: string; revision: string }; kvs: { key: Buffer; value: Buffer }[]; count: string }>(kv, 'Range', { key: b('k1') });
    assert.equal(res.kvs.length, 1);
    assert.equal(res.kvs[0]!.value.toString(), 'v1');
    assert.equal(res.count, '1');
    assert.equal((res.header as unknown as { clusterId: string }).clusterId, String(0xdeadbeefcafef00dn));
    assert.equal(res.header.revision, '2');
  });

  test('many concurrent calls on one connection', async () => {
    const results = await Promise.all(Array.from({ length: 300 }, () => unary<{ kvs: { value: Buffer }[] }>(kv, 'Range', { key: b('bench') })));
    for (const r of results) assert.deepEqual(r.kvs[0]!.value, KV_VALUE);
  });

  test('errors carry the status code and the percent-encoded message', async () => {
    await assert.rejects(unary(kv, 'Range', { key: b('fail') }), (e: grpc.ServiceError) => {
      assert.equal(e.code, grpc.status.OUT_OF_RANGE);
      assert.equal(e.details, 'etcdserver: mvcc: required revision has been compacted — ünïcode');
      return true;
    });
    await assert.rejects(unary(kv, 'Range', { key: b('crash') }), (e: grpc.ServiceError) => e.code === grpc.status.UNKNOWN && e.details === 'handler bug');
    await assert.rejects(unary(kv, 'DeleteRange', { key: b('x') }), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
  });

  test('request metadata reaches the handler; response metadata and trailers reach the client', async () => {
    const md = new grpc.Metadata();
    md.set('x-token', 'secret');
    const got = await new Promise<{ headers: grpc.Metadata; trailers: grpc.Metadata }>((resolve, reject) => {
      let headers = new grpc.Metadata();
      const call = kv.Range!({ key: b('meta') }, md, (err: grpc.ServiceError | null) => (err ? reject(err) : undefined)) as grpc.ClientUnaryCall;
      call.on('metadata', (m: grpc.Metadata) => (headers = m));
      call.on('status', (s: grpc.StatusObject) => resolve({ headers, trailers: s.metadata }));
    });
    assert.deepEqual(got.headers.get('x-echo'), ['secret']);
    assert.deepEqual(got.trailers.get('x-trailer'), ['yes']);
    assert.equal(observed.metadata.at(-1)?.['x-token'], 'secret');
  });

  test('a deadline cancels the handler and the client sees DEADLINE_EXCEEDED', async () => {
    const before = observed.aborted.length;
    await assert.rejects(unary(lease, 'LeaseGrant', { TTL: 5 }, { deadline: Date.now() + 200 }), (e: grpc.ServiceError) => e.code === grpc.status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 100 && observed.aborted.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(observed.aborted.length > before, 'the handler saw the abort');
  });

  test('a client cancellation aborts the handler', async () => {
    const before = observed.aborted.length;
    const call = lease.LeaseGrant!({ TTL: 5 }, () => {}) as grpc.ClientUnaryCall;
    await new Promise((r) => setTimeout(r, 100));
    call.cancel();
    for (let i = 0; i < 100 && observed.aborted.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(observed.aborted.at(-1), String(Status.CANCELLED));
  });

  test('server streaming with a message larger than every window', async () => {
    const call = maint.Snapshot!({}) as grpc.ClientReadableStream<{ blob: Buffer; remainingBytes: string }>;
    const sizes: number[] = [];
    for await (const m of call) sizes.push(m.blob.length);
    assert.equal(sizes.length, 101);
    assert.equal(sizes[0], BIG);
    assert.equal(sizes[100], 1000);
  });

  test('bidirectional streaming', async () => {
    const call = watch.Watch!() as grpc.ClientDuplexStream<unknown, { watchId: string; created: boolean; canceled: boolean; cancelReason: string }>;
    const got: string[] = [];
    const done = (async () => {
      for await (const m of call) got.push(`${m.watchId}:${m.created ? 'created' : m.canceled ? `canceled(${m.cancelReason})` : '?'}`);
    })();
    call.write({ createRequest: { key: b('a'), watchId: 5 } });
    call.write({ createRequest: { key: b('b'), watchId: 6 } });
    call.write({ cancelRequest: { watchId: 5 } });
    call.end();
    await done;
    assert.deepEqual(got, ['5:created', '6:created', '5:canceled(bye)']);
  });

  test('a large request (over 1 MiB) is accepted, one over the limit is RESOURCE_EXHAUSTED', async () => {
    await unary(kv, 'Put', { key: b('big'), value: Buffer.alloc(1_500_000, 1) });
    const r = await unary<{ kvs: { value: Buffer }[] }>(kv, 'Range', { key: b('big') });
    assert.equal(r.kvs[0]!.value.length, 1_500_000);
    await assert.rejects(unary(kv, 'Put', { key: b('big'), value: Buffer.alloc(server.receiveMessageBytesMax + 1, 1) }), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    // The connection still serves.
    await unary(kv, 'Range', { key: b('k1') });
  });

  test('health check', async () => {
    const r = await unary<{ status: number }>(hc, 'Check', { service: '' });
    assert.equal(r.status, health.HealthCheckResponse_ServingStatus.SERVING);
    await assert.rejects(unary(hc, 'Check', { service: 'nope' }), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  });
});

describe('our client calling a grpc-js server', () => {
  let server: grpc.Server;
  let channel: GrpcChannel;
  const seen: { deadline: boolean[] } = { deadline: [] };

  before(async () => {
    server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
    server.addService(loaded.etcdserverpb.KV.service, {
      Range: (call: grpc.ServerUnaryCall<{ key: Buffer; limit: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const key = call.request.key.toString();
        if (key === 'fail') return cb({ code: grpc.status.FAILED_PRECONDITION, details: 'etcdserver: not leader' });
        if (key === 'big') return cb(null, { kvs: [{ key: call.request.key, value: Buffer.alloc(BIG, 3) }], count: 1 });
        const md = new grpc.Metadata();
        md.set('x-server', 'grpc-js');
        call.sendMetadata(md);
        cb(null, { header: { clusterId: '18446744073709551615', revision: '77' }, kvs: [{ key: call.request.key, value: KV_VALUE, modRevision: call.request.limit }], count: '1' });
      },
      Put: (call: grpc.ServerUnaryCall<{ value: Buffer }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        cb(null, { header: { revision: String(call.request.value.length) } });
      },
      Txn: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        // Never answers in time: for deadlines.
        setTimeout(() => cb(null, {}), 2000).unref();
      },
    });
    server.addService(loaded.etcdserverpb.Maintenance.service, {
      Snapshot: async (call: grpc.ServerWritableStream<unknown, unknown>) => {
        for (let i = 0; i < 50; i++) call.write({ remainingBytes: String(49 - i), blob: Buffer.alloc(20_000, i) });
        call.end();
      },
    });
    server.addService(loaded.etcdserverpb.Watch.service, {
      Watch: (call: grpc.ServerDuplexStream<{ createRequest?: { watchId: string } }, unknown>) => {
        call.on('data', (r) => {
          seen.deadline.push(call.getDeadline() !== Infinity);
          if (r.createRequest) call.write({ watchId: r.createRequest.watchId, created: true });
        });
        call.on('end', () => call.end());
      },
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    channel = new GrpcChannel(`127.0.0.1:${port}`);
  });

  after(async () => {
    channel?.close();
    await new Promise<void>((r) => (server ? server.tryShutdown(() => r()) : r()));
  });

  test('unary with 64-bit fields and response metadata', async () => {
    const r = await channel.call(pb.KVService.Range, { key: b('k'), limit: 12 });
    assert.equal(r.header?.clusterId, 2n ** 64n - 1n);
    assert.equal(r.header?.revision, 77);
    assert.deepEqual(Buffer.from(r.kvs[0]!.value), KV_VALUE);
    assert.equal(r.kvs[0]!.modRevision, 12);
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => channel.call(pb.KVService.Range, { key: b(`k${i}`) })));
    assert.equal(many.length, 200);
  });

  test('large messages both ways', async () => {
    const put = await channel.call(pb.KVService.Put, { key: b('x'), value: Buffer.alloc(BIG, 9) });
    assert.equal(put.header?.revision, BIG);
    const big = await channel.call(pb.KVService.Range, { key: b('big') });
    assert.equal(big.kvs[0]!.value.length, BIG);
  });

  test('status codes and messages; unknown methods', async () => {
    await assert.rejects(channel.call(pb.KVService.Range, { key: b('fail') }), (e: GrpcError) => e.status === Status.FAILED_PRECONDITION && e.details === 'etcdserver: not leader');
    await assert.rejects(channel.call(pb.KVService.Compact, { revision: 1 }), (e: GrpcError) => e.status === Status.UNIMPLEMENTED);
  });

  test('deadline exceeded and cancellation', async () => {
    await assert.rejects(channel.call(pb.KVService.Txn, {}, { deadlineMs: 150 }), (e: GrpcError) => e.status === Status.DEADLINE_EXCEEDED);
    const ac = new AbortController();
    const p = channel.call(pb.KVService.Txn, {}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, (e: GrpcError) => e.status === Status.CANCELLED);
  });

  test('server streaming', async () => {
    const got: number[] = [];
    for await (const m of channel.stream(pb.MaintenanceService.Snapshot, {})) got.push(m.remainingBytes);
    assert.equal(got.length, 50);
    assert.equal(got[49], 0);
  });

  test('bidirectional streaming with a deadline header', async () => {
    const call = channel.duplex(pb.WatchService.Watch, { deadlineMs: 10_000 });
    await call.write({ requestUnion: { type: 'createRequest', value: { key: b('a'), watchId: 1n } } });
    await call.write({ requestUnion: { type: 'createRequest', value: { key: b('b'), watchId: 2n } } });
    call.end();
    const ids: bigint[] = [];
    for await (const m of call) ids.push(m.watchId);
    assert.deepEqual(ids, [1n, 2n]);
    assert.deepEqual(seen.deadline, [true, true]);
  });

  test('a dead endpoint fails with UNAVAILABLE', async () => {
    const dead = new GrpcChannel('127.0.0.1:1', { connectTimeoutMs: 2000 });
    await assert.rejects(dead.call(pb.KVService.Range, { key: b('k') }), (e: GrpcError) => e.status === Status.UNAVAILABLE);
    dead.close();
  });
});
