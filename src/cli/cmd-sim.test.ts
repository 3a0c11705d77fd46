import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './command.js';
import { simCommand } from './cmd-sim.js';

test('Flexible Paxos flags are checked before any run, with a message that says what to fix', async () => {
  const refused = (args: string[], pattern: RegExp): Promise<void> => assert.rejects(simCommand.run(['--seed', '1', ...args]), (e: unknown) => e instanceof UsageError && pattern.test(e.message), args.join(' '));
  await refused(['--paxos-phase1-quorum', '2', '--cluster-size', '3'], /need --consensus paxos/);
  await refused(['--consensus', 'paxos', '--paxos-phase2-quorum', '2'], /need --cluster-size/);
  await refused(['--consensus', 'paxos', '--cluster-size', '5', '--paxos-phase1-quorum', '2', '--paxos-phase2-quorum', '3'], /phase-1 quorum 2 and phase-2 quorum 3 do not intersect for 5 voters/);
  await refused(['--consensus', 'paxos', '--cluster-size', '3', '--paxos-phase1-quorum', '4'], /phase-1 quorum size 4 does not fit 3 voter/);
  await refused(['--consensus', 'paxos', '--cluster-size', '0'], /--cluster-size must be between 1 and/);
  await refused(['--consensus', 'paxos', '--cluster-size', '5', '--paxos-phase1-quorum', 'x'], /non-negative integer/);
});

test('the usage names the Flexible Paxos and cluster-size flags', () => {
  for (const f of ['--paxos-phase1-quorum', '--paxos-phase2-quorum', '--cluster-size']) assert.ok(simCommand.usage.includes(f), f);
});
