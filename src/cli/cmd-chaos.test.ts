import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chaosCommand } from './cmd-chaos.js';

test('bad flags are usage errors that say what to fix', async () => {
  await assert.rejects(chaosCommand.run(['--target', 'zookeeper']), /--target: expected bulwark, etcd or endpoints/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--workload', 'bank']), /--workload: expected one of register/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--faults', 'kill,meteor']), /--faults: unknown meteor/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--reads', 'eventual']), /--reads/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--network', 'wifi']), /--network/);
  await assert.rejects(chaosCommand.run(['--target', 'endpoints']), /--endpoints/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--etcd-bin', '/nonexistent/etcd']), /no etcd at \/nonexistent\/etcd/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--fault-order', 'sorted']), /--fault-order/);
  await assert.rejects(chaosCommand.run(['--consensus', 'zab']), /--consensus: expected raft or paxos/);
  await assert.rejects(chaosCommand.run(['--target', 'etcd', '--consensus', 'paxos']), /--consensus is for --target bulwark/);
});

test('the usage names every workload and fault kind', () => {
  for (const w of ['register', 'list-append', 'set', 'watch', 'lock']) assert.ok(chaosCommand.usage.includes(w));
  for (const f of ['kill', 'pause', 'partition-bridge', 'partition-oneway', 'disk-slow', 'member-replace', 'leader-move']) assert.ok(chaosCommand.usage.includes(f));
});
