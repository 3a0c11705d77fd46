import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig, parseInitialCluster, serveUsage } from './config.js';
import { clusterIdFor, memberIdFor } from './member-id.js';

test('defaults are etcd defaults', () => {
  const c = loadConfig([], {});
  assert.equal(c.name, 'default');
  assert.deepEqual(c.dataDirs, ['default.bulwark']);
  assert.deepEqual(c.listenClientUrls, ['http://localhost:2379']);
  assert.deepEqual(c.initialCluster, [{ name: 'default', peerUrls: ['http://localhost:2380'] }]);
  assert.equal(c.heartbeatIntervalMs, 100);
  assert.equal(c.electionTimeoutMs, 1000);
  assert.equal(c.consensus, 'raft');
  assert.equal(c.initialClusterState, 'new');
});

test('flags in both forms, environment and file, with flags winning', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'name: from-file\nsnapshot-count: 5\nlog-level: warn\nheartbeat-interval: 50\n');
    const c = loadConfig(
      ['--config-file', file, '--name=m1', '--initial-advertise-peer-urls', 'http://127.0.0.1:2380', '--initial-cluster', 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:22380', '--pre-vote', 'false'],
      { ETCD_SNAPSHOT_COUNT: '7', BULWARK_ELECTION_TIMEOUT: '500' },
    );
    assert.equal(c.name, 'm1');
    assert.equal(c.snapshotCount, 7, 'environment over file');
    assert.equal(c.logLevel, 'warn', 'file over default');
    assert.equal(c.heartbeatIntervalMs, 50);
    assert.equal(c.electionTimeoutMs, 500);
    assert.equal(c.preVote, false);
    assert.equal(c.initialCluster.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--snapshot-bytes: default, flag, environment, file; 0 disables; out of range is refused', () => {
  assert.equal(loadConfig([], {}).snapshotBytes, 256 * 1024 * 1024);
  assert.equal(loadConfig(['--snapshot-bytes', '0'], {}).snapshotBytes, 0);
  assert.equal(loadConfig([], { BULWARK_SNAPSHOT_BYTES: '1048576' }).snapshotBytes, 1048576);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'snapshot-bytes: 4096\n');
    assert.equal(loadConfig(['--config-file', file], {}).snapshotBytes, 4096);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadConfig(['--snapshot-bytes', '-1'], {}), ConfigError);
  assert.throws(() => loadConfig(['--snapshot-bytes', 'lots'], {}), ConfigError);
});

test('several peer URLs per member, as etcd repeats the name', () => {
  assert.deepEqual(parseInitialCluster('a=http://h:1,b=http://h:2,a=http://h2:1'), [
    { name: 'a', peerUrls: ['http://h:1', 'http://h2:1'] },
    { name: 'b', peerUrls: ['http://h:2'] },
  ]);
});

test('invalid configuration is refused with a message that says what to fix', () => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /unknown flag --bogus/],
    [['--heartbeat-interval', 'fast'], /--heartbeat-interval must be a whole number/],
    [['--election-timeout', '200'], /at least 5 times --heartbeat-interval/],
    [['--initial-cluster', 'other=http://h:1'], /no member named 'default'.*add default=/],
    [['--initial-cluster', 'default=http://localhost:9999'], /must match/],
    [['--initial-cluster-state', 'maybe'], /'new' or 'existing'/],
    [['--consensus', 'pbft'], /'raft' or 'paxos'/],
    [['--data-dir', 'a,b'], /add --raid 1 or --raid 5/],
    [['--data-dir', 'a,b', '--raid', '5'], /at least three/],
    [['--listen-client-urls', 'localhost:2379'], /not a URL|explicit port|must use http/],
    [['--listen-client-urls', 'https://127.0.0.1:2379'], /TLS is not supported/],
    [['--name'], /needs a value/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => loadConfig(argv, {}), (e: unknown) => e instanceof ConfigError && re.test(e.message), `${argv.join(' ')}`);
  }
});

test('Flexible Paxos quorum sizes: from flags, environment or file; checked against the initial members', () => {
  const five = ['--initial-advertise-peer-urls', 'http://127.0.0.1:1', '--name', 'a', '--initial-cluster', ['a', 'b', 'c', 'd', 'e'].map((n, i) => `${n}=http://127.0.0.1:${i + 1}`).join(',')];
  const paxos = [...five, '--consensus', 'paxos'];
  const c = loadConfig([...paxos, '--paxos-phase1-quorum', '4', '--paxos-phase2-quorum', '2'], {});
  assert.deepEqual([c.paxosPhase1Quorum, c.paxosPhase2Quorum], [4, 2]);
  const d = loadConfig(paxos, {});
  assert.deepEqual([d.paxosPhase1Quorum, d.paxosPhase2Quorum], [null, null], 'default: majorities');
  assert.equal(loadConfig(paxos, { BULWARK_PAXOS_PHASE2_QUORUM: '2' }).paxosPhase2Quorum, 2, 'from the environment; phase 1 then defaults to 4');
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-config-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'consensus: paxos\npaxos-phase1-quorum: 5\npaxos-phase2-quorum: 1\n');
    const f = loadConfig(['--config-file', file, ...five], {});
    assert.deepEqual([f.paxosPhase1Quorum, f.paxosPhase2Quorum], [5, 1]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const refused = (args: string[], pattern: RegExp): void => assert.throws(() => loadConfig(args, {}), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), args.join(' '));
  refused([...paxos, '--paxos-phase1-quorum', '2', '--paxos-phase2-quorum', '3'], /do not intersect for 5 members: their sum must exceed 5/);
  refused([...paxos, '--paxos-phase1-quorum', '3', '--paxos-phase2-quorum', '2'], /do not intersect/);
  refused([...paxos, '--paxos-phase1-quorum', '6'], /--paxos-phase1-quorum 6 does not fit the 5 member\(s\)/);
  refused([...paxos, '--paxos-phase2-quorum', '-1'], /between 0 and/);
  refused([...paxos, '--paxos-phase2-quorum', 'two'], /whole number/);
  refused([...five, '--paxos-phase1-quorum', '4', '--paxos-phase2-quorum', '2'], /apply to --consensus paxos only/);
  // A joining member cannot know the voters yet: its sizes are checked by the engine at start.
  const joining = loadConfig([...paxos, '--initial-cluster-state', 'existing', '--paxos-phase1-quorum', '1', '--paxos-phase2-quorum', '1'], {});
  assert.deepEqual([joining.paxosPhase1Quorum, joining.paxosPhase2Quorum], [1, 1]);
});

test('usage lists every flag', () => {
  const u = serveUsage();
  for (const f of ['--name', '--data-dir', '--initial-cluster-token', '--quota-backend-bytes', '--consensus']) assert.ok(u.includes(f), f);
});

test('member and cluster ids are deterministic and distinct', () => {
  const a = memberIdFor(['http://127.0.0.1:2380'], 't');
  assert.equal(a, memberIdFor(['http://127.0.0.1:2380'], 't'));
  assert.notEqual(a, memberIdFor(['http://127.0.0.1:2380'], 'u'));
  assert.notEqual(a, memberIdFor(['http://127.0.0.1:2380'], 't', 123));
  assert.match(a, /^[0-9a-f]{16}$/);
  const b = memberIdFor(['http://127.0.0.1:22380'], 't');
  assert.equal(clusterIdFor([a, b], 't'), clusterIdFor([b, a], 't'));
});
