/**
 * Debian's etcdctl 3.4 against a three-member Bulwark and a three-member reference etcd 3.4,
 * command by command, on the same data: every output must be the same once ids, ports, terms,
 * timings and sizes are normalized (twin.ts). Both clusters start empty and get the same writes
 * in the same order, so revisions must match exactly.
 *
 * Runs once per consensus protocol (PROTOCOLS: Raft and Multi-Paxos behind the same API), each
 * time against a fresh reference etcd.
 *
 * Skipped when etcdctl or etcd is not installed (apt-get install -y etcd-client etcd-server).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ETCD, ETCDCTL, etcdctl, normalize, normalizeLoose, sortedLines, startBulwark, startReferenceEtcd, type CtlResult, type Target } from './twin.js';
import { freePorts } from '../../src/server/local-cluster.js';
import { PROTOCOLS } from '../cluster/harness.js';

const skip = ETCDCTL === undefined || ETCD === undefined ? 'etcdctl or etcd 3.4 not installed (apt-get install -y etcd-client etcd-server)' : false;

type Mode = 'strict' | 'loose' | 'sorted' | 'loose-sorted';

interface Step {
  /** etcdctl arguments, per cluster (some name ids only that cluster knows). */
  readonly args: readonly string[] | ((t: Target) => readonly string[]);
  readonly mode?: Mode;
  readonly input?: string;
  readonly streamMs?: number;
  /** All endpoints rather than the first member's. */
  readonly all?: boolean;
}

