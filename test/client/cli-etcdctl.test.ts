/**
 * The `bulwark` client commands against etcdctl 3.4, command by command: two fresh single-member
 * etcd clusters get the same sequence of commands, one through etcdctl and one through bulwark, so
 * both see the same data and the same revisions. Stdout, stderr (without etcdctl's log lines) and
 * the exit code must match, apart from what differs by nature: member, cluster and lease ids,
 * ports, timings, database sizes and hashes (normalized below). Skipped without /usr/bin/etcd and
 * /usr/bin/etcdctl.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ETCD_BIN, ETCDCTL_BIN, freePortBlock } from './cluster-under-test.js';

const BULWARK = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = existsSync(ETCD_BIN) && existsSync(ETCDCTL_BIN) ? false : `${ETCD_BIN} or ${ETCDCTL_BIN} not found (apt-get install etcd-server etcd-client)`;

interface Side {
  readonly tool: 'etcdctl' | 'bulwark';
  readonly endpoint: string;
  readonly ports: readonly number[];
  readonly proc: ChildProcess;
  /** Values captured from this side's output (lease ids), used in later commands. */
  readonly vars: Map<string, string>;
}

let dir = '';
const sides: Side[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startEtcd(name: string, tool: Side['tool']): Promise<Side> {
  const ports = await freePortBlock(2);
  const endpoint = `127.0.0.1:${ports[0]}`;
  const proc = spawn(
    ETCD_BIN,
    [
      '--name=e1',
      `--data-dir=${join(dir, name)}`,
      `--listen-client-urls=http://${endpoint}`,
      `--advertise-client-urls=http://${endpoint}`,
      `--listen-peer-urls=http://127.0.0.1:${ports[1]}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports[1]}`,
      `--initial-cluster=e1=http://127.0.0.1:${ports[1]}`,
      '--initial-cluster-token=cli-compare',
      '--heartbeat-interval=50',
      '--election-timeout=500',
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://${endpoint}/health`)).status === 200) break;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  return { tool, endpoint, ports, proc, vars: new Map() };
}

let pairs = 0;
const procs: ChildProcess[] = [];

/** A fresh pair of clusters for each test: one test's failure cannot make the next one's revisions differ. */
async function freshPair(): Promise<void> {
  for (const s of sides.splice(0)) s.proc.kill('SIGKILL');
  pairs++;
  const pair = await Promise.all([startEtcd(`theirs${pairs}`, 'etcdctl'), startEtcd(`ours${pairs}`, 'bulwark')]);
  for (const s of pair) procs.push(s.proc);
  sides.push(...pair);
}

before(() => {
  if (skip === false) dir = mkdtempSync(join(tmpdir(), 'bulwark-cli-compare-'));
});

after(async () => {
  for (const p of procs) p.kill('SIGKILL');
  await sleep(100);
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

interface Result {
  readonly out: string;
  readonly err: string;
  readonly code: number | null;
}

/**
 * Runs one command on one side. A streaming command gets SIGINT shortly after its first output
 * (the rest of one burst), or after `interruptAfterMs` at the latest.
 */
function run(side: Side, args: readonly string[], o: { stdin?: string; interruptAfterMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
  const expanded = args.map((a) => a.replace(/\{(\w+)\}/g, (_, v: string) => side.vars.get(v) ?? `{${v}}`).replace(/\{dir\}/g, dir));
  const cmd = side.tool === 'etcdctl' ? ETCDCTL_BIN : process.execPath;
  const argv = side.tool === 'etcdctl' ? expanded : [BULWARK, ...expanded];
  return new Promise((resolve) => {
    const p = spawn(cmd, argv, { env: { ...process.env, ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: side.endpoint, ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let soon: NodeJS.Timeout | null = null;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (o.interruptAfterMs !== undefined && soon === null) soon = setTimeout(() => p.kill('SIGINT'), 700);
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdin.on('error', () => {}); // the command may exit before reading its input
    p.stdin.end(o.stdin ?? '');
    const timer = o.interruptAfterMs === undefined ? null : setTimeout(() => p.kill('SIGINT'), o.interruptAfterMs);
    const hard = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('close', (code) => {
      if (timer !== null) clearTimeout(timer);
      if (soon !== null) clearTimeout(soon);
      clearTimeout(hard);
      resolve({ out, err: err.split('\n').filter((l) => !l.startsWith('{"level"')).join('\n'), code });
    });
  });
}

/** Replaces what differs by nature between two clusters with placeholders, numbered by first appearance. */
function normalize(side: Side, text: string): string {
  const names = new Map<string, string>();
  const name = (kind: string, v: string): string => {
    const k = `${kind}:${v}`;
    if (!names.has(k)) names.set(k, `<${kind}${[...names.keys()].filter((x) => x.startsWith(`${kind}:`)).length + 1}>`);
    return names.get(k)!;
  };
  let t = text;
  t = t.replace(new RegExp(`127\\.0\\.0\\.1:${side.ports[0]}`, 'g'), '<client>').replace(new RegExp(`127\\.0\\.0\\.1:${side.ports[1]}`, 'g'), '<peer>');
  t = t.replace(new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g'), '<dir>');
  t = t.replace(/\b[0-9.]+[µnm]?s\b/g, '<t>').replace(/ +<t> \|/g, ' <t> |');
  t = t.replace(/\b[0-9]{15,20}\b/g, (v) => name('n', v));
  t = t.replace(/\b[0-9a-f]{13,16}\b/g, (v) => name('x', v));
  t = t.replace(/"(dbSize|dbSizeInUse|hash|totalSize)":[0-9]+/g, '"$1":<size>').replace(/\b[0-9.]+ kB\b/g, '<kB>');
  t = t.replace(/"(DBSize|Hash)" : [0-9]+/g, '"$1" : <size>');
  // A lease's remaining TTL depends on when the command ran.
  t = t.replace(/remaining\(\d+s\)/g, 'remaining(<ttl>s)').replace(/"ttl":\d+,"granted-ttl"/g, '"ttl":<ttl>,"granted-ttl"').replace(/"TTL" : \d+\n"GrantedTTL"/g, '"TTL" : <ttl>\n"GrantedTTL"');
  // etcd lists a lease's keys in Go map order (random): compare them as a set.
  t = t.replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`);
  t = t.replace(/"keys":\[([^\]]*)\]/g, (_m, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`);
  // Table columns widen with what they hold; placeholders make widths meaningless, so squeeze them.
  t = t.replace(/ {2,}/g, ' ').replace(/-{2,}/g, '-');
  return t;
}

interface Step {
  readonly args: readonly string[];
  readonly stdin?: string;
  readonly interruptAfterMs?: number;
  /** Capture a value from stdout into a variable for later steps. */
  readonly capture?: { readonly name: string; readonly re: RegExp };
  /** The lines may come in any order (etcdctl prints concurrent results as they finish). */
  readonly unordered?: boolean;
  /** Compare only stdout and the exit code (a streaming command stopped by a signal). */
  readonly stdoutOnly?: boolean;
  /** Bare numbers are hashes of data that holds lease ids (which differ): hide them. */
  readonly hashes?: boolean;
}

async function compare(steps: readonly Step[]): Promise<void> {
  await freshPair();
  const [theirs, ours] = sides as [Side, Side];
  const mismatches: string[] = [];
  for (const step of steps) {
    const o = { ...(step.stdin === undefined ? {} : { stdin: step.stdin }), ...(step.interruptAfterMs === undefined ? {} : { interruptAfterMs: step.interruptAfterMs }) };
    const [a, b] = await Promise.all([run(theirs, step.args, o), run(ours, step.args, o)]);
    if (step.capture !== undefined) {
      for (const [side, r] of [[theirs, a], [ours, b]] as const) {
        const m = step.capture.re.exec(r.out);
        if (m !== null) side.vars.set(step.capture.name, m[1]!);
      }
    }
    const fmt = (side: Side, r: Result): string => {
      let out = normalize(side, r.out);
      if (step.hashes === true) out = out.replace(/\| [0-9]+ \|/g, '| <hash> |');
      let err = normalize(side, r.err);
      if (step.unordered === true) {
        out = out.split('\n').sort().join('\n');
        err = err.split('\n').sort().join('\n');
      }
      return step.stdoutOnly === true ? `stdout:\n${out}` : `stdout:\n${out}\nstderr:\n${err}\nexit: ${r.code}`;
    };
    const x = fmt(theirs, a);
    const y = fmt(ours, b);
    if (x !== y) mismatches.push(`$ ${step.args.join(' ')}\n--- etcdctl\n${x}\n--- bulwark\n${y}`);
  }
  assert.equal(mismatches.length, 0, `${mismatches.length} command(s) differ:\n\n${mismatches.join('\n\n')}`);
}

const opts = { skip, timeout: 180_000 };

test('get, put and del print what etcdctl prints', opts, async () => {
  await compare([
    { args: ['put', 'foo', 'bar'] },
    { args: ['put', 'foo', 'bar2', '--prev-kv'] },
    { args: ['put', 'a', '1'] },
    { args: ['put', 'b', '2'] },
    { args: ['put', 'c', '3'] },
    { args: ['put', 'sp', 'with space\nand "quotes" \u00e9'] },
    { args: ['get', 'foo'] },
    { args: ['get', 'foo', '-w', 'json'] },
    { args: ['get', 'foo', '-w', 'fields'] },
    { args: ['get', 'sp', '-w', 'fields'] },
    { args: ['get', 'sp', '--hex'] },
    { args: ['get', 'a', '--from-key'] },
    { args: ['get', 'a', 'c'] },
    { args: ['get', 'a', '--prefix', '-w', 'json'] },
    { args: ['get', 'a', '--from-key', '--limit', '2', '-w', 'json'] },
    { args: ['get', 'a', '--from-key', '--keys-only'] },
    { args: ['get', 'a', '--from-key', '--print-value-only'] },
    { args: ['get', 'a', '--from-key', '--sort-by=MODIFY', '--order=DESCEND'] },
    { args: ['get', 'a', '--from-key', '--sort-by=VALUE'] },
    { args: ['get', 'foo', '--rev', '2'] },
    { args: ['get', 'foo', '--consistency', 's'] },
    { args: ['get', 'x', '-w', 'json'] },
    { args: ['get', 'x', '-w', 'fields'] },
    { args: ['get', 'foo', '-w', 'table'] },
    { args: ['get'] },
    { args: ['get', 'a', '--prefix', '--from-key'] },
    { args: ['get', 'a', 'b', '--prefix'] },
    { args: ['get', 'a', '--sort-by=FOO'] },
    { args: ['get', 'a', '--order=FOO'] },
    { args: ['get', 'a', '--consistency=x'] },
    { args: ['get', 'foo', '-w', 'yaml'] },
    { args: ['put', 'foo', '--ignore-value'] },
    { args: ['put', 'nokey', '--ignore-value'] },
    { args: ['put', 'foo', 'bar', '--ignore-value'] },
    { args: ['put', 'foo'] },
    { args: ['put', 'fromstdin'], stdin: 'piped value' },
    { args: ['put', 'k', 'v', '-w', 'json', '--prev-kv'] },
    { args: ['put', 'k', 'v2', '-w', 'fields', '--prev-kv'] },
    { args: ['put', 'foo', 'bar', '--lease=zz'] },
    { args: ['put', 'foo', 'bar', '--lease=1234'] },
    { args: ['del', 'nothing'] },
    { args: ['del', 'a'] },
    { args: ['del', 'b', '--prev-kv'] },
    { args: ['del', 'b', 'd', '-w', 'json', '--prev-kv'] },
    { args: ['del', 'x', '--prefix', '-w', 'fields'] },
    { args: ['del', 'k', '--prev-kv', '-w', 'fields'] },
    { args: ['del'] },
    { args: ['get', '', '--prefix', '--keys-only'] },
  ]);
});

test('txn reads etcdctl\'s format from stdin and prints what etcdctl prints', opts, async () => {
  await compare([
    { args: ['put', 't1', 'v1'] },
    { args: ['txn'], stdin: 'value("t1") = "v1"\nmod("t1") > "0"\n\nput t1 v2\nget t1\n\nput t1 nope\n\n' },
    { args: ['txn', '-w', 'json'], stdin: 'value("t1") = "zzz"\n\nput t1 x\n\nget t1\ndel t1\nput t2 "a b"\n\n' },
    { args: ['txn', '-w', 'fields'], stdin: 'version("t2") = "1"\n\nget t2 --prefix\nput t3 x --prev-kv\n\n\n' },
    { args: ['txn', '-i'], stdin: 'create("t2") != "0"\n\nget t2\n\n\n' },
    // (etcdctl 3.4 panics on a lease compare, so none here.)
    { args: ['txn'], stdin: 'c("t2") > "0"\nver("t2") < "5"\n\ndel t2 --prev-kv\n\n\n' },
    { args: ['txn'], stdin: 'bogus\n' },
    { args: ['txn'], stdin: 'value("t1" = "x"\n\n\n\n' },
    { args: ['txn'], stdin: 'mod("t1") > "x"\n\n\n\n' },
    { args: ['txn'], stdin: '\nfrobnicate t1\n\n\n' },
    { args: ['txn'], stdin: '\nput t1\n\n\n' },
    { args: ['txn'], stdin: 'value("t1") = "v2"\n\nput t1 v3\n' },
    { args: ['txn', 'extra'] },
  ]);
});

test('leases print what etcdctl prints', opts, async () => {
  const lease = { name: 'lease', re: /lease ([0-9a-f]{16}) granted/ };
  await compare([
    { args: ['lease', 'grant', '100'], capture: lease },
    { args: ['lease', 'grant', '100', '-w', 'json'] },
    { args: ['lease', 'grant', '100', '-w', 'fields'] },
    { args: ['put', 'lk', 'lv', '--lease', '{lease}'] },
    { args: ['put', 'lk2', 'lv', '--lease={lease}'] },
    { args: ['lease', 'timetolive', '{lease}', '--keys'] },
    { args: ['lease', 'timetolive', '{lease}', '--keys', '-w', 'json'] },
    { args: ['lease', 'timetolive', '{lease}', '-w', 'fields'] },
    { args: ['lease', 'list'], unordered: true },
    { args: ['lease', 'keep-alive', '--once', '{lease}'] },
    { args: ['lease', 'keep-alive', '--once', '{lease}', '-w', 'json'] },
    { args: ['lease', 'revoke', '{lease}'] },
    { args: ['lease', 'revoke', '{lease}'] },
    { args: ['lease', 'timetolive', '{lease}'] },
    { args: ['lease', 'timetolive', '{lease}', '-w', 'json'] },
    { args: ['get', 'lk'] },
    { args: ['lease', 'revoke', 'zz'] },
    { args: ['lease', 'grant'] },
    { args: ['lease', 'grant', 'abc'] },
    { args: ['lease', 'keep-alive', '--once', '1234'] },
    { args: ['lease', 'timetolive', '1234'] },
  ]);
});

test('member, endpoint, alarm, compaction and move-leader print what etcdctl prints', opts, async () => {
  await compare([
    { args: ['member', 'list'] },
    { args: ['member', 'list', '-w', 'table'] },
    { args: ['member', 'list', '-w', 'json'] },
    { args: ['member', 'list', '-w', 'fields'] },
    { args: ['member', 'add'] },
    { args: ['member', 'add', 'e9'] },
    { args: ['member', 'remove'] },
    { args: ['member', 'remove', '1234'] },
    { args: ['member', 'promote', '1234'] },
    { args: ['endpoint', 'status'] },
    { args: ['endpoint', 'status', '-w', 'table'] },
    { args: ['endpoint', 'status', '-w', 'json'] },
    { args: ['endpoint', 'status', '-w', 'fields'] },
    { args: ['endpoint', 'status', '--cluster'] },
    { args: ['endpoint', 'health'] },
    { args: ['endpoint', 'health', '-w', 'json'] },
    { args: ['endpoint', 'health', '-w', 'table'] },
    { args: ['endpoint', 'health', '--cluster'] },
    { args: ['endpoint', 'hashkv', '-w', 'json'] },
    { args: ['endpoint', 'hashkv', '-w', 'table'], hashes: true },
    { args: ['alarm', 'list'] },
    { args: ['alarm', 'list', '-w', 'json'] },
    { args: ['alarm', 'disarm'] },
    { args: ['alarm', 'disarm', '-w', 'json'] },
    { args: ['put', 'cmp', '1'] },
    { args: ['put', 'cmp', '2'] },
    { args: ['compaction', '3'] },
    { args: ['compaction', '3'] },
    { args: ['get', 'cmp', '--rev', '2'] },
    { args: ['compaction', '100000'] },
    { args: ['compaction', 'abc'] },
    { args: ['compaction'] },
    { args: ['move-leader', 'zz'] },
    { args: ['move-leader'] },
    { args: ['move-leader', '1234'] },
  ]);
});

test('watch, lock, elect and snapshot print what etcdctl prints', opts, async () => {
  await compare([
    { args: ['put', 'w/1', 'a', '-w', 'json'], capture: { name: 'wrev', re: /"revision":(\d+)/ } },
    { args: ['put', 'w/2', 'b'] },
    { args: ['put', 'w/1', 'c'] },
    { args: ['del', 'w/2'] },
    { args: ['watch', 'w/', '--prefix', '--rev', '{wrev}'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['watch', 'w/', '--prefix', '--rev', '{wrev}', '--prev-kv'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['watch', 'w/', '--prefix', '--rev', '{wrev}', '-w', 'json'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['watch', 'w/1', '--rev', '{wrev}', '-w', 'fields'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['watch'] },
    { args: ['lock', 'mylock', 'echo', 'hello'] },
    { args: ['lock'] },
    { args: ['lock', 'mylock2'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['elect', 'myelect', 'prop1'], interruptAfterMs: 8000, stdoutOnly: true },
    { args: ['elect'] },
    { args: ['elect', 'myelect'] },
    { args: ['snapshot', 'save', '{dir}/snap-x.db'] },
    { args: ['snapshot', 'save'] },
    { args: ['snapshot', 'save', '/nonexistent/x.db'] },
    { args: ['snapshot', 'status', '/nonexistent/x.db'] },
    { args: ['snapshot', 'status', '{dir}/snap-x.db', '-w', 'json'] },
    { args: ['put', 'cw', '1'] },
    { args: ['put', 'cw', '2', '-w', 'json'], capture: { name: 'crev', re: /"revision":(\d+)/ } },
    { args: ['compaction', '{crev}'] },
    { args: ['watch', 'cw', '--rev', '2'], interruptAfterMs: 3000 },
    { args: ['watch', 'w/', '--prefix', '--rev', '1', '-w', 'json'], interruptAfterMs: 3000 },
    { args: ['watch', 'w/', '--prefix', '--rev', '1', '-w', 'fields'], interruptAfterMs: 3000 },
  ]);
});

test('snapshot status of an etcd snapshot matches etcdctl\'s on the same file', opts, async () => {
  await freshPair();
  const [theirs, ours] = sides as [Side, Side];
  const file = join(dir, 'snap-etcd.db');
  const saved = await run(theirs, ['snapshot', 'save', file]);
  assert.equal(saved.code, 0, saved.err);
  for (const format of ['simple', 'json', 'table', 'fields']) {
    const a = await run(theirs, ['snapshot', 'status', file, '-w', format]);
    const b = await run(ours, ['snapshot', 'status', file, '-w', format]);
    assert.equal(b.out, a.out, `snapshot status -w ${format}`);
    assert.equal(b.code, a.code);
  }
  // And a snapshot saved by bulwark passes etcdctl's status.
  const mine = join(dir, 'snap-bulwark.db');
  const s = await run(ours, ['snapshot', 'save', mine]);
  assert.equal(s.code, 0, s.err);
  const check = await run(theirs, ['snapshot', 'status', mine]);
  assert.equal(check.code, 0, check.err);
});
