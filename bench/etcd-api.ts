/**
 * The etcd API surface's own costs, in process: writing a snapshot in etcd's format (bbolt) next to
 * Bulwark's native snapshot format for the same store, reading it back, and the JSON gateway's
 * mapping of a message next to the binary codec. Not a test: a tool that prints a report.
 *
 *   node dist/bench/etcd-api.js [--keys 200000] [--value-bytes 256] [--json]
 *
 * Figures on a shared machine are noisy: compare the ratios within one run.
 */
import { createHash } from 'node:crypto';
import { nodeIdFromBigInt, logIndex, term } from '../src/core/ids.js';
import { encodeCommand, putOp } from '../src/kv/command.js';
import { KvStore } from '../src/kv/kv-store.js';
import { decodeRangeResponse, encodeRangeResponse, decodeRangeRequest, encodeRangeRequest } from '../src/api/proto/generated/etcdserverpb.js';
import { ProtoJson } from '../src/api/proto/json.js';
import { readEtcdDatabase, etcdBoltImage } from '../src/server/etcd-snapshot.js';
import { parseStoreBenchArgs, type StoreBenchArgs } from './store-args.js';

function parseArgs(argv: readonly string[]): StoreBenchArgs {
  return parseStoreBenchArgs(argv, { keys: 200_000 }, 'usage: node dist/bench/etcd-api.js [--keys N] [--value-bytes N] [--json]');
}

function cpu<T>(fn: () => T): { sec: number; value: T } {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { sec: (c.user + c.system) / 1e6, value };
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const member = nodeIdFromBigInt(1n);
  const store = new KvStore({ members: [{ id: member, name: 'm1', peerUrls: ['http://127.0.0.1:2380'], clientUrls: [], isLearner: false }] });
  const value = 'v'.repeat(a.valueBytes);
  for (let i = 0; i < a.keys; i++) {
    const op = putOp(`/bench/k${String(i).padStart(8, '0')}`, value);
    store.apply({ index: logIndex(i + 1), term: term(1), kind: 'normal', data: encodeCommand({ requestId: { member, counter: i + 1 }, session: null, op }) });
  }

  const native = cpu(() => {
    let bytes = 0;
    for (const c of store.snapshot().chunks()) bytes += c.length;
    return bytes;
  });
  const etcd = cpu(() => {
    const sha = createHash('sha256');
    const parts: Uint8Array[] = [];
    for (const p of etcdBoltImage(store.snapshotImage(), { pageSize: 4096 }).pages()) {
      sha.update(p);
      parts.push(p);
    }
    sha.digest();
    return Buffer.concat(parts);
  });
  const read = cpu(() => readEtcdDatabase(new Uint8Array(etcd.value.buffer, etcd.value.byteOffset, etcd.value.byteLength)).records.length);

  const json = new ProtoJson();
  const kvs = Array.from({ length: 10 }, (_, i) => ({ key: Buffer.from(`/bench/key-${i}`), value: Buffer.alloc(100, 120), createRevision: 100 + i, modRevision: 200 + i, version: 3 }));
  const response = decodeRangeResponse(encodeRangeResponse({ header: { clusterId: 1n << 60n, memberId: 7n, revision: 12345, raftTerm: 3 }, kvs, count: 10 }));
  const N = 20_000;
  const binary = cpu(() => {
    for (let i = 0; i < N; i++) decodeRangeResponse(encodeRangeResponse(response));
  });
  const toJson = cpu(() => {
    for (let i = 0; i < N; i++) JSON.stringify(json.toJson('etcdserverpb.RangeResponse', response));
  });
  const reqText = JSON.stringify({ key: Buffer.from('/bench/key-').toString('base64'), range_end: Buffer.from('/bench/key.').toString('base64'), limit: '10', sort_order: 'DESCEND' });
  const fromJson = cpu(() => {
    for (let i = 0; i < N; i++) decodeRangeRequest(encodeRangeRequest(json.fromJson('etcdserverpb.RangeRequest', JSON.parse(reqText))));
  });

  const mb = (n: number): number => n / (1024 * 1024);
  const report = {
    keys: a.keys,
    valueBytes: a.valueBytes,
    snapshot: {
      nativeBytes: native.value,
      nativeCpuSec: native.sec,
      etcdBytes: etcd.value.length,
      etcdCpuSec: etcd.sec,
      etcdReadCpuSec: read.sec,
      etcdOverNativeCpu: etcd.sec / native.sec,
    },
    gateway: {
      messages: N,
      binaryRoundTripUs: (binary.sec / N) * 1e6,
      toJsonUs: (toJson.sec / N) * 1e6,
      fromJsonUs: (fromJson.sec / N) * 1e6,
    },
  };
  if (a.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const s = report.snapshot;
  const g = report.gateway;
  process.stdout.write(
    [
      `etcd API costs: ${a.keys} keys of ${a.valueBytes} B values (CPU seconds; provisional, shared machine)`,
      '',
      'snapshot of the whole store',
      `  Bulwark native format   ${mb(s.nativeBytes).toFixed(1)} MiB  ${s.nativeCpuSec.toFixed(2)} s  ${(mb(s.nativeBytes) / s.nativeCpuSec).toFixed(0)} MiB/s`,
      `  etcd format (bbolt+sha) ${mb(s.etcdBytes).toFixed(1)} MiB  ${s.etcdCpuSec.toFixed(2)} s  ${(mb(s.etcdBytes) / s.etcdCpuSec).toFixed(0)} MiB/s  (${s.etcdOverNativeCpu.toFixed(1)}x the native CPU)`,
      `  etcd format read back   ${s.etcdReadCpuSec.toFixed(2)} s`,
      '',
      `gateway mapping, per message (RangeResponse with 10 kvs of 100 B; ${g.messages} each)`,
      `  binary encode+decode    ${g.binaryRoundTripUs.toFixed(1)} µs`,
      `  to JSON (+stringify)    ${g.toJsonUs.toFixed(1)} µs`,
      `  from JSON (RangeRequest, parse+map+codec) ${g.fromJsonUs.toFixed(1)} µs`,
      '',
    ].join('\n'),
  );
}

main();