for (const consensus of PROTOCOLS) describe(`etcdctl 3.4: Bulwark (${consensus}) answers as etcd 3.4 does`, { skip }, () => {
  let bw: Target;
  let ref: Target;
  const scratch = mkdtempSync(join(tmpdir(), 'bulwark-ctl-'));
  const leases = new Map<string, string>();

  before(async () => {
    [bw, ref] = await Promise.all([startBulwark(consensus), startReferenceEtcd()]);
  });

  after(async () => {
    await Promise.all([bw?.close(), ref?.close()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  const run = (t: Target, s: Step): Promise<CtlResult> => {
    const args = typeof s.args === 'function' ? s.args(t) : s.args;
    return etcdctl(s.all === true ? t.endpoints : [t.endpoints[0]!], args, { ...(s.input === undefined ? {} : { input: s.input }), ...(s.streamMs === undefined ? {} : { streamMs: s.streamMs }) });
  };

  const view = (r: CtlResult, mode: Mode): string => {
    let out = `${r.stdout}\n--- stderr\n${r.stderr.trim()}`;
    out = mode === 'loose' || mode === 'loose-sorted' ? normalizeLoose(out) : normalize(out);
    out = out.replace(/^(ETCD_INITIAL_CLUSTER=")(.*)(")$/m, (_m, a: string, list: string, z: string) => a + list.split(',').sort().join(',') + z);
    if (mode === 'sorted' || mode === 'loose-sorted') out = sortedLines(out);
    return out;
  };

  /** Runs a step on both clusters and asserts the same exit code and the same normalized output. */
  const same = async (s: Step): Promise<[CtlResult, CtlResult]> => {
    const [a, b] = await Promise.all([run(bw, s), run(ref, s)]);
    const mode = s.mode ?? 'strict';
    const what = `etcdctl ${(typeof s.args === 'function' ? s.args(ref) : s.args).join(' ')}`;
    assert.equal(view(a, mode), view(b, mode), `${what}: Bulwark's output (actual) differs from etcd's (expected)`);
    if (s.streamMs === undefined) assert.equal(a.code, b.code, `${what}: exit code`);
    return [a, b];
  };

  test('put and get: prefix, from-key, limit, rev, sort, keys-only, print-value-only, json, fields', async () => {
    for (const [k, v] of [['foo', 'bar'], ['foo1', 'v1'], ['foo2', 'v2'], ['foo3', 'v3'], ['a', '1'], ['b', '2'], ['c', '3']] as const) await same({ args: ['put', k, v] });
    await same({ args: ['put', 'foo', 'bar2', '--prev-kv'] });
    await same({ args: ['get', 'foo'] });
    await same({ args: ['get', 'foo', '--prefix'] });
    await same({ args: ['get', 'foo', '--prefix', '--limit', '2'] });
    await same({ args: ['get', 'b', '--from-key'] });
    await same({ args: ['get', 'foo', '--rev', '2'] });
    await same({ args: ['get', 'foo', '--prefix', '--sort-by', 'MODIFY', '--order', 'DESCEND'] });
    await same({ args: ['get', 'foo', '--prefix', '--sort-by', 'VALUE', '--order', 'ASCEND'] });
    await same({ args: ['get', 'foo', '--prefix', '--keys-only'] });
    await same({ args: ['get', 'foo', '--print-value-only'] });
    await same({ args: ['get', 'foo', '--prefix', '-w', 'json'] });
    await same({ args: ['get', 'a', 'c', '-w', 'fields'] });
    await same({ args: ['get', 'foo', '--rev', '99'] });
    await same({ args: ['get', 'nothing'] });
    // `--count-only` is not an etcdctl 3.4 flag (it came in 3.5); both refuse it alike.
    await same({ args: ['get', 'foo', '--count-only'] });
  });

  test('del: one key, prefix with prev-kv', async () => {
    await same({ args: ['del', 'foo1'] });
    await same({ args: ['del', 'nothing'] });
    await same({ args: ['del', 'foo', '--prefix', '--prev-kv'] });
    await same({ args: ['get', '', '--from-key'] });
  });

  test('txn through stdin: success, failure, json', async () => {
    await same({ args: ['txn'], input: 'value("a") = "1"\n\nput a 11\nget a\n\nput a 0\n\n' });
    await same({ args: ['txn'], input: 'value("a") = "1"\nmod("b") > "0"\n\nput a 12\n\nput x y\nget x\ndel b\n\n' });
    await same({ args: ['txn', '-w', 'json'], input: 'version("a") = "2"\n\nget a\n\n\n' });
    await same({ args: ['get', '', '--from-key', '-w', 'json'] });
  });

  test('watch: rev, prefix, prev-kv', async () => {
    await same({ args: ['watch', 'a', '--rev', '1', '--prev-kv'], streamMs: 2500 });
    await same({ args: ['watch', '', '--prefix', '--rev', '1'], streamMs: 2500 });
    await same({ args: ['watch', 'x', '--rev', '11'], streamMs: 2000 });
  });

  test('lease: grant, put with lease, keep-alive, timetolive --keys, list, revoke', async () => {
    const [a, b] = await same({ args: ['lease', 'grant', '100'] });
    leases.set('bulwark', /lease ([0-9a-f]+) granted/.exec(a.stdout)![1]!);
    leases.set('etcd', /lease ([0-9a-f]+) granted/.exec(b.stdout)![1]!);
    const id = (t: Target): string => leases.get(t.name)!;
    await same({ args: (t) => ['put', 'leased', 'v', `--lease=${id(t)}`] });
    await same({ args: (t) => ['lease', 'keep-alive', '--once', id(t)] });
    await same({ args: (t) => ['lease', 'timetolive', id(t), '--keys'] });
    await same({ args: (t) => ['lease', 'timetolive', id(t), '-w', 'json'], mode: 'loose' });
    await same({ args: ['lease', 'list'] });
    await same({ args: (t) => ['lease', 'revoke', id(t)] });
    await same({ args: ['get', 'leased'] });
    await same({ args: (t) => ['lease', 'timetolive', id(t)] });
    await same({ args: ['lease', 'revoke', '1234'] });
  });

  test('endpoint status and health with --cluster; alarm list', async () => {
    await same({ args: ['endpoint', 'status', '--cluster', '-w', 'table'], mode: 'loose-sorted' });
    await same({ args: ['endpoint', 'status', '--cluster', '-w', 'json'], mode: 'loose' });
    await same({ args: ['endpoint', 'health', '--cluster'], mode: 'sorted' });
    await same({ args: ['endpoint', 'health', '-w', 'table'], mode: 'loose' });
    await same({ args: ['alarm', 'list'] });
  });

  test('snapshot save, and the file passes etcdctl snapshot status', async () => {
    const file = (t: Target): string => join(scratch, `${t.name}.db`);
    await same({ args: (t) => ['snapshot', 'save', file(t)], mode: 'loose' });
    assert.ok(existsSync(file(bw)));
    const [a, b] = await same({ args: (t) => ['snapshot', 'status', file(t), '-w', 'json'], mode: 'loose' });
    const sa = JSON.parse(a.stdout) as { revision: number; totalKey: number };
    const sb = JSON.parse(b.stdout) as { revision: number; totalKey: number };
    assert.equal(sa.revision, sb.revision, 'snapshot status REVISION');
    assert.equal(sa.totalKey, sb.totalKey, 'snapshot status TOTAL KEYS (every bucket of the backend)');
  });

  test('member list, add --learner, promote, remove', async () => {
    await same({ args: ['member', 'list'], mode: 'sorted' });
    await same({ args: ['member', 'list', '-w', 'table'], mode: 'loose-sorted' });
    const [port] = await freePorts(1);
    const [a, b] = await same({ args: ['member', 'add', 'learner1', '--learner', `--peer-urls=http://127.0.0.1:${port}`] });
    const added = (r: CtlResult, who: string): string => {
      // etcd prints the id with %16x: a shorter id is padded with spaces.
      const m = /Member +([0-9a-f]+) added/.exec(r.stdout);
      assert.ok(m !== null, `${who}: member add did not add a member (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      return m[1]!;
    };
    const ids = new Map([
      ['bulwark', added(a, 'Bulwark')],
      ['etcd', added(b, 'etcd')],
    ]);
    await same({ args: ['member', 'list'], mode: 'sorted' });
    await same({ args: (t) => ['member', 'promote', ids.get(t.name)!] });
    await same({ args: (t) => ['member', 'remove', ids.get(t.name)!] });
    // Members come sorted by id, and ids differ between the clusters: compare them by name.
    const [ja, jb] = await Promise.all([bw, ref].map((t) => etcdctl([t.endpoints[0]!], ['member', 'list', '-w', 'json'])));
    const byName = (r: CtlResult): string => {
      const j = JSON.parse(r.stdout) as { header: object; members: { name: string }[] };
      j.members.sort((x, y) => (x.name < y.name ? -1 : 1));
      return normalizeLoose(JSON.stringify(j));
    };
    assert.equal(byName(ja!), byName(jb!), 'member list -w json');
  });

  test('move-leader', async () => {
    const target = async (t: Target): Promise<string> => {
      const r = await etcdctl(t.endpoints, ['endpoint', 'status', '-w', 'json']);
      const st = JSON.parse(r.stdout) as { Status: { header: { member_id: number }; leader: number } }[];
      // JSON numbers beyond 2^53 lose precision: read the ids as text.
      const raw = [...r.stdout.matchAll(/"member_id":(\d+)/g)].map((m) => BigInt(m[1]!));
      const leader = BigInt(/"leader":(\d+)/.exec(r.stdout)![1]!);
      assert.equal(st.length, 3);
      return raw.find((id) => id !== leader)!.toString(16);
    };
    const targets = new Map([
      ['bulwark', await target(bw)],
      ['etcd', await target(ref)],
    ]);
    await same({ args: (t) => ['move-leader', targets.get(t.name)!], all: true });
  });

  test('compaction, then reads and watches of a compacted revision', async () => {
    await same({ args: ['compaction', '5'] });
    await same({ args: ['compaction', '3'] });
    await same({ args: ['get', 'a', '--rev', '4'] });
    await same({ args: ['watch', 'a', '--rev', '2'], streamMs: 2500 });
    await same({ args: ['get', 'a', '--rev', '5'] });
  });

  test('lock and elect', async () => {
    await same({ args: ['lock', 'mylock', 'echo', 'locked'] });
    const campaign = (t: Target): Promise<CtlResult> => etcdctl([t.endpoints[0]!], ['elect', 'myelection', 'candidate-1'], { streamMs: 5000 });
    const observe = (t: Target): Promise<CtlResult> =>
      new Promise((resolve) => setTimeout(() => resolve(etcdctl([t.endpoints[1]!], ['elect', '-l', 'myelection'], { streamMs: 2000 })), 1500));
    const [ca, oa, cb, ob] = await Promise.all([campaign(bw), observe(bw), campaign(ref), observe(ref)]);
    assert.equal(normalize(ca.stdout), normalize(cb.stdout), 'elect: campaign output');
    assert.equal(normalize(oa.stdout), normalize(ob.stdout), 'elect -l: observed leader');
    assert.match(ca.stdout, /^myelection\/[0-9a-f]+\ncandidate-1\n$/);
  });
});
