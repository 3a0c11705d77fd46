/**
 * gRPC layer benchmark: unary calls per second and CPU microseconds per call, client and server
 * in separate processes so each side's CPU is its own (process.cpuUsage). The call is etcd's
 * KV.Range: a RangeRequest for one key, answered with a RangeResponse holding one 256-byte value.
 *
 *   node dist/bench/grpc.js                      every pairing at concurrency 1, 64, 256
 *   node dist/bench/grpc.js --duration 5 --concurrency 64 --pairs ours-ours,grpcjs-ours --json
 *
 * Pairings (client-server): ours-ours, grpcjs-ours, ours-grpcjs, grpcjs-grpcjs, nodeh2-nodeh2.
 * "nodeh2" is gRPC framing written by hand on node:http2, for reference. All calls of one client
 * share one connection. Figures on a shared 2-core machine are noisy: compare within one run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as http2 from 'node:http2';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { GrpcChannel } from '../src/api/grpc/client.js';
import { GrpcServer } from '../src/api/grpc/server.js';
import * as pb from '../src/api/proto/generated/etcdserverpb.js';

type Impl = 'ours' | 'grpcjs' | 'nodeh2';
interface Point {
  pair: string;
  concurrency: number;
  callsPerSec: number;
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
  calls: number;
  errors: number;
}

const here = fileURLToPath(import.meta.url);
const root = resolve(join(here, '../../..'));
const VALUE = Buffer.alloc(256, 0x62);
const KEY = Buffer.from('bench-key');
const RANGE = '/etcdserverpb.KV/Range';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

function loadGrpcJs(): { KV: grpc.ServiceClientConstructor } {
  const def = protoLoader.loadSync(['etcdserverpb/rpc.proto'], { includeDirs: [join(root, 'proto')], longs: String, enums: Number, defaults: true });
  const loaded = grpc.loadPackageDefinition(def) as unknown as { etcdserverpb: { KV: grpc.ServiceClientConstructor } };
  return { KV: loaded.etcdserverpb.KV };
}

function frame(msg: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(5 + msg.length);
  b[0] = 0;
  b.writeUInt32BE(msg.length, 1);
  b.set(msg, 5);
  return b;
}

// ---------------------------------------------------------------------------------------------
// Servers.

const revision = 1;
function rangeResponse(key: Uint8Array): pb.RangeResponseInit {
  return { header: { clusterId: 0x1234n, memberId: 0x5678n, revision: revision, raftTerm: 2 }, kvs: [{ key, value: VALUE, createRevision: 1, modRevision: revision, version: 1 }], count: 1 };
}

async function startServer(impl: Impl): Promise<number> {
  switch (impl) {
    case 'ours': {
      const s = new GrpcServer();
      s.handle(pb.KVService.Range, (req) => rangeResponse(req.key));
      return s.listen(0);
    }
    case 'grpcjs': {
      const { KV } = loadGrpcJs();
      const s = new grpc.Server();
      s.addService(KV.service, {
        Range: (call: grpc.ServerUnaryCall<{ key: Buffer }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
          cb(null, { header: { clusterId: '4660', memberId: '22136', revision: String(revision), raftTerm: '2' }, kvs: [{ key: call.request.key, value: VALUE, createRevision: '1', modRevision: String(revision), version: '1' }], count: '1' }),
      });
      return new Promise((res, rej) => s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    }
    case 'nodeh2': {
      const s = http2.createServer();
      s.on('stream', (stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const body = Buffer.concat(chunks);
          const req = pb.decodeRangeRequest(body.subarray(5));
          stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
          stream.end(frame(pb.encodeRangeResponse(rangeResponse(req.key))));
        });
      });
      return new Promise((res) => s.listen(0, '127.0.0.1', () => res((s.address() as { port: number }).port)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Clients: each returns a function making one call.

async function makeClient(impl: Impl, port: number): Promise<{ call: () => Promise<void>; close: () => void }> {
  const target = `127.0.0.1:${port}`;
  switch (impl) {
    case 'ours': {
      const ch = new GrpcChannel(target);
      return {
        call: async () => {
          const r = await ch.call(pb.KVService.Range, { key: KEY });
          if (r.kvs.length !== 1) throw new Error('bad response');
        },
        close: () => ch.close(),
      };
    }
    case 'grpcjs': {
      const { KV } = loadGrpcJs();
      const c = new KV(target, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Range: (req: unknown, cb: (e: Error | null, r: { kvs: unknown[] }) => void) => void };
      return {
        call: () =>
          new Promise<void>((res, rej) =>
            c.Range({ key: KEY }, (e, r) => {
              if (e) rej(e);
              else if (r.kvs.length !== 1) rej(new Error('bad response'));
              else res();
            }),
          ),
        close: () => c.close(),
      };
    }
    case 'nodeh2': {
      const session = http2.connect(`http://${target}`);
      const body = frame(pb.encodeRangeRequest({ key: KEY }));
      return {
        call: () =>
          new Promise<void>((res, rej) => {
            const req = session.request({ ':method': 'POST', ':path': RANGE, 'content-type': 'application/grpc', te: 'trailers' });
            const chunks: Buffer[] = [];
            req.on('data', (c: Buffer) => chunks.push(c));
            req.on('error', rej);
            req.on('end', () => {
              const r = pb.decodeRangeResponse(Buffer.concat(chunks).subarray(5));
              if (r.kvs.length !== 1) rej(new Error('bad response'));
              else res();
            });
            req.end(body);
          }),
        close: () => session.close(),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Child roles.

async function serverRole(impl: Impl): Promise<void> {
  const port = await startServer(impl);
  let base = process.cpuUsage();
  process.on('message', (m: { type: string }) => {
    if (m.type === 'cpu-start') {
      base = process.cpuUsage();
      process.send!({ type: 'cpu-started' });
    } else if (m.type === 'cpu-stop') {
      const d = process.cpuUsage(base);
      process.send!({ type: 'cpu', us: d.user + d.system });
    } else if (m.type === 'exit') {
      process.exit(0);
    }
  });
  process.send!({ type: 'ready', port });
}

async function clientRole(impl: Impl, port: number, concurrency: number, durationMs: number): Promise<void> {
  const client = await makeClient(impl, port);
  let calls = 0;
  let errors = 0;
  let measuring = false;
  let stopAt = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < stopAt) {
      try {
        await client.call();
        if (measuring) calls++;
      } catch {
        if (measuring) errors++;
        if (errors > 1000) return;
      }
    }
  };
  // Warm up (JIT, HPACK tables, windows), then measure.
  stopAt = Date.now() + 700;
  await Promise.all(Array.from({ length: concurrency }, loop));
  await new Promise<void>((res) => {
    process.once('message', () => res());
    process.send!({ type: 'measure-start' });
  });
  measuring = true;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  stopAt = Date.now() + durationMs;
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  measuring = false;
  process.send!({ type: 'result', calls, errors, elapsedMs: elapsedNs / 1e6, cpuUs: cpu.user + cpu.system });
  client.close();
  setTimeout(() => process.exit(0), 50);
}

// ---------------------------------------------------------------------------------------------
// Orchestrator.

function child(args: string[]): ChildProcess {
  return fork(here, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function nextMessage<T>(p: ChildProcess, type: string): Promise<T> {
  return new Promise((res, rej) => {
    const on = (m: { type: string }): void => {
      if (m.type === type) {
        p.off('message', on);
        res(m as T);
      }
    };
    p.on('message', on);
    p.once('exit', (code) => rej(new Error(`child exited (${code}) before "${type}"`)));
  });
}

async function runPair(clientImpl: Impl, serverImpl: Impl, concurrencies: number[], durationMs: number): Promise<Point[]> {
  const server = child(['--role', 'server', '--impl', serverImpl]);
  const points: Point[] = [];
  try {
    const { port } = await nextMessage<{ port: number }>(server, 'ready');
    for (const c of concurrencies) {
      const client = child(['--role', 'client', '--impl', clientImpl, '--port', String(port), '--concurrency', String(c), '--duration', String(durationMs)]);
      try {
        await nextMessage(client, 'measure-start');
        server.send({ type: 'cpu-start' });
        await nextMessage(server, 'cpu-started');
        client.send({ type: 'go' });
        const r = await nextMessage<{ calls: number; errors: number; elapsedMs: number; cpuUs: number }>(client, 'result');
        server.send({ type: 'cpu-stop' });
        const { us } = await nextMessage<{ us: number }>(server, 'cpu');
        const calls = Math.max(1, r.calls);
        points.push({
          pair: `${clientImpl} -> ${serverImpl}`,
          concurrency: c,
          callsPerSec: Math.round((r.calls / r.elapsedMs) * 1000),
          clientCpuUsPerCall: Math.round((r.cpuUs / calls) * 10) / 10,
          serverCpuUsPerCall: Math.round((us / calls) * 10) / 10,
          calls: r.calls,
          errors: r.errors,
        });
      } finally {
        client.kill();
      }
    }
  } finally {
    server.send({ type: 'exit' });
    setTimeout(() => server.kill(), 500).unref();
  }
  return points;
}

async function main(): Promise<void> {
  const role = arg('role', '');
  if (role === 'server') return serverRole(arg('impl', 'ours') as Impl);
  if (role === 'client') return clientRole(arg('impl', 'ours') as Impl, Number(arg('port', '0')), Number(arg('concurrency', '1')), Number(arg('duration', '3000')));

  const durationMs = Number(arg('duration', '3')) * 1000;
  const concurrencies = arg('concurrency', '1,64,256').split(',').map(Number);
  const pairs = arg('pairs', 'ours-ours,grpcjs-ours,ours-grpcjs,grpcjs-grpcjs,nodeh2-nodeh2').split(',');
  const json = process.argv.includes('--json');
  const all: Point[] = [];
  for (const p of pairs) {
    const [c, s] = p.split('-') as [Impl, Impl];
    if (!json) process.stderr.write(`running ${c} -> ${s} ...\n`);
    all.push(...(await runPair(c, s, concurrencies, durationMs)));
  }
  if (json) {
    console.log(JSON.stringify({ durationS: durationMs / 1000, points: all }, null, 2));
    return;
  }
  console.log(`gRPC unary KV.Range (256-byte value), ${durationMs / 1000} s per point, one connection per client`);
  console.log('');
  console.log('| client -> server | concurrency | calls/s | client CPU µs/call | server CPU µs/call | errors |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const p of all) console.log(`| ${p.pair} | ${p.concurrency} | ${p.callsPerSec} | ${p.clientCpuUsPerCall} | ${p.serverCpuUsPerCall} | ${p.errors} |`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
